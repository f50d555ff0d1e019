"""openai-llm and bedrock-llm on the multi-label task, through the real ``openai`` and ``boto3`` clients.

The services are the loopback doubles (``doubles/openai_chat.py``, ``doubles/aws_services.py``): a label set is
asked for as ``{"labels": [<enum of the labels>]}`` (OpenAI structured output / a forced function; a forced
Converse tool) and read strictly by ``llm.parse_label_set``. The single-label requests, prompts, template ids
and cache identities are compared with values recorded from the adapters before multi-label existed.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest

pytest.importorskip("openai")
pytest.importorskip("boto3")

from baseline.adapters import llm  # noqa: E402
from baseline.adapters.aws.bedrock import BedrockLLM  # noqa: E402
from baseline.adapters.base import AdapterContext, BatchResult  # noqa: E402
from baseline.adapters.openai.chat import OpenAIChat  # noqa: E402
from baseline.errors import BadInput  # noqa: E402
from baseline.tasks.labelsets import EMPTY, decode, encode  # noqa: E402
from doubles.aws_services import TOOL_USE_TOKENS, AwsDouble  # noqa: E402
from doubles.openai_chat import ChatDouble  # noqa: E402

ML = "multi-label-text-classification"
TAGS = ["billing", "delivery", "urgent"]
LABELS3 = ["negative", "neutral", "positive"]
KEY = "sk-proj-bAsElInEpLaNtEdOpEnAiKeY0123456789"
SCHEMA = {"type": "object", "properties": {"labels": {"type": "array", "items": {"type": "string", "enum": TAGS}}},
          "required": ["labels"], "additionalProperties": False}
# train: texts and their label sets as canonical strings (what ``fit`` gets on this task)
TRAIN = [(f"invoice {i}", "billing") for i in range(4)] + [(f"parcel {i}", "delivery") for i in range(4)] + \
    [(f"invoice now {i}", "billing|urgent") for i in range(3)] + [(f"hello {i}", EMPTY) for i in range(3)]


def h(x: object) -> str:
    return hashlib.sha256(json.dumps(x, sort_keys=True).encode()).hexdigest()[:16]


# ---- fixtures ---------------------------------------------------------------------------------------

@pytest.fixture
def oa(monkeypatch, tmp_path):
    for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY",
              "OPENAI_API_VERSION", "AZURE_OPENAI_AD_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with ChatDouble(key=KEY) as d:
        yield d


@pytest.fixture
def aws(monkeypatch, tmp_path):
    for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
              "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL",
              "AWS_ENDPOINT_URL_COMPREHEND", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_REGION"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIABASELINEFAKE0001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "bAsElInEfAkEsEcReTkEy0123456789abcdefXYZ")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.chdir(tmp_path)
    with AwsDouble() as d:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", d.url)
        yield d


def openai_ml(d: ChatDouble | None, labels=TAGS, task: str = ML, **options) -> OpenAIChat:
    opts = {"model": "gpt-4o-mini", "base_url": d.url if d else "http://127.0.0.1:9/v1", **options}
    a = OpenAIChat(AdapterContext(labels=list(labels), options=opts, task=task))
    if d:
        a.load()
    return a


def bedrock_ml(labels=TAGS, task: str = ML, **options) -> BedrockLLM:
    b = BedrockLLM(AdapterContext(labels=list(labels), options={"model_id": "amazon.nova-micro-v1:0", **options},
                                  task=task, workdir=Path(".")))
    return b


# ---- the strict parser ------------------------------------------------------------------------------

def test_parse_label_set_rules():
    p = llm.parse_label_set
    assert p('["urgent", "billing"]', TAGS) == ("billing|urgent", None)             # canonical: sorted, |-joined
    assert p('{"labels": ["billing"]}', TAGS) == ("billing", None)                  # the structured-output object
    assert p({"labels": ["delivery"]}, TAGS) == ("delivery", None)                  # a tool call's parsed input
    assert p('{"labels": []}', TAGS) == (EMPTY, None) and p("[]", TAGS) == (EMPTY, None)  # the empty set
    assert p('["Billing.", " URGENT ", "billing"]', TAGS) == ("billing|urgent", None)  # normalised, deduplicated
    for bad, why in [("billing and urgent", "not a JSON label array"), ('"billing"', "not a JSON array"),
                     ('{"labels": "billing"}', "not a JSON array"), ("3", "not a JSON array"),
                     ('["billing", "refund"]', "unknown label 'refund'"), ("[1]", "is not a string"),
                     ('["billing", null]', "is not a string"), ('[""]', "unknown label ''"),
                     ('{"labels": [], "why": "x"}', 'only "labels"'), ('{"label": "billing"}', 'only "labels"'),
                     ('```json\n["billing"]\n```', "not a JSON label array"), ("", "empty answer"),
                     (None, "empty answer"), ('{"labels": ["bill', "not a JSON label array")]:
        value, err = p(bad, TAGS)
        assert value is None and why in err, (bad, err)
    assert p('["pos"]', ["POS", "pos"]) == (None, "ambiguous label 'pos'")  # two labels alike after case-folding
    assert llm.set_answer("billing|urgent") == '{"labels":["billing","urgent"]}'
    assert llm.set_answer(EMPTY) == '{"labels":[]}'
    assert llm.set_schema(TAGS) == SCHEMA


# ---- openai-llm -------------------------------------------------------------------------------------

def test_openai_structured_output_sets_happy_path_and_empty(oa):
    oa.oracle = {"invoice late": ["urgent", "billing"], "hi there": [], "parcel": ["delivery"]}
    a = openai_ml(oa)
    r = a.predict_batch(["invoice late", "hi there", "parcel", " "])
    body = oa.calls(ok_only=True)[0]["body"]
    assert body["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "label_set", "strict": True, "schema": SCHEMA}}
    assert "logprobs" not in body and "tools" not in body
    system = body["messages"][0]["content"]
    assert "every one of these labels that applies" in system and all(f"- {t}" in system for t in TAGS)
    assert body["max_tokens"] == a.max_tokens == a.count('{"labels":["billing","delivery","urgent"]}') + 12
    assert r.labels == ["billing|urgent", EMPTY, "delivery", None]
    assert r.errors == [None, None, None, "empty text: not sent"]
    assert r.raw[0] == '{"labels":["urgent","billing"]}' and r.raw[1] == '{"labels":[]}'
    assert r.scores[0] == {"billing": 1.0, "delivery": 0.0, "urgent": 1.0} and r.scores[1] == dict.fromkeys(TAGS, 0.0)
    assert OpenAIChat.availability(ML, {"model": "gpt-4o-mini", "base_url": oa.url}).ok


def test_openai_bad_arrays_are_item_errors_and_still_billed(oa):
    oa.oracle = {"prose": "It is about billing.", "fence": '```json\n{"labels":["billing"]}\n```'}
    a = openai_ml(oa)
    texts = ["u", "n", "b", "x", "t", "prose", "fence", "ok"]
    for kind in ("unknown", "not_array", "bare_string", "extra_key", "truncated"):  # the next five answers
        oa.fault(bad_set=kind)
    r = a.predict_batch(texts)
    assert r.labels == [None] * 7 + ["billing"]  # never a guess, never a silent abstention
    assert all(e.startswith("invalid label set: ") for e in r.errors[:7]) and r.errors[7] is None
    assert "unknown label 'not-a-label'" in r.errors[0] and "not a JSON array" in r.errors[1]
    assert "not a JSON array" in r.errors[2] and 'only "labels"' in r.errors[3]
    assert "finish_reason length: raise max_tokens" in r.errors[4]
    assert "not a JSON label array: 'It is about billing.'" in r.errors[5]
    assert "not a JSON label array: '```json" in r.errors[6]
    assert r.raw[0] == '{"labels":["billing","not-a-label"]}'  # the raw answer is kept
    # every answer was billed by the service: all counted, one request each (not re-asked), no give-up
    assert len(oa.calls()) == 8 and oa.meter["answered"] == 8
    assert r.cost.units == {"input_tokens": float(oa.meter["prompt_tokens"]),
                            "output_tokens": float(oa.meter["completion_tokens"])}


def test_openai_refusal_and_content_filter_stay_abstentions(oa):
    a = openai_ml(oa)
    assert a.predict_batch(["x"]).labels == ["billing"]  # the double's default set
    r = BatchResult(labels=[None], scores=[{}], raw=[None], errors=[None])
    a._take({"text": None, "finish": "stop", "refusal": "I can't help", "tokens": [], "usage": (5, 1)}, 0, r)
    assert r.labels == [None] and r.errors == [None] and r.raw == ["<refusal>"]
    a._take({"text": None, "finish": "content_filter", "refusal": None, "tokens": [], "usage": (5, 0)}, 0, r)
    assert r.errors == [None] and r.raw == ["<content_filter>"]
    a._take({"text": None, "finish": "stop", "refusal": None, "tokens": [], "usage": (5, 0)}, 0, r)
    assert r.errors == ["invalid label set: empty answer"]  # no answer and no reason: an item error


def test_openai_tool_and_text_formats(oa):
    oa.oracle = {"a": ["delivery", "urgent"], "b": '{"labels": ["Urgent"]}'}
    t = openai_ml(oa, answer_format="tool")
    r = t.predict_batch(["a"])
    body = oa.calls()[-1]["body"]
    assert body["tools"] == [{"type": "function", "function": {
        "name": "record_labels", "strict": True, "parameters": SCHEMA, "description": llm.SET_TOOL_DESCRIPTION}}]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "record_labels"}}
    assert r.labels == ["delivery|urgent"] and r.errors == [None]
    x = openai_ml(oa, answer_format="text")
    r = x.predict_batch(["b"])
    body = oa.calls()[-1]["body"]
    assert "response_format" not in body and "tools" not in body
    assert r.labels == ["urgent"]


def test_openai_few_shot_shows_sets_and_estimate_prices_the_expected_answer(oa):
    texts, labels = [t for t, _ in TRAIN], [v for _, v in TRAIN]
    a = openai_ml(oa, few_shot=1)
    est_fit = a.estimate_fit(texts, labels)
    assert "1 few-shot" in est_fit.note
    a.fit(texts, labels)
    # per_class on sets: one row carrying each label, one with no label; the answers are JSON sets
    shown = [lab for _, lab in a.fewshot.examples]
    assert {m for v in shown for m in decode(v)} == set(TAGS) and EMPTY in shown and len(shown) == 4
    again = openai_ml(oa, few_shot=1)
    again.fit(texts, labels)
    assert again.fewshot.examples == a.fewshot.examples  # seeded
    oa.set_default = lambda text, labels: ["billing"]
    test = ["invoice overdue", "where is my parcel"]
    r = a.predict_batch(test)
    msgs = oa.calls()[-1]["body"]["messages"]
    answers = [m["content"] for m in msgs if m["role"] == "assistant"]
    assert sorted(answers) == sorted(llm.set_answer(v) for v in shown) and '{"labels":[]}' in answers
    # the estimate: the real prompt's tokens in, and out the mean answer over train's sets (not max_tokens)
    per = sum(a.count(llm.set_answer(v)) for v in labels) / len(labels)
    est = a.estimate_predict(test)
    assert est.units["output_tokens"] == pytest.approx(per * 2) and per < a.max_tokens
    assert "mean of 1.00 labels per row" in est.note  # (4·1 + 4·1 + 3·2 + 3·0) / 14
    assert est.units["input_tokens"] == sum(oa.prompt_tokens(c["body"]["messages"]) for c in oa.calls()[-2:])
    # the bill: the response's usage at the token prices
    row = a.price_row()
    assert r.cost.usd == pytest.approx(oa.meter["prompt_tokens"] * row["usd_per_1k_input"] / 1000
                                       + oa.meter["completion_tokens"] * row["usd_per_1k_output"] / 1000)
    assert r.cost.units["output_tokens"] == 2 * a.count('{"labels":["billing"]}')


def test_openai_task_is_in_the_template_and_cache_identity(oa):
    single = openai_ml(None, task="text-classification", max_tokens=16)
    multi = openai_ml(None, max_tokens=16)
    assert llm.template_id(single.system, "json_schema") == llm.template_id(single.system, "json_schema",
                                                                            "text-classification")
    assert llm.template_id(multi.system, "json_schema", ML) != llm.template_id(multi.system, "json_schema")
    ident = json.loads(multi.cache_identity())
    assert ident["task"] == ML and ident["template"] == llm.template_id(multi.system, "json_schema", ML)
    assert "task" not in json.loads(single.cache_identity())
    # same labels, same everything else: a single-label cache entry can never answer a multi-label request
    same_labels = openai_ml(None, labels=TAGS, task="text-classification", max_tokens=16)
    assert same_labels.cache_identity() != multi.cache_identity()


# ---- single-label behaviour did not move ------------------------------------------------------------
# recorded from the adapters before the multi-label work (git HEAD 8775dec): prompts, template ids, request
# bodies (hashed), cache identities and an estimate

HEAD_SYSTEM = ("You are a text classifier. Classify the text into exactly one of these labels:\n- negative\n"
               "- neutral\n- positive\nAnswer with the label only, written exactly as above, and nothing else.")
HEAD_TEMPLATES = {"json_schema": "6ee90756c39d085a", "text": "7e3abbfdb6da2cbe", "tool": "41fed595e0a9bf0c"}
HEAD_OPENAI = {"json_schema": "3951f0e9a48ef751", "tool": "2d1b73922f7d477c", "text": "b650ce11812fa837"}
HEAD_OPENAI_IDENTITY = (
    '{"api": "chat.completions", "api_version": null, "deployment": "gpt-4o-mini", "few_shot": {"few_shot": 1, '
    '"max_example_chars": 500, "seed": 42, "selection": "per_class", "train": "d608866c22b9b89f"}, "host": '
    '"127.0.0.1:9", "kind": "compatible", "labels": ["negative", "neutral", "positive"], "model": "gpt-4o-mini", '
    '"params": {"answer_format": "%s", "logprobs": true, "max_chars": 4000, "max_tokens": 16, "seed": true, '
    '"seed_value": 42, "temperature": 0.0, "top_logprobs": 5}, "template": "%s"}')
HEAD_BEDROCK_MESSAGES = "053bb5e044db9c00"
HEAD_BEDROCK_IDENTITY = (
    '{"api": "bedrock-runtime 2023-09-30 converse", "few_shot": 1, "labels": ["negative", "neutral", "positive"], '
    '"max_chars": 4000, "max_example_chars": 500, "max_tokens": 10, "model": "amazon.nova-micro-v1:0", '
    '"prompt_version": 1, "seed": 42, "system": "9b838bdfe29dfba9", "temperature": 0.0, "train": "d608866c22b9b89f"}')
SL_TRAIN = [f"{w} thing {i}" for w in ("great", "awful", "address") for i in range(6)]
SL_LABELS = ["positive"] * 6 + ["negative"] * 6 + ["neutral"] * 6


def test_single_label_requests_prompts_and_identities_unchanged(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    for k in ("OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT"):
        monkeypatch.delenv(k, raising=False)
    assert llm.system_prompt(LABELS3) == HEAD_SYSTEM
    assert {f: llm.template_id(HEAD_SYSTEM, f) for f in HEAD_TEMPLATES} == HEAD_TEMPLATES
    for fmt, digest in HEAD_OPENAI.items():
        for ctx_task in ({}, {"task": "text-classification"}):  # the default task and the named one alike
            a = OpenAIChat(AdapterContext(labels=LABELS3, options={
                "model": "gpt-4o-mini", "base_url": "http://127.0.0.1:9/v1", "few_shot": 1, "max_tokens": 16,
                "answer_format": fmt}, **ctx_task))
            a.estimate_fit(SL_TRAIN, SL_LABELS)
            a.fit(SL_TRAIN, SL_LABELS)
            assert h(a.request("some text")) == digest, fmt
            assert a.cache_identity() == HEAD_OPENAI_IDENTITY % (fmt, HEAD_TEMPLATES[fmt])
    b = BedrockLLM(AdapterContext(labels=LABELS3, options={"model_id": "amazon.nova-micro-v1:0", "few_shot": 1}))
    b.estimate_fit(SL_TRAIN, SL_LABELS)
    b.fit(SL_TRAIN, SL_LABELS)
    assert b.system_prompt() == HEAD_SYSTEM and h(b.messages("some text")) == HEAD_BEDROCK_MESSAGES
    assert b.cache_identity() == HEAD_BEDROCK_IDENTITY
    est = b.estimate_predict(["some text"])
    assert est.units == {"input_tokens": 102.0, "output_tokens": 10.0}
    assert b.estimate_predict(["some text", "another"]).usd == pytest.approx(9.905e-06)


def test_single_label_wire_bodies_unchanged(oa, aws):
    oa.oracle = {"good": "positive"}
    a = openai_ml(oa, labels=LABELS3, task="text-classification")
    assert a.predict_batch(["good"]).labels == ["positive"]
    body = oa.calls()[-1]["body"]
    assert body["response_format"]["json_schema"]["name"] == "classification" and body["logprobs"] is True
    assert body["response_format"]["json_schema"]["schema"]["properties"] == {
        "label": {"type": "string", "enum": LABELS3}}
    b = bedrock_ml(labels=LABELS3, task="text-classification")
    b.load()
    assert b.predict_batch(["great stuff"]).labels == ["positive"]
    body = aws.calls("Converse")[-1]["body"]
    assert set(body) == {"system", "messages", "inferenceConfig"}  # no toolConfig
    assert body["inferenceConfig"] == {"maxTokens": 10, "temperature": 0.0}
    assert body["system"] == [{"text": HEAD_SYSTEM}]


# ---- bedrock-llm ------------------------------------------------------------------------------------

def test_bedrock_forced_tool_sets_happy_path_and_empty(aws):
    answers = {"invoice now": ["urgent", "billing"], "hello": [], "parcel": ["delivery"]}
    aws.answer_set = lambda text, req: answers[text]
    b = bedrock_ml()
    b.load()
    assert BedrockLLM.availability(ML, {"model_id": "amazon.nova-micro-v1:0"}).ok
    r = b.predict_batch(["invoice now", "hello", "parcel", ""])
    call = aws.calls("Converse", ok_only=True)[0]
    body = call["body"]
    assert call["model"] == "amazon.nova-micro-v1:0"
    assert body["toolConfig"] == {"tools": [{"toolSpec": {"name": "record_labels",
                                                          "description": llm.SET_TOOL_DESCRIPTION,
                                                          "inputSchema": {"json": SCHEMA}}}],
                                  "toolChoice": {"tool": {"name": "record_labels"}}}
    assert body["inferenceConfig"] == {"maxTokens": b.max_tokens, "temperature": 0.0}
    assert b.max_tokens == math.ceil(len('{"labels":["billing","delivery","urgent"]}') / 2) + 32
    assert "every one of these labels that applies" in body["system"][0]["text"]
    assert r.labels == ["billing|urgent", EMPTY, "delivery", None]
    assert r.errors == [None, None, None, "empty text: not sent"]
    assert r.raw[:2] == ['{"labels":["urgent","billing"]}', '{"labels":[]}']
    assert r.scores[2] == {"billing": 0.0, "delivery": 1.0, "urgent": 0.0}
    # cost: the usage the service billed, at the model's token prices
    assert r.cost.units == {"input_tokens": aws.meter["input_tokens"], "output_tokens": aws.meter["output_tokens"]}
    assert r.cost.usd == pytest.approx(aws.meter["input_tokens"] * 0.000035 / 1000
                                       + aws.meter["output_tokens"] * 0.00014 / 1000)
    assert r.cost.units["output_tokens"] == sum(math.ceil(len(json.dumps({"labels": v}, separators=(",", ":"))) / 4)
                                                + TOOL_USE_TOKENS for v in answers.values())
    assert "task" in json.loads(b.cache_identity()) and "record_labels" in b.explain()["text"]


def test_bedrock_bad_answers_are_item_errors(aws):
    aws.answer_set = lambda text, req: "Billing, I would say." if text == "prose" else ["billing"]
    b = bedrock_ml()
    b.load()
    for kind in ("unknown", "not_array", "extra_key", "other_tool", "truncated"):
        aws.spoil_set(kind)
    r = b.predict_batch(["u", "n", "e", "o", "t", "prose", "ok"])
    assert r.labels == [None] * 6 + ["billing"]
    assert all(e.startswith("invalid label set: ") for e in r.errors[:6]) and r.errors[6] is None
    assert "unknown label 'not-a-label'" in r.errors[0] and "not a JSON array" in r.errors[1]
    assert 'only "labels"' in r.errors[2] and "tool 'some_other_tool'" in r.errors[3]
    assert "stopReason max_tokens: raise max_tokens" in r.errors[4]
    assert "not a JSON label array: 'Billing, I would say.'" in r.errors[5] and r.raw[5] == "Billing, I would say."
    # billed: every answer's usage counted, each text asked once
    assert len(aws.calls("Converse")) == 7
    assert r.cost.units == {"input_tokens": aws.meter["input_tokens"], "output_tokens": aws.meter["output_tokens"]}


def test_bedrock_tool_choice_options_few_shot_and_estimate(aws):
    texts, labels = [t for t, _ in TRAIN], [v for _, v in TRAIN]
    b = bedrock_ml(few_shot=1, tool_choice="any", strict_tool=True)
    b.load()
    b.estimate_fit(texts, labels)
    b.fit(texts, labels)
    aws.answer_set = lambda text, req: ["billing"]
    assert b.predict_batch(["invoice 9"]).labels == ["billing"]
    body = aws.calls("Converse")[-1]["body"]
    assert body["toolConfig"]["toolChoice"] == {"any": {}} and body["toolConfig"]["tools"][0]["toolSpec"]["strict"]
    answers = [m["content"][0]["text"] for m in body["messages"] if m["role"] == "assistant"]
    # one row carrying each label (urgent only ever comes with billing) and one with none, as JSON sets
    assert {'{"labels":[]}', '{"labels":["billing","urgent"]}', '{"labels":["delivery"]}'} <= set(answers)
    assert all(json.loads(x)["labels"] == sorted(json.loads(x)["labels"]) for x in answers)
    # expected output: train's mean answer (chars/4) + the tool-call allowance, not max_tokens
    per = sum(math.ceil(len(llm.set_answer(v)) / 4) for v in labels) / len(labels) + b.tool_overhead_tokens
    est = b.estimate_predict(["a text", "another text"])
    assert est.units["output_tokens"] == pytest.approx(2 * per) and per < b.max_tokens
    assert "labels per row" in est.note
    # before estimate_fit (no train cardinality yet): max_tokens, an upper bound
    fresh = bedrock_ml()
    assert fresh.estimate_predict(["a text"]).units["output_tokens"] == fresh.max_tokens
    with pytest.raises(BadInput, match="tool_choice"):
        bedrock_ml(tool_choice="auto")


def test_few_shot_per_label_selection_on_sets():
    fs = llm.FewShot(2, "per_class", seed=7, multilabel=True)
    fs.fit([t for t, _ in TRAIN], [v for _, v in TRAIN], TAGS)
    rows = [v for _, v in fs.examples]
    assert len(rows) == len(set(fs.examples)) == 8  # two per label, two with none, no row twice
    for tag in TAGS:
        assert sum(tag in decode(v) for v in rows) >= 2
    assert rows.count(EMPTY) == 2
    # the size estimate before fit counts one block per label present + the empty set
    fresh = llm.FewShot(2, "per_class", multilabel=True)
    chars = fresh.mean_example_chars([t for t, _ in TRAIN], [v for _, v in TRAIN])
    assert chars == pytest.approx(2 * 4 * (sum(len(t) for t, _ in TRAIN) / len(TRAIN) + 10))
    assert encode(["urgent", "billing"]) == "billing|urgent"
