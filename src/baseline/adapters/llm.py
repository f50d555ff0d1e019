"""The LLM-classifier core that ``bedrock-llm`` and ``openai-llm`` share; the adapters keep only their transport.

- **Prompt**: one system prompt listing the dataset's labels, few-shot examples as user/assistant
  turns, the text as ``Text: <text>``. :func:`template_id` hashes the template (it is part of every
  cache identity, so a prompt change never reuses old answers).
- **Few-shot selection** (:class:`FewShot`): ``per_class`` (``few_shot`` examples of every label,
  seeded), ``random`` (``few_shot`` examples drawn at random from train, seeded) or ``nearest``
  (the ``few_shot`` train texts nearest to the query by sentence-embedding cosine; needs ``[hf]``).
- **Strict parsing** (:func:`parse_label`, :func:`parse_structured`): after stripping quotes and
  punctuation and case-folding, an answer must equal exactly one label; anything else is an
  abstention (kept as the raw answer, counted), never a guess.
- **Class scores from log-probabilities** (:func:`scores_from_logprobs`).
- **Label sets** (the multi-label task): :func:`set_system_prompt` asks for every label that applies as
  ``{"labels": [...]}``, :func:`set_schema` is that answer's JSON schema (an array whose items are an enum of
  the labels: structured output or a tool's input), few-shot answers are written by :func:`set_answer`, and
  :func:`parse_label_set` reads an answer strictly into the canonical set string; anything else is an item
  error, never an abstention. :func:`template_id` takes the task, so single-label caches never answer sets.
- **Table rows** (``tabular-classification`` / ``tabular-regression``): each item is one JSON row of named features,
  sent whole as ``Row: <json>`` (never cut: a cut row is not JSON; a row over ``max_chars`` is an item error,
  :func:`row_or_error`). Classification keeps the single-label answer (enum, parsing, scores) under
  :func:`row_system_prompt`; regression asks for one number (:func:`number_system_prompt`), structured as
  :func:`number_schema` ``{"value": <number>}`` and read strictly by :func:`parse_number`: a single plain decimal
  number, never a guessed value. Few-shot for regression draws ``k`` train rows at the target's (j + 0.5) / k
  quantiles, j = 0..k-1 (``quantiles``, the default there; ties broken by the seed), so examples span its range.
- **Number parsing** (:func:`parse_number`): accepted are a plain number as text (surrounding whitespace ignored;
  ASCII digits with an optional sign, decimal point and exponent: ``42``, ``-3.5``, ``.5``, ``5.``, ``1e3``), a
  JSON number, or an object whose only key is ``value`` holding a JSON number (as text, or already parsed, e.g. a
  tool call's input); the result is ``rows.encode_number``. Everything else is an item error, never a guessed
  value: prose, units (``42 kg``, ``$42``), ranges (``40-45``, ``40 to 45``), thousands separators (``1,234`` is
  ambiguous with a decimal comma, so no grouping is read: ``1 234``, ``1_000`` neither), a decimal comma
  (``12,5``), a number written as a string (``{"value": "42"}``, ``"42"``), booleans, hex, non-ASCII digits, NaN
  and infinities (also by overflow, ``1e999``), extra keys, code fences, an empty answer. An answer cut off at
  ``max_tokens`` is an error even when its prefix parses.
- **Token prices** (:func:`price_row`): an explicit override (adapter options, or a row in
  ``baseline.toml``'s ``[prices]``) first, then LiteLLM's model price map when the ``litellm`` package is
  installed (read from its bundled JSON, no network), then the packaged ``prices.toml``; every row
  says its source and date. :func:`batch_projection` prices a run at the provider's Batch API rate.
- **Token counting** (:func:`token_counter`): tiktoken for OpenAI models (offline: the user's tiktoken
  cache, else the encodings LiteLLM bundles), otherwise the stated approximation ceil(chars / 4).
- **Pacing** (:class:`TokenPacer`): requests-per-minute and tokens-per-minute, evenly spaced.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import math
import os
import random
import re
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baseline.adapters.base import Cost, Opt
from baseline.adapters.cloud import truncate_chars
from baseline.costs import PriceTable
from baseline.errors import BadInput
from baseline.tasks.labelsets import EMPTY, decode, encode

PROMPT_VERSION = 1
SINGLE_LABEL_TASK = "text-classification"
MULTI_LABEL_TASK = "multi-label-text-classification"
TABULAR_CLASSIFICATION = "tabular-classification"
TABULAR_REGRESSION = "tabular-regression"
TABULAR_TASKS = (TABULAR_CLASSIFICATION, TABULAR_REGRESSION)
SELECTIONS = ("per_class", "random", "nearest", "quantiles")
APPROX = "≈ ceil(chars / 4) tokens (stated approximation: no tokenizer for this model)"

# Options every LLM adapter declares (merged into its ``option_schema``).
LLM_OPTIONS: dict[str, Opt] = {
    "few_shot": Opt("int", lo=0), "few_shot_selection": Opt("str", choices=SELECTIONS),
    "embedding_model": Opt("str"), "max_tokens": Opt("int", lo=1), "temperature": Opt("float", lo=0, nullable=True),
    "max_chars": Opt("int", lo=1), "max_example_chars": Opt("int", lo=1), "instructions": Opt("str"),
    "prompt_overhead_tokens": Opt("int", lo=0), "usd_per_1k_input": Opt("float", lo=0),
    "usd_per_1k_output": Opt("float", lo=0), "batch_pricing": Opt("bool"), "batch_discount": Opt("float", lo=0, hi=1),
    "target": Opt("str"),  # tabular tasks: the target column's name, stated in the prompt ("the target value" if unset)
}

# ---- prompt ------------------------------------------------------------------------------------------


def system_prompt(labels: Sequence[str], instructions: str = "") -> str:
    listed = "\n".join(f"- {lab}" for lab in labels)
    intro = f"{instructions}\n" if instructions else ""
    return (f"{intro}You are a text classifier. Classify the text into exactly one of these labels:\n{listed}\n"
            "Answer with the label only, written exactly as above, and nothing else.")


def user_turn(text: str) -> str:
    return f"Text: {text}"


def row_turn(row: str) -> str:
    """A table row's user turn: its JSON object as it travels (``baseline.tasks.rows``)."""
    return f"Row: {row}"


