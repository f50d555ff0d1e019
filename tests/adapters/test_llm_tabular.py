"""openai-llm and bedrock-llm on table rows (tabular classification and regression), through the real clients.

The services are the loopback doubles (``doubles/openai_chat.py``, ``doubles/aws_services.py``). Each item is one
JSON row of features, sent as ``Row: <json>``. Classification is the single-label enum answer; regression asks for
``{"value": <number>}`` (OpenAI strict json_schema or a forced function, a forced Converse tool) or a bare number
(text), read strictly by ``llm.parse_number``: anything but one plain number is an item error, billed once. The
single-label prompts, requests and identities are compared with values recorded before the tabular work.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("openai")
pytest.importorskip("boto3")

from baseline.adapters import llm  # noqa: E402
from baseline.adapters.aws.bedrock import BedrockLLM  # noqa: E402
from baseline.adapters.base import AdapterContext  # noqa: E402
from baseline.adapters.openai.chat import OpenAIChat  # noqa: E402
from baseline.errors import BadInput  # noqa: E402
from baseline.tasks import rows  # noqa: E402
from doubles.aws_services import TOOL_USE_TOKENS, AwsDouble, row_number  # noqa: E402
from doubles.openai_chat import ChatDouble  # noqa: E402

TC, TR = "tabular-classification", "tabular-regression"
KEY = "sk-proj-bAsElInEpLaNtEdOpEnAiKeY0123456789"
SCHEMA = {"tenure": "numeric", "Contract": "categorical", "MonthlyCharges": "numeric", "Partner": "boolean"}
NUMBER_SCHEMA = {"type": "object", "properties": {"value": {"type": "number"}}, "required": ["value"],
                 "additionalProperties": False}
CLASSES = ["No", "Yes"]


def make_rows(n: int, start: int = 0) -> list[str]:
    """``n`` JSON rows of the schema above (encoded the way the task layer does it)."""
    frame = pd.DataFrame({"tenure": [start + i for i in range(n)],
                          "Contract": ["Month-to-month" if i % 2 else "Two year" for i in range(n)],
                          "MonthlyCharges": [20.5 + i for i in range(n)], "Partner": [i % 3 == 0 for i in range(n)]})
    return rows.encode_rows(frame, SCHEMA)


def churn(text: str, labels: list[str] | None = None) -> str:
    """The doubles' classification rule: month-to-month contracts churn."""
    return "Yes" if json.loads(text)["Contract"] == "Month-to-month" else "No"


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
    with ChatDouble(key=KEY, default=churn) as d:
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
        d.answer = lambda text, req: churn(text)
        yield d


def openai_tab(d: ChatDouble | None, task: str, **options) -> OpenAIChat:
    opts = {"model": "gpt-4o-mini", "base_url": d.url if d else "http://127.0.0.1:9/v1", **options}
    a = OpenAIChat(AdapterContext(labels=CLASSES if task == TC else [], options=opts, task=task, schema=SCHEMA))
    if d:
        a.load()
    return a


def bedrock_tab(task: str, **options) -> BedrockLLM:
    return BedrockLLM(AdapterContext(labels=CLASSES if task == TC else [], task=task, schema=SCHEMA,
                                     options={"model_id": "amazon.nova-micro-v1:0", **options}, workdir=Path(".")))


def billed(r, meter_in: float, meter_out: float) -> bool:
    """The batch's cost units are exactly what the double metered."""
    return r.cost.units == {"input_tokens": float(meter_in), "output_tokens": float(meter_out)}


# ---- the strict number parser -----------------------------------------------------------------------

