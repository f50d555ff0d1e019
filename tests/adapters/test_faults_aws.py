"""Paid runs you can trust, AWS side: faults on the wire, through the real boto3 client and the CLI.

Each test injects one fault into the loopback Comprehend/Bedrock double (tests/doubles/aws_services.py)
and checks what a user relies on: predictions, item errors, status, exit code, the reported spend
against the double's billing meter (possibly billed >= metered), and what a rerun sends again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from test_aws import adapter_result, aws_env, ctx, results, run_dir, write_config  # noqa: F401 - fixture

from baseline.adapters.aws import ComprehendSentiment
from baseline.cli import main
from baseline.ledger import SpendLedger
from doubles.aws_services import AwsDouble

NAME = "aws-comprehend-sentiment"
USD_PER_UNIT = 0.0001  # prices.toml aws_comprehend.nlp_sync


@pytest.fixture
def double(aws_env, monkeypatch):  # noqa: F811 - the imported aws_env fixture
    with AwsDouble() as d:
        monkeypatch.setenv("AWS_ENDPOINT_URL_COMPREHEND", d.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", d.url)
        yield d


def compare(tmp_path: Path, *extra: str, options: dict | None = None, out: str = "r") -> int:
    """`baseline compare` with Comprehend only, sequential requests (so faults land deterministically)."""
    opts = {"max_concurrency": 1, "max_rps": 0, **(options or {})}
    cfg = write_config(tmp_path / "f.toml", {f"adapters.{NAME}": opts})
    return main(["compare", "--adapters", NAME, "--out", str(tmp_path / out), "--no-progress", "--resamples", "100",
                 "--config", str(cfg), *extra])


def metered_usd(double: AwsDouble) -> float:
    return double.meter.get("comprehend_units", 0.0) * USD_PER_UNIT


def predictions(out: Path) -> pd.DataFrame:
    return pd.read_csv(run_dir(out) / "predictions.csv", keep_default_na=False)


def assert_spend_covers_meter(a: dict, double: AwsDouble) -> None:
    """Reported possibly billed is never below what the service metered; billed never above it."""
    assert a["cost"]["possibly_billed_now_usd"] >= metered_usd(double) - 1e-9
    assert a["cost"]["billed_now_usd"] <= metered_usd(double) + 1e-9


def test_malformed_body_every_4th_request_is_re_asked_not_abstained(double, tmp_path):
    """The issue's case: a 200 whose body is not the expected JSON, every 4th request."""
    double.inject("BatchDetectSentiment", "malformed", every=4)
    assert compare(tmp_path) == 0
    a = adapter_result(tmp_path / "r", NAME)
    n = results(tmp_path / "r")["split"]["rows"]["test"]
    calls = double.calls("BatchDetectSentiment")
    assert double.faults_served == {"malformed": 2} and len(calls) == 10  # 8 batches + 2 re-asks
    assert a["status"] == "ok" and a["counts"]["unanswered"] == 0 and a["counts"]["retries"] == 2
    assert a["metrics"]["coverage"] > 0.9 and a["counts"]["abstained"] < 10  # only the MIXED answers abstain
    # the two spoiled answers were processed by the service: possibly billed, and exactly what it metered
    assert a["cost"]["possibly_billed_now_usd"] == pytest.approx(metered_usd(double))
    assert a["cost"]["unconfirmed_usd"] > 0
    assert_spend_covers_meter(a, double)
    # only validated answers were cached: the rerun sends nothing and repeats the same answers
    before = double.texts_received
    assert compare(tmp_path, "--fresh") == 0  # --fresh: run it again (not copy the result) so the cache answers
    assert double.texts_received == before
    again = adapter_result(tmp_path / "r", NAME)
    assert again["counts"]["cached_items"] == n and again["metrics"]["accuracy"] == pytest.approx(a["metrics"]["accuracy"])


