"""AWS adapters driven through the real boto3 clients against loopback doubles (and moto for S3).

Nothing here reaches AWS: Comprehend and Bedrock Runtime are ``tests/doubles/aws_services.py``
(reached through botocore's ``AWS_ENDPOINT_URL_<SERVICE>`` overrides), S3 is moto. The real
recordings (tests/recordings, copied from shared/reference/recordings) are replayed through the adapters' parsing.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from baseline.adapters.aws import (
    BedrockLLM,
    ComprehendCustom,
    ComprehendSentiment,
    normalize_answer,
    parse_label,
)
from baseline.adapters.base import AdapterContext
from baseline.cli import main
from baseline.costs import comprehend_units
from baseline.errors import AdapterUnavailable, BadInput
from doubles.aws_services import AwsDouble

REPO = Path(__file__).resolve().parents[2]
RECORDINGS = REPO / "tests" / "recordings"  # copies of shared/reference/recordings (see its README)
LABELS3 = ["negative", "neutral", "positive"]
SECRET = "bAsElInEfAkEsEcReTkEy0123456789abcdefXYZ"
SESSION_TOKEN = "FwoGZXIvYXdzEFAKEbaselineSessionToken0123456789abcdef"
ACCESS_KEY = "AKIABASELINEFAKE0001"
BUCKET = "baseline-test-bucket"
ROLE = "arn:aws:iam::123456789012:role/ComprehendDataAccess"
SPEED = {"poll_interval": 0.001, "max_poll_interval": 0.002, "teardown_wait": 30}


def recording(*parts: str) -> dict:
    p = RECORDINGS.joinpath(*parts)
    if not p.exists():
        raise FileNotFoundError(f"{p} missing: copy it from shared/reference/recordings (tests/recordings/README.md)")
    return json.loads(p.read_text(encoding="utf-8"))


def wire(rec: dict) -> str:
    r = rec["response"]
    return r.get("wire_body_text") or r["body_text"]


def run_dir(out: Path) -> Path:
    runs = sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert runs, f"no run folder in {out}"
    return runs[-1]


def results(out: Path) -> dict:
    return json.loads((run_dir(out) / "results.json").read_text(encoding="utf-8"))


def adapter_result(out: Path, name: str) -> dict:
    return next(a for a in results(out)["adapters"] if a["name"] == name)


def write_config(path: Path, sections: dict[str, dict]) -> Path:
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        for k, v in values.items():
            lines.append(f"{k} = {json.dumps(v)}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Fake credentials in the environment only; no profile files, no instance metadata lookups."""
    for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
              "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL",
              "AWS_ENDPOINT_URL_COMPREHEND", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL_S3", "AWS_REGION"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.chdir(tmp_path)  # no stray ./baseline.toml


