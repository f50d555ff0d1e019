"""Figures derived from per-item predictions after scoring: pure functions, stored in results.json, read by the
business case, the data plan and the report (which only renders them: this stage sits below all three).

Where the top candidates disagree, how much each scoring candidate could automate at a target
precision, the Pareto front of metric against cost, the most-confused class pairs, and the
monthly cost at the user's volume. Nothing here runs a model or reads the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from baseline.redact import redact

HOURS_PER_MONTH = 730.0
TARGET_PRECISION = 0.95
EXAMPLE_CHARS = 240
RESIDUAL_POINTS = 1500   # regression plots: at most this many test rows, a seeded sample
TARGET_BINS = 30         # histogram of the test rows' true values


def _clip(text: Any, n: int = EXAMPLE_CHARS) -> str:
    s = redact(str(text))
    return s if len(s) <= n else s[: n - 1].rstrip() + "…"


def label_array(col: pd.Series) -> np.ndarray:
    """A predictions column as an object array of strings, ``None`` for an abstention: compared row by row in C,
    not in a Python loop (250k rows per candidate on a large run)."""
    return col.astype(object).where(col.notna(), None).to_numpy(dtype=object)


def _score_array(col: pd.Series) -> np.ndarray:
    """A ``<name>:score`` column as floats, NaN where there is none: an Arrow string column by Arrow's cast (20x
    pandas' parse at 500k rows), any cell Arrow cannot read as a number by ``pd.to_numeric`` (NaN)."""
    arr = getattr(col.array, "_pa_array", None)
    if arr is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            return np.asarray(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
            pass
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)


class Answers:
    """predictions.csv's answer columns, each read once, as integer codes over one list of labels (``-1``: no
    answer): the figures compare and index codes, not Python strings (750k rows a candidate on a large run, read by
    several figures). Code equality is string equality, and two abstentions agree, as ``None == None`` does."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df
        self.truth = df["label"].astype(str).to_numpy(dtype=object)
        codes, labels = pd.factorize(self.truth)
        self.truth_codes = codes.astype(np.int64)
        self.labels: list[Any] = list(labels)
        self._codes: dict[str, np.ndarray] = {}
        self._scores: dict[str, np.ndarray | None] = {}

    def codes(self, name: str) -> np.ndarray:
        """The candidate's answer per row as a code into ``labels`` (new labels appended), ``-1`` where none."""
        if name not in self._codes:
            self._codes[name] = self._encode(self.df[name])
        return self._codes[name]

    def _encode(self, col: pd.Series) -> np.ndarray:
        arr = getattr(col.array, "_pa_array", None)
        if arr is not None:
            import pyarrow as pa
            import pyarrow.compute as pc

            try:
                seen = set(self.labels)
                self.labels += [v for v in pc.unique(arr).drop_null().to_pylist() if v not in seen]
                idx = pc.index_in(arr, value_set=pa.array(self.labels, type=arr.type))
                return np.asarray(idx.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, TypeError):
                pass
        values = label_array(col)
        seen = set(self.labels)
        self.labels += [v for v in pd.unique(values[pd.notna(values)]) if v not in seen]
        return pd.Index(self.labels, dtype=object).get_indexer(values).astype(np.int64)

    def label(self, code: int) -> Any:
        """The answer a code stands for (``None``: no answer)."""
        return None if code < 0 else self.labels[code]

    def scores(self, name: str) -> np.ndarray | None:
        """The candidate's ``<name>:score`` column as floats (NaN: none), or ``None`` without the column."""
        col = f"{name}:score"
        if col not in self._scores:
            self._scores[col] = _score_array(self.df[col]) if col in self.df.columns else None
        return self._scores[col]


def unanswered_of(df: pd.DataFrame, name: str) -> np.ndarray | None:
    """Per row, whether ``name`` left it unanswered (its ``<name>:error`` column holds an item error); ``None``: none."""
    col = f"{name}:error"
    if col not in df.columns:
        return None
    e = df[col]
    mask = (e.notna() & (e.astype(str) != "")).to_numpy(dtype=bool)
    return mask if mask.any() else None


