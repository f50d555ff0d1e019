"""--executor ray against a local Ray instance: the local executor's results, one budget across workers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from baseline.adapters.base import RANK_PREBUILT_API, Adapter, BatchResult, Cost
from baseline.adapters.registry import Registry
from baseline.data import demo_dataset_path, load_dataset, make_split
from baseline.metrics import evaluate
from baseline.runner import STATUS_OK, STATUS_SKIPPED, RunOptions, run_all

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def local_ray():
    env = {"PYTHONPATH": os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    yield ray
    ray.shutdown()


class Metered(Adapter):
    """A paid double: $0.01 a text; records its calls in the process it runs in."""

    name = "metered-a"
    family = "cloud"
    simplicity = RANK_PREBUILT_API
    paid = True
    local_compute = False
    warmup = False
    batch_size = 4
    calls: list[tuple[str, int, int]] = []

    def estimate_predict(self, texts):
        return Cost(0.01 * len(texts))

    def predict_batch(self, texts):
        type(self).calls.append((self.name, os.getpid(), len(texts)))
        return BatchResult(labels=[self.ctx.labels[0]] * len(texts), cost=Cost(0.01 * len(texts)))


class MeteredB(Metered):
    name = "metered-b"


def _split():
    ds = load_dataset(demo_dataset_path())
    return make_split(ds, 0.25, 42)


def test_ray_executor_gives_the_local_executors_predictions_and_metrics(local_ray, tmp_path):
    from baseline.executors.ray import run_all_ray

    split = _split()
    names = ["majority", "tfidf-logreg"]
    # one BLAS thread on both sides (a Ray task gets OMP threads = its CPUs): class scores equal to the last bit;
    # with different thread counts they differ in the 15th digit, predictions and metrics do not
    opts = RunOptions(latency_probe=0, threads=1)
    local = run_all(Registry.discover(), names, split, opts, tmp_path / "local")
    remote = run_all_ray(Registry.discover(), names, split, opts, tmp_path / "ray")
    assert [r.status for r in remote] == [STATUS_OK, STATUS_OK]
    y = split.test["label"].tolist()
    for a, b in zip(local, remote, strict=True):
        assert a.name == b.name and a.predictions == b.predictions and a.scores == b.scores
        assert b.timing["executor"] == "ray"
        assert (tmp_path / "ray" / "adapters" / b.name / "result.json").exists()  # the run folder is the driver's
    ev_l = evaluate(split.labels, y, {r.name: r.predictions for r in local}, resamples=200, seed=42)
    ev_r = evaluate(split.labels, y, {r.name: r.predictions for r in remote}, resamples=200, seed=42)
    assert ev_l.metrics == ev_r.metrics and ev_l.pairwise == ev_r.pairwise


def test_one_budget_for_the_whole_run_and_paid_calls_on_the_driver(local_ray, tmp_path):
    from baseline.executors.ray import run_all_ray

    Metered.calls.clear()
    reg = Registry.discover()
    reg.add(Metered)
    reg.add(MeteredB)
    split = _split()
    n = len(split.test)
    cap = 0.01 * n * 1.5  # room for one paid adapter, not two: a budget per worker would run both
    res = run_all_ray(reg, ["majority", "metered-a", "metered-b"], split, RunOptions(max_cost=cap, latency_probe=0),
                      tmp_path)
    by = {r.name: r for r in res}
    assert by["majority"].status == STATUS_OK and by["majority"].timing["executor"] == "ray"
    assert by["metered-a"].status == STATUS_OK and by["metered-b"].status == STATUS_SKIPPED
    billed = sum(float(r.cost.get("possibly_billed_now_usd") or 0) for r in res if r.paid)
    assert billed <= cap + 1e-9
    # every paid request ran in this (the driver's) process, under its rate limiter, ledger and cache
    assert Metered.calls and {pid for _, pid, _ in Metered.calls} == {os.getpid()}
