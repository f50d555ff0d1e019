"""The local tabular adapters (mean, median, linear, lightgbm, tabpfn) on small generated tables."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math

import numpy as np
import pandas as pd
import pytest

from baseline.adapters.base import AdapterContext
from baseline.adapters.registry import Registry
from baseline.adapters.tabular.boosting import LightGBM
from baseline.adapters.tabular.floors import Mean, Median
from baseline.adapters.tabular.linear import Linear
from baseline.adapters.tabular.pretrained import TabPFN, find_weights, pick_checkpoint
from baseline.errors import BadInput
from baseline.tasks import rows

CLS, REG = "tabular-classification", "tabular-regression"
SCHEMA = {"x1": "numeric", "x2": "numeric", "color": "categorical", "flag": "boolean", "when": "datetime"}
LABELS = ["high", "low", "mid", "never-in-train"]


def table(n: int, seed: int, colors: tuple[str, ...] = ("red", "green", "blue")) -> pd.DataFrame:
    """Features: x1 informative, x2 noise with gaps, a categorical, a boolean and a datetime (both with gaps)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "x1": rng.uniform(-3, 3, n),
        "x2": rng.normal(0, 1, n),
        "color": rng.choice(colors, n).astype(object),
        "flag": rng.integers(0, 2, n).astype(float),
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24, n), unit="h"),
    })
    df.loc[rng.random(n) < 0.15, "x2"] = np.nan
    df.loc[rng.random(n) < 0.1, "color"] = None
    df.loc[rng.random(n) < 0.1, "when"] = pd.NaT
    return df


def reg_target(df: pd.DataFrame, seed: int) -> np.ndarray:
    """Nonlinear in x1 (|x1| and a step): a linear model can barely use it, trees can."""
    rng = np.random.default_rng(seed + 100)
    return 4 * np.abs(df["x1"].to_numpy()) + 3 * (df["x1"].to_numpy() > 1.5) + rng.normal(0, 0.5, len(df))


def cls_target(df: pd.DataFrame) -> list[str]:
    """Three classes cut from x1 (monotone: a linear model can learn it)."""
    x = df["x1"].to_numpy()
    return np.where(x > 1, "high", np.where(x < -1, "low", "mid")).tolist()


def ctx(task: str, **kw) -> AdapterContext:
    labels = LABELS if task == CLS else []
    return AdapterContext(labels=labels, task=task, schema=dict(SCHEMA), metric="macro_f1" if task == CLS else "rmse",
                          **kw)


@pytest.fixture(scope="module")
def reg_data():
    tr, te = table(500, 1), table(200, 2)
    return (rows.encode_rows(tr, SCHEMA), [rows.encode_number(v) for v in reg_target(tr, 1)],
            rows.encode_rows(te, SCHEMA), reg_target(te, 2))


@pytest.fixture(scope="module")
def cls_data():
    tr, te = table(500, 3), table(200, 4)
    return rows.encode_rows(tr, SCHEMA), cls_target(tr), rows.encode_rows(te, SCHEMA), cls_target(te)


def rmse(adapter, texts, y) -> float:
    pred = rows.decode_numbers(adapter.predict_batch(texts).labels)
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def fitted(cls, task, texts, labels, **kw):
    a = cls(ctx(task, **kw))
    a.load()
    a.fit(texts, labels)
    return a


# ---- registry, options, tasks -------------------------------------------------------------------------------------
def test_registered_with_families_ranks_and_tasks():
    reg = Registry.discover()
    for name in ("mean", "median", "linear", "lightgbm", "tabpfn"):
        assert reg.get(name).cls is not None, name
    assert Mean.simplicity == Median.simplicity < Linear.simplicity < LightGBM.simplicity < TabPFN.simplicity
    assert {Mean.family, Median.family, Linear.family, LightGBM.family} == {"trivial"}
    assert TabPFN.family == "pretrained"
    assert Mean.tasks == (REG,) and Linear.tasks == (CLS, REG)
    assert "does not support" in Mean.availability(CLS, {}).reason
    assert "does not support" in Linear.availability("text-classification", {}).reason
    assert Linear.availability(CLS, {}).ok and LightGBM.availability(REG, {}).ok


def test_option_schemas():
    Linear.check_options({"C": "cv", "alpha": 3.0, "class_weight": "balanced", "min_frequency": 2})
    with pytest.raises(BadInput, match="C must be"):
        Linear.check_options({"C": -1})
    with pytest.raises(BadInput, match="unknown option"):
        LightGBM.check_options({"num_leaves": 63})
    TabPFN.check_options({"model_path": "/x.ckpt", "n_estimators": 2, "max_train_rows": 500})


