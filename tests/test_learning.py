"""Learning curves: stratified nested subsamples, and the curve's shape on the demo data."""

from __future__ import annotations

import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from baseline.adapters.registry import Registry
from baseline.adapters.trivial import Majority, TfidfLogReg
from baseline.data import demo_dataset_path, load_dataset, make_split
from baseline.learning import FRACTIONS, learning_curve, stratified_subsample
from baseline.runner import Budget, RunOptions, run_adapter, save_result


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Oversubscribed OpenBLAS threads make small logistic-regression fits 10× slower on shared CPUs."""
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def split():
    return make_split(load_dataset(demo_dataset_path()), 0.25, 42)


def test_subsample_is_stratified_nested_and_seeded():
    train = pd.DataFrame({"id": [str(i) for i in range(103)], "text": [f"t{i}" for i in range(103)],
                          "label": ["a"] * 80 + ["b"] * 20 + ["c"] * 3})
    s10 = stratified_subsample(train, 0.1, seed=7)
    s50 = stratified_subsample(train, 0.5, seed=7)
    assert s10["label"].value_counts().to_dict() == {"a": 8, "b": 2, "c": 2}   # rare class kept at 2 rows
    assert s50["label"].value_counts().to_dict() == {"a": 40, "b": 10, "c": 2}
    assert set(s10["id"]) <= set(s50["id"])                                      # nested
    assert s10["id"].tolist() == stratified_subsample(train, 0.1, seed=7)["id"].tolist()
    assert s10["id"].tolist() != stratified_subsample(train, 0.1, seed=8)["id"].tolist()
    assert len(stratified_subsample(train, 1.0, seed=7)) == len(train)


def test_single_row_class_is_kept_not_invented():
    train = pd.DataFrame({"id": ["0", "1", "2", "3"], "text": list("wxyz"), "label": ["a", "a", "a", "b"]})
    assert stratified_subsample(train, 0.1, seed=0)["label"].value_counts().to_dict() == {"a": 2, "b": 1}


def test_curve_shape_on_demo_data(split, tmp_path):
    reg = Registry({})
    reg.add(Majority)
    reg.add(TfidfLogReg)
    opts = RunOptions(cache=None, latency_probe=5)
    # the main run's full-size result is reused rather than refitted
    main = run_adapter(TfidfLogReg, split, opts, Budget(None), tmp_path)
    save_result(main, tmp_path)
    curve = learning_curve(reg, ["majority", "tfidf-logreg"], split, opts, tmp_path, metric="macro_f1", resamples=200)

    assert curve["fractions"] == list(FRACTIONS)
    assert set(curve["adapters"]) == {"majority", "tfidf-logreg"}
    for name, pts in curve["adapters"].items():
        fr = [p["fraction"] for p in pts]
        n = [p["n_train"] for p in pts]
        assert fr == sorted(fr) and fr[-1] == 1.0
        assert n == sorted(n) and len(set(n)) == len(n) and n[-1] == len(split.train)
        for p in pts:
            assert p["status"] == "ok"
            lo, hi = p["ci"]
            assert lo <= p["macro_f1"] <= hi, (name, p)
    tf = curve["adapters"]["tfidf-logreg"]
    assert tf[-1]["reused_main_run"] is True and not any(p["reused_main_run"] for p in tf[:-1])
    assert tf[-1]["macro_f1"] > tf[0]["macro_f1"]          # 533 rows beat 53 rows on this data
    assert tf[0]["gain_to_full"]["difference"] == pytest.approx(tf[-1]["macro_f1"] - tf[0]["macro_f1"])
    maj = curve["adapters"]["majority"]
    assert len({round(p["macro_f1"], 9) for p in maj}) == 1  # the floor does not learn from more rows
    assert (tmp_path / "learning-curve" / "10pct" / "adapters" / "tfidf-logreg").is_dir()


def test_paid_and_non_learning_adapters_are_skipped(split, tmp_path):
    class Paid(TfidfLogReg):
        name = "paid-custom"
        paid = True

    class Prebuilt(Majority):
        name = "prebuilt"
        learns = False

    reg = Registry({})
    reg.add(Paid)
    reg.add(Prebuilt)
    curve = learning_curve(reg, ["paid-custom", "prebuilt"], split, RunOptions(cache=None), tmp_path, resamples=100)
    assert curve["adapters"] == {}
    assert "paid" in curve["skipped"]["paid-custom"] and "does not learn" in curve["skipped"]["prebuilt"]
