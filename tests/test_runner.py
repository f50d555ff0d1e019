"""The runner's contract with adapters: cache, budget, timing, failure isolation, teardown."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from baseline.adapters.base import RANK_PREBUILT_API, Adapter, BatchResult, Cost
from baseline.adapters.registry import Registry
from baseline.data import Split
from baseline.runner import (
    STATUS_FAILED,
    STATUS_OK,
    STATUS_SKIPPED,
    STATUS_STOPPED,
    RunOptions,
    run_all,
)
from baseline.store import ResponseCache


class MeteredEcho(Adapter):
    """A paid adapter double: answers from the text, bills $0.01 per text, records its calls."""

    name = "metered-echo"
    family = "cloud"
    simplicity = RANK_PREBUILT_API
    paid = True
    local_compute = False
    warmup = False
    batch_size = 4
    calls: list[int] = []
    torn_down: list[bool] = []

    def estimate_predict(self, texts):
        return Cost(0.01 * len(texts), {"units": float(len(texts))})

    def cache_identity(self):
        return "echo-v1"

    def predict_batch(self, texts):
        type(self).calls.append(len(texts))
        return BatchResult(labels=[t.split()[0] for t in texts], cost=Cost(0.01 * len(texts), {"units": len(texts)}))

    def teardown(self):
        type(self).torn_down.append(True)


class Exploding(Adapter):
    name = "exploding"
    batch_size = 2
    torn_down: list[bool] = []

    def predict_batch(self, texts):
        raise RuntimeError("boom with AKIAABCDEFGHIJKLMNOP inside")

    def teardown(self):
        type(self).torn_down.append(True)


def _split(n_test: int = 10) -> Split:
    train = pd.DataFrame({"id": ["0", "1"], "text": ["a x", "b y"], "label": ["a", "b"]})
    test = pd.DataFrame({"id": [str(i + 2) for i in range(n_test)],
                         "text": [f"{'ab'[i % 2]} text {i}" for i in range(n_test)],
                         "label": ["ab"[i % 2] for i in range(n_test)]})
    return Split(train, test, None, "stratified", 0, 0.5, "h", ["a", "b"])


@pytest.fixture(autouse=True)
def _reset():
    MeteredEcho.calls.clear()
    MeteredEcho.torn_down.clear()
    Exploding.torn_down.clear()


def _registry() -> Registry:
    reg = Registry()
    reg.add(MeteredEcho)
    reg.add(Exploding)
    return reg


def test_paid_answers_are_cached_and_rerun_bills_nothing(tmp_path: Path):
    cache = ResponseCache(tmp_path / "c.sqlite3")
    opts = RunOptions(cache=cache)
    first = run_all(_registry(), ["metered-echo"], _split(), opts, tmp_path / "r1")[0]
    assert first.status == STATUS_OK and MeteredEcho.calls == [4, 4, 2]
    assert first.cost["billed_now_usd"] == pytest.approx(0.10)
    assert first.predictions == [t.split()[0] for t in _split().test["text"]]
    second = run_all(_registry(), ["metered-echo"], _split(), opts, tmp_path / "r2")[0]
    assert MeteredEcho.calls == [4, 4, 2]  # no new calls
    assert second.cost["billed_now_usd"] == 0 and second.cost["cached_usd"] == pytest.approx(0.10)
    assert second.cost["per_1k_usd"] == pytest.approx(10.0)  # the real price, not the discounted one
    assert second.counts["cached_items"] == 10 and second.predictions == first.predictions


def test_budget_refuses_to_start_an_adapter_over_the_cap(tmp_path):
    res = run_all(_registry(), ["metered-echo"], _split(), RunOptions(max_cost=0.05), tmp_path)[0]
    assert res.status == STATUS_SKIPPED and "exceeds" in res.reason and MeteredEcho.calls == []


def test_budget_stops_mid_run_and_keeps_partial_results(tmp_path):
    class Underestimating(MeteredEcho):
        name = "under"

        def estimate_predict(self, texts):  # estimate says cheap, the bill is not
            return Cost(0.001 * len(texts))

    reg = Registry()
    reg.add(Underestimating)
    res = run_all(reg, ["under"], _split(), RunOptions(max_cost=0.085), tmp_path)[0]
    assert res.status == STATUS_STOPPED and "--max-cost" in res.reason
    answered = [p for p in res.predictions if p is not None]
    assert len(answered) == 8 and res.cost["billed_now_usd"] <= 0.085 + 1e-9
    # the two texts never sent are unanswered (item errors a resume sends), not abstentions
    assert res.counts["abstained"] == 0 and res.counts["unanswered"] == 2
    assert [e for e in res.item_errors if e] == ["not sent: --max-cost reached"] * 2
    assert Underestimating.torn_down == [True]


def test_failing_adapter_is_isolated_torn_down_and_redacted(tmp_path):
    res = run_all(_registry(), ["exploding", "metered-echo"], _split(), RunOptions(), tmp_path)
    assert [r.status for r in res] == [STATUS_FAILED, STATUS_OK]
    assert Exploding.torn_down == [True]
    assert "boom" in res[0].reason and "AKIA" not in res[0].reason


def test_unimportable_plugin_is_unavailable_not_fatal(tmp_path):
    from baseline.adapters.registry import Entry

    reg = _registry()
    reg.entries["ghost"] = Entry("ghost", None, "cannot import ghost_pkg: No module named 'ghost_pkg'")
    res = run_all(reg, ["ghost", "metered-echo"], _split(), RunOptions(), tmp_path)
    assert res[0].status == "unavailable" and "ghost_pkg" in res[0].reason
    assert res[1].status == STATUS_OK


def test_latency_percentiles_carry_a_p95_interval_and_flag_noise():
    import numpy as np

    from baseline.runner import percentiles

    rng = np.random.default_rng(0)
    steady = percentiles(rng.normal(20, 1, 200))
    assert steady["p95_ci"][0] <= steady["p95"] <= steady["p95_ci"][1] and not steady["unstable"]
    spiky = percentiles(np.r_[rng.normal(20, 1, 190), rng.uniform(500, 1500, 10)])
    assert spiky["unstable"] and spiky["p95_ci"][1] > 400
    assert "p95_ci" not in percentiles([5.0] * 10)   # too few items for an interval


def test_result_file_is_the_same_json_when_written_in_pieces(tmp_path):
    """save_result writes long per-item lists a slice at a time: the file must read back exactly as one dump."""
    from baseline.runner import AdapterResult, load_result, save_result

    n = 50_001  # more than two slices, not a multiple of the slice size, and over 100,000 scores (a matrix file)
    res = AdapterResult(name="pieces", family="trivial", simplicity=0, paid=False, status="ok", reason="")
    res.predictions = ["a" if i % 3 else "b" for i in range(n)]
    res.scores = [{"a": i / n, "b": 1 - i / n} for i in range(n)]
    res.raw = [None] * n
    res.item_errors = [None if i % 1000 else "boom" for i in range(n)]
    p = save_result(res, tmp_path)
    saved, whole = json.loads(p.read_text()), json.loads(json.dumps(res.to_json()))
    assert saved.pop("scores")["file"].startswith("scores.")   # this many items: class scores go to a matrix file
    whole.pop("scores")
    assert saved == whole
    back = load_result(tmp_path, "pieces")
    assert back.predictions == res.predictions and back.scores == res.scores
    assert back.item_errors[1000] == "boom"


def test_a_secret_in_one_of_many_per_item_answers_is_masked_in_the_saved_result(tmp_path, monkeypatch):
    """Long per-item lists are redacted one distinct value at a time: the one answer carrying a key is still masked."""
    from baseline.runner import AdapterResult, save_result

    secret = "sk-live-0123456789abcdefghijklmn"
    monkeypatch.setenv("SERVICE_API_KEY", secret)
    n = 5_000
    res = AdapterResult(name="leaky", family="cloud", simplicity=0, paid=True, status="incomplete", reason="")
    res.predictions = ["a"] * n
    res.raw = [None] * n
    res.raw[1234] = f"echoed: Authorization: Bearer {secret}"
    res.item_errors = [None] * n
    res.item_errors[42] = f"HTTP 401 for key {secret}"
    res.scores = [{"a": 1.0}] * n
    text = save_result(res, tmp_path).read_text()
    assert secret not in text
    saved = json.loads(text)
    assert saved["raw"][1234].startswith("echoed:") and saved["item_errors"][42].startswith("HTTP 401")
    assert saved["predictions"] == ["a"] * n and saved["raw"][0] is None


class DeviceEcho(Adapter):
    """A free adapter that asks for a device (as the Hugging Face ones do)."""

    name = "device-echo"
    uses_device = True
    batch_size = 4

    def predict_batch(self, texts):
        return BatchResult(labels=[t.split()[0] for t in texts])


def test_the_device_probe_counts_in_the_cold_start_of_the_adapter_that_asked_for_it(tmp_path, monkeypatch):
    """Probing the device imports torch (about a second) only for adapters that use one: that time is part of their
    cold start, not the harness's, and an adapter without a device never waits for it."""
    import time

    import baseline.runner.state as state

    probed: list[str] = []

    def slow_probe(device):   # as torch's first import would be
        probed.append(device)
        time.sleep(0.3)
        return "cpu"

    monkeypatch.setattr(state, "resolve_device", slow_probe)
    reg = _registry()
    reg.add(DeviceEcho)
    dev, echo = run_all(reg, ["device-echo", "metered-echo"], _split(), RunOptions(cache=None), tmp_path)
    assert probed == ["auto"]
    assert dev.status == STATUS_OK and dev.timing["device"] == "cpu"
    assert dev.timing["device_probe_s"] >= 0.3 and dev.timing["cold_start_s"] >= dev.timing["device_probe_s"]
    assert echo.timing["device_probe_s"] < 0.05 and echo.timing["cold_start_s"] < 0.3