def test_parse_number_rules():
    p = llm.parse_number
    for good, x in [("42", 42.0), (" -3.5\n", -3.5), ("+7", 7.0), (".5", 0.5), ("5.", 5.0), ("1e3", 1000.0),
                    ("-2.5E-2", -0.025), ('{"value": 12.25}', 12.25), ('{"value":-4}', -4.0), ({"value": 3}, 3.0),
                    ("0", 0.0)]:
        assert p(good) == (rows.encode_number(x), None), good
    for bad, why in [("", "empty answer"), (None, "empty answer"), ("   ", "empty answer"),
                     ("42 kg", "not a single plain number"), ("$42", "not a single plain number"),
                     ("about 42", "not a single plain number"), ("The value is 42.", "not a single plain number"),
                     ("40-45", "a range"), ("40 to 45", "a range"), ("1,234", "thousands separators"),
                     ("1 234 567", "thousands separators"), ("12,5", "not a single plain number"),
                     ("1_000", "thousands separators"), ("0x1F", "not a single plain number"),
                     ("nan", "not a single plain number"), ("Infinity", "not a finite number"),
                     ("NaN", "not a finite number"), ("1e999", "not a finite number"),
                     ('{"value": 1e999}', "not a finite number"), ("9" * 400, "not a finite number"),
                     ('{"value": ' + "9" * 400 + "}", "not a finite number"), ('"42"', "not a single plain number"),
                     ('{"value": "42"}', "is a string"), ('{"value": true}', "not a single plain number"),
                     ('{"value": 1, "unit": "kg"}', 'only "value"'), ('{"amount": 1}', 'only "value"'),
                     ("[42]", "not a single plain number"), ('{"value": 4', "not a single plain number"),
                     ("```\n42\n```", "not a single plain number"), ("٤٢", "not a single plain number"),
                     ("42 42", "not a single plain number")]:
        value, err = p(bad)
        assert value is None and why in err, (bad, err)
    assert llm.number_schema() == NUMBER_SCHEMA
    assert llm.number_answer("16.0") == "16" and llm.number_answer("0.25") == "0.25"
    assert llm.value_answer("-3.0") == '{"value":-3}'


# ---- openai-llm: classification ---------------------------------------------------------------------

def test_openai_tabular_classification_happy_path(oa):
    train = make_rows(12, start=100)
    labels = [churn(t) for t in train]
    a = openai_tab(oa, TC, few_shot=1, target="Churn")
    assert OpenAIChat.availability(TC, {"model": "gpt-4o-mini", "base_url": oa.url}).ok
    a.estimate_fit(train, labels)
    a.fit(train, labels)
    test = make_rows(4)
    r = a.predict_batch(test)
    assert r.labels == [churn(t) for t in test] == ["No", "Yes", "No", "Yes"] and r.errors == [None] * 4
    assert all(abs(sum(s.values()) - 1) < 0.2 and max(s, key=s.get) == lab for s, lab in zip(r.scores, r.labels, strict=True))
    body = oa.calls()[-1]["body"]
    system = body["messages"][0]["content"]
    assert "one row of a table" in system and "named fields" in system and '(its "Churn")' in system
    assert "- No\n- Yes\n" in system and "Classify the row" in system
    assert body["response_format"] == {"type": "json_schema", "json_schema": {"name": "classification", "strict": True,
        "schema": {"type": "object", "properties": {"label": {"type": "string", "enum": CLASSES}},
                   "required": ["label"], "additionalProperties": False}}}
    assert body["logprobs"] is True
    # few-shot: one row of each class, whole, answered with the class; the query row last
    turns = body["messages"][1:]
    assert [m["role"] for m in turns] == ["user", "assistant", "user", "assistant", "user"]
    shown = {m["content"].removeprefix("Row: ") for m in turns[:-1] if m["role"] == "user"}
    assert shown <= set(train) and sorted(m["content"] for m in turns if m["role"] == "assistant") == CLASSES
    assert turns[-1]["content"] == f"Row: {test[-1]}"
    # cost: the usage the double metered, at the token prices
    assert billed(r, oa.meter["prompt_tokens"], oa.meter["completion_tokens"])
    row = a.price_row()
    assert r.cost.usd == pytest.approx(oa.meter["prompt_tokens"] * row["usd_per_1k_input"] / 1000
                                       + oa.meter["completion_tokens"] * row["usd_per_1k_output"] / 1000)
    # text answers parse as today
    t = openai_tab(oa, TC, answer_format="text")
    oa.oracle = {test[0]: " yes. "}
    assert t.predict_batch(test[:2]).labels == ["Yes", "Yes"]
    assert "response_format" not in oa.calls()[-1]["body"]


