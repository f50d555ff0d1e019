"""What a multi-label answer is: a set of dataset labels, carried through the run as one canonical string.

Every stage between the adapters and the scores (cache, saved results, ``predictions.csv``, reuse, disagreement and
business figures) handles one string per item. A label set is therefore written once, canonically — its labels
sorted and joined by ``|``, the empty set as ``(none)`` — so two equal sets are equal strings, an exact-match check
is string equality, and ``None`` keeps meaning "abstained". Only the multi-label task's metrics look inside.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

SEP = "|"
EMPTY = "(none)"


def encode(labels: Iterable[str]) -> str:
    """A label set as its canonical string: sorted, deduplicated, ``|``-joined; the empty set is ``(none)``."""
    s = sorted({str(x) for x in labels})
    return SEP.join(s) if s else EMPTY


def decode(value: str | None) -> frozenset[str] | None:
    """The set a canonical string names; ``None`` (an abstention) stays ``None``."""
    if value is None:
        return None
    if value == EMPTY or value == "":
        return frozenset()
    return frozenset(value.split(SEP))


def check_label_names(labels: Iterable[str]) -> str | None:
    """Why these label names cannot be carried as sets (one line), or ``None`` when they can."""
    for lab in labels:
        if SEP in lab:
            return f"label {lab!r} contains {SEP!r}, which baseline uses to join a row's labels: rename it"
        if lab == EMPTY:
            return f"a label may not be named {EMPTY!r}: baseline writes the empty label set that way"
        if not lab.strip():
            return "a label name is empty"
    return None


def binarize(values: Sequence[str | None], labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Canonical strings → (indicator matrix (n, k) of uint8, abstained mask (n,)).

    Labels outside ``labels`` are ignored (never predicted as a known label); an abstention is an all-zero row
    flagged in the mask, so metrics can count it as wrong while coverage reports it. Each distinct value is decoded
    once, so a million rows over a few hundred distinct sets cost one factorisation.
    """
    import pandas as pd

    index = {lab: j for j, lab in enumerate(labels)}
    codes, uniques = pd.factorize(pd.Series(list(values) if not isinstance(values, pd.Series) else values,
                                            dtype=object), use_na_sentinel=True)
    k = len(labels)
    table = np.zeros((len(uniques) + 1, k), dtype=np.uint8)  # the last row: missing (abstained)
    for u, v in enumerate(uniques):
        for lab in decode(str(v)) or ():
            j = index.get(lab)
            if j is not None:
                table[u, j] = 1
    codes = np.where(codes < 0, len(uniques), codes)
    return table[codes], codes == len(uniques)
