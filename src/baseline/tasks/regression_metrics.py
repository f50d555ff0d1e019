"""Regression scores with honest uncertainty: point figures equal to scikit-learn's, bootstrap CIs, paired tests.

Truth and predictions arrive as number strings (``baseline.tasks.rows.decode_numbers``). What each figure is, on
the rows a candidate answered (scikit-learn 1.9):

- ``rmse`` = ``sqrt(mean_squared_error)``, ``mae`` = ``mean_absolute_error``, ``r2`` = ``r2_score`` (a constant truth
  scores 1 when every error is 0, else 0, as scikit-learn's ``force_finite``; fewer than 2 rows: ``None``),
  ``median_ae`` = ``median_absolute_error``, ``mape`` = ``mean_absolute_percentage_error`` (a fraction, not %).
- ``mape`` is skipped for every candidate (``None``, reason in ``mape_skipped``) when the truth holds a zero: a
  percentage error is undefined there and scikit-learn's epsilon floor would turn it into an astronomic figure.
- Abstentions (``None``, blanks, text, ±inf, NaN) are never dropped silently: they are counted (``abstained``,
  ``coverage``, ``partial``) and left out of the error figures, because any stand-in value would be invented (the
  test mean leaks test labels; the train mean is not known here). So a partial candidate is scored on rows it
  chose to answer: it is ``best`` only when no candidate answered every row, and every paired comparison is made
  on the rows both candidates answered (its ``n``); a pair with no such row has no entry.
- ``residual_summary``: residual = true − predicted (positive = under-prediction): mean and quantiles.

Bootstrap CIs (rmse, mae, r2, mape) resample rows with the seeded stream of ``baseline.metrics`` (the same draws
as the classification scores, any chunking). Per chunk one sparse product of per-row values (squared, absolute
and relative errors, centred truth and its square, per row subset) with the row counts gives every sum of every
resample; its per-element order is fixed, so chunking never changes a figure. Pairs use the same resamples:
``difference`` is a − b in the metric's own units, resample by resample (for rmse: rmse_a − rmse_b), ``better``
says which sign favours a. ``discordant`` counts rows whose absolute errors differ by more than 1e-12 (McNemar
has no meaning for numbers: ``mcnemar_p`` is ``None``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse

from baseline.metrics import Evaluation, bootstrap_chunks, percentile_ci
from baseline.tasks.rows import decode_numbers

HEADLINE = ("rmse", "mae", "r2", "mape")
CI_METRICS = HEADLINE
HIGHER_IS_BETTER = {"rmse": False, "mae": False, "r2": True, "mape": False, "median_ae": False}
DISCORDANT_TOL = 1e-12
RESIDUAL_QUANTILES = {"min": 0.0, "p5": 0.05, "p25": 0.25, "median": 0.5, "p75": 0.75, "p95": 0.95, "max": 1.0}
_EPS = np.finfo(np.float64).eps


def _r2(ss_res: np.ndarray, ss_tot: np.ndarray, constant: np.ndarray) -> np.ndarray:
    """scikit-learn's R² with ``force_finite``: a constant truth scores 1 for a perfect fit, else 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(constant, np.where(ss_res == 0, 1.0, 0.0), 1 - ss_res / np.where(constant, 1.0, ss_tot))


def _point(y: np.ndarray, p: np.ndarray, with_mape: bool) -> dict[str, Any]:
    """Point figures on answered rows, computed as scikit-learn computes them."""
    if not len(y):
        return {"rmse": None, "mae": None, "r2": None, "mape": None, "median_ae": None, "residual_summary": None}
    e = y - p
    a = np.abs(e)
    r2 = None
    if len(y) >= 2:
        ss_tot = float(((y - np.average(y)) ** 2).sum())
        r2 = float(_r2(np.asarray((e ** 2).sum()), np.asarray(ss_tot), np.asarray(ss_tot == 0)))
    q = np.quantile(e, list(RESIDUAL_QUANTILES.values()))
    return {"rmse": float(np.sqrt(np.average(e ** 2))), "mae": float(np.average(a)), "r2": r2,
            "mape": float(np.average(a / np.maximum(np.abs(y), _EPS))) if with_mape else None,
            "median_ae": float(np.median(a)),
            "residual_summary": {"mean": float(e.mean()), **dict(zip(RESIDUAL_QUANTILES, map(float, q), strict=True))}}