def test_malformed_until_attempts_run_out_is_an_item_error_and_a_rerun_asks_only_those(double, tmp_path):
    double.inject("BatchDetectSentiment", "malformed", every=1, times=5)  # the first batch, all 5 attempts
    assert compare(tmp_path) == 3
    a = adapter_result(tmp_path / "r", NAME)
    preds = predictions(tmp_path / "r")
    errs = preds[f"{NAME}:error"]
    assert a["status"] == "incomplete" and a["counts"]["unanswered"] == 25 and (errs != "").sum() == 25
    assert errs[errs != ""].str.startswith("invalid answer after 5 attempts: BatchDetectSentiment answer is not").all()
    assert (preds.loc[errs != "", NAME] == "").all() and a["counts"]["abstained"] < 10  # not abstentions
    assert_spend_covers_meter(a, double)
    r = results(tmp_path / "r")
    assert r["incomplete"] == [NAME] and r["unanswered"][0]["unanswered"] == 25
    md = (run_dir(tmp_path / "r") / "report.md").read_text(encoding="utf-8")
    assert "## Unanswered items" in md and "invalid answer after 5 attempts" in md
    # the rerun asks exactly the 25 unanswered texts, and the run is complete
    before = double.texts_received
    assert compare(tmp_path) == 0
    assert double.texts_received - before == 25
    assert adapter_result(tmp_path / "r", NAME)["status"] == "ok"


@pytest.mark.parametrize("kind", ["missing", "duplicate", "bad_label"])
def test_answers_of_the_wrong_shape_are_item_errors(double, kind):
    a = ComprehendSentiment(ctx(max_rps=0, answer_attempts=1))
    a.load()
    double.inject("BatchDetectSentiment", kind, every=1, times=1)
    r = a.predict_batch(["good", "bad", "fine"])
    assert r.labels == [None] * 3 and all(e.startswith("invalid answer after 1 attempts") for e in r.errors)
    assert r.cost.usd == 0 and r.unconfirmed.units["comprehend_units"] == 9  # 3 documents × 3-unit minimum
    ok = a.predict_batch(["good", "bad", "fine"])  # the next answer is whole
    assert ok.labels == ["positive", "negative", "neutral"] and ok.errors == [None] * 3


@pytest.mark.parametrize("kind", ["drop", "timeout"])
def test_billed_then_no_answer_is_retried_and_counted_as_possibly_billed(double, tmp_path, kind):
    """The service bills the batch, then the connection drops (or the read times out); botocore retries."""
    double.inject("BatchDetectSentiment", kind, every=3, delay_s=0.6)
    assert compare(tmp_path, options={"read_timeout": 0.25}) == 0
    a = adapter_result(tmp_path / "r", NAME)
    assert double.faults_served == {kind: 3}
    assert a["status"] == "ok" and a["counts"]["unanswered"] == 0 and a["counts"]["retries"] == 3
    # confirmed billing misses the three lost answers; possibly billed covers them exactly
    assert a["cost"]["billed_now_usd"] < metered_usd(double)
    assert a["cost"]["possibly_billed_now_usd"] == pytest.approx(metered_usd(double))
    r = results(tmp_path / "r")
    assert r["spend"]["possibly_billed_now_usd"] == pytest.approx(metered_usd(double))
    assert r["spend"]["ledger"]["possibly_billed_usd"] == pytest.approx(metered_usd(double))
    md = (run_dir(tmp_path / "r") / "report.md").read_text(encoding="utf-8")
    html = (run_dir(tmp_path / "r") / "report.html").read_text(encoding="utf-8")
    assert "## Spend: billed and possibly billed" in md and 'id="answers"' in html and "possibly billed" in html


def test_throttle_storm_counted_exactly_when_the_adapter_gives_up(double, tmp_path):
    double.throttle_next(1000, "BatchDetectSentiment")
    opts = {"max_attempts": 2, "max_consecutive_failures": 3, "max_concurrency": 4}
    assert compare(tmp_path, options=opts) == 1
    a = adapter_result(tmp_path / "r", NAME)
    seen = [c for c in double.calls("BatchDetectSentiment") if c.get("error") == "ThrottlingException"]
    assert a["status"] == "failed" and "giving up" in a["reason"]
    assert a["counts"]["throttles"] == len(seen) >= 6          # every throttle the service sent, none lost
    assert a["counts"]["retries"] == len(seen) - a["counts"]["requests"]  # one retry per request at most
    assert a["cost"]["possibly_billed_now_usd"] == 0 and metered_usd(double) == 0  # throttles are not billed