def load_predictions(run_dir: str | Path) -> pd.DataFrame | None:
    """predictions.csv as strings (empty cells = abstentions), or ``None`` when the run has none."""
    p = Path(run_dir) / "predictions.csv"
    if not p.exists():
        return None
    try:  # Arrow strings: a large run's predictions without a Python string per cell
        return pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""], engine="pyarrow")
    except Exception:  # no pyarrow, or a file Arrow cannot parse: the C parser
        return pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])


def scored_names(results: dict[str, Any]) -> list[str]:
    """Candidates with metrics, in leaderboard order."""
    by = {a["name"]: a for a in results.get("adapters", [])}
    return [n for n in results.get("leaderboard", []) if (by.get(n) or {}).get("metrics")]


def top_candidates(results: dict[str, Any], k: int = 3) -> list[str]:
    """The verdict's choice (or nearest miss), then the leaderboard: the candidates a reviewer looks at first."""
    d = results.get("decision") or {}
    order = [d.get("choice"), d.get("best_passing"), d.get("nearest_miss")] + scored_names(results)
    names = scored_names(results)
    out: list[str] = []
    for n in order:
        if n and n in names and n not in out:
            out.append(n)
    return out[:k]


def disagreement_pair(results: dict[str, Any]) -> tuple[str, str] | None:
    """The two candidates worth contrasting: the choice and the best when they differ, else the top two."""
    d = results.get("decision") or {}
    names = scored_names(results)
    if d.get("choice") and d.get("best_passing") and d["choice"] != d["best_passing"]:
        return d["choice"], d["best_passing"]
    top = top_candidates(results, 2)
    if len(top) < 2 and len(names) >= 2:
        top = names[:2]
    return (top[0], top[1]) if len(top) == 2 else None


def disagreements(df: pd.DataFrame, a: str, b: str, examples: int = 3, answers: Answers | None = None) -> dict[str, Any]:
    """How two candidates agree and differ on the same rows, with a few texts each way.

    Examples are the rows where the wrong candidate was most confident (when it gives scores),
    else the first rows in test order. ``answers``: the frame's columns already read (``Answers``).
    """
    ans = answers if answers is not None else Answers(df)
    truth, ca, cb = ans.truth_codes, ans.codes(a), ans.codes(b)
    ra, rb, same = ca == truth, cb == truth, ca == cb  # no answer (-1) equals no label, but equals no answer
    miss = {x: unanswered_of(df, x) for x in (a, b)}   # no answer at all: shown as unanswered, not abstained

    def pick(mask: np.ndarray, wrong: str) -> list[dict[str, Any]]:
        idx = np.flatnonzero(mask)
        s = ans.scores(wrong)
        if s is not None:
            idx = idx[np.argsort(-np.nan_to_num(s[idx], nan=-1.0), kind="stable")]
        rows = []
        for i in idx[:examples]:
            row = {"id": str(df["id"].iloc[i]), "text": _clip(df["text"].iloc[i]), "label": ans.truth[i],
                   a: ans.label(int(ca[i])), b: ans.label(int(cb[i])),
                   "unanswered": [x for x, m in miss.items() if m is not None and m[i]]}
            if s is not None:
                row["wrong_score"] = None if np.isnan(s[i]) else float(s[i])
            rows.append(row)
        return rows

    n = len(truth)
    return {
        "a": a, "b": b, "n": n,
        "agree": int(same.sum()),
        "both_right": int((ra & rb).sum()),
        "only_a_right": int((ra & ~rb).sum()),
        "only_b_right": int((~ra & rb).sum()),
        "both_wrong": int((~ra & ~rb).sum()),
        "both_wrong_same_answer": int((~ra & ~rb & same).sum()),
        "a_right_b_wrong": pick(ra & ~rb, b),
        "b_right_a_wrong": pick(~ra & rb, a),
    }


