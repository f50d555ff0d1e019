"""What each column of a table is, and which columns must not be features: type inference and drop rules.

Every column is read as text first (as the file holds it) and classified, with the reason kept for the report:

- ``numeric``: every non-blank value parses as a number (numbers stored as text with blanks, like a CSV export's
  ``TotalCharges``, are numbers with missing values, and the note says so);
- ``boolean``: exactly two distinct values from yes/no, true/false, y/n, t/f or 0/1;
- ``datetime``: not numeric, and at least 95% of the non-blank values parse as dates;
- ``identifier``: a distinct value on every row (text ids such as ``customerID``), or a whole-number column that
  counts the rows (``instant`` = 1, 2, 3 …) — dropped;
- ``constant``: one distinct value (or none) — dropped;
- ``text``: free text (many distinct values with a mean length of 30 characters or more);
- ``categorical``: anything else.

A column that is a near-exact function of the target is a leak and is dropped with its reason: for a numeric target,
a column or the sum or difference of two columns equal to it on at least 99.5% of rows (``casual + registered =
cnt``), or a column whose correlation with it is at least 0.999; for a class target, a column whose values each
point to one class on at least 99.5% of rows while having at most half as many distinct values as rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

BOOL_PAIRS = [{"yes", "no"}, {"true", "false"}, {"y", "n"}, {"t", "f"}, {"0", "1"}, {"0.0", "1.0"}]
TRUE_WORDS = {"yes", "true", "y", "t", "1", "1.0"}
LEAK_SHARE = 0.995
LEAK_CORR = 0.999
DATE_SHARE = 0.95
TEXT_MEAN_CHARS = 30


@dataclass
class ColumnInfo:
    """One column of the user's table as baseline reads it."""

    name: str
    kind: str                # numeric, boolean, datetime, categorical, text, identifier, constant
    missing: int = 0
    distinct: int = 0
    example: str = ""
    note: str = ""           # e.g. "numbers stored as text; 11 blanks read as missing"
    dropped: str = ""        # why it is not a feature ("" = kept)

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("name", "kind", "missing", "distinct", "example", "note", "dropped")}


@dataclass
class TableSchema:
    """The kept features with their kinds, and every column's reading (kept or dropped, and why)."""

    features: dict[str, str]
    columns: list[ColumnInfo] = field(default_factory=list)

    def dropped(self) -> list[ColumnInfo]:
        return [c for c in self.columns if c.dropped]


def _blank(s: pd.Series) -> np.ndarray:
    return (s.isna() | (s.astype(str).str.strip() == "")).to_numpy()


def infer_column(name: str, raw: pd.Series) -> ColumnInfo:
    """The kind of one column read as text (see the module docstring for the rules)."""
    blank = _blank(raw)
    vals = raw[~blank].astype(str).str.strip()
    n = len(raw)
    distinct = int(vals.nunique())
    info = ColumnInfo(name, "categorical", missing=int(blank.sum()), distinct=distinct,
                      example=str(vals.iloc[0])[:40] if len(vals) else "")
    if distinct <= 1:
        info.kind, info.dropped = "constant", ("every row is blank" if distinct == 0 else
                                               f"one value on every row ({info.example!r})")
        return info
    low = set(vals.str.lower().unique()) if distinct == 2 else set()
    if distinct == 2 and any(low == p for p in BOOL_PAIRS):
        info.kind = "boolean"
        return info
    nums = pd.to_numeric(vals, errors="coerce")
    if nums.notna().all():
        info.kind = "numeric"
        if info.missing:
            info.note = f"numbers stored as text; {info.missing:,} blank value(s) read as missing"
        ints = nums.to_numpy()
        if distinct == n and np.all(ints == np.round(ints)):
            d = np.diff(ints)
            if len(d) and (np.all(d == 1) or np.all(d == -1)):
                info.kind, info.dropped = "identifier", "counts the rows (1, 2, 3 …): a row number, not a feature"
        return info
    if _looks_like_dates(vals):  # before the identifier rule: hourly timestamps are distinct on every row too
        info.kind = "datetime"
        return info
    if distinct == n - info.missing and info.missing == 0:
        info.kind, info.dropped = "identifier", "a distinct value on every row: an identifier, not a feature"
        return info
    if distinct > 0.5 * len(vals) and vals.str.len().mean() >= TEXT_MEAN_CHARS:
        info.kind = "text"
    return info