def is_tabular(task: str | None) -> bool:
    """Whether the task's items are JSON table rows."""
    return task in TABULAR_TASKS


def turn_for(task: str | None) -> Callable[[str], str]:
    """The user-turn format of a task: rows for the tabular tasks, texts otherwise."""
    return row_turn if is_tabular(task) else user_turn


def turns(text: str, examples: Sequence[tuple[str, str]],
          answer: Callable[[str], str] | None = None, turn: Callable[[str], str] = user_turn) -> list[tuple[str, str]]:
    """(role, content) pairs after the system prompt: each example as a user turn and its label as the answer
    (written by ``answer`` when given, e.g. :func:`set_answer` for label sets); ``turn`` writes the user turns."""
    out: list[tuple[str, str]] = []
    for ex_text, ex_label in examples:
        out += [("user", turn(ex_text)), ("assistant", answer(ex_label) if answer else ex_label)]
    return [*out, ("user", turn(text))]


def row_or_error(text: str, max_chars: int, tabular: bool) -> tuple[str | None, bool, str | None]:
    """(text as sent, cut?, item error): a text cut to ``max_chars``; a table row over it not sent, an item error."""
    if not tabular:
        doc, cut = truncate_chars(text, max_chars)
        return doc, cut, None
    if len(text) > max_chars:
        return None, False, f"row is {len(text):,} characters, over max_chars {max_chars:,}: not sent (raise max_chars)"
    return text, False, None


def template_id(system: str, answer_format: str = "text", task: str | None = None) -> str:
    """Hash of the prompt template (system prompt, turn format, answer format, version; the task unless single-label)."""
    key = f"{PROMPT_VERSION}\x00{system}\x00{turn_for(task)('{text}')}\x00{answer_format}"
    if task and task != SINGLE_LABEL_TASK:  # single-label ids stay what they always were
        key += f"\x00task={task}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


# ---- label sets (multi-label task) -------------------------------------------------------------------

SET_KEY = "labels"              # the answer object's one key: {"labels": [...]}
SET_SCHEMA_NAME = "label_set"   # OpenAI response_format json_schema name
SET_TOOL = "record_labels"      # the forced tool (Bedrock Converse toolSpec / OpenAI function)
SET_TOOL_DESCRIPTION = "Record every label that applies to the text (an empty list when none applies)."


def set_system_prompt(labels: Sequence[str], instructions: str = "") -> str:
    """The system prompt for label sets: every label that applies, answered as ``{"labels": [...]}``."""
    listed = "\n".join(f"- {lab}" for lab in labels)
    intro = f"{instructions}\n" if instructions else ""
    return (f"{intro}You are a text classifier. Tag the text with every one of these labels that applies "
            f"(none, one or several):\n{listed}\n"
            'Answer with a JSON object {"labels": [...]} listing the labels that apply, each written exactly as '
            "above, an empty list when none applies, and nothing else.")


def set_schema(labels: Sequence[str]) -> dict[str, Any]:
    """JSON schema of a label-set answer: ``{"labels": [<enum of the labels>, ...]}``, nothing else."""
    return {"type": "object",
            "properties": {SET_KEY: {"type": "array", "items": {"type": "string", "enum": [str(x) for x in labels]}}},
            "required": [SET_KEY], "additionalProperties": False}