def test_throttles_past_retries_leave_items_unanswered_and_a_rerun_sends_only_those(double, tmp_path):
    double.throttle_next(4, "BatchDetectSentiment")  # two requests × two attempts
    assert compare(tmp_path, options={"max_attempts": 2}) == 3
    a = adapter_result(tmp_path / "r", NAME)
    assert a["status"] == "incomplete" and a["counts"]["unanswered"] == 50 and a["counts"]["throttles"] == 4
    assert_spend_covers_meter(a, double)
    before = double.texts_received
    assert compare(tmp_path, options={"max_attempts": 2}) == 0
    assert double.texts_received - before == 50


def test_per_document_errors_are_unanswered_and_re_asked(double, tmp_path):
    double.doc_errors["refund"] = ("INTERNAL_SERVER_ERROR", "Internal server error")
    assert compare(tmp_path) == 3
    a = adapter_result(tmp_path / "r", NAME)
    preds = predictions(tmp_path / "r")
    hit = preds["text"].str.contains("refund")
    assert a["status"] == "incomplete" and a["counts"]["unanswered"] == hit.sum() > 0
    assert (preds.loc[hit, f"{NAME}:error"] == "INTERNAL_SERVER_ERROR: Internal server error").all()
    assert_spend_covers_meter(a, double)  # per-document errors are metered too
    # a rerun re-asks exactly those documents; the service fixed, the run completes
    before = double.texts_received
    double.doc_errors.clear()
    assert compare(tmp_path) == 0
    assert double.texts_received - before == hit.sum()