def test_openai_row_over_max_chars_is_an_item_error_not_sent(oa):
    a = openai_tab(oa, TR, max_chars=40)
    long_row = make_rows(1)[0]
    assert len(long_row) > 40
    r = a.predict_batch([long_row])
    assert r.labels == [None] and "over max_chars 40: not sent" in r.errors[0] and not oa.calls()
    assert a.estimate_predict([long_row]).units["input_tokens"] == 0  # not sent, not priced


# ---- openai-llm: regression -------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json_schema", "tool", "text"])
def test_openai_regression_wire_and_happy_path(oa, fmt):
    a = openai_tab(oa, TR, answer_format=fmt)
    test = make_rows(3)
    r = a.predict_batch(test)
    assert r.labels == [rows.encode_number(row_number(t)) for t in test] and r.errors == [None] * 3
    body = oa.calls()[-1]["body"]
    assert "logprobs" not in body
    if fmt == "json_schema":
        assert body["response_format"] == {"type": "json_schema", "json_schema": {
            "name": "regression", "strict": True, "schema": NUMBER_SCHEMA}} and "tools" not in body
        assert r.raw[0] == json.dumps({"value": row_number(test[0])}, separators=(",", ":"))
    elif fmt == "tool":
        assert body["tools"] == [{"type": "function", "function": {
            "name": "record_value", "strict": True, "parameters": NUMBER_SCHEMA,
            "description": llm.VALUE_TOOL_DESCRIPTION}}]
        assert body["tool_choice"] == {"type": "function", "function": {"name": "record_value"}}
    else:
        assert "response_format" not in body and "tools" not in body and r.raw[0] == json.dumps(row_number(test[0]))
    system = body["messages"][0]["content"]
    assert "regression model for table rows" in system and "Predict the target value for the row" in system
    assert "without units, thousands separators, ranges or words" in system
    assert body["max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"] == a.max_tokens \
        == (16 if fmt == "text" else 24)
    assert billed(r, oa.meter["prompt_tokens"], oa.meter["completion_tokens"]) and r.cost.usd > 0
    assert a.explain()["text"].count("strict number parsing") == 1


@pytest.mark.parametrize("fmt", ["text", "json_schema"])
def test_openai_bad_numbers_are_item_errors_billed_once(oa, fmt):
    a = openai_tab(oa, TR, answer_format=fmt)
    kinds = ("prose", "units", "range", "thousands", "string", "empty", "truncated")
    test = make_rows(len(kinds) + 3)
    oa.oracle = {test[-3]: "approximately 12", test[-2]: "12.5 ± 3"}
    for kind in kinds:
        oa.fault(bad_number=kind)
    r = a.predict_batch(test)
    n = len(kinds)
    assert r.labels[:n + 2] == [None] * (n + 2)  # never a guessed value
    assert r.labels[-1] == rows.encode_number(row_number(test[-1])) and r.errors[-1] is None
    assert all(e.startswith("invalid number: ") for e in r.errors[:n + 2]), r.errors
    why = dict(zip(kinds, r.errors, strict=False))
    assert "not a single plain number" in why["prose"] and "empty answer" in why["empty"]
    assert "finish_reason length: raise max_tokens" in why["truncated"]
    if fmt == "text":
        assert "not a single plain number: '" in why["units"] and "a range" in why["range"]
        assert "thousands separators" in why["thousands"]
    else:
        for kind in ("units", "range", "thousands", "string"):
            assert "is a string, not a JSON number" in why[kind], why[kind]
    assert r.raw[0].startswith("The value is probably about")  # the raw answer is kept
    # every answer billed by the service: each row asked once, all usage counted
    assert len(oa.calls()) == len(test) and oa.meter["answered"] == len(test)
    assert billed(r, oa.meter["prompt_tokens"], oa.meter["completion_tokens"])


