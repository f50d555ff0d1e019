"""Google Cloud Natural Language adapters, driven through the real google-cloud-language client.

The client (REST transport, ``api_endpoint`` overridden) talks to a loopback double of the service's REST
wire format (tests/doubles/gcp_language.py). Credentials go through the real google-auth chain: a
service-account key file named by GOOGLE_APPLICATION_CREDENTIALS, generated per session, whose
self-signed JWTs the double checks. Billing figures are checked against hand-computed ones.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from baseline.adapters.base import Adapter, AdapterContext
from baseline.adapters.gcp import GoogleClassify, GoogleSentiment, gcp_language_units, tiered_usd
from baseline.adapters.gcp.common import NO_CREDENTIALS
from baseline.cli import main
from baseline.costs import PriceTable
from baseline.errors import AdapterUnavailable, BadInput

pytest.importorskip("google.cloud.language_v2")
crypto = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")

from doubles.gcp_language import GoogleLanguageDouble  # noqa: E402

SA_EMAIL = "baseline-test@planted-project.iam.gserviceaccount.com"
KEY_ID = "PLANTEDkeyId5b1c0d9e8f7a6b5c4d3e2f1"        # planted: must never show up anywhere
FAST = {"backoff_base": 0.01, "max_rps": 0}


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization

    key = crypto.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture
def double(monkeypatch, tmp_path, private_key_pem):
    d = GoogleLanguageDouble().start()
    d.service_accounts.add(SA_EMAIL)
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps({
        "type": "service_account", "project_id": "planted-project", "private_key_id": KEY_ID,
        "private_key": private_key_pem, "client_email": SA_EMAIL, "client_id": "1234567890",
        "token_uri": d.token_uri}), encoding="utf-8")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    yield d
    d.stop()


def make(cls: type[Adapter], labels, double, options=None, label_map=None, load=True):
    ctx = AdapterContext(labels=sorted(labels), options={"api_endpoint": double.endpoint, **FAST, **(options or {})},
                         label_map=label_map)
    a = cls(ctx)
    if load:
        a.load()
    return a


# ---- billing units and tiers, by hand ---------------------------------------------------------------

def test_units_are_started_1000_characters_per_request():
    # the pricing page's own example: 800 + 1,500 + 600 characters in three requests = 4 units
    assert [gcp_language_units("a" * n) for n in (800, 1500, 600)] == [1, 2, 1]
    assert gcp_language_units("a" * 1000) == 1 and gcp_language_units("a" * 1001) == 2
    assert gcp_language_units("é" * 1000) == 1          # Unicode characters, not UTF-8 bytes (2,000 here)
    assert gcp_language_units("x") == 1


def test_tiered_prices_hand_computed():
    prices = PriceTable.default()
    sent = prices.row("gcp_language", "sentiment")
    cls = prices.row("gcp_language", "classification")
    assert sent["source"].startswith("https://cloud.google.com/natural-language/pricing") and sent["effective_date"]
    # free tier already used: 1,000 units at $0.001
    assert tiered_usd(1000, sent, 5000) == pytest.approx(1.00)
    # a fresh month: 5,000 free, then 2,000 at $0.001
    assert tiered_usd(7000, sent, 0) == pytest.approx(2.00)
    assert tiered_usd(4000, sent, 0) == 0.0
    # across the 1M boundary: 500 at $0.001 + 500 at $0.0005
    assert tiered_usd(1000, sent, 999_500) == pytest.approx(0.75)
    # across the 5M boundary: 1,000 at $0.0005 + 1,000 at $0.00025
    assert tiered_usd(2000, sent, 4_999_000) == pytest.approx(0.75)
    # classification: 30,000 free, then $0.002 to 250K, then $0.0005
    assert tiered_usd(30_001, cls, 0) == pytest.approx(0.002)
    assert tiered_usd(2000, cls, 249_000) == pytest.approx(2.5)
    assert tiered_usd(10, cls, 6_000_000) == pytest.approx(0.001)


def test_estimate_is_pure_and_reports_the_free_tier_without_subtracting_it(double):
    texts = ["a" * 800, "b" * 1500, "c" * 600, "   "]          # the blank one is never sent
    a = make(GoogleSentiment, ["negative", "positive"], double, load=False)
    est = a.estimate_predict(texts)
    assert est.units == {"gcp_language_units": 4.0} and est.usd == pytest.approx(0.004)
    assert "free tier assumed used" in est.note
    fresh = make(GoogleSentiment, ["negative", "positive"], double, {"units_used_this_month": 0}, load=False)
    assert fresh.estimate_predict(texts).usd == 0.0
    c = make(GoogleClassify, ["sports"], double, load=False)
    assert c.estimate_predict(texts).usd == pytest.approx(4 * 0.002)
    assert double.requests == []


# ---- availability and credentials -------------------------------------------------------------------

def test_no_credentials_is_unavailable_with_one_line(monkeypatch, tmp_path):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))   # no gcloud ADC file there
    monkeypatch.delenv("GCE_METADATA_HOST", raising=False)
    monkeypatch.setattr("baseline.adapters.gcp.common.Path.read_text", lambda *a, **k: "Standard PC")
    av = GoogleSentiment.availability("text-classification", {})
    assert not av.ok and av.reason == NO_CREDENTIALS and "\n" not in av.reason
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    av = GoogleClassify.availability("text-classification", {})
    assert not av.ok and "not a file" in av.reason


def test_secret_options_and_bad_options_are_refused(double):
    assert not GoogleSentiment.availability("text-classification", {"api_key": "x"}).ok
    with pytest.raises(BadInput, match="Application Default Credentials"):
        GoogleSentiment.check_options({"api_key": "AIzaPLANTED"})
    with pytest.raises(BadInput, match="positive_threshold"):
        GoogleSentiment.check_options({"positive_threshold": 2})
    with pytest.raises(BadInput, match="api_version"):
        GoogleClassify.check_options({"api_version": "v3"})
    with pytest.raises(BadInput, match="negative_threshold"):
        make(GoogleSentiment, ["negative", "positive"], double, {"positive_threshold": -0.5}, load=False)


def test_a_credential_the_service_refuses_is_one_line_without_secrets(double):
    double.service_accounts.clear()                     # the double no longer knows this account: 401
    a = make(GoogleSentiment, ["negative", "positive"], double)
    with pytest.raises(BadInput) as e:
        a.predict_batch(["great"])
    msg = str(e.value)
    assert "\n" not in msg and "401" in msg and "GOOGLE_APPLICATION_CREDENTIALS" in msg and KEY_ID not in msg


# ---- sentiment ---------------------------------------------------------------------------------------

def test_sentiment_wire_format_thresholds_mapping_and_billing(double):
    a = make(GoogleSentiment, ["negative", "neutral", "positive"], double)
    texts = ["I love this great phone", "awful, terrible service", "it arrived on tuesday", "x" * 1500 + " good"]
    out = a.predict_batch(texts)
    assert out.labels == ["positive", "negative", "neutral", "positive"]
    assert out.raw == ["positive", "negative", "neutral", "positive"] and out.errors == [None] * 4
    assert out.scores[0]["positive"] == pytest.approx(0.95) and out.scores[1]["negative"] == pytest.approx(0.95)
    # one document per request, the documented wire format, through the real client's REST transport
    assert [q["op"] for q in double.requests] == ["analyzeSentiment"] * 4
    body = double.requests[0]["body"]
    assert body["document"] == {"type": 1, "content": texts[0], "languageCode": "en"}   # PLAIN_TEXT, enum as int
    assert double.requests[0]["version"] == "v2" and "gapic/" in double.requests[0]["headers"]["x-goog-api-client"]
    # billed: 1 + 1 + 1 + 2 units, at $0.001 (free tier assumed used) = what the double's meter counted
    assert out.cost.units == {"gcp_language_units": 5.0} and double.meter == {"sentiment_units": 5}
    assert out.cost.usd == pytest.approx(0.005) and out.unconfirmed.usd == 0.0
    assert any("score >= 0.25 → positive" in n for n in a.notes)


def test_thresholds_are_configurable_mixed_and_nearest(double):
    double.sentiment = lambda t: {"a": (0.2, 0.3), "b": (-0.1, 2.5), "c": (-0.6, 0.9)}[t[0]]
    a = make(GoogleSentiment, ["negative", "neutral", "positive", "mixed"], double,
             {"positive_threshold": 0.1, "negative_threshold": -0.5, "mixed_magnitude": 2.0})
    assert a.predict_batch(["a1", "b1", "c1"]).labels == ["positive", "mixed", "negative"]
    binary = make(GoogleSentiment, ["negative", "positive"], double)          # neutral: no counterpart
    out = binary.predict_batch(["a1", "b1", "c1"])
    assert out.labels == [None, None, "negative"] and out.raw[:2] == ["neutral", "neutral"]
    assert out.errors == [None] * 3                                            # abstentions, not errors
    nearest = make(GoogleSentiment, ["negative", "positive"], double, {"unmapped": "nearest"})
    assert nearest.predict_batch(["a1", "b1", "c1"]).labels == ["positive", "negative", "negative"]


def test_numeric_labels_need_a_map_and_take_it(double):
    with pytest.raises(AdapterUnavailable, match="label_maps.gcp-language-sentiment"):
        make(GoogleSentiment, ["billing", "shipping"], double)
    a = make(GoogleSentiment, ["a", "b"], double, label_map={"positive": "a", "negative": "b"})
    assert a.predict_batch(["great", "awful"]).labels == ["a", "b"]


# ---- classification ----------------------------------------------------------------------------------

def test_classify_explicit_prefix_map_obvious_names_and_abstentions(double):
    labels = ["billing", "movies", "sports"]
    a = make(GoogleClassify, labels, double, label_map={"/Finance": "billing"})
    texts = ["the stock market fell", "a football goal", "a movie night", "the election is near",
             "nothing to see"]
    out = a.predict_batch(texts)
    assert out.labels == ["billing", "sports", "movies", None, None]
    assert out.raw[3] == "/News/Politics" and out.raw[4] == "(no category)"
    assert out.errors == [None] * 5                                 # unmapped: abstentions, counted as such
    assert out.scores[1] == {"sports": pytest.approx(0.9)}
    assert double.meter == {"classification_units": 5} and out.cost.usd == pytest.approx(5 * 0.002)
    assert a.map_category("/Finance/Investing/Stocks & Bonds") == "billing"


def test_classify_v1_asks_for_the_v2_taxonomy_and_too_few_tokens_is_an_item_error(double):
    a = make(GoogleClassify, ["sports"], double, {"api_version": "v1"})
    long = "the football match ended with a late goal " * 3
    out = a.predict_batch(["a football goal", long])
    assert out.labels == [None, "sports"]
    assert "INVALID_ARGUMENT" in out.errors[0] and "too few tokens" in out.errors[0]
    body = double.requests[0]["body"]
    assert double.requests[0]["version"] == "v1" and body["document"]["language"] == "en"
    assert body["classificationModelOptions"] == {"v2Model": {"contentCategoriesVersion": 2}}
    assert out.cost.units == {"gcp_language_units": 1.0}          # the refused request is not billed
    with pytest.raises(BadInput, match="category path"):
        make(GoogleClassify, ["sports"], double, label_map={"Finance": "sports"}, load=False)


# ---- retries, throttles, invalid answers, possibly billed ---------------------------------------------

def test_quota_exceeded_429_is_retried_after_retry_after_and_counted(double):
    a = make(GoogleSentiment, ["negative", "positive"], double)
    double.throttle_next(2)
    out = a.predict_batch(["great"])
    assert out.labels == ["positive"] and out.throttles == 2 and out.retries == 2
    assert out.cost.units == {"gcp_language_units": 1.0} and double.meter == {"sentiment_units": 1}
    # still throttled after every attempt: an item error (never an abstention), nothing billed
    b = make(GoogleSentiment, ["negative", "positive"], double, {"max_attempts": 3})
    double.throttle_next(3)
    out = b.predict_batch(["great"])
    assert out.labels == [None] and "429" in out.errors[0] and "RATE_LIMIT_EXCEEDED" in out.errors[0]
    assert out.throttles == 3 and out.retries == 2 and out.cost.usd == 0.0 and out.unconfirmed.usd == 0.0


def test_unavailable_503_is_retried_and_not_billed(double):
    a = make(GoogleSentiment, ["negative", "positive"], double)
    double.unavailable_next(1)
    out = a.predict_batch(["awful"])
    assert out.labels == ["negative"] and out.retries == 1 and out.throttles == 0 and out.unconfirmed.usd == 0.0


@pytest.mark.parametrize("fault", ["malformed", "no_sentiment", "bad_score", "drop", "server_error"])
def test_unusable_answers_are_asked_again_and_counted_as_possibly_billed(double, fault):
    a = make(GoogleSentiment, ["negative", "positive"], double)
    double.inject(fault, times=1)
    out = a.predict_batch(["great"])
    assert out.labels == ["positive"] and out.errors == [None] and out.retries == 1
    assert out.cost.units == {"gcp_language_units": 1.0}
    assert out.unconfirmed.units == {"gcp_language_units": 1.0}     # the spoiled attempt was processed
    assert double.meter == {"sentiment_units": 2}                   # ... and the service billed it


def test_invalid_answers_every_time_become_item_errors_and_the_adapter_gives_up(double):
    from baseline.adapters.base import AdapterGaveUp

    a = make(GoogleClassify, ["sports"], double, {"answer_attempts": 2, "max_consecutive_failures": 2})
    double.inject("bad_category", times=2)
    out = a.predict_batch(["a football goal"])
    assert out.labels == [None] and "invalid answer after 2 attempts" in out.errors[0]
    assert "taxonomy path" in out.errors[0] and out.unconfirmed.units == {"gcp_language_units": 2.0}
    double.inject("bad_category", times=2)
    with pytest.raises(AdapterGaveUp) as e:
        a.predict_batch(["a football goal"])
    assert e.value.partial.errors[0]


# ---- end to end through the CLI: estimate, --max-cost, cache, no secrets ------------------------------

@pytest.fixture
def feedback_csv(tmp_path: Path) -> Path:
    words = {"positive": ["love", "great", "excellent", "happy", "superb"],
             "negative": ["awful", "broken", "refund", "angry", "terrible"],
             "neutral": ["question", "address", "tuesday", "invoice", "delivery"]}
    rows = [{"text": f"{ws[i % 5]} {ws[(i + 2) % 5]} item {i}", "label": lab}
            for lab, ws in words.items() for i in range(40)]
    p = tmp_path / "feedback.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def _compare(csv: Path, out: Path, cfg: Path, *extra: str) -> int:
    return main(["compare", "--data", str(csv), "--adapters", "gcp-language-sentiment", "--out", str(out),
                 "--resamples", "100", "--no-progress", "--config", str(cfg), *extra])


def _result(out: Path) -> dict:
    runs = sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    res = json.loads((runs[-1] / "results.json").read_text(encoding="utf-8"))
    return next(a for a in res["adapters"] if a["name"] == "gcp-language-sentiment")


def test_compare_end_to_end_caches_and_keeps_secrets_out(double, feedback_csv, tmp_path, capsys, caplog,
                                                         baseline_home):
    caplog.set_level(logging.DEBUG)
    cfg = tmp_path / "baseline.toml"
    cfg.write_text(f'[adapters."gcp-language-sentiment"]\napi_endpoint = "{double.endpoint}"\n'
                   'backoff_base = 0.01\nmax_rps = 0\n', encoding="utf-8")
    out = tmp_path / "reports"
    assert _compare(feedback_csv, out, cfg, "--max-cost", "0.01") == 0     # 30 units = $0.03 > $0.01
    res = _result(out)
    assert res["status"] == "skipped" and "exceeds" in res["reason"] and double.requests == []
    assert res["cost"]["estimate_usd"] == pytest.approx(0.03)

    assert _compare(feedback_csv, out, cfg) == 0
    first = _result(out)
    assert first["status"] == "ok" and first["metrics"]["accuracy"] == 1.0
    assert first["counts"]["requests"] == 30 and len(double.requests) == 30
    assert first["cost"]["billed_now_units"] == {"gcp_language_units": 30.0}
    assert first["cost"]["billed_now_usd"] == pytest.approx(0.03) and double.meter == {"sentiment_units": 30}

    double.requests.clear()
    assert _compare(feedback_csv, out, cfg) == 0          # a plain rerun copies the unchanged result
    assert double.requests == [] and _result(out)["reused_from"] is not None
    assert _compare(feedback_csv, out, cfg, "--fresh") == 0   # --fresh runs it: the response cache answers
    second = _result(out)
    assert double.requests == [] and second["cost"]["billed_now_usd"] == 0.0
    assert second["counts"]["cached_items"] == 30 and second["metrics"]["accuracy"] == 1.0

    captured = capsys.readouterr()
    written = [p for p in [*out.rglob("*"), *baseline_home.rglob("*")] if p.is_file()]
    for p in written:
        data = p.read_bytes()
        assert KEY_ID.encode() not in data and b"PRIVATE KEY" not in data, p
    assert KEY_ID not in captured.out + captured.err + caplog.text


def test_registered_and_listed():
    from baseline.adapters.registry import Registry

    reg = Registry.discover()
    for name in ("gcp-language-sentiment", "gcp-language-classify"):
        e = reg.get(name)
        assert e.cls is not None and e.cls.family == "cloud" and e.cls.paid
    assert "gcp-language-sentiment" in reg.select("default")[1]             # paid: listed, not run by default