class _Sums:
    """Per-row columns whose resample-weighted sums give every figure: per row subset and per (subset, candidate)."""

    def __init__(self, y: np.ndarray, errors: dict[str, np.ndarray], with_mape: bool) -> None:
        self.y, self.yc, self.errors, self.with_mape = y, y - (y.mean() if len(y) else 0.0), errors, with_mape
        self.subsets: dict[bytes, int] = {}
        self.entries: dict[tuple[bytes, str], int] = {}
        self.cols: list[np.ndarray] = []

    def add(self, mask: np.ndarray, name: str) -> tuple[bytes, str]:
        """Register candidate ``name`` scored on the rows in ``mask``; returns its key."""
        key = np.packbits(mask).tobytes() + len(mask).to_bytes(8, "little")
        if key not in self.subsets:
            self.subsets[key] = len(self.cols)
            m = mask.astype(np.float64)
            self.cols += [m, m * self.yc, m * self.yc ** 2]
        if (key, name) not in self.entries:
            self.entries[(key, name)] = len(self.cols)
            e = np.where(mask, self.errors[name], 0.0)
            a = np.abs(e)
            self.cols += [e ** 2, a] + ([a / np.abs(self.y)] if self.with_mape else [])
        return key, name

    def matrix(self) -> sparse.csr_matrix:
        """(columns, rows): times the (rows, resamples) counts, every sum of every resample."""
        return sparse.csr_matrix(np.vstack(self.cols)) if self.cols else sparse.csr_matrix((0, len(self.y)))

    def figures(self, sums: np.ndarray) -> dict[tuple[bytes, str], dict[str, np.ndarray]]:
        """Every entry's figures from the sums (columns, m), one value per resample."""
        out = {}
        with np.errstate(divide="ignore", invalid="ignore"):
            for (key, name), j in self.entries.items():
                s = self.subsets[key]
                w, sy, syy = sums[s], sums[s + 1], sums[s + 2]
                se, ae = sums[j], sums[j + 1]
                ss_tot = syy - sy * sy / w
                constant = ss_tot <= 1e-12 * syy   # one distinct truth value drawn: the centred sums cancel
                r2 = np.where(w >= 2, _r2(se, ss_tot, constant), np.nan)
                out[(key, name)] = {"rmse": np.sqrt(se / w), "mae": ae / w, "r2": r2,
                                    "mape": sums[j + 2] / w if self.with_mape else np.full(len(w), np.nan)}
        return out


def _ci(samples: np.ndarray, level: float) -> tuple[float, float] | None:
    """Percentile CI over the resamples where the figure is defined; ``None`` when it never is."""
    ok = samples[np.isfinite(samples)]
    return percentile_ci(ok, level) if len(ok) else None


def _paired(diff: np.ndarray, point: float, abs_a: np.ndarray, abs_b: np.ndarray, level: float,
            metric: str) -> dict[str, Any]:
    """Paired bootstrap of a − b in the metric's own units; McNemar has no meaning for numbers."""
    d = diff[np.isfinite(diff)]
    lo, hi = percentile_ci(d, level) if len(d) else (float("nan"), float("nan"))
    return {
        "difference": point,
        "ci": (lo, hi),
        "n": int(len(abs_a)),
        "discordant": int(np.sum(np.abs(abs_a - abs_b) > DISCORDANT_TOL)),
        "p_bootstrap": float(min(1.0, 2 * min((d >= 0).mean(), (d <= 0).mean()))) if len(d) else 1.0,
        "mcnemar_p": None,
        "indistinguishable": bool(lo <= 0 <= hi),
        "better": "higher" if HIGHER_IS_BETTER[metric] else "lower",
    }


def _decode(y_true: Sequence[str], predictions: dict[str, Sequence[str | None]]) -> tuple[np.ndarray, dict]:
    """Truth and predictions as floats; a non-finite prediction is an abstention (NaN), a non-finite truth an error."""
    y = decode_numbers(y_true)
    bad = np.flatnonzero(~np.isfinite(y))
    if len(bad):
        raise ValueError(f"the truth holds {len(bad)} non-numeric value(s) (first at row {bad[0]})")
    preds = {}
    for name, pred in predictions.items():
        if len(pred) != len(y):
            raise ValueError(f"{name}: {len(pred)} predictions for {len(y)} rows")
        p = np.array(decode_numbers(pred), dtype=np.float64)
        p[~np.isfinite(p)] = np.nan
        preds[name] = p
    return y, preds