def test_openai_regression_few_shot_quantiles_estimate_and_identity(oa):
    train = make_rows(100)
    targets = [rows.encode_number(float(i)) for i in range(100)][::-1]  # rows' targets 99..0
    a = openai_tab(oa, TR, few_shot=5, target="cnt")
    a.estimate_fit(train, targets)
    a.fit(train, targets)
    # five rows at the target's (j + 0.5) / 5 quantiles, answered as plain numbers
    assert sorted(float(v) for _, v in a.fewshot.examples) == [10.0, 30.0, 50.0, 70.0, 90.0]
    assert {t for t, _ in a.fewshot.examples} <= set(train)
    test = make_rows(2, start=500)
    r = a.predict_batch(test)
    msgs = oa.calls()[-1]["body"]["messages"]
    assert 'Predict the value of "cnt" for the row' in msgs[0]["content"]
    assert sorted(m["content"] for m in msgs if m["role"] == "assistant") == ["10", "30", "50", "70", "90"]
    # the estimate: the real prompt's tokens in; out the mean structured answer over train's targets
    est = a.estimate_predict(test)
    per = sum(a.count(llm.value_answer(v)) for v in targets) / len(targets)
    assert est.units["output_tokens"] == pytest.approx(2 * per) and per < a.max_tokens
    assert est.units["input_tokens"] == sum(oa.prompt_tokens(c["body"]["messages"]) for c in oa.calls()[-2:])
    assert "expected number answer" in est.note and r.errors == [None, None]
    # the task is in the template and the cache identity; seeded examples
    ident = json.loads(a.cache_identity())
    assert ident["task"] == TR and ident["template"] == llm.template_id(a.system, "json_schema", TR)
    assert ident["few_shot"]["selection"] == "quantiles"
    again = openai_tab(None, TR, few_shot=5, target="cnt")
    again.fit(train, targets)
    assert again.fewshot.examples == a.fewshot.examples
    with pytest.raises(BadInput, match="per_class.*quantiles"):
        openai_tab(None, TR, few_shot=2, few_shot_selection="per_class")
    with pytest.raises(BadInput, match="only for tabular-regression"):
        openai_tab(None, TC, few_shot=2, few_shot_selection="quantiles")


# ---- single-label behaviour did not move ------------------------------------------------------------
# recorded before the multi-label and tabular work (git HEAD 8775dec; the same values test_llm_multilabel holds)

LABELS3 = ["negative", "neutral", "positive"]
HEAD_SYSTEM = ("You are a text classifier. Classify the text into exactly one of these labels:\n- negative\n"
               "- neutral\n- positive\nAnswer with the label only, written exactly as above, and nothing else.")
HEAD_TEMPLATES = {"json_schema": "6ee90756c39d085a", "text": "7e3abbfdb6da2cbe", "tool": "41fed595e0a9bf0c"}
HEAD_OPENAI = {"json_schema": "3951f0e9a48ef751", "tool": "2d1b73922f7d477c", "text": "b650ce11812fa837"}
HEAD_BEDROCK_MESSAGES = "053bb5e044db9c00"
HEAD_BEDROCK_IDENTITY = (
    '{"api": "bedrock-runtime 2023-09-30 converse", "few_shot": 1, "labels": ["negative", "neutral", "positive"], '
    '"max_chars": 4000, "max_example_chars": 500, "max_tokens": 10, "model": "amazon.nova-micro-v1:0", '
    '"prompt_version": 1, "seed": 42, "system": "9b838bdfe29dfba9", "temperature": 0.0, "train": "d608866c22b9b89f"}')
SL_TRAIN = [f"{w} thing {i}" for w in ("great", "awful", "address") for i in range(6)]
SL_LABELS = ["positive"] * 6 + ["negative"] * 6 + ["neutral"] * 6


