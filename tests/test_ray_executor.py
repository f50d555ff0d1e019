"""--executor ray against a local Ray instance: the local executor's results, one budget across workers."""

from __future__ import annotations

import os
import sys
import time
import zlib
from dataclasses import replace
from pathlib import Path

import pytest

from baseline.adapters.base import RANK_PREBUILT_API, Adapter, BatchResult, Cost
from baseline.adapters.registry import Registry
from baseline.adapters.trivial import TfidfLogReg
from baseline.data import demo_dataset_path, load_dataset, make_split
from baseline.metrics import evaluate
from baseline.runner import STATUS_OK, STATUS_SKIPPED, Progress, RunOptions, run_all

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def local_ray():
    env = {"PYTHONPATH": os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    # the test doubles below travel to ray.data's actors by value (this file is not importable there)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
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


# ---- ray.data batch inference (large test sets; forced here with ray_data_min_rows=0) ---------------------

class SmallBatchTfidf(TfidfLogReg):
    """tfidf-logreg in requests of 16 texts: the demo's test rows become 12 requests over several blocks."""

    name = "tfidf-small-batches"
    batch_size = 16


class Positional(Adapter):
    """Answers that depend on each text's place in its request and on the request's first text, so a lost row
    order or a request cut differently changes them; every 13th-ish text gets an item error (no answer)."""

    name = "positional"
    family = "trivial"
    batch_size = 7
    warmup = False

    def predict_batch(self, texts):
        time.sleep(self.ctx.option("delay_s", 0.0))
        labels, scores, errors = [], [], []
        for j, t in enumerate(texts):
            key = zlib.crc32(f"{texts[0]}|{t}|{j}|{len(texts)}".encode())
            if zlib.crc32(t.encode()) % 13 == 0:
                labels.append(None), scores.append(None), errors.append(f"no answer for text {j}")
                continue
            labels.append(self.ctx.labels[key % len(self.ctx.labels)])
            scores.append({lab: (key >> (4 * k)) % 997 / 997 for k, lab in enumerate(self.ctx.labels)})
            errors.append(None)
        return BatchResult(labels=labels, scores=scores, errors=errors)


class Failing(Positional):
    """Fails on its third request, as a broken local model would."""

    name = "failing"

    def predict_batch(self, texts):
        if texts and texts[0] == self.ctx.options["third_first"]:
            raise ValueError("model blew up on request 3")
        return super().predict_batch(texts)


class OddError(Exception):
    """An exception that does not survive a pickle round trip (its __init__ takes two arguments)."""

    def __init__(self, what, code):
        super().__init__(f"{what} (code {code})")


class FailingOddly(Positional):
    name = "failing-oddly"

    def predict_batch(self, texts):
        if texts and texts[0] == self.ctx.options["third_first"]:
            raise OddError("model blew up", 3)
        return super().predict_batch(texts)


class FailingFit(Positional):
    """Learns, and fails while fitting (in the Ray task on the ray.data path)."""

    name = "failing-fit"
    learns = True

    def fit(self, texts, labels):
        raise ValueError(f"no usable rows among {len(texts)}")


class Recorder(Progress):
    def __init__(self):
        self.totals, self.done_items = {}, {}

    def stage(self, adapter, stage, total=None):
        if stage == "predict":
            self.totals[adapter] = total

    def advance(self, adapter, n):
        self.done_items[adapter] = self.done_items.get(adapter, 0) + n


def _registry():
    reg = Registry.discover()
    for cls in (SmallBatchTfidf, Positional, Failing, FailingOddly, FailingFit):
        reg.add(cls)
    return reg


def _same(a, b):
    assert (a.name, a.status, a.reason) == (b.name, b.status, b.reason)
    assert a.predictions == b.predictions and a.scores == b.scores and a.item_errors == b.item_errors
    assert a.counts == b.counts


def test_ray_data_batch_inference_gives_the_local_executors_answers_row_by_row(local_ray, tmp_path):
    from baseline.executors.ray import run_all_ray

    split = _split()
    n = len(split.test)
    y = split.test["label"].tolist()
    # three adapters side by side (each fitted in a task, each with its own actor pool), then the order-sensitive
    # double alone on a pool of two actors (slowed a little, so that both take requests)
    opts = RunOptions(latency_probe=5, threads=1, ray_data_min_rows=0,
                      adapter_options={"positional": {"delay_s": 0.08}})
    runs = [(["majority", "tfidf-logreg", "tfidf-small-batches"], opts),
            (["positional"], replace(opts, ray_data_actors=2))]
    local, remote, rec = [], [], Recorder()
    for i, (names, o) in enumerate(runs):
        local += run_all(_registry(), names, split, o, tmp_path / f"local{i}")
        remote += run_all_ray(_registry(), names, split, o, tmp_path / f"ray{i}", progress=rec, block_rows=40)
    for a, b in zip(local, remote, strict=True):
        _same(a, b)
        rd = b.timing["ray_data"]
        assert rd["used"] and rd["requests_not_as_batched"] == 0 and b.timing["executor"] == "ray"
        assert b.timing["predict_s"] > 0 and b.timing["item_latency_ms"]["n"] == 5
        assert rec.totals[b.name] == n and rec.done_items[b.name] == n  # progress saw every item come back
    by = {r.name: r for r in remote}
    # several blocks (two actors for the double): row order and each request's texts survived the trip
    for name, size in (("positional", 7), ("tfidf-small-batches", 16)):
        assert by[name].timing["ray_data"]["blocks"] == -(-n // (40 // size * size)) > 2
        assert by[name].counts["requests"] == -(-n // size)
    assert by["positional"].timing["ray_data"]["actors"] == 2
    assert by["tfidf-logreg"].fit == local[1].fit and by["tfidf-logreg"].timing["fit_s"] > 0  # fitted once, in a task
    assert by["positional"].status == "incomplete" and any(by["positional"].item_errors)
    ev_l = evaluate(split.labels, y, {r.name: r.predictions for r in local}, resamples=200, seed=42)
    ev_r = evaluate(split.labels, y, {r.name: r.predictions for r in remote}, resamples=200, seed=42)
    assert ev_l.metrics == ev_r.metrics and ev_l.pairwise == ev_r.pairwise
    # reversing the rows within a request would change the answers: the comparison above could fail
    flipped = Positional(_ctx(split)).predict_batch(list(reversed(split.test["text"].tolist()[:7])))
    assert list(reversed(flipped.labels)) != by["positional"].predictions[:7]


def _ctx(split):
    from baseline.adapters.base import AdapterContext

    return AdapterContext(labels=split.labels)


def test_ray_data_failure_and_threshold_match_the_local_executor(local_ray, tmp_path):
    from baseline.executors.ray import run_all_ray

    split = _split()
    third = split.test["text"].tolist()[14]
    opts = RunOptions(latency_probe=0, threads=1, ray_data_min_rows=0,
                      adapter_options={"failing": {"third_first": third}, "failing-oddly": {"third_first": third}})
    names = ["failing", "failing-oddly", "failing-fit"]
    local = run_all(_registry(), names, split, opts, tmp_path / "local")
    remote = run_all_ray(_registry(), names, split, opts, tmp_path / "ray", block_rows=7)
    assert [r.status for r in remote] == [r.status for r in local] == ["failed", "failed", "failed"]
    assert [r.reason for r in remote] == [r.reason for r in local] == [
        "ValueError: model blew up on request 3", "OddError: model blew up (code 3)",
        f"ValueError: no usable rows among {len(split.train)}"]
    # below the threshold the adapter runs as one Ray task, without ray.data
    small = run_all_ray(_registry(), ["majority"], split, replace(opts, ray_data_min_rows=len(split.test) + 1),
                        tmp_path / "task")
    assert small[0].status == STATUS_OK and "ray_data" not in small[0].timing


SLOW_REMOTE = """
import sys, time
from pathlib import Path
from baseline.adapters.base import Adapter, BatchResult
from baseline.adapters.registry import Registry

MARK = Path(sys.argv[1])

class SlowRemote(Adapter):
    name = "slow-remote"
    option_schema = {}
    def predict_batch(self, texts):
        MARK.write_text("predicting")
        time.sleep(0.5)
        return BatchResult(labels=["positive"] * len(texts))

real = Registry.discover
def discover():
    r = real()
    r.add(SlowRemote)
    return r
Registry.discover = staticmethod(discover)
from baseline.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_sigterm_under_the_ray_executor_takes_the_interrupt_path(tmp_path):
    """ray.init installs its own SIGTERM handler; the run's must stay: exit 130, run marked interrupted."""
    import signal
    import subprocess

    from baseline.store import Store

    mark, home = tmp_path / "mark", tmp_path / "home"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_REMOTE, str(mark), "compare", "--data",
                             str(demo_dataset_path()), "--adapters", "slow-remote", "--executor", "ray",
                             "--out", str(tmp_path / "r"), "--home", str(home), "--no-progress"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while not mark.exists() and time.monotonic() - t0 < 120 and proc.poll() is None:
        time.sleep(0.2)
    assert mark.exists(), proc.communicate(timeout=30)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in out and "--resume" in out
    s = Store(home / "history.sqlite3")
    try:
        assert [r["status"] for r in s.runs()] == ["interrupted"]
    finally:
        s.close()


def test_a_resume_under_ray_runs_again_as_a_task_a_candidate_whose_saved_result_cannot_be_read(local_ray, tmp_path):
    from baseline.executors.ray import run_all_ray

    class Said(Progress):
        def __init__(self):
            self.lines = []

        def message(self, text):
            self.lines.append(text)

    split, names = _split(), ["majority", "tfidf-logreg"]
    opts = RunOptions(latency_probe=0, threads=1)
    first = run_all_ray(Registry.discover(), names, split, opts, tmp_path)
    saved = tmp_path / "adapters" / "tfidf-logreg" / "result.json"
    saved.write_text(saved.read_text()[:100])                          # cut short: not JSON any more
    said = Said()
    again = run_all_ray(Registry.discover(), names, split, opts, tmp_path, progress=said, resume=True)
    by = {r.name: r for r in again}
    assert any("resumed" in n for n in by["majority"].notes)            # the readable one is kept
    tf = by["tfidf-logreg"]
    assert tf.status == STATUS_OK and tf.timing["executor"] == "ray"    # run again where it ran, as a Ray task
    assert any("could not be read" in n and "run again" in n for n in tf.notes)
    assert [line for line in said.lines if line.startswith("tfidf-logreg: resumed: its saved result could not")]
    assert tf.predictions == first[1].predictions