def coverage_precision(truth: Sequence[str], preds: Sequence[str | None], scores: Sequence[float | None],
                       target: float = TARGET_PRECISION, points: int = 60,
                       unanswered: Sequence[bool] | np.ndarray | None = None) -> dict[str, Any] | None:
    """Automate the most confident answers first: precision of the top-k by score against coverage k/n.

    Only cuts between different scores count (a threshold cannot split a tie). Abstentions and
    items without a score are never automated. Coverage is over the answered items: items the service
    never answered (``unanswered``, item errors) are left out of ``n`` and counted in ``unanswered``.
    The threshold is read off the test set itself, so the coverage at the target is optimistic;
    confirm it on fresh data.
    """
    p = np.asarray(preds, dtype=object)
    t = np.asarray(truth, dtype=object)
    return _coverage(p == t, pd.notna(p), np.asarray(scores, dtype=float), target, points, unanswered)  # None → NaN


def _coverage(right: np.ndarray, answered: np.ndarray, scores: np.ndarray, target: float = TARGET_PRECISION,
              points: int = 60, unanswered: Sequence[bool] | np.ndarray | None = None) -> dict[str, Any] | None:
    """``coverage_precision`` from each row's rightness, whether it was answered, and its score."""
    miss = np.zeros(len(right), dtype=bool) if unanswered is None else np.asarray(unanswered, dtype=bool)
    keep = ~miss
    s = scores[keep]
    n = len(s)
    ok = ~np.isnan(s) & answered[keep]
    if n == 0 or not ok.any():
        return None
    idx = np.flatnonzero(ok)
    order = idx[np.argsort(-s[idx], kind="stable")]
    correct = right[keep][order].astype(float)
    ss = s[order]
    k = np.arange(1, len(order) + 1)
    prec = np.cumsum(correct) / k
    cut = np.r_[ss[1:] < ss[:-1], True]          # a threshold can stop after position k only here
    cuts = np.flatnonzero(cut)
    good = cuts[prec[cuts] >= target]
    best = None
    if good.size:
        j = int(good.max())
        best = {"coverage": float((j + 1) / n), "precision": float(prec[j]), "threshold": float(ss[j]),
                "items": int(j + 1)}
    sel = cuts if cuts.size <= points else cuts[np.unique(np.linspace(0, cuts.size - 1, points).round().astype(int))]
    curve = [[round(float((j + 1) / n), 5), round(float(prec[j]), 5), round(float(ss[j]), 5)] for j in sel]
    return {"target": target, "n": n, "unanswered": int(miss.sum()), "answered_with_score": int(ok.sum()),
            "at_target": best, "full_coverage_precision": float(prec[-1]), "max_coverage": float(len(order) / n),
            "curve": curve, "curve_columns": ["coverage", "precision", "threshold"],
            "note": "threshold read off the test set itself: optimistic, confirm on fresh data"}


def confused_pairs(confusion: dict[str, Any], top: int = 8) -> list[dict[str, Any]]:
    """The largest off-diagonal cells (true → predicted), with their share of the true class."""
    labels, cols, m = confusion["labels"], confusion["columns"], np.asarray(confusion["matrix"])
    rows = []
    support = m.sum(axis=1)
    for i, t in enumerate(labels):
        for j, p in enumerate(cols):
            if j == i or m[i, j] == 0:
                continue
            rows.append({"true": t, "predicted": p, "count": int(m[i, j]),
                         "share_of_true": float(m[i, j] / support[i]) if support[i] else 0.0})
    rows.sort(key=lambda r: (-r["count"], r["true"], r["predicted"]))
    return rows[:top]


def pareto_front(points: list[tuple[str, float, float]], higher_is_better: bool = True) -> list[str]:
    """Names not dominated in (lower cost, better metric): no other point is at least as good on both and better on one.

    ``higher_is_better=False`` for metrics where less is better (RMSE, MAE): the metric is negated first.
    """
    sign = 1.0 if higher_is_better else -1.0
    points = [(n, c, sign * m) for n, c, m in points]
    front = []
    for name, c, m in points:
        dominated = any((c2 <= c and m2 >= m) and (c2 < c or m2 > m) for n2, c2, m2 in points if n2 != name)
        if not dominated:
            front.append(name)
    return sorted(front, key=lambda n: next(c for nm, c, _ in points if nm == n))