def _parse_dates(values: pd.Series) -> pd.Series:
    """Dates in whatever single format the column uses (M/D/YY included), NaT where they do not parse."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.to_datetime(values, errors="coerce", format="mixed")


def _looks_like_dates(vals: pd.Series) -> bool:
    """Most values shaped like a date (digits and separators: 2024-01-31, 1/31/24 …) that also parse as dates."""
    sample = vals.iloc[:2000]
    has_sep = sample.str.contains(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True).mean() >= DATE_SHARE
    return bool(has_sep and _parse_dates(sample).notna().mean() >= DATE_SHARE)


def numeric_values(raw: pd.Series, kind: str) -> np.ndarray:
    """A numeric or boolean column as floats (booleans 0/1), blanks NaN."""
    s = raw.astype(object).where(~_blank(raw), None)
    if kind == "boolean":
        low = s.map(lambda v: None if v is None else str(v).strip().lower())
        return low.map(lambda v: np.nan if v is None else float(v in TRUE_WORDS)).to_numpy(dtype=float)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)


def leaks(df: pd.DataFrame, infos: dict[str, ColumnInfo], target: np.ndarray | pd.Series,
          regression: bool) -> dict[str, str]:
    """Columns that are a near-exact function of the target, with the reason (see the module docstring)."""
    out: dict[str, str] = {}
    kept = [c for c, i in infos.items() if not i.dropped]
    if regression:
        y = np.asarray(target, dtype=float)
        num = {c: numeric_values(df[c], infos[c].kind) for c in kept if infos[c].kind in ("numeric", "boolean")}
        tol = 1e-9 * max(1.0, float(np.nanmax(np.abs(y))))
        for c, x in num.items():
            ok = ~np.isnan(x)
            if ok.mean() < 0.5:
                continue
            if np.mean(np.abs(x[ok] - y[ok]) <= tol) >= LEAK_SHARE:
                out[c] = "equals the target"
                continue
            if np.std(x[ok]) > 0 and abs(np.corrcoef(x[ok], y[ok])[0, 1]) >= LEAK_CORR:
                out[c] = f"correlation with the target {np.corrcoef(x[ok], y[ok])[0, 1]:.4f}: a near-exact function of it"
        names = [c for c in num if c not in out]
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                xa, xb = num[a], num[b]
                for sign, op in ((1, "+"), (-1, "−")):
                    z = xa + sign * xb
                    ok = ~np.isnan(z)
                    if ok.mean() >= 0.5 and np.mean(np.abs(z[ok] - y[ok]) <= tol) >= LEAK_SHARE:
                        why = f"{a} {op} {b} = the target on {np.mean(np.abs(z[ok] - y[ok]) <= tol):.1%} of rows"
                        out.setdefault(a, why)
                        out.setdefault(b, why)
        return out
    yc, ys = pd.factorize(pd.Series(np.asarray(target, dtype=object)))
    n = len(yc)
    for c in kept:
        if infos[c].kind not in ("categorical", "boolean", "numeric") or infos[c].distinct > n / 2:
            continue
        xc, xs = pd.factorize(df[c].astype(str).str.strip().reset_index(drop=True))
        top = np.bincount(xc * len(ys) + yc, minlength=len(xs) * len(ys)).reshape(len(xs), len(ys)).max(axis=1).sum()
        if top / n >= LEAK_SHARE and infos[c].distinct < n:
            out[c] = f"each of its values points to one class on {top / n:.1%} of rows: a near-exact function of the target"
    return out


def infer_schema(df: pd.DataFrame, target: str, target_values: Any, regression: bool,
                 feature_cols: list[str] | None = None, drop_cols: list[str] | None = None,
                 keep: set[str] | None = None) -> TableSchema:
    """Every column's reading, the drop rules applied, and the kept features with their kinds."""
    cols = [c for c in df.columns if c != target]
    if feature_cols is not None:
        cols = [c for c in cols if c in feature_cols]
    infos: dict[str, ColumnInfo] = {}
    for c in cols:
        infos[c] = infer_column(c, df[c])
        if drop_cols and c in drop_cols:
            infos[c].dropped = "--drop-cols"
        if keep and c in keep and infos[c].dropped and infos[c].kind in ("identifier",):
            infos[c].dropped = ""  # the user's --time-col stays a feature even when it counts rows
    for c, why in leaks(df, infos, target_values, regression).items():
        infos[c].dropped = f"target leak: {why}"
    features = {c: i.kind for c, i in infos.items() if not i.dropped}
    return TableSchema(features=features, columns=list(infos.values()))


def typed_frame(df: pd.DataFrame, schema: dict[str, str]) -> pd.DataFrame:
    """The kept columns with their inferred types (numbers and booleans as floats, datetimes parsed, text stripped)."""
    out = pd.DataFrame(index=range(len(df)))
    for c, kind in schema.items():
        raw = df[c].reset_index(drop=True)
        if kind in ("numeric", "boolean"):
            out[c] = numeric_values(raw, kind)
        elif kind == "datetime":
            out[c] = _parse_dates(raw.astype(object).where(~_blank(raw), None))
        else:
            s = raw.astype(object).where(~_blank(raw), None)
            out[c] = s.map(lambda v: None if v is None else str(v).strip())
    return out


def looks_time_ordered(df: pd.DataFrame, schema: dict[str, str]) -> str | None:
    """The first datetime column whose values rise (or hold) down the file on ≥ 99% of rows, or None."""
    for c, kind in schema.items():
        if kind != "datetime":
            continue
        d = _parse_dates(df[c].astype(object))
        v = d.dropna().to_numpy()
        if len(v) > 10 and np.mean(v[1:] >= v[:-1]) >= 0.99:
            return c
    return None