def test_resume_keeps_the_budget_spent_by_earlier_attempts(double, tmp_path):
    """--max-cost holds across --resume: a stopped run's resume starts from what it already spent."""
    double.inject("BatchDetectSentiment", "drop", every=2)  # every other call is billed twice
    est = sum(max(3, -(-len(t) // 100)) for t in pd.read_csv(
        Path(__file__).resolve().parents[2] / "datasets" / "feedback" / "feedback.csv")["text"]) * USD_PER_UNIT
    cap = f"{est * 0.25:.4f}"  # well above the test split's estimate, below what the drops make it cost
    rc = compare(tmp_path, "--max-cost", cap)
    a = adapter_result(tmp_path / "r", NAME)
    assert rc == 3 and a["status"] == "stopped", a["reason"]
    first = results(tmp_path / "r")["spend"]["ledger"]["possibly_billed_usd"]
    assert first >= metered_usd(double) - 1e-9 and a["counts"]["unanswered"] > 0
    sent = double.texts_received
    rc = compare(tmp_path, "--max-cost", cap, "--resume", str(run_dir(tmp_path / "r")))
    r = results(tmp_path / "r")
    b = adapter_result(tmp_path / "r", NAME)
    assert r["spend"]["ledger"]["earlier_attempts_possibly_billed_usd"] == pytest.approx(first)
    # whatever the resume sent stayed under the cap counted from the first attempt's spend
    assert r["spend"]["ledger"]["possibly_billed_usd"] <= float(cap) + 1e-9 or double.texts_received == sent
    assert r["spend"]["ledger"]["possibly_billed_usd"] >= metered_usd(double) - 1e-9
    assert b["counts"].get("resumed_items", 0) == 178 - a["counts"]["unanswered"]
    assert rc == 3 and b["status"] == "stopped"
    json.dumps(r)  # results.json stays plain JSON


def test_resume_of_an_incomplete_adapter_reloads_its_answers_and_sends_only_the_errored(double, tmp_path):
    double.inject("BatchDetectSentiment", "malformed", every=1, times=5)  # the first batch never validates
    assert compare(tmp_path) == 3
    first = adapter_result(tmp_path / "r", NAME)
    before = double.texts_received
    assert compare(tmp_path, "--resume", str(run_dir(tmp_path / "r"))) == 0
    b = adapter_result(tmp_path / "r", NAME)
    assert double.texts_received - before == 25
    # the 153 answered items came back from the saved result, not the cache; only the 25 were asked
    assert b["status"] == "ok" and b["counts"]["resumed_items"] == 153 and b["counts"]["cached_items"] == 0
    assert b["counts"]["requests"] == 1 and any("answers kept from the earlier attempt" in n for n in b["notes"])
    assert b["metrics"]["coverage"] >= first["metrics"]["coverage"]


def test_bedrock_unusable_answer_is_re_asked_and_possibly_billed(double):
    from baseline.adapters.aws import BedrockLLM

    a = BedrockLLM(ctx(model_id="amazon.nova-micro-v1:0", max_rps=0, answer_attempts=2))
    a.load()
    a.fit([], [])
    double.inject("Converse", "malformed", every=1, times=3)
    r = a.predict_batch(["great product", "awful product"])
    # first text: two spoiled answers, an item error; second: spoiled once, then answered
    assert r.labels == [None, "negative"] and r.errors[0].startswith("invalid answer after 2 attempts: Converse answer")
    assert r.retries == 2 and r.cost.units["input_tokens"] > 0 and r.unconfirmed.units["input_tokens"] > 0
    assert double.meter["input_tokens"] > r.cost.units["input_tokens"]  # the spoiled calls were processed too
    metered = a.token_cost(double.meter["input_tokens"], double.meter["output_tokens"]).usd
    assert r.cost.usd < metered <= r.cost.usd + r.unconfirmed.usd  # priced at the estimate: not below the meter


def test_5xx_burst_past_retries_is_incomplete_and_possibly_billed(double, tmp_path):
    double.fail("BatchDetectSentiment", after=2, times=5)  # the third request's five attempts all get a 500
    assert compare(tmp_path) == 3
    a = adapter_result(tmp_path / "r", NAME)
    assert a["status"] == "incomplete" and a["counts"]["unanswered"] == 25 and a["counts"]["retries"] == 4
    errs = predictions(tmp_path / "r")[f"{NAME}:error"]
    assert errs[errs != ""].str.startswith("InternalServerException after 5 attempts").all()
    # a 500 may come after the work was done: counted as possibly billed, never below the meter
    assert a["cost"]["unconfirmed_usd"] > 0
    assert_spend_covers_meter(a, double)


def test_interrupted_run_spend_counts_against_the_resumed_budget(double, tmp_path):
    double.interrupt_main_on("BatchDetectSentiment", after=3)
    assert compare(tmp_path) == 130
    # the third request was answered (and billed) but the run died before recording it: its "sent" line
    # counts it at its expected cost, so the ledger still covers the meter
    led = SpendLedger(run_dir(tmp_path / "r")).summary()
    spent = led["possibly_billed_usd"]
    assert led["requests_without_outcome"] == 1 and spent == pytest.approx(metered_usd(double))
    rc = compare(tmp_path, "--max-cost", "1", "--resume", str(run_dir(tmp_path / "r")))
    r = results(tmp_path / "r")
    assert rc == 0 and r["spend"]["ledger"]["earlier_attempts_possibly_billed_usd"] == pytest.approx(spent)
    assert r["spend"]["ledger"]["possibly_billed_usd"] >= metered_usd(double) - 1e-9


def test_resume_of_a_paid_candidate_whose_saved_result_cannot_be_read_sends_nothing_again(double, tmp_path):
    """A finished paid candidate's result.json was cut short: the resume runs it again, from the response cache
    (every answer was cached when it was bought), so nothing is sent or billed twice, and the ledger still
    carries what the first attempt possibly billed."""
    assert compare(tmp_path) == 0
    first = adapter_result(tmp_path / "r", NAME)
    saved = run_dir(tmp_path / "r") / "adapters" / NAME / "result.json"
    saved.write_text(saved.read_text()[:200])
    (run_dir(tmp_path / "r") / "results.json").unlink()
    sent, metered = double.texts_received, metered_usd(double)
    assert compare(tmp_path, "--resume", str(run_dir(tmp_path / "r"))) == 0
    b = adapter_result(tmp_path / "r", NAME)
    assert double.texts_received == sent and metered_usd(double) == metered     # nothing sent, nothing billed
    assert b["status"] == "ok" and b["counts"]["cached_items"] == len(predictions(tmp_path / "r")) == 178
    assert any("could not be read" in n for n in b["notes"])
    assert b["metrics"] == first["metrics"]
    r = results(tmp_path / "r")   # the ledger equals the meter: the first attempt's spend, not counted twice
    assert r["spend"]["ledger"]["earlier_attempts_possibly_billed_usd"] == pytest.approx(metered)
    assert r["spend"]["ledger"]["possibly_billed_usd"] == pytest.approx(metered)
    assert r["spend"]["possibly_billed_now_usd"] == 0