def _host_rate(a: dict[str, Any], prices: Any) -> float | None:
    """USD/hour of the local instance a local adapter was priced on (from its price row)."""
    rows = (a.get("cost") or {}).get("price_rows") or []
    if not rows or prices is None:
        return None
    try:
        row = prices.row(*rows[0].split("."))
        return float(row["usd_per_hour"])
    except Exception:
        return None


def monthly(results: dict[str, Any], prices: Any = None) -> dict[str, Any] | None:
    """Cost per month at the stated volume, per candidate; local ones also as an always-on instance."""
    vol = ((results.get("settings") or {}).get("bar") or {}).get("monthly_volume")
    if not vol:
        return None
    rows = []
    for a in results.get("adapters", []):
        c, t = a.get("cost") or {}, a.get("timing") or {}
        if not a.get("metrics") or c.get("per_1k_usd") is None:
            continue
        usage = c["per_1k_usd"] * vol / 1000.0
        row = {"name": a["name"], "per_1k_usd": c["per_1k_usd"], "usage_usd": usage,
               "one_off_usd": c.get("one_off_usd") or 0.0, "first_month_usd": usage + (c.get("one_off_usd") or 0.0),
               "always_on_usd": None, "compute_hours": None}
        rate = _host_rate(a, prices)
        thr = t.get("throughput_per_s")
        if rate is not None:
            row["always_on_usd"] = rate * HOURS_PER_MONTH
        if thr:
            row["compute_hours"] = vol / thr / 3600.0
        rows.append(row)
    return {"volume": vol, "hours_per_month": HOURS_PER_MONTH, "rows": rows}


def applies(results: dict[str, Any], section: str) -> bool:
    """Whether a report section means something for the run's task (``task_info.not_applicable``)."""
    return section not in ((results.get("task_info") or {}).get("not_applicable") or {})


def lower_is_better(results: dict[str, Any], metric: str) -> bool:
    """Whether less is better for this metric in the run's task (RMSE, MAE, MAPE, log loss …)."""
    return metric in ((results.get("task_info") or {}).get("lower_is_better") or ())


def is_regression(results: dict[str, Any]) -> bool:
    """A run whose answers are numbers: its task says so, or its candidates carry a residual summary."""
    if results.get("task") == "tabular-regression":
        return True
    return any("residual_summary" in (a.get("metrics") or {}) for a in results.get("adapters", []))


def analyze_run(results: dict[str, Any], run_dir: str | Path, prices: Any = None) -> dict[str, Any]:
    """Everything the report derives beyond metrics, from results plus predictions.csv.

    Figures that compare answers as strings (disagreements, coverage against precision) are skipped for tasks that
    list them as not applicable (regression answers are numbers); regression runs get ``residuals`` instead.
    """
    df = load_predictions(run_dir)
    by = {a["name"]: a for a in results.get("adapters", [])}
    names = scored_names(results)
    metric = (results.get("settings") or {}).get("metric", "macro_f1")
    out: dict[str, Any] = {"top": top_candidates(results), "disagreements": None, "coverage_precision": {},
                           "pareto": [], "confused_pairs": {}, "monthly": monthly(results, prices), "unanswered": {}}
    pts = [(n, by[n]["cost"].get("per_1k_usd"), by[n]["metrics"][metric]) for n in names
           if (by[n].get("cost") or {}).get("per_1k_usd") is not None and by[n]["metrics"].get(metric) is not None]
    out["pareto"] = pareto_front(pts, not lower_is_better(results, metric))
    regression = is_regression(results)
    if regression:
        out["residuals"] = None
    ans = Answers(df) if df is not None else None
    if ans is not None:
        for n in names:
            miss = unanswered_of(ans.df, n) if n in ans.df.columns else None
            if miss is not None:
                out["unanswered"][n] = unanswered_by_label(ans.truth, miss)
    for n in names:  # a task without a confusion matrix (multi-label) has no confused pairs
        if by[n]["metrics"].get("confusion"):
            conf = split_abstain(by[n]["metrics"]["confusion"], (out["unanswered"].get(n) or {}).get("by_label"))
            out["confused_pairs"][n] = confused_pairs(conf)
    if df is None or ans is None:
        return out
    if regression:
        out["residuals"] = residual_points(df, out["top"])
    pair = disagreement_pair(results) if applies(results, "disagreements") else None
    if pair and all(p in df.columns for p in pair):
        out["disagreements"] = disagreements(df, *pair, answers=ans)
    for n in names:
        if not applies(results, "coverage_precision"):
            break
        scores = ans.scores(n) if n in df.columns else None
        if scores is None:
            continue
        codes = ans.codes(n)
        cp = _coverage(codes == ans.truth_codes, codes >= 0, scores, unanswered=unanswered_of(df, n))
        if cp is not None:
            out["coverage_precision"][n] = cp
    return out


