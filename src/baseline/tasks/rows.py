"""What a tabular item is: one row of typed features, carried through the run as one canonical JSON string.

As with label sets, every stage between the adapters and the scores (cache keys, saved results, ``predictions.csv``,
the split hash, duplicate and leakage checks) handles one string per item, so a table row travels as a JSON object
of its features in a fixed column order. Adapters that learn on tables turn a batch of such strings back into a typed
frame with ``decode_rows(texts, schema)``; LLM adapters read the JSON as it is.

The schema maps each kept feature to its kind: ``numeric`` (float, missing = NaN), ``boolean`` (0/1 float),
``categorical`` (string), ``datetime`` (ISO string; ``design_frame`` expands it into numeric parts) or ``text``
(free text, string). Regression targets travel as ``repr(float)`` strings (``encode_number``), predictions likewise.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

KINDS = ("numeric", "boolean", "categorical", "datetime", "text")


def encode_number(x: float | None) -> str | None:
    """A number as the canonical string a regression target or prediction travels as (``None`` stays ``None``)."""
    if x is None:
        return None
    x = float(x)
    return None if not math.isfinite(x) else repr(x)


def decode_numbers(values: Sequence[str | None]) -> np.ndarray:
    """Canonical number strings → float array; ``None``, blanks and non-numbers → NaN (an abstention)."""
    return pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").to_numpy(dtype=float)


def encode_rows(frame: pd.DataFrame, schema: dict[str, str]) -> list[str]:
    """Typed feature columns → one JSON object string per row, keys in ``schema`` order, missing as null."""
    cols = list(schema)
    pieces: list[list[Any]] = []
    for c in cols:
        v = frame[c]
        if schema[c] in ("numeric", "boolean"):
            a = pd.to_numeric(v, errors="coerce").astype(float).to_numpy()
            pieces.append([None if not math.isfinite(x) else (int(x) if x.is_integer() and abs(x) < 2**53 else x)
                           for x in a.tolist()])
        elif schema[c] == "datetime":
            d = pd.to_datetime(v, errors="coerce")
            pieces.append([None if pd.isna(x) else x.isoformat() for x in d])
        else:
            s = v.astype(object).where(v.notna(), None)
            pieces.append([None if x is None else str(x) for x in s.tolist()])
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    return [dumps(dict(zip(cols, row, strict=True))) for row in zip(*pieces, strict=True)] if cols else \
        ["{}"] * len(frame)


def decode_rows(texts: Sequence[str], schema: dict[str, str]) -> pd.DataFrame:
    """JSON row strings → a frame with one typed column per schema feature (numeric/boolean float, others object)."""
    recs = [json.loads(t) for t in texts]
    raw = pd.DataFrame.from_records(recs, columns=list(schema)) if recs else pd.DataFrame(columns=list(schema))
    cols: dict[str, Any] = {}   # built apart and framed once: a column at a time costs ~0.2 ms each, per call
    for c, kind in schema.items():
        v = raw[c]
        if kind in ("numeric", "boolean"):
            cols[c] = pd.to_numeric(v, errors="coerce").astype(float)
        else:
            cols[c] = v.astype(object).where(v.notna(), None)
    return pd.DataFrame(cols, index=raw.index, columns=list(schema)) if cols else raw


def design_frame(df: pd.DataFrame, schema: dict[str, str]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """A decoded frame made ready for scikit-learn-style models: datetimes expanded into numeric parts (year, month,
    day of week, hour, day of year). Returns (frame, numeric columns, categorical columns); free text columns are
    returned as categorical only when they are short-valued, else dropped (the tabular floors are not text models)."""
    cols: dict[str, Any] = {}
    numeric, categorical = [], []
    for c, kind in schema.items():
        if kind in ("numeric", "boolean"):
            cols[c] = df[c].astype(float)
            numeric.append(c)
        elif kind == "datetime":
            d = pd.to_datetime(df[c], errors="coerce")
            for part in ("year", "month", "day_of_week", "hour", "day_of_year"):
                name = f"{c}.{part}"
                cols[name] = getattr(d.dt, part).astype(float)
                numeric.append(name)
        else:
            cols[c] = df[c].astype(object).where(df[c].notna(), "(missing)").astype(str)
            categorical.append(c)
    return pd.DataFrame(cols, index=df.index), numeric, categorical