def set_answer(value: str) -> str:
    """A canonical label-set string written as the model should answer it (few-shot turns): compact JSON."""
    return json.dumps({SET_KEY: sorted(decode(value) or ())}, ensure_ascii=False, separators=(",", ":"))


def full_set_answer(labels: Sequence[str]) -> str:
    """The longest valid answer (every label): what ``max_tokens`` must allow."""
    return set_answer(encode(labels))


def answer_length_stats(train_labels: Sequence[str], count: Callable[[str], int]) -> tuple[float, float]:
    """(mean answer tokens, mean label cardinality) over train rows' label sets: the expected answer size."""
    from collections import Counter

    seen = Counter(str(v) for v in train_labels)
    n = sum(seen.values())
    if not n:
        return 0.0, 0.0
    tokens = sum(count(set_answer(v)) * k for v, k in seen.items())
    card = sum(len(decode(v) or ()) * k for v, k in seen.items())
    return tokens / n, card / n


def _clip(x: Any, n: int = 60) -> str:
    s = x if isinstance(x, str) else json.dumps(x, ensure_ascii=False, default=str)
    s = " ".join(s.split())
    return repr(s if len(s) <= n else s[:n] + "…")


def parse_label_set(content: Any, labels: Sequence[str]) -> tuple[str | None, str | None]:
    """A label-set answer read strictly: (canonical set string, None), or (None, why it is an item error).

    Accepted: a JSON array, or an object whose only key is ``labels`` holding one (as text, or already parsed,
    e.g. a tool call's input). Each item must be a string equal to exactly one dataset label after the
    single-label normalisation (:func:`normalize_answer`: surrounding whitespace, quotes and punctuation
    stripped, case-folded). Duplicates collapse; an empty array is the empty set. Anything else (prose, a
    code fence, a bare string, a non-array, a non-string item, an unknown or ambiguous label, extra keys) is
    an error: never an abstention, never a guessed label.
    """
    obj = content
    if content is None or (isinstance(content, str) and not content.strip()):
        return None, "empty answer"
    if isinstance(content, str):
        try:
            obj = json.loads(content)
        except ValueError:
            return None, f"answer is not a JSON label array: {_clip(content)}"
    if isinstance(obj, dict):
        if set(obj) != {SET_KEY}:
            return None, f'answer object must hold only "{SET_KEY}" (got keys {sorted(map(str, obj))})'
        obj = obj[SET_KEY]
    if not isinstance(obj, list):
        return None, f"answer is not a JSON array of labels: {_clip(content)}"
    index: dict[str, list[str]] = {}
    for lab in labels:
        index.setdefault(normalize_answer(str(lab)), []).append(str(lab))
    chosen: set[str] = set()
    for item in obj:
        if not isinstance(item, str):
            return None, f"array item {_clip(item, 30)} is not a string"
        hits = index.get(normalize_answer(item), [])
        if len(hits) != 1:
            return None, f"{'unknown' if not hits else 'ambiguous'} label {_clip(item, 40)}"
        chosen.add(hits[0])
    return encode(chosen), None


def set_scores(value: str, labels: Sequence[str]) -> dict[str, float]:
    """Per-label scores of an answered set: 1.0 for its labels, 0.0 for the others (no probabilities)."""
    members = decode(value) or frozenset()
    return {str(lab): float(str(lab) in members) for lab in labels}


# ---- table rows (tabular tasks) ----------------------------------------------------------------------

VALUE_KEY = "value"                 # the regression answer object's one key: {"value": <number>}
VALUE_SCHEMA_NAME = "regression"    # OpenAI response_format json_schema name
VALUE_TOOL = "record_value"         # the forced tool (Bedrock Converse toolSpec / OpenAI function)
VALUE_TOOL_DESCRIPTION = "Record the predicted value of the target for the row (one number)."
ROW_INTRO = ("Each input is one row of a table, written as a JSON object of its named fields "
             "(null: a missing value; booleans as 0/1).")
NUMBER_RULE = ("Answer with the number only: digits with an optional sign, decimal point and exponent "
               "(e.g. -12.5 or 3e4), without units, thousands separators, ranges or words, and nothing else.")


def _target_phrase(target: str | None) -> str:
    return f"the value of {json.dumps(str(target), ensure_ascii=False)}" if target else "the target value"


def row_system_prompt(labels: Sequence[str], instructions: str = "", target: str | None = None) -> str:
    """The system prompt for tabular classification: a row of named fields into exactly one class."""
    listed = "\n".join(f"- {lab}" for lab in labels)
    intro = f"{instructions}\n" if instructions else ""
    what = f" (its {json.dumps(str(target), ensure_ascii=False)})" if target else ""
    return (f"{intro}You are a classifier of table rows. {ROW_INTRO}\n"
            f"Classify the row{what} into exactly one of these classes:\n{listed}\n"
            "Answer with the class only, written exactly as above, and nothing else.")