def residual_points(df: pd.DataFrame, names: Sequence[str], max_points: int = RESIDUAL_POINTS,
                    seed: int = 0, bins: int = TARGET_BINS) -> dict[str, Any]:
    """What the regression plots draw: true and predicted values of a seeded sample of test rows (the same rows for
    every candidate, at most ``max_points``), and a histogram of every test row's true value.

    Residual = true − predicted. A candidate's abstentions are ``None`` in its list (not drawn).
    """
    from baseline.tasks.rows import decode_numbers

    truth = np.asarray(decode_numbers(df["label"].astype(str).tolist()), dtype=float)
    n = len(truth)
    idx = np.arange(n)
    if n > max_points:
        idx = np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))
    finite = truth[np.isfinite(truth)]
    counts, edges = (np.histogram(finite, bins=min(bins, max(1, len(np.unique(finite)))))
                     if len(finite) else (np.array([]), np.array([])))

    def r6(v: float) -> float | None:
        return None if not np.isfinite(v) else float(f"{v:.6g}")

    predicted: dict[str, list[float | None]] = {}
    answered: dict[str, int] = {}
    for name in names:
        if name not in df.columns:
            continue
        p = np.asarray(decode_numbers(df[name].astype(object).where(df[name].notna(), None).tolist()), dtype=float)
        answered[name] = int(np.isfinite(p).sum())
        predicted[name] = [r6(v) for v in p[idx]]
    return {"rows": n, "shown": int(len(idx)), "sampled": bool(n > max_points), "seed": seed,
            "truth": [r6(v) for v in truth[idx]], "predicted": predicted, "answered": answered,
            "histogram": {"counts": [int(c) for c in counts], "edges": [float(e) for e in edges]}}


def split_abstain(confusion: dict[str, Any], unanswered: dict[str, int] | None) -> dict[str, Any]:
    """A confusion matrix whose ``(abstain)`` column held unanswered items too, with them in an ``(unanswered)`` column."""
    if not unanswered or "(abstain)" not in confusion["columns"]:
        return confusion
    j = confusion["columns"].index("(abstain)")
    matrix = []
    for lab, row in zip(confusion["labels"], confusion["matrix"], strict=True):
        u = min(int(unanswered.get(str(lab), 0)), int(row[j]))
        matrix.append([*row[:j], int(row[j]) - u, *row[j + 1:], u])
    return {**confusion, "columns": [*confusion["columns"], "(unanswered)"], "matrix": matrix}


def unanswered_by_label(truth: np.ndarray, miss: np.ndarray) -> dict[str, Any]:
    """How many rows one candidate left unanswered, in all and per true label (for the confusion view)."""
    labels, counts = np.unique(truth[miss].astype(str), return_counts=True)
    return {"items": int(miss.sum()), "of": int(len(miss)),
            "by_label": {str(lab): int(c) for lab, c in zip(labels, counts, strict=True)}}