def test_single_label_text_unchanged_and_tabular_identities_differ(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    for k in ("OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT"):
        monkeypatch.delenv(k, raising=False)
    assert llm.system_prompt(LABELS3) == HEAD_SYSTEM
    assert {f: llm.template_id(HEAD_SYSTEM, f) for f in HEAD_TEMPLATES} == HEAD_TEMPLATES
    assert {f: llm.template_id(HEAD_SYSTEM, f, "text-classification") for f in HEAD_TEMPLATES} == HEAD_TEMPLATES
    idents = {}
    for task in ("text-classification", TC):
        for fmt, digest in HEAD_OPENAI.items():
            a = OpenAIChat(AdapterContext(labels=LABELS3, task=task, options={
                "model": "gpt-4o-mini", "base_url": "http://127.0.0.1:9/v1", "few_shot": 1, "max_tokens": 16,
                "answer_format": fmt}))
            a.estimate_fit(SL_TRAIN, SL_LABELS)
            a.fit(SL_TRAIN, SL_LABELS)
            if task == "text-classification":
                assert h(a.request("some text")) == digest, fmt
                assert "task" not in json.loads(a.cache_identity())
            else:
                assert h(a.request("some text")) != digest
            idents[task, fmt] = a.cache_identity()
    # the same labels on a table can never be answered from a text cache entry
    assert all(idents[TC, f] != idents["text-classification", f] for f in HEAD_OPENAI)
    assert llm.template_id(HEAD_SYSTEM, "text", TC) != HEAD_TEMPLATES["text"]
    b = BedrockLLM(AdapterContext(labels=LABELS3, options={"model_id": "amazon.nova-micro-v1:0", "few_shot": 1}))
    b.estimate_fit(SL_TRAIN, SL_LABELS)
    b.fit(SL_TRAIN, SL_LABELS)
    assert b.system_prompt() == HEAD_SYSTEM and h(b.messages("some text")) == HEAD_BEDROCK_MESSAGES
    assert b.cache_identity() == HEAD_BEDROCK_IDENTITY
    assert b.estimate_predict(["some text"]).units == {"input_tokens": 102.0, "output_tokens": 10.0}
    t = BedrockLLM(AdapterContext(labels=LABELS3, task=TC, options={"model_id": "amazon.nova-micro-v1:0"}))
    assert json.loads(t.cache_identity())["task"] == TC and "tool" not in json.loads(t.cache_identity())


# ---- bedrock-llm ------------------------------------------------------------------------------------

def test_bedrock_tabular_classification_happy_path(aws):
    train = make_rows(10, start=50)
    b = bedrock_tab(TC, few_shot=1)
    assert BedrockLLM.availability(TC, {"model_id": "amazon.nova-micro-v1:0"}).ok
    b.load()
    b.estimate_fit(train, [churn(t) for t in train])
    b.fit(train, [churn(t) for t in train])
    test = make_rows(4)
    r = b.predict_batch(test)
    assert r.labels == ["No", "Yes", "No", "Yes"] and r.errors == [None] * 4
    assert r.scores[1] == {"No": 0.0, "Yes": 1.0}
    body = aws.calls("Converse")[-1]["body"]
    assert set(body) == {"system", "messages", "inferenceConfig"}  # plain text answer, no tool
    assert body["system"] == [{"text": llm.row_system_prompt(CLASSES)}] and "one row of a table" in body["system"][0]["text"]
    assert body["messages"][-1] == {"role": "user", "content": [{"text": f"Row: {test[-1]}"}]}
    assert sorted(m["content"][0]["text"] for m in body["messages"] if m["role"] == "assistant") == CLASSES
    assert billed(r, aws.meter["input_tokens"], aws.meter["output_tokens"])
    assert r.cost.usd == pytest.approx(aws.meter["input_tokens"] * 0.000035 / 1000
                                       + aws.meter["output_tokens"] * 0.00014 / 1000)


def test_bedrock_regression_forced_tool_happy_path_estimate_identity(aws):
    train = make_rows(20)
    targets = [rows.encode_number(float(i) * 1.5) for i in range(20)]
    b = bedrock_tab(TR, few_shot=4, target="cnt")
    assert BedrockLLM.availability(TR, {"model_id": "amazon.nova-micro-v1:0"}).ok
    b.load()
    b.estimate_fit(train, targets)
    b.fit(train, targets)
    test = make_rows(3, start=7)
    r = b.predict_batch(test)
    assert r.labels == [rows.encode_number(row_number(t)) for t in test] and r.errors == [None] * 3
    assert r.raw[0] == json.dumps({"value": row_number(test[0])}, separators=(",", ":"))
    body = aws.calls("Converse", ok_only=True)[-1]["body"]
    assert body["toolConfig"] == {"tools": [{"toolSpec": {"name": "record_value",
                                                          "description": llm.VALUE_TOOL_DESCRIPTION,
                                                          "inputSchema": {"json": NUMBER_SCHEMA}}}],
                                  "toolChoice": {"tool": {"name": "record_value"}}}
    assert body["inferenceConfig"] == {"maxTokens": 40, "temperature": 0.0}
    assert 'Predict the value of "cnt"' in body["system"][0]["text"]
    # few-shot: four rows at the target's quantiles (positions 2, 7, 12, 17 of 20), plain numbers
    shown = sorted(float(m["content"][0]["text"]) for m in body["messages"] if m["role"] == "assistant")
    assert shown == [3.0, 10.5, 18.0, 25.5]
    assert billed(r, aws.meter["input_tokens"], aws.meter["output_tokens"])
    assert r.cost.units["output_tokens"] == sum(
        math.ceil(len(json.dumps({"value": row_number(t)}, separators=(",", ":"))) / 4) + TOOL_USE_TOKENS
        for t in test)
    est = b.estimate_predict(test)
    per = sum(math.ceil(len(llm.value_answer(v)) / 4) for v in targets) / len(targets) + b.tool_overhead_tokens
    assert est.units["output_tokens"] == pytest.approx(3 * per) and "expected number answer" in est.note
    ident = json.loads(b.cache_identity())
    assert ident["task"] == TR and len(ident["tool"]) == 16 and "record_value" in b.explain()["text"]
    with pytest.raises(BadInput, match="per_class"):
        bedrock_tab(TR, few_shot=1, few_shot_selection="per_class")


def test_bedrock_bad_numbers_are_item_errors_billed_once(aws):
    kinds = ("prose", "units", "range", "thousands", "string", "empty", "other_tool", "truncated")
    b = bedrock_tab(TR)
    b.load()
    test = make_rows(len(kinds) + 2)
    aws.answer_number = lambda text, req: "roughly 12 to 14" if text == test[-2] else row_number(text)
    for kind in kinds:
        aws.spoil_number(kind)
    r = b.predict_batch(test)
    n = len(kinds)
    assert r.labels[:n + 1] == [None] * (n + 1)
    assert r.labels[-1] == rows.encode_number(row_number(test[-1])) and r.errors[-1] is None
    assert all(e.startswith("invalid number: ") for e in r.errors[:n + 1]), r.errors
    why = dict(zip(kinds, r.errors, strict=False))
    assert "not a single plain number: 'The value is probably about" in why["prose"]
    for kind in ("units", "range", "thousands", "string"):
        assert "is a string, not a JSON number" in why[kind], why[kind]
    assert "empty answer" in why["empty"] and "tool 'some_other_tool'" in why["other_tool"]
    assert "stopReason max_tokens: raise max_tokens" in why["truncated"]
    assert "not a single plain number: 'roughly 12 to 14'" in r.errors[n]
    assert r.raw[1] == '{"value":"' + f"{row_number(test[1])} kg" + '"}'  # the raw answer is kept
    assert len(aws.calls("Converse")) == len(test)  # each row asked once
    assert billed(r, aws.meter["input_tokens"], aws.meter["output_tokens"])
