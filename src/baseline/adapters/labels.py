"""Mapping a service's own labels onto the dataset's labels (the user's labels are the truth)."""

from __future__ import annotations

from collections.abc import Iterable

# Obvious synonyms: a service label maps to a dataset label when both fall in one group.
SYNONYMS: tuple[frozenset[str], ...] = (
    frozenset({"positive", "pos", "good", "favorable", "favourable", "praise", "happy"}),
    frozenset({"negative", "neg", "bad", "unfavorable", "unfavourable", "complaint", "unhappy"}),
    frozenset({"neutral", "neu", "none", "other"}),
    frozenset({"mixed"}),
)
BINARY_NUMERIC = {"positive": "1", "pos": "1", "negative": "0", "neg": "0"}


def _norm(s: str) -> str:
    return str(s).strip().lower().replace("_", " ").replace("-", " ")


def infer_label_map(service_labels: Iterable[str], dataset_labels: Iterable[str],
                    explicit: dict[str, str] | None = None) -> dict[str, str]:
    """Service label → dataset label, for the obvious cases; explicit entries win.

    Labels with no obvious counterpart are left out: their outputs become abstentions.
    """
    dataset = list(dataset_labels)
    by_norm = {_norm(d): d for d in dataset}
    out: dict[str, str] = {}
    for s in service_labels:
        n = _norm(s)
        if n in by_norm:
            out[s] = by_norm[n]
            continue
        for group in SYNONYMS:
            if n in group:
                hits = [d for d in dataset if _norm(d) in group]
                if len(hits) == 1:
                    out[s] = hits[0]
                break
        else:
            continue
        if s not in out and set(map(_norm, dataset)) == {"0", "1"} and n in BINARY_NUMERIC:
            out[s] = by_norm[BINARY_NUMERIC[n]]
    for k, v in (explicit or {}).items():
        if v not in dataset and v is not None:
            from baseline.errors import BadInput

            raise BadInput(f"label map sends {k!r} to {v!r}, which is not a dataset label {dataset}: fix the label map in baseline.toml")
        out[k] = v
    return out


def describe_map(mapping: dict[str, str], service_labels: Iterable[str]) -> str:
    """One printable line: 'POSITIVE→positive, NEGATIVE→negative, MIXED→(abstain)'."""
    return ", ".join(f"{s}→{mapping.get(s, '(abstain)')}" for s in service_labels)