# ---- floors -------------------------------------------------------------------------------------------------------
def test_mean_and_median_answer_the_train_statistic(reg_data):
    tr, ytr, te, _ = reg_data
    y = rows.decode_numbers(ytr)
    for cls, want in ((Mean, float(np.mean(y))), (Median, float(np.median(y)))):
        a = fitted(cls, REG, tr, ytr)
        out = a.predict_batch(te[:7])
        assert out.scores is None
        assert out.labels == [rows.encode_number(want)] * 7
        ex = a.explain()
        assert ex["kind"] == "rule" and {d["mean"] for d in ex["permutation_importance"]} == {0.0}


# ---- linear -------------------------------------------------------------------------------------------------------
def test_linear_classification_answers_classes_with_full_probabilities(cls_data):
    tr, ytr, te, yte = cls_data
    a = fitted(Linear, CLS, tr, ytr)
    out = a.predict_batch(te)
    assert set(out.labels) <= set(LABELS) and len(out.labels) == len(te)
    for s in out.scores:
        assert set(s) == set(LABELS) and s["never-in-train"] == 0.0
        assert math.isclose(sum(s.values()), 1.0, rel_tol=1e-6)
    assert np.mean(np.asarray(out.labels) == np.asarray(yte)) > 0.85
    ex = a.explain()
    assert ex["permutation_importance"][0]["feature"] == "x1"
    assert "held-out 20% of train" in ex["on"] and ex["metric"] == "macro_f1"
    assert {d["feature"] for d in ex["permutation_importance"]} == set(SCHEMA)


def test_linear_handles_unseen_categories_and_all_missing_rows(cls_data):
    tr, ytr, _, _ = cls_data
    a = fitted(Linear, CLS, tr, ytr)
    new = table(20, 9, colors=("purple", "teal"))
    out = a.predict_batch(rows.encode_rows(new, SCHEMA) + [json.dumps(dict.fromkeys(SCHEMA))])
    assert len(out.labels) == 21 and all(lab in LABELS for lab in out.labels)
    reg = fitted(Linear, REG, tr, [rows.encode_number(v) for v in reg_target(table(500, 3), 3)], options={"alpha": "cv"})
    nums = rows.decode_numbers(reg.predict_batch(rows.encode_rows(new, SCHEMA)).labels)
    assert np.isfinite(nums).all()


def test_linear_single_class_train_is_a_constant_answer(cls_data):
    tr, _, te, _ = cls_data
    a = fitted(Linear, CLS, tr[:30], ["mid"] * 30)
    out = a.predict_batch(te[:3])
    assert out.labels == ["mid"] * 3 and out.scores[0]["mid"] == 1.0 and out.scores[0]["high"] == 0.0


# ---- lightgbm -----------------------------------------------------------------------------------------------------
def test_lightgbm_regression_beats_the_floors_and_the_linear_model(reg_data):
    tr, ytr, te, yte = reg_data
    scores = {cls.name: rmse(fitted(cls, REG, tr, ytr), te, yte) for cls in (Mean, Median, Linear)}
    gbm = fitted(LightGBM, REG, tr, ytr, threads=1)
    out = gbm.predict_batch(te)
    assert out.scores is None and all(float(lab) == float(repr(float(lab))) for lab in out.labels)
    ours = rmse(gbm, te, yte)
    assert ours < 0.5 * min(scores["mean"], scores["median"]) and ours < 0.8 * scores["linear"], (ours, scores)
    ex = gbm.explain()
    first = ex["permutation_importance"][0]
    assert first["feature"] == "x1" and first["mean"] > 1.0  # RMSE increase, in the target's units
    assert ex["metric"] == "rmse"


def test_lightgbm_classification_and_unseen_categories(cls_data):
    tr, ytr, te, yte = cls_data
    a = fitted(LightGBM, CLS, tr, ytr, threads=1)
    out = a.predict_batch(te + rows.encode_rows(table(5, 11, colors=("purple",)), SCHEMA))
    assert len(out.labels) == len(te) + 5
    assert all(set(s) == set(LABELS) for s in out.scores)
    assert np.mean(np.asarray(out.labels[: len(te)]) == np.asarray(yte)) > 0.9
    assert a.explain()["permutation_importance"][0]["feature"] == "x1"