@pytest.fixture
def double(aws_env, monkeypatch):
    with AwsDouble() as d:
        monkeypatch.setenv("AWS_ENDPOINT_URL_COMPREHEND", d.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", d.url)
        yield d


def ctx(labels=LABELS3, tmp: Path | None = None, **options) -> AdapterContext:
    return AdapterContext(labels=list(labels), options=options, workdir=tmp or Path("."))


# ---- billing units, by hand ------------------------------------------------------------------------

def test_comprehend_units_by_hand():
    assert comprehend_units("a" * 250) == 3      # 3 units of 100 chars (also the minimum)
    assert comprehend_units("a" * 1234) == 13    # ceil(12.34)
    assert comprehend_units("a") == 3            # 3-unit minimum per document
    assert comprehend_units("a" * 301) == 4


def test_sentiment_estimate_by_hand(aws_env):
    a = ComprehendSentiment(ctx())
    est = a.estimate_predict(["a" * 250, "b" * 1234, ""])  # the empty text is never sent
    assert est.units == {"comprehend_units": 16.0}
    assert est.usd == pytest.approx(16 * 0.0001)
    # 6,000 bytes of 'é' are cut to 5,000 bytes = 2,500 characters = 25 units
    assert a.estimate_predict(["é" * 3000]).units["comprehend_units"] == 25


def test_bedrock_token_cost_by_hand(aws_env):
    b = BedrockLLM(ctx(model_id="us.amazon.nova-micro-v1:0"))  # inference profile → amazon.nova-micro-v1:0 row
    c = b.token_cost(1000, 10)
    assert c.usd == pytest.approx(1000 * 0.000035 / 1000 + 10 * 0.00014 / 1000)
    assert c.units == {"input_tokens": 1000.0, "output_tokens": 10.0}
    est = b.estimate_predict(["x" * 400])
    # chars/4 for the text + the system prompt/4 + 30 tokens overhead; max_tokens (10) output
    expected_in = 100 + len(b.system_prompt()) / 4 + 30
    assert est.units["input_tokens"] == pytest.approx(expected_in)
    assert est.units["output_tokens"] == 10


def test_custom_estimates_by_hand(aws_env):
    c = ComprehendCustom(ctx(bucket=BUCKET, role_arn=ROLE, est_training_hours=0.5, est_endpoint_start_s=30))
    fit = c.estimate_fit(["t"] * 10, ["a"] * 10)
    # 0.5 h × $3 + one model-month $0.50 + endpoint start 60 s minimum × 1 IU × $0.0005
    assert fit.usd == pytest.approx(1.5 + 0.5 + 0.03)
    # 1 IU = 2 docs/s, 100 chars/s: a 50-char doc takes 0.5 IU-s, a 250-char doc 2.5 IU-s
    pred = c.estimate_predict(["a" * 50, "b" * 250])
    assert pred.units["endpoint_iu_seconds"] == pytest.approx(3.0)
    asy = ComprehendCustom(ctx(bucket=BUCKET, role_arn=ROLE, mode="async"))
    assert asy.estimate_predict(["a" * 250, "b" * 1234]).usd == pytest.approx(16 * 0.0005)
    assert asy.batch_size >= 1_000_000 and asy.max_concurrency == 1


# ---- availability, estimates without credentials -----------------------------------------------------

def test_no_credentials_unavailable_but_estimate_works(aws_env, monkeypatch, capsys):
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k)
    av = ComprehendSentiment.availability("text-classification", {})
    assert not av.ok and av.reason == "no AWS credentials found (profile, env or instance role)"
    rc = main(["estimate", "--adapters", "aws-comprehend-sentiment", "--json"])
    assert rc == 0
    rows = json.loads(capsys.readouterr().out)["adapters"]
    row = rows[0]
    assert row["name"] == "aws-comprehend-sentiment" and row["available"] is False
    assert row["units"]["comprehend_units"] > 0
    assert row["total_usd"] == pytest.approx(row["units"]["comprehend_units"] * 0.0001)
    assert row["where"] == "Amazon Comprehend BatchDetectSentiment in us-east-1"


def test_configuration_reasons(aws_env):
    av = ComprehendCustom.availability("text-classification", {})
    assert not av.ok and "bucket and role_arn" in av.reason and "\n" not in av.reason
    av = ComprehendCustom.availability("text-classification", {"bucket": BUCKET, "role_arn": "my-role"})
    assert not av.ok and "not an IAM role ARN" in av.reason
    assert ComprehendCustom.availability("text-classification", {"bucket": BUCKET, "role_arn": ROLE}).ok
    av = BedrockLLM.availability("text-classification", {})
    assert not av.ok and "model_id" in av.reason
    with pytest.raises(BadInput, match="retry_mode"):
        ComprehendSentiment(ctx(retry_mode="fast"))
    with pytest.raises(BadInput, match="mode must be"):
        ComprehendCustom(ctx(bucket=BUCKET, role_arn=ROLE, mode="batch"))