def number_system_prompt(instructions: str = "", target: str | None = None) -> str:
    """The system prompt for tabular regression: one number for the row's target."""
    intro = f"{instructions}\n" if instructions else ""
    return (f"{intro}You are a regression model for table rows. {ROW_INTRO}\n"
            f"Predict {_target_phrase(target)} for the row: one number.\n{NUMBER_RULE}")


def number_schema() -> dict[str, Any]:
    """JSON schema of a regression answer: ``{"value": <number>}``, nothing else."""
    return {"type": "object", "properties": {VALUE_KEY: {"type": "number"}}, "required": [VALUE_KEY],
            "additionalProperties": False}


def number_answer(value: str) -> str:
    """A canonical target string written as the model should answer it (few-shot turns): a plain number."""
    x = float(value)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def value_answer(value: str) -> str:
    """A target as the structured answer: compact ``{"value":<number>}`` (what output tokens are estimated from)."""
    return f'{{"{VALUE_KEY}":{number_answer(value)}}}'


def mean_answer_tokens(train_labels: Sequence[str], count: Callable[[str], int], render: Callable[[str], str]) -> float:
    """Mean tokens of train's answers as ``render`` writes them (non-numbers skipped): the expected answer size."""
    from collections import Counter

    seen = Counter(str(v) for v in train_labels)
    n = tokens = 0
    for v, k in seen.items():
        try:
            if not math.isfinite(float(v)):
                continue
        except ValueError:
            continue
        tokens += count(render(v)) * k
        n += k
    return tokens / n if n else 0.0