# ---- tabpfn -------------------------------------------------------------------------------------------------------
@pytest.fixture
def no_weights(monkeypatch, tmp_path):
    """No TABPFN_MODEL_PATH, and TabPFN's own cache folder empty."""
    monkeypatch.delenv("TABPFN_MODEL_PATH", raising=False)
    monkeypatch.setenv("TABPFN_MODEL_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_tabpfn_unavailable_without_local_weights(no_weights):
    av = TabPFN.availability(CLS, {})
    assert not av.ok
    if importlib.util.find_spec("tabpfn") is None:
        assert av.reason.startswith('extra "tabular" not installed')
    else:
        assert av.reason.startswith("no local TabPFN weights: set model_path")
        assert "never downloads" in av.reason
        missing = TabPFN.availability(REG, {"model_path": str(no_weights / "nope.ckpt")})
        assert "no local TabPFN weights at" in missing.reason and "nope.ckpt" in missing.reason
    # the weights check itself, whatever is installed
    path, why = find_weights(CLS, {})
    assert path is None and "never downloads" in why and "\n" not in why
    with pytest.raises(Exception, match="no local TabPFN weights"):
        TabPFN(ctx(CLS)).load()


def test_tabpfn_finds_checkpoints_by_task(no_weights, monkeypatch):
    folder = no_weights / "w"
    folder.mkdir()
    (folder / "tabpfn-v2-regressor.ckpt").write_bytes(b"")
    assert pick_checkpoint(folder, REG).name == "tabpfn-v2-regressor.ckpt"
    assert pick_checkpoint(folder, CLS) is None
    path, why = find_weights(CLS, {"model_path": str(folder)})
    assert path is None and "no local TabPFN weights for classifiers" in why
    (folder / "tabpfn-v2-classifier-b.ckpt").write_bytes(b"")
    (folder / "tabpfn-v2-classifier-a.ckpt").write_bytes(b"")
    assert pick_checkpoint(folder, CLS).name == "tabpfn-v2-classifier-a.ckpt"
    monkeypatch.setenv("TABPFN_MODEL_PATH", str(folder))
    assert find_weights(CLS, {})[0].name == "tabpfn-v2-classifier-a.ckpt"
    monkeypatch.delenv("TABPFN_MODEL_PATH")
    cache = no_weights / "cache"
    cache.mkdir()
    (cache / "tabpfn-v3.5-x.safetensors").write_bytes(b"")  # serves both tasks
    assert find_weights(REG, {})[0].name == "tabpfn-v3.5-x.safetensors"


def _tiny_checkpoints(folder):
    """Random, tiny TabPFN v2 checkpoints (one layer, 16 wide): the real loading code, no download."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("tabpfn")
    try:
        from tabpfn.architectures import tabpfn_v2 as arch
    except ImportError:
        pytest.skip("this tabpfn has no v2 architecture module")
    paths = {}
    for task, word, extra in ((CLS, "classifier", {"max_num_classes": 10, "num_buckets": 5000}),
                              (REG, "regressor", {"max_num_classes": 0, "num_buckets": 100})):
        cfg = arch.TabPFNV2Config(emsize=16, nlayers=1, nhead=2, **extra)
        torch.manual_seed(0)
        state = arch.get_architecture(cfg).state_dict()
        if task == REG:
            state = {**state, "criterion.borders": torch.linspace(-10, 10, 101),
                     "criterion.losses_per_bucket": torch.zeros(100)}
        paths[task] = folder / f"tabpfn-v2-{word}.ckpt"
        torch.save({"state_dict": state, "config": dataclasses.asdict(cfg)}, paths[task])
    return paths


def test_tabpfn_fits_and_predicts_on_local_tiny_weights(no_weights, monkeypatch, cls_data, reg_data):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    paths = _tiny_checkpoints(no_weights)
    opts = {"model_path": str(no_weights), "n_estimators": 1, "max_train_rows": 120}
    assert TabPFN.availability(CLS, opts).ok and TabPFN.availability(REG, opts).ok
    tr, ytr, te, _ = cls_data
    a = fitted(TabPFN, CLS, tr, ytr, options=opts, device="cpu")
    assert a.weights_ == paths[CLS]
    out = a.predict_batch(te[:20])
    assert all(lab in LABELS for lab in out.labels) and all(set(s) == set(LABELS) for s in out.scores)
    assert any("120 of 500 train rows" in n for n in a.notes)
    tr, ytr, te, _ = reg_data
    r = fitted(TabPFN, REG, tr, ytr, options=opts, device="cpu")
    assert np.isfinite(rows.decode_numbers(r.predict_batch(te[:20]).labels)).all()
    r.teardown()
