"""openai-llm through the real ``openai`` SDK (OpenAI and AzureOpenAI clients) against ``doubles/openai_chat.py``.

Nothing here reaches a network: every request goes to the loopback double of the Chat Completions wire format.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("openai")

from baseline.adapters import llm  # noqa: E402
from baseline.adapters.base import AdapterContext, AdapterGaveUp  # noqa: E402
from baseline.adapters.openai.chat import OpenAIChat  # noqa: E402
from baseline.cli import main  # noqa: E402
from baseline.costs import PriceTable  # noqa: E402
from baseline.errors import BadInput  # noqa: E402
from doubles.openai_chat import ChatDouble  # noqa: E402

LABELS3 = ["negative", "neutral", "positive"]
KEY = "sk-proj-bAsElInEpLaNtEdOpEnAiKeY0123456789"
AZ_KEY = "aZuReBaSeLiNePlAnTeDkEy0123456789abcdef"
TASK = "text-classification"


@pytest.fixture
def env(monkeypatch, tmp_path):
    for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY",
              "OPENAI_API_VERSION", "AZURE_OPENAI_AD_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.fixture
def double(env):
    env.setenv("OPENAI_API_KEY", KEY)
    with ChatDouble(key=KEY) as d:
        yield d


def make(d: ChatDouble | None = None, labels=LABELS3, **options) -> OpenAIChat:
    opts = {"model": "gpt-4o-mini", **({"base_url": d.url} if d else {}), **options}
    a = OpenAIChat(AdapterContext(labels=list(labels), options=opts))
    a.load()
    return a


# ---- availability ------------------------------------------------------------------------------------

def test_availability_reasons(env):
    av = OpenAIChat.availability(TASK, {})
    assert not av.ok and "set model" in av.reason
    av = OpenAIChat.availability(TASK, {"model": "gpt-4o-mini"})
    assert not av.ok and av.reason == "no OpenAI API key: set OPENAI_API_KEY (a local base_url needs none)"
    # a local server needs no key; a remote compatible one does
    assert OpenAIChat.availability(TASK, {"model": "llama3.1", "base_url": "http://localhost:11434/v1"}).ok
    av = OpenAIChat.availability(TASK, {"model": "m", "base_url": "https://api.together.xyz/v1"})
    assert not av.ok and "api.together.xyz" in av.reason
    env.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    assert OpenAIChat.availability(TASK, {"model": "qwen"}).ok
    av = OpenAIChat.availability(TASK, {"model": "gpt-4o-mini", "api_key": "sk-x"})
    assert not av.ok and "never read from baseline.toml" in av.reason
    env.delenv("OPENAI_BASE_URL")
    env.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com")
    av = OpenAIChat.availability(TASK, {"model": "gpt-4o-mini"})
    assert not av.ok and "AZURE_OPENAI_API_KEY" in av.reason
    env.setenv("AZURE_OPENAI_API_KEY", AZ_KEY)
    assert OpenAIChat.availability(TASK, {"model": "gpt-4o-mini"}).ok
    with pytest.raises(BadInput, match="answer_format"):
        OpenAIChat(AdapterContext(labels=LABELS3, options={"model": "m", "answer_format": "xml"}))


# ---- answer formats, parsing, log-probabilities ------------------------------------------------------

def test_structured_output_enum_logprobs_and_abstention(double):
    double.oracle = {"i love it": "positive", "meh": "banana"}
    a = make(double)
    r = a.predict_batch(["i love it", "meh", "  "])
    body = double.calls(ok_only=True)[0]["body"]
    schema = body["response_format"]["json_schema"]["schema"]
    assert body["response_format"]["type"] == "json_schema" and schema["properties"]["label"]["enum"] == LABELS3
    assert body["temperature"] == 0.0 and body["seed"] == 42 and body["logprobs"] is True and body["top_logprobs"] == 5
    assert body["max_tokens"] == a.max_tokens and "max_completion_tokens" not in body  # what compatible servers take
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert all(f"- {lab}" in body["messages"][0]["content"] for lab in LABELS3)
    assert r.labels == ["positive", None, None]
    assert r.raw[:2] == ["positive", "banana"]  # a non-label is an abstention, its raw answer kept
    assert r.errors == [None, None, "empty text: not sent"]  # never sent, never an abstention
    # class scores from log-probabilities: the chosen label's sequence probability, alternatives' first tokens
    assert r.scores[0]["positive"] == pytest.approx(0.9)
    assert r.scores[0]["negative"] == pytest.approx(0.05) and r.scores[0]["neutral"] == pytest.approx(0.05)


def test_tool_call_and_plain_text(double):
    double.oracle = {"a": "negative", "b": '"Neutral."', "c": "I think positive"}
    a = make(double, answer_format="tool", logprobs=False)
    r = a.predict_batch(["a"])
    body = double.calls()[-1]["body"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "classify"}}
    assert body["tools"][0]["function"]["parameters"]["properties"]["label"]["enum"] == LABELS3
    assert r.labels == ["negative"] and r.scores[0] == {"negative": 1.0, "neutral": 0.0, "positive": 0.0}
    t = make(double, answer_format="text", max_tokens_param="max_tokens")
    r = t.predict_batch(["b", "c"])
    assert r.labels == ["neutral", None] and r.raw[1] == "I think positive"  # strict parsing
    assert double.calls()[-1]["body"]["max_tokens"] == t.max_tokens and "response_format" not in double.calls()[-1]["body"]


def test_logprob_scores_by_hand():
    toks = [('{"label":"', -0.01, []), ("pos", math.log(0.8), [("pos", math.log(0.8)), ("neg", math.log(0.15))]),
            ("itive", math.log(0.5), []), ('"}', 0.0, [])]
    s = llm.scores_from_logprobs(toks, '{"label":"positive"}', "positive", LABELS3, "positive")
    assert s["positive"] == pytest.approx(0.8 * 0.5) and s["negative"] == pytest.approx(0.15)
    assert llm.parse_structured('{"label": "Positive"}', LABELS3) == ("positive", "Positive")
    assert llm.parse_structured("neutral", LABELS3) == ("neutral", "neutral")  # server ignored the schema
    assert llm.parse_structured('{"answer": 1}', LABELS3)[0] is None


# ---- Azure OpenAI ----------------------------------------------------------------------------------

def test_azure_deployment_and_v1_endpoints(env):
    env.setenv("AZURE_OPENAI_API_KEY", AZ_KEY)
    with ChatDouble(key=AZ_KEY) as d:
        d.oracle = {"x": "positive"}
        a = make(None, azure_endpoint=d.root, azure_deployment="clf-mini", api_version="2024-10-21")
        assert a.predict_batch(["x"]).labels == ["positive"]
        call = d.calls()[-1]
        assert call["authorized"] and call["path"] == "/openai/deployments/clf-mini/chat/completions"
        assert call["query"]["api-version"] == ["2024-10-21"]
        assert "max_completion_tokens" in call["body"] and "max_tokens" not in call["body"]  # OpenAI's current name
        assert "Azure OpenAI Chat Completions (gpt-4o-mini deployment clf-mini)" in a.endpoint_description()
        v1 = make(None, azure_endpoint=d.root)  # no api_version: the v1 endpoint, the deployment as model
        assert v1.predict_batch(["x"]).labels == ["positive"]
        call = d.calls()[-1]
        assert call["path"] == "/openai/v1/chat/completions" and call["body"]["model"] == "gpt-4o-mini"
        # prices: the azure/ row of the map
        assert "azure/gpt-4o-mini" in v1.price_row()["source"] or v1.price_row().get("row") == "openai.gpt-4o-mini"


# ---- faults: throttles, 5xx, malformed bodies, dropped connections ------------------------------------

def test_429_retry_after_honoured_and_counted(double):
    double.fault(1, status=429, retry_after=0.4)
    a = make(double, max_retries=3)
    t0 = time.monotonic()
    r = a.predict_batch(["x"])
    assert time.monotonic() - t0 >= 0.4  # the SDK waited what Retry-After asked
    assert r.labels == ["negative"] and r.throttles == 1 and r.retries == 1
    assert r.unconfirmed.usd == 0  # a 429 is a refusal, never billed


def test_5xx_retried_possibly_billed_and_item_error(double):
    double.fault(2, status=500, retry_after=0.01)
    a = make(double, max_retries=3)
    r = a.predict_batch(["x"])
    assert r.labels == ["negative"] and r.retries == 2 and r.throttles == 0
    est = a.estimate_predict(["x"])
    assert r.unconfirmed.usd == pytest.approx(2 * est.usd)  # a 500 may have been processed
    double.fault(3, status=503, retry_after=0.01)
    r = make(double, max_retries=2).predict_batch(["y"])
    assert r.labels == [None] and r.errors[0].startswith("InternalServerError after 3 attempts")
    assert r.unconfirmed.usd == 0 and r.raw == [None]  # 503: refused; an item error, not an abstention


def test_malformed_bodies_reasked_then_item_error(double):
    double.fault(1, body="<html>gateway</html>")
    a = make(double, answer_attempts=2)
    r = a.predict_batch(["x"])
    assert r.labels == ["negative"] and r.retries == 1 and r.unconfirmed.usd > 0
    double.fault(2, no_usage=True)
    r = a.predict_batch(["y"])
    assert r.labels == [None] and r.raw == [None]
    assert r.errors[0] == "invalid answer after 2 attempts: Chat Completion without token usage"
    assert r.cost.usd == 0  # nothing billed is claimed without usage


def test_dropped_connection_and_content_filter(double):
    double.fault(1, drop=True)
    a = make(double, max_retries=2)
    r = a.predict_batch(["x"])
    assert r.labels == ["negative"] and r.retries == 1 and r.unconfirmed.usd > 0
    double.fault(1, status=400, code="content_filter")
    r = a.predict_batch(["x"])
    assert r.labels == [None] and r.errors == [None] and r.raw == ["<content_filter>"]  # a non-prediction


def test_gives_up_after_consecutive_failures(double):
    double.fault(10, status=503, retry_after=0.01)
    a = make(double, max_retries=0, max_consecutive_failures=2)
    assert a.predict_batch(["a"]).errors[0]
    with pytest.raises(AdapterGaveUp):
        a.predict_batch(["b"])


def test_wrong_key_fails_the_adapter_without_the_key(double, env):
    env.setenv("OPENAI_API_KEY", "sk-wrong-" + "x" * 30)
    a = make(double)
    with pytest.raises(RuntimeError) as e:
        a.predict_batch(["x"])
    assert "401" in str(e.value) and "sk-wrong" not in str(e.value)


# ---- costs by hand -----------------------------------------------------------------------------------

def test_cost_from_usage_by_hand(double):
    double.usage_override = (1000, 10)
    a = make(double)
    r = a.predict_batch(["x", "y"])
    # gpt-4o-mini: $0.15 / 1M input, $0.60 / 1M output
    assert r.cost.units == {"input_tokens": 2000.0, "output_tokens": 20.0}
    assert r.cost.usd == pytest.approx(2000 * 0.15 / 1e6 + 20 * 0.60 / 1e6)
    row = a.price_row()
    assert row["source"] and row["effective_date"]


def test_estimate_counts_prompt_tokens_by_hand(double):
    a = make(double, answer_format="text", max_tokens=3)
    text = "The parcel arrived broken and nobody answers the phone."
    msgs = a.messages(text)
    enc_count, how = llm.token_counter("gpt-4o-mini")
    assert how in ("tiktoken o200k_base", llm.APPROX)
    by_hand = sum(3 + enc_count(m["role"]) + enc_count(m["content"]) for m in msgs) + 3
    est = a.estimate_predict([text, ""])
    assert est.units == {"input_tokens": float(by_hand), "output_tokens": 3.0}
    # the double counts the way OpenAI documents: the estimate equals the billed usage
    r = a.predict_batch([text])
    assert r.cost.units["input_tokens"] == by_hand


def test_price_sources_and_batch_projection(double, tmp_path):
    a = make(double)
    lite = llm.litellm_prices()
    row = a.price_row()
    if lite is not None:
        assert row["source"].startswith("LiteLLM model price map") and "usd_per_1k_input_batch" in row
    # a row in baseline.toml overrides the map; adapter options override everything
    prices = PriceTable.default().with_overrides({"openai": {"gpt-4o-mini": {"usd_per_1k_input": 1.0,
                                                                             "usd_per_1k_output": 2.0,
                                                                             "source": "our contract"}}})
    b = OpenAIChat(AdapterContext(labels=LABELS3, options={"model": "gpt-4o-mini", "base_url": double.url},
                                  prices=prices))
    assert b.price_row()["source"] == "our contract" and b.token_cost(1000, 1000).usd == pytest.approx(3.0)
    c = make(double, usd_per_1k_input=0.5, usd_per_1k_output=0.5)
    assert c.price_row()["source"] == "adapter options"
    # unknown model: remote needs a price, a local server is counted, not priced
    with pytest.raises(BadInput, match=r'\[prices.openai."acme-1"\]'):
        make(double, model="acme-1", base_url="https://llm.example.com/v1").price_row()
    assert make(double, model="acme-1").price_row()["usd_per_1k_input"] == 0.0
    # the Batch API projection: half price (the map's batch rows, or batch_discount)
    d = make(double, batch_pricing=True, answer_format="text", max_tokens=2)
    est = d.estimate_predict(["x"])
    assert "Batch API projection" in est.note
    full = llm.token_cost({"usd_per_1k_input": 0.15, "usd_per_1k_output": 0.6}, 1000, 100)
    half = llm.token_cost({"usd_per_1k_input": 0.15, "usd_per_1k_output": 0.6}, 1000, 100, batch=True)
    assert half.usd == pytest.approx(full.usd / 2)
    none_off = llm.token_cost({"usd_per_1k_input": 0.15, "usd_per_1k_output": 0.6}, 1000, 100, batch=True, discount=0.0)
    assert none_off.usd == pytest.approx(full.usd)
    # a partial override in baseline.toml is named as one, not as the packaged row's source
    part = PriceTable.default().with_overrides({"openai": {"gpt-4o-mini": {"usd_per_1k_input": 9.0}}})
    assert llm.price_row(part, "openai", ["gpt-4o-mini"], {})["source"] == "baseline.toml [prices] override"
    d.predict_batch(["x"])
    d.teardown()
    assert any(n.startswith("Batch API projection") for n in d.notes)


# ---- pacing, few-shot ------------------------------------------------------------------------------

def test_rpm_pacing_spaces_requests(double):
    a = make(double, rpm=600, answer_format="text")
    t0 = time.monotonic()
    for t in "abcde":
        a.predict_batch([t])
    assert time.monotonic() - t0 >= 0.39  # 5 requests at 10/s: 4 gaps of 0.1 s
    times = [c["t"] for c in double.calls()]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # paced at the client: arrivals at the double jitter on a loaded machine, but none comes close to back-to-back
    assert sum(gaps) / len(gaps) >= 0.095 and min(gaps) >= 0.05


def test_few_shot_selection_modes(double):
    train = [f"{w} thing {i}" for w in ("great", "awful", "address") for i in range(10)]
    labels = ["positive"] * 10 + ["negative"] * 10 + ["neutral"] * 10
    per = make(double, few_shot=2)
    per.fit(train, labels)
    assert len(per.fewshot.examples) == 6 and sorted({lab for _, lab in per.fewshot.examples}) == LABELS3
    rnd = make(double, few_shot=4, few_shot_selection="random")
    rnd.fit(train, labels)
    assert len(rnd.fewshot.examples) == 4
    again = make(double, few_shot=4, few_shot_selection="random")
    again.fit(train, labels)
    assert again.fewshot.examples == rnd.fewshot.examples  # seeded

    def bag(texts):  # a stand-in sentence encoder: one dimension per first word
        vocab = ["great", "awful", "address"]
        return [[float(t.split()[0] == w) + 0.01 for w in vocab] for t in texts]

    nn = make(double, few_shot=3, few_shot_selection="nearest")
    nn.fewshot._embedder = bag
    nn.fit(train, labels)
    nn.predict_batch(["awful service"])
    msgs = double.calls()[-1]["body"]["messages"]
    assert [m["content"] for m in msgs[2:7:2]] == ["negative"] * 3  # the nearest examples are all 'awful'
    idents = {x.cache_identity() for x in (per, rnd, nn, make(double))}
    assert len(idents) == 4  # the selection is part of the cache identity


# ---- end to end through the CLI: cache, counts, no key anywhere ---------------------------------------

def _cfg(tmp_path: Path, options: dict) -> Path:
    lines = ["[adapters.openai-llm]"] + [f"{k} = {json.dumps(v)}" for k, v in options.items()]
    p = tmp_path / "baseline.toml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_compare_end_to_end_rerun_sends_nothing_and_key_nowhere(double, tiny_csv, tmp_path, capsys, baseline_home):
    truth = pd.read_csv(tiny_csv)
    double.oracle = dict(zip(truth.text, truth.label, strict=True))
    double.oracle[truth.text[0]] = "not-a-label"
    double.fault(1, status=429, retry_after=0.05)
    double.fault(1, body="not json")
    cfg = _cfg(tmp_path, {"model": "gpt-4o-mini", "base_url": double.url, "few_shot": 1, "max_concurrency": 2})
    out = tmp_path / "reports"
    args = ["compare", "--data", str(tiny_csv), "--adapters", "openai-llm", "--config", str(cfg), "--out", str(out),
            "--no-progress", "--resamples", "100"]
    assert main(args) == 0
    first = capsys.readouterr()
    runs = sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    res = json.loads((runs[-1] / "results.json").read_text())
    a = next(x for x in res["adapters"] if x["name"] == "openai-llm")
    n = res["split"]["rows"]["test"]
    sent = len(double.calls(ok_only=True))
    assert a["status"] == "ok" and a["counts"]["throttles"] == 1 and a["counts"]["retries"] == 2
    assert sent == n + 1  # every test text once, plus the re-asked malformed answer
    assert a["cost"]["billed_now_units"]["input_tokens"] == double.meter["prompt_tokens"]
    assert a["cost"]["billed_now_units"]["output_tokens"] == double.meter["completion_tokens"]
    assert a["metrics"]["accuracy"] > 0.5
    # a rerun is answered from the response cache: nothing sent, no tokens
    assert main([*args, "--json", "--fresh"]) == 0  # --fresh: run it again (not copy the result) so the cache answers
    second = capsys.readouterr()
    assert len(double.calls(ok_only=True)) == sent
    runs = sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    again = next(x for x in json.loads((runs[-1] / "results.json").read_text())["adapters"] if x["name"] == "openai-llm")
    assert again["counts"]["cached_items"] == n
    # the planted key: in no output file, not on stdout/stderr
    files = [p for p in [*out.rglob("*"), *baseline_home.rglob("*")] if p.is_file()]
    assert any(p.name == "results.json" for p in files)
    for text in (first.out, first.err, second.out, second.err):
        assert KEY not in text
    for p in files:
        assert KEY.encode() not in p.read_bytes(), p