def test_unknown_bedrock_model_needs_a_price(aws_env, tmp_path, capsys):
    cfg = write_config(tmp_path / "b.toml", {"adapters.bedrock-llm": {"model_id": "acme.unknown-model-v1:0"}})
    rc = main(["estimate", "--adapters", "bedrock-llm", "--config", str(cfg)])
    assert rc == 2
    assert '[prices.bedrock."acme.unknown-model-v1:0"]' in capsys.readouterr().err
    cfg = write_config(tmp_path / "c.toml", {"adapters.bedrock-llm": {"model_id": "acme.unknown-model-v1:0",
                                                                       "usd_per_1k_input": 0.001,
                                                                       "usd_per_1k_output": 0.002}})
    assert main(["estimate", "--adapters", "bedrock-llm", "--config", str(cfg), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["adapters"][0]["total_usd"] > 0


# ---- Comprehend sentiment --------------------------------------------------------------------------

def test_sentiment_end_to_end_batches_bill_and_cache(double, tmp_path):
    args = ["compare", "--adapters", "aws-comprehend-sentiment", "--out", str(tmp_path / "r"), "--no-progress",
            "--resamples", "100"]
    assert main(args) == 0
    a = adapter_result(tmp_path / "r", "aws-comprehend-sentiment")
    n = results(tmp_path / "r")["split"]["rows"]["test"]
    calls = double.calls("BatchDetectSentiment")
    assert all(c["docs"] <= 25 for c in calls)
    assert len(calls) == math.ceil(n / 25) and sum(c["docs"] for c in calls) == n
    assert all(c["body"]["LanguageCode"] == "en" for c in calls)
    texts = [t for c in calls for t in c["body"]["TextList"]]
    units = sum(comprehend_units(t) for t in texts)
    assert a["status"] == "ok" and a["cost"]["billed_now_units"]["comprehend_units"] == pytest.approx(units)
    assert a["cost"]["billed_now_usd"] == pytest.approx(units * 0.0001)
    assert a["counts"]["requests"] == len(calls) and a["counts"]["throttles"] == 0
    assert a["metrics"]["coverage"] > 0.9  # MIXED answers are the only abstentions on 3-class data
    preds = pd.read_csv(run_dir(tmp_path / "r") / "predictions.csv", keep_default_na=False)
    assert set(preds["aws-comprehend-sentiment"]) <= set(LABELS3) | {""}
    # the rerun is answered from the cache: nothing goes to the service, nothing is billed now
    sent = len(double.requests)
    assert main([*args, "--fresh"]) == 0  # --fresh: run it again (not copy the result) so the cache answers
    again = adapter_result(tmp_path / "r", "aws-comprehend-sentiment")
    assert len(double.requests) == sent
    assert again["cost"]["billed_now_usd"] == 0 and again["counts"]["requests"] == 0
    assert again["cost"]["cached_usd"] == pytest.approx(a["cost"]["billed_now_usd"])
    assert again["counts"]["cached_items"] == n
    assert again["metrics"]["accuracy"] == pytest.approx(a["metrics"]["accuracy"])


def test_direct_batch_split_and_option_endpoint(aws_env, tmp_path):
    with AwsDouble() as d:  # reached through the endpoint_url option, not the environment
        a = ComprehendSentiment(ctx(endpoint_url=d.url, max_rps=0))
        a.load()
        r = a.predict_batch([f"great product {i}" for i in range(60)])
        assert [c["docs"] for c in d.calls("BatchDetectSentiment")] == [25, 25, 10]
        assert r.labels == ["positive"] * 60 and r.cost.units["comprehend_units"] == 180


def test_throttles_past_max_attempts_become_item_errors(double):
    a = ComprehendSentiment(ctx(max_attempts=1, max_rps=0))
    a.load()
    double.throttle_next(1, "BatchDetectSentiment")
    r = a.predict_batch(["good", "bad"])
    assert r.labels == [None, None] and r.throttles == 1 and r.retries == 0 and r.cost.usd == 0
    assert all(e.startswith("ThrottlingException after 1 attempts") for e in r.errors)
    assert a.predict_batch(["good"]).labels == ["positive"]  # the next request goes through


def test_non_transient_error_fails_the_adapter(double):
    a = ComprehendSentiment(ctx(max_rps=0))
    a.load()
    double.fail("BatchDetectSentiment", status=400, kind="AccessDeniedException", message="not authorized")
    with pytest.raises(RuntimeError, match="AccessDeniedException"):
        a.predict_batch(["good"])


def test_oversized_texts_truncated_and_counted(double):
    a = ComprehendSentiment(ctx(max_rps=0))
    a.load()
    texts = ["é" * 3000, "great " * 1000, "fine", ""]
    r = a.predict_batch(texts)
    call = double.calls("BatchDetectSentiment")[-1]
    assert call["max_doc_bytes"] <= 5000 and call["docs"] == 3  # the empty text is not sent
    assert call["body"]["TextList"][0] == "é" * 2500  # UTF-8-safe: whole characters only
    assert r.truncated == 2 and r.errors[3].startswith("empty text")
    assert r.labels[1] == "positive" and r.labels[3] is None


def test_service_limits_enforced_by_the_double(double):
    import boto3

    c = boto3.client("comprehend", region_name="us-east-1")
    with pytest.raises(c.exceptions.BatchSizeLimitExceededException):
        c.batch_detect_sentiment(TextList=["x"] * 26, LanguageCode="en")
    with pytest.raises(c.exceptions.TextSizeLimitExceededException, match="5000 bytes"):
        c.batch_detect_sentiment(TextList=["é" * 2501], LanguageCode="en")


def test_label_mapping_and_abstentions(double):
    a = ComprehendSentiment(ctx(labels=["neg", "pos"], max_rps=0))
    a.load()
    r = a.predict_batch(["I love it", "terrible", "what time is it", "love it but broken"])
    assert r.labels == ["pos", "neg", None, None] and r.raw == ["POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"]
    assert r.scores[0]["pos"] == pytest.approx(0.94) and set(r.scores[0]) == {"neg", "pos"}
    assert "NEUTRAL→(abstain)" in a.notes[0]
    explicit = ComprehendSentiment(AdapterContext(labels=["neg", "pos"], options={"max_rps": 0},
                                                  label_map={"MIXED": "neg"}))
    explicit.load()
    assert explicit.predict_batch(["love it but broken"]).labels == ["neg"]
    argmax = ComprehendSentiment(ctx(labels=["neg", "pos"], unmapped="argmax", max_rps=0))
    argmax.load()
    assert argmax.predict_batch(["what time is it"]).labels[0] in {"neg", "pos"}
    # the label map is part of the cache identity: a different map never reuses cached labels
    assert a.cache_identity() != explicit.cache_identity() != argmax.cache_identity()
    topics = ComprehendSentiment(ctx(labels=["politics", "sports"]))
    with pytest.raises(AdapterUnavailable, match="do not map"):
        topics.load()


def test_throttles_item_errors_bedrock_and_no_secret_anywhere(double, tmp_path, capsys, baseline_home):
    """One run with both adapters: throttles retried and counted, per-document errors kept, and the
    planted secret key / session token (also echoed in a service error message) in no output at all."""
    double.throttle_next(2, "BatchDetectSentiment")
    double.throttle_next(1, "Converse")
    double.doc_errors["refund"] = ("INTERNAL_SERVER_ERROR", f"echoing X-Amz-Security-Token: {SESSION_TOKEN}")
    cfg = write_config(tmp_path / "b.toml", {"adapters.bedrock-llm": {"model_id": "amazon.nova-micro-v1:0"}})
    out = tmp_path / "reports"
    rc = main(["compare", "--adapters", "aws-comprehend-sentiment,bedrock-llm", "--out", str(out), "--no-progress",
               "--resamples", "100", "--config", str(cfg)])
    assert rc == 3  # the per-document errors leave items unanswered
    captured = capsys.readouterr()
    n = results(out)["split"]["rows"]["test"]
    # throttling: retried by botocore, counted from RetryAttempts and the throttle hook
    a = adapter_result(out, "aws-comprehend-sentiment")
    throttled = [c for c in double.calls("BatchDetectSentiment") if c.get("error") == "ThrottlingException"]
    assert len(throttled) == 2 and a["counts"]["throttles"] == 2 and a["counts"]["retries"] == 2
    assert [c["status"] for c in double.calls("Converse")].count(429) == 1
    b = adapter_result(out, "bedrock-llm")
    assert b["counts"]["throttles"] == 1 and b["counts"]["retries"] == 1
    # per-document errors: reported per item, unanswered (not abstentions), never dropped
    preds = pd.read_csv(run_dir(out) / "predictions.csv", keep_default_na=False)
    hit = preds["text"].str.contains("refund")
    assert hit.sum() > 0 and a["counts"]["item_errors"] == hit.sum()
    assert preds.loc[hit, "aws-comprehend-sentiment:error"].str.startswith("INTERNAL_SERVER_ERROR: echoing").all()
    assert (preds.loc[hit, "aws-comprehend-sentiment"] == "").all() and a["counts"]["unanswered"] == hit.sum()
    assert a["status"] == "incomplete" and a["counts"]["abstained"] == (preds["aws-comprehend-sentiment"] == "").sum() - hit.sum()
    # Bedrock zero-shot: one Converse call per text, the labels in the prompt, small maxTokens, temperature 0
    calls = double.calls("Converse", ok_only=True)
    assert b["status"] == "ok" and len(calls) == n and all(c["model"] == "amazon.nova-micro-v1:0" for c in calls)
    body = calls[0]["body"]
    assert body["inferenceConfig"] == {"maxTokens": 10, "temperature": 0.0} and len(body["messages"]) == 1
    assert all(f"- {lab}" in body["system"][0]["text"] for lab in LABELS3)
    assert b["metrics"]["coverage"] == 1.0 and b["cost"]["billed_now_units"]["input_tokens"] > 0
    # secrets: not in stdout/stderr, not in any file of the run folder, the cache or the history
    files = [p for p in [*out.rglob("*"), *baseline_home.rglob("*")] if p.is_file()]  # run folder + home
    assert any(p.suffix == ".sqlite3" for p in files) and any(p.name == "results.json" for p in files)
    for secret in (SECRET, SESSION_TOKEN, ACCESS_KEY):
        assert secret not in captured.out and secret not in captured.err
        for p in files:
            assert secret.encode() not in p.read_bytes(), f"{secret[:6]}... found in {p}"


def _run(names: list[str], max_cost: float, tmp_path: Path, options: dict | None = None):
    """The runner itself (what `compare --max-cost` drives), without rendering a report."""
    from baseline.adapters.registry import Registry
    from baseline.data import demo_dataset_path, load_dataset, make_split
    from baseline.runner import RunOptions, run_all
    from baseline.store import ResponseCache

    opts = RunOptions(max_cost=max_cost, adapter_options=options or {},
                      cache=ResponseCache(tmp_path / "cache.sqlite3"), cache_dir=tmp_path / "cache")
    split = make_split(load_dataset(demo_dataset_path()), 0.25, 42)
    return run_all(Registry.discover(), names, split, opts, tmp_path / "run"), len(split.test)


def test_budget_refuses_to_start(double, tmp_path):
    (res,), _ = _run(["aws-comprehend-sentiment"], 0.001, tmp_path)
    assert res.status == "skipped" and "exceeds" in res.reason and double.requests == []


def test_budget_stops_mid_run_keeping_partial_results(double, tmp_path):
    double.chars_per_token = 1.0  # the model's tokenizer counts ~4x what chars/4 estimates
    (res,), n = _run(["bedrock-llm"], 0.001, tmp_path,
                     {"bedrock-llm": {"model_id": "amazon.nova-micro-v1:0", "max_concurrency": 2}})
    assert res.cost["estimate_usd"] <= 0.001  # the gate let it start
    assert res.status == "stopped" and "--max-cost" in res.reason
    answered = len(double.calls("Converse"))
    assert 0 < answered < n and res.counts["requests"] == answered
    assert res.cost["billed_now_usd"] <= 0.001 * 1.05
    assert sum(p is not None for p in res.predictions) == answered  # partial predictions kept


# ---- Bedrock ---------------------------------------------------------------------------------------

def test_strict_answer_parsing():
    assert normalize_answer('  "Positive."\n') == "positive"
    assert parse_label("Positive.", LABELS3) == "positive"
    assert parse_label("'neutral'", LABELS3) == "neutral"
    assert parse_label("**negative**", LABELS3) == "negative"
    assert parse_label("The answer is positive", LABELS3) is None
    assert parse_label("positive or negative", LABELS3) is None
    assert parse_label("", LABELS3) is None
    assert parse_label("pos", ["POS", "pos"]) is None  # two labels equal after case-folding: ambiguous


def test_bedrock_few_shot_and_abstentions(double):
    b = BedrockLLM(ctx(model_id="amazon.nova-micro-v1:0", few_shot=2))
    b.load()
    train = [f"{w} thing {i}" for w in ("great", "awful", "address") for i in range(10)]
    labels = ["positive"] * 10 + ["negative"] * 10 + ["neutral"] * 10
    info = b.fit(train, labels)
    assert info.cost.usd == 0 and info.details["examples"] == 6
    again = BedrockLLM(ctx(model_id="amazon.nova-micro-v1:0", few_shot=2))
    again.fit(train, labels)
    assert again.examples == b.examples  # drawn with the seed
    answers = iter(['"Positive."', "I would say negative", "neutral"])
    double.answer = lambda text, req: next(answers)
    r = b.predict_batch(["x"])
    r2 = b.predict_batch(["y"])
    r3 = b.predict_batch(["z"])
    assert r.labels == ["positive"] and r2.labels == [None] and r2.raw == ["I would say negative"]
    assert r3.labels == ["neutral"]
    msgs = double.calls("Converse")[-1]["body"]["messages"]
    assert len(msgs) == 2 * 6 + 1 and [m["role"] for m in msgs[:2]] == ["user", "assistant"]



def test_bedrock_uses_the_shared_llm_core(double):
    """Selection, parsing, prices and the Batch projection come from baseline.adapters.llm, as for openai-llm."""
    from baseline.adapters import llm

    assert parse_label is llm.parse_label and normalize_answer is llm.normalize_answer
    b = BedrockLLM(ctx(model_id="amazon.nova-micro-v1:0", few_shot=3, few_shot_selection="nearest",
                       batch_pricing=True))
    vocab = ["great", "awful", "address"]
    b.fewshot._embedder = lambda texts: [[float(t.split()[0] == w) + 0.01 for w in vocab] for t in texts]
    b.load()
    train = [f"{w} thing {i}" for w in vocab for i in range(10)]
    b.fit(train, ["positive"] * 10 + ["negative"] * 10 + ["neutral"] * 10)
    double.answer = lambda text, req: "negative"
    assert b.predict_batch(["awful service"]).labels == ["negative"]
    msgs = double.calls("Converse")[-1]["body"]["messages"]
    assert [m["content"][0]["text"] for m in msgs[1:6:2]] == ["negative"] * 3  # the nearest examples
    assert "nearest" in b.cache_identity()
    b.teardown()
    assert any(n.startswith("token prices: $0.035 / $0.14 per 1M") for n in b.notes)
    assert any(n.startswith("Batch API projection") for n in b.notes)

# ---- replay of real recordings through the adapters' parsing ------------------------------------------

@pytest.mark.parametrize("name", ["batch_detect_sentiment_hervenivon_notebook.json",
                                  "batch_detect_sentiment_awscli_docs.json"])
def test_replay_comprehend_sentiment(double, name):
    rec = recording("aws-comprehend", name)
    expected = rec["response"]["body"]["ResultList"]
    double.replay("BatchDetectSentiment", wire(rec))
    a = ComprehendSentiment(ctx(max_rps=0))
    a.load()
    texts = rec["request"]["body"]["TextList"]
    r = a.predict_batch(texts)
    assert r.raw == [x["Sentiment"] for x in expected]
    for got, want in zip(r.scores, expected, strict=True):
        assert got["positive"] == pytest.approx(want["SentimentScore"]["Positive"])
        assert got["negative"] == pytest.approx(want["SentimentScore"]["Negative"])
    assert r.labels == [{"MIXED": None}.get(x["Sentiment"], x["Sentiment"].lower()) for x in expected]
    assert r.cost.units["comprehend_units"] == sum(comprehend_units(t) for t in texts)


def _bedrock_replay(double, rec: dict, **options):
    keep = {k: v for k, v in rec["response"]["headers"].items()
            if k.lower() not in ("content-length", "connection", "content-type")}
    double.replay("Converse", wire(rec), status=rec["response"]["status"], headers=keep)
    b = BedrockLLM(ctx(**options))
    b.load()
    return b.predict_batch(["What is the capital of France?"])


def test_replay_bedrock_text_reply_abstains_and_bills_usage(double):
    rec = recording("aws-bedrock-runtime", "bedrock_model.json")
    r = _bedrock_replay(double, rec, model_id="us.amazon.nova-micro-v1:0")
    body = rec["response"]["body"]
    assert r.labels == [None] and r.raw == [body["output"]["message"]["content"][0]["text"]]
    assert r.cost.units == {"input_tokens": 7.0, "output_tokens": 30.0}
    assert r.cost.usd == pytest.approx(7 * 0.000035 / 1000 + 30 * 0.00014 / 1000)
    assert r.service_ms == 268


def test_replay_bedrock_max_tokens_and_cache_usage_fields(double):
    r = _bedrock_replay(double, recording("aws-bedrock-runtime", "bedrock_model_max_tokens.json"),
                        model_id="us.amazon.nova-micro-v1:0", max_tokens=5)
    assert r.labels == [None] and r.raw == ["The capital of France is"] and r.cost.units["output_tokens"] == 5
    rec = recording("aws-bedrock-runtime", "bedrock_model_anthropic_model_without_tools.json")
    r = _bedrock_replay(double, rec, model_id="us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                        usd_per_1k_input=0.003, usd_per_1k_output=0.015)
    assert r.cost.units == {"input_tokens": 21.0, "output_tokens": 69.0}
    assert r.cost.usd == pytest.approx(21 * 0.003 / 1000 + 69 * 0.015 / 1000)


def test_replay_bedrock_tool_use_and_error(double):
    r = _bedrock_replay(double, recording("aws-bedrock-runtime", "bedrock_model_structured_output.json"),
                        model_id="us.amazon.nova-micro-v1:0")
    assert r.labels == [None] and r.raw == ["<tool_use>"] and r.cost.units["input_tokens"] == 571
    with pytest.raises(RuntimeError, match="The provided model identifier is invalid"):
        _bedrock_replay(double, recording("aws-bedrock-runtime", "bedrock_error.json"),
                        model_id="us.amazon.nova-micro-v1:0")


# ---- Comprehend custom: lifecycle on moto S3 + the double ----------------------------------------------

def topic_csv(path: Path, labels=("billing", "delivery", "account"), train: int = 55, test: int = 8) -> Path:
    words = {"billing": ["invoice", "charged", "payment", "receipt"], "delivery": ["courier", "parcel", "late", "box"],
             "account": ["password", "login", "email", "profile"], "spam": ["winner", "prize", "claim", "txt"],
             "ham": ["dinner", "tonight", "mum", "meeting"]}
    rows = []
    for lab in labels:
        ws = words[lab]
        for i in range(train + test):
            rows.append({"text": f"my {ws[i % 4]} and {ws[(i + 1) % 4]} issue number {i}", "label": lab,
                         "split": "train" if i < train else "test"})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def cloud(aws_env, monkeypatch, tmp_path):
    """moto for S3 and IAM (in-process), the double for Comprehend; the double reads/writes S3 via moto."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="ComprehendDataAccess", AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "comprehend.amazonaws.com"}}]}))
        assert role["Role"]["Arn"] == ROLE
        with AwsDouble(s3=s3) as d:
            monkeypatch.setenv("AWS_ENDPOINT_URL_COMPREHEND", d.url)
            d.s3_objects = lambda: [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
            yield d


def custom_config(tmp_path: Path, **extra) -> Path:
    opts = {"bucket": BUCKET, "role_arn": ROLE, "max_rps": 0, **SPEED, **extra}
    return write_config(tmp_path / "custom.toml", {"adapters.aws-comprehend-custom": opts})


def test_custom_endpoint_lifecycle(cloud, tmp_path):
    data = topic_csv(tmp_path / "topics.csv")
    out = tmp_path / "r"
    rc = main(["compare", "--adapters", "aws-comprehend-custom", "--data", str(data), "--out", str(out),
               "--no-progress", "--resamples", "100", "--config", str(custom_config(tmp_path))])
    assert rc == 0
    a = adapter_result(out, "aws-comprehend-custom")
    assert a["status"] == "ok", a["reason"]
    # training data: COMPREHEND_CSV, label then text, no header, every train row
    clf = next(iter(cloud.retired.values()))
    rows = clf.csv_text.strip().split("\n")
    assert len(rows) == 3 * 55 and rows[0].split(",")[0] in {"billing", "delivery", "account"}
    assert "text" not in rows[0].split(",")[0]
    assert {"Key": "created-by", "Value": "baseline"} in clf.tags
    assert a["fit"]["evaluation_metrics"]["Accuracy"] > 0.5 and a["fit"]["training_seconds"] == 1800
    # one document per ClassifyDocument call, one call per test text
    calls = cloud.calls("ClassifyDocument")
    assert len(calls) == 3 * 8 and all(c["docs"] == 1 for c in calls)
    assert a["metrics"]["accuracy"] > 0.8
    # money: 0.5 h training × $3 + one model-month $0.50 + endpoint alive < 60 s → 60 s × 1 IU × $0.0005
    assert a["cost"]["one_off_usd"] + a["cost"]["predict_usd"] == pytest.approx(1.5 + 0.5 + 0.03)
    kinds = {r["kind"] for r in a["resources"]}
    assert {"s3-object", "document-classifier", "endpoint"} <= kinds
    assert all(r["deleted"] for r in a["resources"])
    assert cloud.live_resources() == [] and cloud.s3_objects() == []


def test_custom_async_job_joins_on_line(cloud, tmp_path):
    data = topic_csv(tmp_path / "topics.csv")
    out = tmp_path / "r"
    rc = main(["compare", "--adapters", "aws-comprehend-custom", "--data", str(data), "--out", str(out),
               "--no-progress", "--resamples", "100", "--config", str(custom_config(tmp_path, mode="async"))])
    assert rc == 0
    a = adapter_result(out, "aws-comprehend-custom")
    assert a["status"] == "ok", a["reason"]
    assert len(cloud.calls("StartDocumentClassificationJob")) == 1 and cloud.calls("ClassifyDocument") == []
    assert a["counts"]["requests"] == 1
    model = next(iter(cloud.retired.values())).model
    preds = pd.read_csv(run_dir(out) / "predictions.csv", keep_default_na=False)
    expected = [model.scores(t)[0][0] for t in preds["text"]]  # output lines are shuffled: joined on Line
    assert preds["aws-comprehend-custom"].tolist() == expected
    n = len(preds)
    assert a["cost"]["billed_now_units"]["custom_async_units"] == pytest.approx(
        sum(comprehend_units(t) for t in preds["text"]))
    assert a["cost"]["one_off_usd"] == pytest.approx(1.5 + 0.5) and n == 24
    assert all(r["deleted"] for r in a["resources"])
    assert cloud.live_resources() == [] and cloud.s3_objects() == []


def test_custom_teardown_after_failure_mid_run(cloud, tmp_path):
    cloud.fail("ClassifyDocument", after=3, status=400, kind="InvalidRequestException", message="boom mid-run")
    data = topic_csv(tmp_path / "topics.csv")
    out = tmp_path / "r"
    rc = main(["compare", "--adapters", "aws-comprehend-custom", "--data", str(data), "--out", str(out),
               "--no-progress", "--resamples", "100", "--config", str(custom_config(tmp_path))])
    assert rc == 1
    a = adapter_result(out, "aws-comprehend-custom")
    assert a["status"] == "failed" and "boom mid-run" in a["reason"]
    assert a["resources"] and all(r["deleted"] for r in a["resources"])
    assert cloud.live_resources() == [] and cloud.s3_objects() == []
    assert any(arn.endswith(":document-classifier-endpoint/" + arn.rsplit("/", 1)[-1]) for arn in cloud.gone)
    # the training and the endpoint were still paid for: the one-off cost says so
    assert a["cost"]["one_off_usd"] >= 1.5 + 0.5


def test_custom_teardown_on_ctrl_c_during_training(cloud, tmp_path):
    cloud.train_polls = 50  # still training when the user presses Ctrl-C
    cloud.interrupt_main_on("DescribeDocumentClassifier", after=2)
    data = topic_csv(tmp_path / "topics.csv")
    rc = main(["compare", "--adapters", "aws-comprehend-custom", "--data", str(data), "--out", str(tmp_path / "r"),
               "--no-progress", "--resamples", "100", "--config", str(custom_config(tmp_path))])
    assert rc == 130
    assert len(cloud.calls("StopTrainingDocumentClassifier")) == 1
    assert cloud.live_resources() == [] and cloud.s3_objects() == []
    res = json.loads(next((tmp_path / "r").rglob("resources.json")).read_text())
    assert res and all(r["deleted"] for r in res)


def test_custom_teardown_is_idempotent(cloud, tmp_path):
    c = ComprehendCustom(ctx(labels=["billing", "delivery"], bucket=BUCKET, role_arn=ROLE, max_rps=0, tmp=tmp_path, **SPEED))
    c.load()
    train = [f"my {w} issue {i}" for w in ("invoice", "parcel") for i in range(60)]
    c.fit(train, ["billing"] * 60 + ["delivery"] * 60)
    assert c.predict_batch(["invoice invoice"]).labels == ["billing"]
    c.teardown()
    n = len(cloud.requests)
    c.teardown()
    assert len(cloud.requests) == n  # nothing left to delete, no calls
    assert cloud.live_resources() == [] and all(r["deleted"] for r in c.resources)


def test_replay_custom_classifier_recordings(cloud, tmp_path):
    """Real DescribeDocumentClassifier (training → trained) and ClassifyDocument bodies through fit/predict."""
    training = recording("aws-comprehend", "describe_document_classifier_training_hervenivon_notebook.json")
    trained = recording("aws-comprehend", "describe_document_classifier_awscli_docs.json")
    classify = recording("aws-comprehend", "classify_document_awscli_docs.json")
    cloud.replay("DescribeDocumentClassifier", wire(training))
    cloud.replay("DescribeDocumentClassifier", wire(trained))
    c = ComprehendCustom(ctx(labels=["ham", "spam"], bucket=BUCKET, role_arn=ROLE, max_rps=0, tmp=tmp_path, **SPEED))
    try:
        c.load()
        train = [f"{w} {i}" for w in ("winner prize", "dinner tonight") for i in range(60)]
        info = c.fit(train, ["spam"] * 60 + ["ham"] * 60)
        props = trained["response"]["body"]["DocumentClassifierProperties"]
        assert info.details["evaluation_metrics"] == props["ClassifierMetadata"]["EvaluationMetrics"]
        secs = (1.68668529508e9 - 1.686683300114e9)  # TrainingEndTime − TrainingStartTime in the recording
        assert info.cost.seconds == pytest.approx(secs)
        assert info.cost.usd == pytest.approx(secs / 3600 * 3.0 + 0.5)
        cloud.replay("ClassifyDocument", wire(classify))
        r = c.predict_batch([classify["request"]["body"]["Text"]])
        assert r.labels == ["spam"] and r.scores[0]["spam"] == pytest.approx(0.9998599290847778)
        assert r.scores[0]["ham"] == pytest.approx(0.00014001205272506922)
    finally:
        c.teardown()
    assert cloud.live_resources() == []