# one plain decimal number: ASCII digits, optional sign, decimal point and exponent; nothing else
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(?:[,\u00a0\u202f' _][0-9]{3})+(?:\.[0-9]*)?")
_RANGE = re.compile(r"[+-]?[0-9.]+\s*(?:-|–|—|to|\.\.)\s*[+-]?[0-9.]+")


def _finite(x: float | int, shown: Any) -> tuple[str | None, str | None]:
    from baseline.tasks.rows import encode_number

    try:
        x = float(x)
    except OverflowError:  # a JSON integer past float's range
        x = math.inf
    if not math.isfinite(x):
        return None, f"not a finite number: {_clip(shown, 40)}"
    return encode_number(x), None


def parse_number(content: Any) -> tuple[str | None, str | None]:
    """A regression answer read strictly (rules in the module doc): (canonical number string, None) or (None, why)."""
    if content is None or (isinstance(content, str) and not content.strip()):
        return None, "empty answer"
    obj: Any = content
    if isinstance(content, str):
        s = content.strip()
        if _NUMBER.fullmatch(s):
            return _finite(float(s), s)
        try:
            obj = json.loads(s)
        except ValueError:
            if _THOUSANDS.fullmatch(s):
                why = " (ambiguous with a decimal comma)" if "," in s else ""
                return None, f"thousands separators are not read{why}: {_clip(s, 40)}"
            if _RANGE.fullmatch(s):
                return None, f"a range, not one number: {_clip(s, 40)}"
            return None, f"not a single plain number: {_clip(s)}"
    if isinstance(obj, dict):
        if set(obj) != {VALUE_KEY}:
            return None, f'answer object must hold only "{VALUE_KEY}" (got keys {sorted(map(str, obj))})'
        obj = obj[VALUE_KEY]
        if isinstance(obj, str):
            return None, f"value {_clip(obj, 40)} is a string, not a JSON number"
    if isinstance(obj, bool) or not isinstance(obj, int | float):
        return None, f"not a single plain number: {_clip(content)}"
    return _finite(obj, obj)


# ---- parsing -----------------------------------------------------------------------------------------

_STRIP = " \t\r\n\"'`“”‘’.,;:!?*()[]{}<>"


def normalize_answer(text: str) -> str:
    """Strip whitespace, surrounding quotes and punctuation; case-fold."""
    return text.strip().strip(_STRIP).strip().casefold()


def parse_label(answer: str | None, labels: Sequence[str]) -> str | None:
    """The one dataset label the answer equals (after normalising both), else None (abstain)."""
    if not answer:
        return None
    norm = normalize_answer(answer)
    hits = [lab for lab in labels if normalize_answer(str(lab)) == norm]
    return hits[0] if len(hits) == 1 else None


def parse_structured(content: str | None, labels: Sequence[str], key: str = "label") -> tuple[str | None, str | None]:
    """A JSON answer ``{"label": ...}`` (structured output or tool arguments): (label or None, the label text).

    A body that is not such JSON is parsed as a plain answer (servers that ignore ``response_format``).
    """
    if not content:
        return None, content
    try:
        obj = json.loads(content)
    except (TypeError, ValueError):
        return parse_label(content, labels), content
    if isinstance(obj, dict) and isinstance(obj.get(key), str):
        return parse_label(obj[key], labels), obj[key]
    if isinstance(obj, str):
        return parse_label(obj, labels), obj
    return None, content


def scores_from_logprobs(tokens: Sequence[tuple[str, float, Sequence[tuple[str, float]]]], content: str,
                         value: str, labels: Sequence[str], chosen: str | None) -> dict[str, float]:
    """Class scores from token log-probabilities of the answer.

    ``tokens``: (token, logprob, [(alternative, logprob), ...]) in order, their texts making ``content``;
    ``value``: the label text inside ``content``. The chosen label scores the probability of its whole
    token sequence; other labels score the probability of a first-token alternative that starts exactly
    one of them (shared prefixes split evenly). Scores are probabilities, not renormalised.
    """
    start = content.find(value) if value else -1
    if start < 0 or not tokens:
        return {}
    end = start + len(value)
    pos, first, logp = 0, None, 0.0
    for k, (tok, lp, _) in enumerate(tokens):
        t_start, pos = pos, pos + len(tok)
        if pos <= start or t_start >= end:
            continue
        if first is None:
            first = k
        logp += lp
    if first is None:
        return {}
    scores: dict[str, float] = {}
    if chosen is not None:
        scores[chosen] = math.exp(logp)
    tok0, _, alts = tokens[first]
    offset = start - sum(len(t[0]) for t in tokens[:first])  # the label starts this far into its first token
    for alt, lp in alts:
        if alt == tok0:
            continue
        prefix = normalize_answer(alt[offset:] if offset > 0 else alt.lstrip(" \"'"))
        if not prefix:
            continue
        hits = [lab for lab in labels if normalize_answer(str(lab)).startswith(prefix) and lab != chosen]
        for lab in hits:
            scores[lab] = scores.get(lab, 0.0) + math.exp(lp) / len(hits)
    return scores


# ---- few-shot selection ------------------------------------------------------------------------------

def default_selection(task: str | None) -> str:
    """The few-shot selection a task gets unless set: rows at the target's quantiles for regression, else per class."""
    return "quantiles" if task == TABULAR_REGRESSION else "per_class"


class FewShot:
    """Few-shot examples from the train split: ``per_class``, ``random``, ``nearest`` or ``quantiles``, seeded."""

    def __init__(self, k: int, method: str = "per_class", seed: int = 42, max_chars: int = 500,
                 embedding_model: str | None = None, embedder: Callable[[list[str]], Any] | None = None,
                 multilabel: bool = False, regression: bool = False, whole: bool = False) -> None:
        if method not in SELECTIONS:
            raise BadInput(f"few_shot_selection must be one of {', '.join(SELECTIONS)} (got {method!r})")
        if regression and method == "per_class":
            raise BadInput('few_shot_selection "per_class" needs classes: on tabular-regression use "quantiles" '
                           '(the default), "random" or "nearest"')
        if not regression and method == "quantiles":
            raise BadInput('few_shot_selection "quantiles" spreads examples over a numeric target: '
                           "only for tabular-regression")
        self.k, self.method, self.seed, self.max_chars = k, method, seed, max_chars
        # labels are canonical set strings; per_class draws k rows carrying each label (and k with no label)
        self.multilabel = multilabel
        # labels are canonical number strings; quantiles draws k rows at the target's (j + 0.5) / k quantiles
        self.regression = regression
        self.whole = whole  # table rows: examples are shown whole (a cut row is not JSON)
        self.embedding_model = embedding_model
        self._embedder = embedder
        self.examples: list[tuple[str, str]] = []   # fixed examples (per_class, random)
        self.pool: list[tuple[str, str]] = []       # nearest: every candidate
        self._vectors: Any = None
        self._lock = threading.Lock()
        self.train_digest: str | None = None

    def _clip(self, t: str) -> str:
        return t if self.whole else " ".join(truncate_chars(t, self.max_chars)[0].split())

    def digest(self, texts: Sequence[str], labels: Sequence[str]) -> str:
        h = hashlib.sha256()
        for t, lab in zip(texts, labels, strict=True):
            h.update(f"{lab}\t{t}\n".encode())
        self.train_digest = h.hexdigest()[:16]
        return self.train_digest

    def identity(self) -> dict[str, Any]:
        if not self.k:
            return {"few_shot": 0}
        ident = {"few_shot": self.k, "selection": self.method, "seed": self.seed, "max_example_chars": self.max_chars,
                 "train": self.train_digest}
        if self.method == "nearest":
            ident["embedding_model"] = self.embedding_model
        return ident

    def fit(self, texts: Sequence[str], labels: Sequence[str], label_order: Sequence[str]) -> None:
        self.digest(texts, labels)
        self.examples, self.pool = [], []
        if not self.k:
            return
        rng = random.Random(self.seed)
        rows = [(t, str(lab)) for t, lab in zip(texts, labels, strict=True) if str(t).strip()]
        if self.method == "per_class" and self.multilabel:
            self.examples = [(self._clip(rows[i][0]), rows[i][1]) for i in self._per_label_rows(rows, label_order, rng)]
            rng.shuffle(self.examples)
        elif self.method == "per_class":
            by_label: dict[str, list[str]] = {}
            for t, lab in rows:
                by_label.setdefault(lab, []).append(t)
            for lab in label_order:
                pool = by_label.get(lab, [])
                for t in rng.sample(pool, min(self.k, len(pool))):
                    self.examples.append((self._clip(t), lab))
            rng.shuffle(self.examples)
        elif self.method == "random":
            self.examples = [(self._clip(t), lab) for t, lab in rng.sample(rows, min(self.k, len(rows)))]
        elif self.method == "quantiles":
            self.examples = [(self._clip(rows[i][0]), rows[i][1]) for i in self._quantile_rows(rows, rng)]
            rng.shuffle(self.examples)
        else:
            import numpy as np

            self.pool = [(self._clip(t), lab) for t, lab in rows]
            self._vectors = np.asarray(self._embed([t for t, _ in self.pool]), dtype=np.float32)

    def _per_label_rows(self, rows: list[tuple[str, str]], label_order: Sequence[str], rng: random.Random) -> list[int]:
        """Multi-label ``per_class``: ``k`` rows carrying each label in turn (a row drawn once), then ``k`` with none."""
        by_label: dict[str, list[int]] = {}
        for i, (_, value) in enumerate(rows):
            for lab in sorted(decode(value) or ()) or [EMPTY]:
                by_label.setdefault(lab, []).append(i)
        picked: list[int] = []
        taken: set[int] = set()
        for lab in [*map(str, label_order), EMPTY]:
            pool = [i for i in by_label.get(lab, []) if i not in taken]
            for i in rng.sample(pool, min(self.k, len(pool))):
                taken.add(i)
                picked.append(i)
        return picked

    def _quantile_rows(self, rows: list[tuple[str, str]], rng: random.Random) -> list[int]:
        """Regression ``quantiles``: the rows at the target's (j + 0.5) / k quantiles (seeded ties, non-numbers skipped)."""
        vals: list[tuple[float, int]] = []
        for i, (_, v) in enumerate(rows):
            try:
                x = float(v)
            except ValueError:
                continue
            if math.isfinite(x):
                vals.append((x, i))
        rng.shuffle(vals)
        vals.sort(key=lambda p: p[0])
        n, k = len(vals), min(self.k, len(vals))
        return [vals[int((j + 0.5) * n / k)][1] for j in range(k)] if k else []

    def answer(self, value: str) -> str:
        """An example's assistant turn: the label, for label sets its JSON answer, for regression the number."""
        if self.multilabel:
            return set_answer(value)
        return number_answer(value) if self.regression else value

    def _embed(self, texts: list[str]) -> Any:
        import numpy as np

        if self._embedder is None:
            self._embedder = sentence_embedder(self.embedding_model)
        with self._lock:  # one encoder shared by the request threads
            v = np.asarray(self._embedder(texts), dtype=np.float32)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    def for_text(self, text: str) -> list[tuple[str, str]]:
        """The examples for this query (the same fixed list unless ``nearest``); the nearest comes last."""
        if self.method != "nearest" or not self.k or not self.pool:
            return self.examples
        import numpy as np

        sims = self._vectors @ self._embed([text])[0]
        top = np.argsort(-sims, kind="stable")[: self.k]
        return [self.pool[i] for i in top[::-1]]

    def mean_example_chars(self, texts: Sequence[str], labels: Sequence[str]) -> float:
        """Expected characters the examples add to one prompt (estimates before ``fit``)."""
        if not self.k or not texts:
            return 0.0
        if self.examples or self.pool:
            ex = self.examples or self.pool[: self.k]
            per = sum(len(t) + len(self.answer(lab)) + 10 for t, lab in ex) / max(1, len(ex))
        else:
            per = sum(len(t) if self.whole else min(len(t), self.max_chars) for t in texts) / len(texts) + 10
        if self.method != "per_class":
            n = self.k
        elif self.multilabel:  # k per label present, plus k with no label
            values = set(map(str, labels))
            n = self.k * len({m for v in values for m in (decode(v) or ())} | ({EMPTY} & values))
        else:
            n = self.k * len(set(map(str, labels)))
        return n * per


def sentence_embedder(model: str | None) -> Callable[[list[str]], Any]:
    """A sentence-transformers encoder (extra ``[hf]``) for ``nearest`` few-shot selection."""
    if importlib.util.find_spec("sentence_transformers") is None:
        raise BadInput('few_shot_selection = "nearest" needs the [hf] extra (pip install "baseline[hf]")')
    from sentence_transformers import SentenceTransformer

    from baseline.adapters.hf.common import DEFAULT_EMBEDDING_MODEL, resolve_model

    name = model or DEFAULT_EMBEDDING_MODEL
    src = resolve_model(name, package_fallback=name == DEFAULT_EMBEDDING_MODEL)
    st = SentenceTransformer(src.location, device="cpu", revision=src.revision)
    return lambda texts: st.encode(list(texts), batch_size=64, show_progress_bar=False)


# ---- token counting ----------------------------------------------------------------------------------

_ENCODINGS: dict[str, Any] = {}
_ENC_LOCK = threading.Lock()


def _litellm_dir() -> Path | None:
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _encoding(model: str) -> Any | None:
    """tiktoken's encoding for an OpenAI model, offline: the user's cache, else LiteLLM's bundled copies."""
    if importlib.util.find_spec("tiktoken") is None:
        return None
    import tiktoken

    try:
        name = tiktoken.encoding_name_for_model(model)
    except KeyError:
        return None
    with _ENC_LOCK:
        if name in _ENCODINGS:
            return _ENCODINGS[name]
        enc = None
        bundled = (_litellm_dir() or Path("/nonexistent")) / "litellm_core_utils" / "tokenizers"
        key = hashlib.sha1(f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken".encode()).hexdigest()
        user_dir = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR") or \
            os.path.join(tempfile.gettempdir(), "data-gym-cache")
        saved = os.environ.get("TIKTOKEN_CACHE_DIR")
        try:
            if not Path(user_dir, key).exists() and (bundled / key).exists():
                os.environ["TIKTOKEN_CACHE_DIR"] = str(bundled)  # never reach for the network when a copy is here
            enc = tiktoken.get_encoding(name)
        except Exception:
            enc = None
        finally:
            if saved is None:
                os.environ.pop("TIKTOKEN_CACHE_DIR", None)
            else:
                os.environ["TIKTOKEN_CACHE_DIR"] = saved
        _ENCODINGS[name] = enc
        return enc


def token_counter(model: str, tokenizer: str = "auto") -> tuple[Callable[[str], int], str]:
    """(count(text) -> tokens, description). ``tokenizer``: "auto" (tiktoken when it knows the model),
    a tiktoken encoding name ("o200k_base", "cl100k_base"), or "approx"."""
    enc = None
    if tokenizer not in ("approx",):
        enc = _encoding(model) if tokenizer == "auto" else _encoding_by_name(tokenizer)
    if enc is not None:
        return (lambda s: len(enc.encode(s, disallowed_special=()))), f"tiktoken {enc.name}"
    return (lambda s: math.ceil(len(s) / 4)), APPROX


def _encoding_by_name(name: str) -> Any | None:
    for model in ("gpt-4o", "gpt-4") if name in ("o200k_base", "cl100k_base") else ():
        enc = _encoding(model)
        if enc is not None and enc.name == name:
            return enc
    return None


def chat_tokens(count: Callable[[str], int], messages: Sequence[tuple[str, str]]) -> int:
    """Prompt tokens of a chat request as OpenAI counts them: 3 per message + content + 3 to prime the reply."""
    return sum(3 + count(role) + count(content) for role, content in messages) + 3


# ---- prices ------------------------------------------------------------------------------------------

_LITELLM: dict[str, Any] | None = None


def litellm_prices() -> tuple[dict[str, Any], str, str] | None:
    """LiteLLM's model price map (its bundled JSON: no import, no network), its source and its date."""
    global _LITELLM
    d = _litellm_dir()
    if d is None or not (d / "model_prices_and_context_window_backup.json").exists():
        return None
    p = d / "model_prices_and_context_window_backup.json"
    if _LITELLM is None:
        try:
            _LITELLM = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            _LITELLM = {}
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("litellm")
    except PackageNotFoundError:
        v = "?"
    date = f"as shipped in litellm {v} (file dated {datetime.fromtimestamp(p.stat().st_mtime, UTC).date()})"
    return _LITELLM, f"LiteLLM model price map (litellm {v}, {p.name})", date


@functools.lru_cache(maxsize=1)
def _packaged() -> PriceTable:
    return PriceTable.default()


def price_row(prices: PriceTable, section: str, names: Sequence[str], options: dict[str, Any],
              litellm_names: Sequence[str] | None = None, adapter: str = "") -> dict[str, Any]:
    """The token price row for a model: USD per 1k input/output tokens, batch prices when known, source, date.

    Order: ``usd_per_1k_input``/``usd_per_1k_output`` options; a ``[prices.<section>."<model>"]`` row set in
    baseline.toml (an override of the packaged table); LiteLLM's map; the packaged ``prices.toml``.
    """
    if options.get("usd_per_1k_input") is not None and options.get("usd_per_1k_output") is not None:
        return {"usd_per_1k_input": float(options["usd_per_1k_input"]),
                "usd_per_1k_output": float(options["usd_per_1k_output"]), "source": "adapter options",
                "effective_date": "as configured"}
    packaged = _packaged()
    for name in names:
        if prices.has(section, name) and (not packaged.has(section, name)
                                          or prices.row(section, name) != packaged.row(section, name)):
            row = prices.row(section, name)
            source = row.get("source")
            if not source or (packaged.has(section, name) and source == packaged.row(section, name).get("source")):
                source = "baseline.toml [prices] override"
            return {"row": f"{section}.{name}", **row, "source": source}
    lite = litellm_prices()
    if lite is not None:
        table, source, date = lite
        for name in litellm_names or names:
            r = table.get(name)
            if isinstance(r, dict) and isinstance(r.get("input_cost_per_token"), int | float) \
                    and isinstance(r.get("output_cost_per_token"), int | float):
                row = {"usd_per_1k_input": r["input_cost_per_token"] * 1000,
                       "usd_per_1k_output": r["output_cost_per_token"] * 1000,
                       "source": f"{source} [{name}]", "effective_date": date}
                if isinstance(r.get("input_cost_per_token_batches"), int | float) and \
                        isinstance(r.get("output_cost_per_token_batches"), int | float):
                    row["usd_per_1k_input_batch"] = r["input_cost_per_token_batches"] * 1000
                    row["usd_per_1k_output_batch"] = r["output_cost_per_token_batches"] * 1000
                return row
    for name in names:
        if prices.has(section, name):
            return {"row": f"{section}.{name}", **prices.row(section, name)}
    first = names[0] if names else "?"
    raise BadInput(f"no price for model {first!r}: add [prices.{section}.\"{first}\"] with usd_per_1k_input and "
                   f"usd_per_1k_output to baseline.toml (or set them under [adapters.{adapter}])")


def token_cost(row: dict[str, Any], input_tokens: float, output_tokens: float, batch: bool = False,
               discount: float | None = None) -> Cost:
    """USD for tokens at a price row; ``batch``: at the Batch API rate (the row's, else ``discount`` off)."""
    tin, tout = float(row["usd_per_1k_input"]), float(row["usd_per_1k_output"])
    if batch:
        if "usd_per_1k_input_batch" in row:
            tin, tout = float(row["usd_per_1k_input_batch"]), float(row["usd_per_1k_output_batch"])
        else:
            off = 0.5 if discount is None else float(discount)
            tin, tout = tin * (1 - off), tout * (1 - off)
    usd = input_tokens * tin / 1000 + output_tokens * tout / 1000
    return Cost(usd, {"input_tokens": float(input_tokens), "output_tokens": float(output_tokens)})


def price_note(row: dict[str, Any]) -> str:
    """One line for the report: the token prices used, with their source and date."""
    return (f"token prices: ${float(row['usd_per_1k_input']) * 1000:.4g} / ${float(row['usd_per_1k_output']) * 1000:.4g} "
            f"per 1M input / output tokens — {row.get('source', '?')} ({row.get('effective_date', 'date unknown')})")


def batch_projection(row: dict[str, Any], units: dict[str, float], n: int, discount: float | None = None) -> str:
    """One line: what these tokens would cost through the provider's Batch API (a projection, not a bill)."""
    c = token_cost(row, units.get("input_tokens", 0.0), units.get("output_tokens", 0.0), batch=True, discount=discount)
    how = "the map's batch prices" if "usd_per_1k_input_batch" in row else \
        f"{(discount if discount is not None else 0.5):.0%} off (batch_discount)"
    per = c.usd / n * 1000 if n else 0.0
    return f"Batch API projection: ${c.usd:.4f} for these {n} texts (${per:.4f} per 1k; {how}; 24 h turnaround)"


# ---- pacing ------------------------------------------------------------------------------------------

class TokenPacer:
    """Requests-per-minute and tokens-per-minute pacing across threads: each request takes the later of
    its RPM slot and its TPM slot (its estimated tokens), so a run stays at or under both ceilings."""

    def __init__(self, rpm: float | None, tpm: float | None) -> None:
        self.req_s = 60.0 / rpm if rpm else 0.0
        self.tok_s = 60.0 / tpm if tpm else 0.0
        self._next_req = self._next_tok = 0.0
        self._lock = threading.Lock()

    def wait(self, tokens: float = 0.0) -> float:
        """Block until this request's slot; returns the milliseconds waited."""
        if not self.req_s and not self.tok_s:
            return 0.0
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_req, self._next_tok)
            self._next_req = start + self.req_s
            self._next_tok = start + tokens * self.tok_s
        delay = start - time.monotonic()
        if delay > 0:
            time.sleep(delay)
            return delay * 1000.0
        return 0.0
