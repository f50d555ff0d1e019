"""Paid runs you can trust, Azure side: faults on the wire, through the real azure-ai-textanalytics client.

Each test injects one fault into the loopback Azure AI Language double and checks predictions, item
errors, status, exit code, reported spend against the double's billing meter (possibly billed >=
metered), and what a rerun sends again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("azure.ai.textanalytics")

from test_azure import KEY, compare, fast_config  # noqa: E402

from baseline.adapters.azure import AzureSentiment  # noqa: E402
from baseline.adapters.base import AdapterContext  # noqa: E402
from doubles.azure_language import AzureLanguageDouble  # noqa: E402

NAME = "azure-language-sentiment"
USD_PER_RECORD = 1.0 / 1000  # prices.toml azure_language.prebuilt_standard


@pytest.fixture
def double(monkeypatch):
    d = AzureLanguageDouble(key=KEY, retry_after="0.2").start()
    monkeypatch.setenv("AZURE_LANGUAGE_ENDPOINT", d.endpoint)
    monkeypatch.setenv("AZURE_LANGUAGE_KEY", KEY)
    yield d
    d.stop()


@pytest.fixture
def feedback_csv(tmp_path: Path) -> Path:
    """120 short texts the double's lexicon gets right (30 test rows: three requests of 10)."""
    words = {"positive": ["love", "great", "excellent", "happy", "superb"],
             "negative": ["awful", "broken", "refund", "angry", "terrible"],
             "neutral": ["question", "address", "tuesday", "invoice", "delivery"]}
    rows = [{"text": f"{ws[i % 5]} {ws[(i + 2) % 5]} item {i}", "label": lab}
            for lab, ws in words.items() for i in range(40)]
    p = tmp_path / "feedback.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def run(csv: Path, tmp_path: Path, **options) -> int:
    cfg = fast_config(tmp_path, **{NAME: {"retry_backoff_factor": 0.01, "max_concurrency": 1, **options}})
    return compare(csv, tmp_path / "r", NAME, config=cfg)


def latest(out: Path) -> tuple[dict, dict, pd.DataFrame]:
    d = sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))[-1]
    r = json.loads((d / "results.json").read_text(encoding="utf-8"))
    a = next(x for x in r["adapters"] if x["name"] == NAME)
    return r, a, pd.read_csv(d / "predictions.csv", keep_default_na=False)


def metered_usd(double) -> float:
    return double.meter.get("text_records", 0.0) * USD_PER_RECORD


def covers(a: dict, double) -> None:
    assert a["cost"]["possibly_billed_now_usd"] >= metered_usd(double) - 1e-9
    assert a["cost"]["billed_now_usd"] <= metered_usd(double) + 1e-9


@pytest.mark.parametrize("kind", ["malformed", "missing", "duplicate", "wrong_id", "bad_label"])
def test_unusable_answers_are_re_asked_and_never_abstentions(double, feedback_csv, tmp_path, kind):
    double.inject(kind, every=2, times=1)  # the second request's answer is spoiled once
    assert run(feedback_csv, tmp_path) == 0
    r, a, preds = latest(tmp_path / "r")
    assert double.faults_served == {kind: 1} and a["status"] == "ok"
    assert a["counts"]["unanswered"] == 0 and a["counts"]["retries"] == 1 and a["metrics"]["accuracy"] == 1.0
    assert a["cost"]["possibly_billed_now_usd"] == pytest.approx(metered_usd(double))  # the spoiled one included
    covers(a, double)


def test_unusable_answers_until_attempts_run_out_are_item_errors_and_a_rerun_asks_only_those(double, feedback_csv,
                                                                                             tmp_path):
    double.inject("wrong_id", every=1, times=3)  # the first request, all three attempts
    assert run(feedback_csv, tmp_path) == 3
    r, a, preds = latest(tmp_path / "r")
    errs = preds[f"{NAME}:error"]
    assert a["status"] == "incomplete" and a["counts"]["unanswered"] == 10 and a["counts"]["abstained"] == 0
    assert errs[errs != ""].str.contains("document id '99' where 0 was sent").all()
    assert r["unanswered"] == [{"name": NAME, "status": "incomplete", "unanswered": 10, "of": 30,
                                "first_errors": [errs[errs != ""].iloc[0]]}]
    covers(a, double)
    before = double.texts_received
    assert run(feedback_csv, tmp_path) == 0
    assert double.texts_received - before == 10  # only the unanswered ones, answered from the cache otherwise


@pytest.mark.parametrize("kind", ["drop", "timeout"])
def test_billed_then_no_answer_is_re_asked_and_possibly_billed(double, feedback_csv, tmp_path, kind):
    double.inject(kind, every=2, times=1, delay_s=0.6)
    assert run(feedback_csv, tmp_path, read_timeout=0.25) == 0
    r, a, _ = latest(tmp_path / "r")
    assert double.faults_served == {kind: 1} and a["status"] == "ok" and a["counts"]["retries"] == 1
    assert a["cost"]["billed_now_usd"] == pytest.approx(metered_usd(double) - 0.010)  # the lost answer: 10 records
    assert a["cost"]["possibly_billed_now_usd"] == pytest.approx(metered_usd(double))
    assert r["spend"]["possibly_billed_now_usd"] == pytest.approx(metered_usd(double))


def test_throttle_storm_counted_exactly_and_the_adapter_gives_up(double, feedback_csv, tmp_path):
    double.retry_after = "0.01"
    double.throttle_next(1000)
    assert run(feedback_csv, tmp_path, retry_total=2, max_consecutive_failures=2) == 1
    r, a, _ = latest(tmp_path / "r")
    seen = sum(q["status"] == 429 for q in double.requests)
    assert a["status"] == "failed" and "giving up" in a["reason"]
    assert a["counts"]["throttles"] == seen == 6 and a["counts"]["retries"] == 4  # 2 requests × (1 + 2 retries)
    assert a["cost"]["possibly_billed_now_usd"] == 0 == metered_usd(double)


def test_per_document_errors_are_unanswered_and_re_asked(double, feedback_csv, tmp_path):
    texts = pd.read_csv(feedback_csv)["text"].tolist()
    double.doc_errors = {t: ("InvalidDocument", "Document text is invalid.") for t in texts if "refund" in t}
    assert run(feedback_csv, tmp_path) == 3
    r, a, preds = latest(tmp_path / "r")
    hit = preds["text"].str.contains("refund")
    assert a["status"] == "incomplete" and a["counts"]["unanswered"] == hit.sum() > 0
    assert (preds.loc[hit, f"{NAME}:error"] == "InvalidDocument: Document text is invalid.").all()
    assert a["cost"]["billed_now_usd"] == pytest.approx(metered_usd(double))  # errored documents are not billed
    before = double.texts_received
    double.doc_errors = {}
    assert run(feedback_csv, tmp_path) == 0
    assert double.texts_received - before == hit.sum()


def test_direct_predict_counts_a_dropped_request_as_possibly_billed(double):
    a = AzureSentiment(AdapterContext(labels=["negative", "neutral", "positive"],
                                      options={"retry_backoff_factor": 0.01, "answer_attempts": 2}))
    a.load()
    double.inject("drop", every=1, times=2)
    r = a.predict_batch(["great day", "awful day"])
    assert r.labels == [None, None] and r.errors[0].startswith("invalid answer after 2 attempts: no answer")
    assert r.unconfirmed.units == {"azure_text_records": 4.0} and double.meter["text_records"] == 4
    assert KEY not in json.dumps(r.errors)
