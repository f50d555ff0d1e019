"""flaml on tables: FLAML AutoML straight on generated classification and regression tables, 5 s budgets."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("flaml")
pytest.importorskip("lightgbm")

from baseline.adapters.automl import DEFAULT_ESTIMATORS, SEARCH_LOG, FlamlAdapter  # noqa: E402
from baseline.adapters.automl.tabular import TABULAR_ESTIMATORS  # noqa: E402
from baseline.adapters.base import AdapterContext  # noqa: E402
from baseline.errors import BadInput  # noqa: E402
from baseline.tasks import rows  # noqa: E402

BUDGET = 5.0
SCHEMA = {"x1": "numeric", "x2": "numeric", "color": "categorical", "flag": "boolean", "when": "datetime",
          "noise": "numeric"}


def _table(n: int, seed: int) -> pd.DataFrame:
    """Typed feature columns: numbers (some missing), a categorical, a boolean, a datetime, pure noise."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                       "color": rng.choice(["red", "green", "blue"], n), "flag": rng.integers(0, 2, n).astype(float),
                       "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 24 * 90, n), unit="h"),
                       "noise": rng.normal(size=n)})
    df.loc[df.index % 17 == 0, "x2"] = np.nan
    return df


def _ctx(tmp_path: Path, task: str, labels: list[str], metric: str, **options) -> AdapterContext:
    return AdapterContext(labels=labels, task=task, schema=SCHEMA, metric=metric, workdir=tmp_path, threads=2,
                          options={"time_budget": BUDGET, **options})


def _fit(adapter: FlamlAdapter, texts: list[str], labels: list[str]) -> tuple[float, dict]:
    adapter.load()
    t = time.perf_counter()
    info = adapter.fit(texts, labels)
    return time.perf_counter() - t, info.details


def test_classification_within_budget_full_probabilities_beats_majority(tmp_path: Path) -> None:
    from sklearn.metrics import f1_score

    df = _table(800, 0)
    logit = 2 * df.x1 - df.x2.fillna(0) + 1.5 * (df.color == "red") + (df.when.dt.hour >= 12)
    y = np.where(logit > 1.0, "high", np.where(logit < -0.5, "low", "mid")).tolist()
    texts = rows.encode_rows(df, SCHEMA)
    labels = ["high", "low", "mid", "never-seen"]   # a dataset label absent from train still gets a score
    a = FlamlAdapter(_ctx(tmp_path, "tabular-classification", labels, "macro_f1"))
    took, d = _fit(a, texts[:600], y[:600])

    assert took <= BUDGET * 1.1 + 1.0, took          # the whole fit keeps to --time-budget (+ fixed overhead)
    assert d["budget_used_s"] <= BUDGET * 1.1 and d["time_budget_s"] == BUDGET
    assert d["winner"] in TABULAR_ESTIMATORS and d["trials"] >= 5
    assert d["flaml_metric"] == "macro_f1" and d["estimators"] == list(TABULAR_ESTIMATORS)
    assert d["holdout"]["holdout_rows"] == 120 and d["retrain"]["done"] in (True, False)
    assert (tmp_path / SEARCH_LOG).stat().st_size > 0 and (tmp_path / "search_summary.json").exists()

    out = a.predict_batch(texts[600:])
    assert all(isinstance(p, str) and p in labels[:3] for p in out.labels)
    for s in out.scores:
        assert set(s) == set(labels) and s["never-seen"] == 0.0 and sum(s.values()) == pytest.approx(1.0)
    truth = y[600:]
    majority = max(set(y[:600]), key=y[:600].count)
    f1 = f1_score(truth, out.labels, average="macro")
    assert f1 > f1_score(truth, [majority] * len(truth), average="macro") + 0.4, f1

    e = a.explain()
    assert e["winner"] == d["winner"] and d["winner"] in e["text"]
    imp = {f["feature"]: f["mean"] for f in e["permutation_importance"]}
    assert set(imp) == set(SCHEMA)                   # the user's columns, a datetime once
    assert imp["x1"] > imp["noise"] and imp["x1"] > 0.05
    assert "holdout" in e["on"]