def evaluate_regression(y_true: Sequence[str], predictions: dict[str, Sequence[str | None]], headline: str = "rmse",
                        resamples: int = 1000, seed: int = 0, level: float = 0.95,
                        chunk_elements: int | None = None) -> Evaluation:
    """Score every candidate's numbers, bootstrap CIs on rows, compare every pair on the same resamples.

    Memory holds one chunk of row counts (``chunk_elements``, as ``baseline.metrics.evaluate``), the per-row
    columns and resamples × 4 figures per entry, never resamples × rows; any chunking, same figures.
    """
    if headline not in HEADLINE:
        raise ValueError(f"headline metric must be one of {HEADLINE}")
    y, preds = _decode(y_true, predictions)
    n = len(y)
    zeros = int((y == 0).sum())
    skipped = (f"the truth holds {zeros} zero value(s): a percentage error is undefined there" if zeros else None)
    if headline == "mape" and skipped:
        raise ValueError(f"MAPE cannot be the headline: {skipped}")
    answered = {name: ~np.isnan(p) for name, p in preds.items()}
    sums = _Sums(y, {name: y - np.nan_to_num(p) for name, p in preds.items()}, not skipped)
    metrics: dict[str, dict[str, Any]] = {}
    own: dict[str, tuple[bytes, str]] = {}
    for name, p in preds.items():
        ok = answered[name]
        k = int(ok.sum())
        metrics[name] = {**_point(y[ok], p[ok], not skipped), "mape_skipped": skipped, "n": k, "rows": n,
                         "abstained": n - k, "coverage": k / n if n else 0.0, "partial": k < n,
                         "higher_is_better": dict(HIGHER_IS_BETTER)}
        if k:
            own[name] = sums.add(ok, name)
    names = list(metrics)
    pairs = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = answered[a] & answered[b]
            if both.any():
                pairs[(a, b)] = (both, sums.add(both, a), sums.add(both, b))
    samples = {key: {met: np.full(resamples, np.nan) for met in CI_METRICS} for key in sums.entries}
    if sums.entries and n:
        mat = sums.matrix()
        for start, w in bootstrap_chunks(n, resamples, seed, chunk_elements):
            figs = sums.figures(np.asarray(mat @ w.T))
            for key, f in figs.items():
                for met in CI_METRICS:
                    samples[key][met][start:start + w.shape[0]] = f[met]
    for name, m in metrics.items():
        m["ci"] = {met: (_ci(samples[own[name]][met], level) if name in own and m[met] is not None else None)
                   for met in CI_METRICS}
        m["ci_level"] = level
    sign = -1.0 if HIGHER_IS_BETTER[headline] else 1.0
    ranked = [c for c in names if metrics[c][headline] is not None]
    best = min(ranked, key=lambda c: (metrics[c]["partial"], sign * metrics[c][headline], metrics[c]["mae"])) \
        if ranked else None
    pairwise: dict[str, dict[str, dict[str, Any]]] = {a: {} for a in names}
    for (a, b), (both, ka, kb) in pairs.items():
        pa, pb = _point(y[both], preds[a][both], not skipped), _point(y[both], preds[b][both], not skipped)
        if pa[headline] is None or pb[headline] is None:
            continue
        d = samples[ka][headline] - samples[kb][headline]
        ea, eb = np.abs(y[both] - preds[a][both]), np.abs(y[both] - preds[b][both])
        pab = _paired(d, pa[headline] - pb[headline], ea, eb, level, headline)
        pairwise[a][b] = pab
        lo, hi = pab["ci"]
        pairwise[b][a] = {**pab, "difference": -pab["difference"], "ci": (-hi, -lo)}
    comparisons = {c: {"against": best, "metric": headline, **pairwise[c][best]}
                   for c in names if c != best and best in pairwise[c]}
    return Evaluation(metrics, comparisons, pairwise, best, headline, resamples)