def test_regression_within_budget_numbers_beat_the_mean(tmp_path: Path) -> None:
    df = _table(700, 1)
    rng = np.random.default_rng(2)
    target = 3 * df.x1 + 2 * (df.color == "blue") + df.when.dt.hour / 6 + rng.normal(scale=0.3, size=len(df))
    y = [rows.encode_number(v) for v in target]
    texts = rows.encode_rows(df, SCHEMA)
    a = FlamlAdapter(_ctx(tmp_path, "tabular-regression", [], "rmse"))
    took, d = _fit(a, texts[:500], y[:500])

    assert took <= BUDGET * 1.1 + 1.0, took
    assert d["budget_used_s"] <= BUDGET * 1.1
    assert d["flaml_metric"] == "rmse" and "lrl1" not in d["estimators"]
    assert d["winner"] in TABULAR_ESTIMATORS and d["winner_val_score"] > 0   # RMSE, in the target's units

    out = a.predict_batch(texts[500:])
    assert out.scores is None or not any(out.scores)
    pred = np.array([float(p) for p in out.labels])        # every answer a number string
    truth = target.to_numpy()[500:]
    rmse = float(np.sqrt(np.mean((pred - truth) ** 2)))
    const = float(np.sqrt(np.mean((np.mean(target.to_numpy()[:500]) - truth) ** 2)))
    assert rmse < 0.4 * const, (rmse, const)

    e = a.explain()
    assert d["winner"] in e["text"] and "RMSE" in e["text"]
    assert e["permutation_importance"][0]["feature"] == "x1"


def test_options_unseen_categories_and_text_path_unchanged(tmp_path: Path) -> None:
    assert {"tabular-classification", "tabular-regression", "text-classification"} <= set(FlamlAdapter.tasks)
    assert FlamlAdapter(AdapterContext(labels=["a", "b"])).estimators == list(DEFAULT_ESTIMATORS)
    with pytest.raises(BadInput, match="regression"):
        FlamlAdapter(_ctx(tmp_path, "tabular-regression", [], "rmse", estimators=["lrl1", "svc"]))
    with pytest.raises(BadInput, match="cannot optimise"):
        FlamlAdapter(_ctx(tmp_path, "tabular-regression", [], "macro_f1"))

    df = _table(200, 3)
    y = np.where(df.x1 > 0, "yes", "no").tolist()
    a = FlamlAdapter(_ctx(tmp_path, "tabular-classification", ["no", "yes"], "weighted_f1", max_iter=4,
                          estimators="lgbm,lrl1", features="auto"))
    assert a.estimators == ["lgbm", "lrl1"] and any("text only" in n for n in a.notes)
    _, d = _fit(a, rows.encode_rows(df, SCHEMA), y)
    assert d["flaml_metric"].startswith("weighted_f1") and d["trials"] <= 4
    new = pd.DataFrame({"x1": [2.0, -2.0], "x2": [None, 0.0], "color": ["purple", None], "flag": [1.0, None],
                        "when": [pd.Timestamp("2030-01-01"), pd.NaT], "noise": [0.0, 0.0]})
    out = a.predict_batch(rows.encode_rows(new, SCHEMA))   # a category unseen in train and missing values
    assert len(out.labels) == 2 and all(set(s) == {"no", "yes"} for s in out.scores)


def test_unset_budget_scales_with_the_tables_rows(tmp_path: Path) -> None:
    from baseline.adapters.automl.config import tabular_default_budget

    assert [tabular_default_budget(n) for n in (100, 1_500, 3_000, 6_000, 18_000, 1_000_000)] == [5, 5, 10, 20, 60, 60]
    df = _table(2_400, 3)
    y = np.where(df.x1 > 0, "yes", "no").tolist()
    texts = rows.encode_rows(df, SCHEMA)
    ctx = AdapterContext(labels=["no", "yes"], task="tabular-classification", schema=SCHEMA, metric="macro_f1",
                         workdir=tmp_path, threads=2, options={"max_iter": 4})
    a = FlamlAdapter(ctx)
    chars = 1e-5 * sum(map(len, texts))
    assert a.estimate_fit(texts, y).seconds == pytest.approx(8 * 1.1 + chars) and a.time_budget == 60   # text: 60
    took, d = _fit(a, texts, y)
    assert d["time_budget_s"] == 8 and took < 8 * 1.1 + 1.0
    assert any("search budget 8 s for 2,400 train rows" in n for n in a.notes)
    given = FlamlAdapter(AdapterContext(labels=["no", "yes"], task="tabular-classification", schema=SCHEMA,
                                        metric="macro_f1", workdir=tmp_path / "g", threads=2,
                                        options={"time_budget": 40}))
    assert given.estimate_fit(texts, y).seconds == pytest.approx(40 * 1.1 + chars)   # a given budget is kept
