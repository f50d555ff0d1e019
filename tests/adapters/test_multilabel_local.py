"""Multi-label on the local adapters: the one-vs-rest core, majority, tfidf-logreg and flaml on a generated tag set."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from baseline.adapters.base import AdapterContext
from baseline.adapters.onevsrest import (
    MIN_POSITIVES,
    ConstantBinary,
    OneVsRest,
    answers,
    best_threshold,
    indicator_matrix,
)
from baseline.adapters.trivial import Majority, TfidfLogReg
from baseline.tasks.labelsets import EMPTY, decode, encode

pytest.importorskip("sklearn")

TASK = "multi-label-text-classification"
KEYWORDS = {"billing": ["invoice", "charge", "refund", "payment"], "urgent": ["asap", "immediately", "urgent", "now"],
            "bug": ["crash", "error", "broken", "fails"], "login": ["password", "login", "signin", "locked"]}
FILLER = ["please", "the", "my", "account", "hello", "thanks", "team", "app", "today", "help"]
LABELS = sorted(KEYWORDS)


def tag_set(n: int, seed: int = 0, rates: tuple[float, ...] = (0.35, 0.25, 0.3, 0.12),
            noise: float = 0.1) -> tuple[list[str], list[str]]:
    """Texts whose keywords imply their labels (each label independently), some rows with none, a stray keyword
    in ``noise`` of the rows; labels as canonical strings."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        s = [lab for lab, r in zip(KEYWORDS, rates, strict=True) if rng.random() < r]
        words = [str(rng.choice(FILLER)) for _ in range(5)] + [str(rng.choice(KEYWORDS[lab])) for lab in s]
        if rng.random() < noise:
            words.append(str(rng.choice(KEYWORDS[str(rng.choice(list(KEYWORDS)))])))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(encode(s))
    return texts, labels


@pytest.fixture(scope="module")
def data() -> tuple[list[str], list[str], list[str], list[str]]:
    tr_x, tr_y = tag_set(400, seed=0)
    te_x, te_y = tag_set(200, seed=1)
    return tr_x, tr_y, te_x, te_y


def ml_ctx(tmp_path: Path | None = None, labels: list[str] | None = None, **options) -> AdapterContext:
    return AdapterContext(labels=list(labels or LABELS), options=options, task=TASK, metric="micro_f1",
                          workdir=(tmp_path or Path(".")) / "w", seed=7, threads=2)


def micro_f1(truth: list[str], pred: list[str | None], labels: list[str]) -> float:
    from sklearn.metrics import f1_score

    from baseline.tasks.labelsets import binarize

    return float(f1_score(binarize(truth, labels)[0], binarize(pred, labels)[0], average="micro", zero_division=0))


def assert_contract(result, n: int, labels: list[str]) -> None:
    """Canonical strings over ``labels``; an independent probability for every label."""
    assert len(result.labels) == len(result.scores) == n
    for value, scores in zip(result.labels, result.scores, strict=True):
        s = decode(value)
        assert s is not None and s <= set(labels)
        assert encode(s) == value                   # canonical
        assert set(scores) == set(labels)
        assert all(0.0 <= p <= 1.0 for p in scores.values())


# ---- the one-vs-rest core ----------------------------------------------------------------------------------------


def test_indicator_matrix_and_answers_round_trip() -> None:
    Y = indicator_matrix(["bug|urgent", EMPTY, "login", None], LABELS)
    assert Y.dtype == np.uint8 and Y.tolist() == [[0, 1, 0, 1], [0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    proba = np.array([[0.9, 0.1, 0.2, 0.6], [0.1, 0.1, 0.1, 0.1]])
    sets, scores = answers(proba, [0.5, 0.5, 0.5, 0.7], LABELS)
    assert sets == ["billing", EMPTY]                # urgent 0.6 is under its own 0.7 cut
    assert scores[0] == {"billing": 0.9, "bug": 0.1, "login": 0.2, "urgent": 0.6}


def test_best_threshold_maximises_f1_between_scores() -> None:
    y = np.array([1, 1, 1, 0, 0, 0, 0])
    p = np.array([0.9, 0.4, 0.35, 0.3, 0.2, 0.1, 0.05])
    t, f1 = best_threshold(y, p)
    assert 0.30 < t < 0.35 and f1 == pytest.approx(1.0)   # the gap between the last positive and first negative
    assert best_threshold(np.zeros(4), np.ones(4)) == (0.5, 0.0)
    # ties go to the cut nearest 0.5
    t, _ = best_threshold(np.array([1, 0, 1, 0]), np.array([0.8, 0.6, 0.4, 0.2]))
    assert t == pytest.approx(0.7) or abs(t - 0.5) <= abs(0.7 - 0.5)


def _ovr_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(600, 6))
    Y = np.column_stack([
        (X[:, 0] + 0.7 * rng.normal(size=600) > 1.4).astype(int),   # rare and noisy: the best cut is below 0.5
        (X[:, 1] > 0).astype(int),
        np.zeros(600, dtype=int),                                   # never present
        np.ones(600, dtype=int),                                    # always present
        (np.arange(600) < MIN_POSITIVES - 1).astype(int),           # too few positives to fold
    ]).astype(np.uint8)
    return X, Y


def test_one_vs_rest_thresholds_constants_and_rare_labels() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    X, Y = _ovr_data()
    ovr = OneVsRest(lambda: LogisticRegression(C=0.1), folds=3, seed=0).fit(X, Y)
    assert ovr.thresholds_.shape == (5,)
    assert ovr.tuned_.tolist() == [True, True, False, False, False]
    assert ovr.constant_.tolist() == [False, False, True, True, False]
    assert isinstance(ovr.estimators_[2], ConstantBinary)
    assert ovr.thresholds_[0] < 0.45                 # a rare, noisy label is cut below 0.5
    assert ovr.thresholds_[2:].tolist() == [0.5, 0.5, 0.5]
    # the chosen cut is the best F1 on the out-of-fold scores it was chosen on
    oof = ovr._oof_scores(X, Y[:, 0].astype(int), 3)
    at_cut = f1_score(Y[:, 0], oof >= ovr.thresholds_[0])
    assert at_cut == pytest.approx(ovr.oof_f1_[0])
    assert at_cut >= f1_score(Y[:, 0], oof >= 0.5)
    proba, pred = ovr.predict_proba(X), ovr.predict(X)
    assert proba.shape == pred.shape == (600, 5) and pred.dtype == np.uint8
    assert (proba[:, 2] == 0).all() and (proba[:, 3] == 1).all()
    assert (pred[:, 2] == 0).all() and (pred[:, 3] == 1).all()
    assert set(ovr.summary(list("abcde"))) == set("abcde")


def test_one_vs_rest_uses_decision_function_when_there_is_no_proba() -> None:
    from sklearn.svm import LinearSVC

    X, Y = _ovr_data(1)
    ovr = OneVsRest(lambda: LinearSVC(), folds=3).fit(X, Y[:, :2])
    p = ovr.predict_proba(X)
    assert ((p > 0) & (p < 1)).all()


# ---- majority and tfidf-logreg -------------------------------------------------------------------------------------


def test_adapters_declare_the_task() -> None:
    from baseline.adapters.automl import FlamlAdapter

    for cls in (Majority, TfidfLogReg, FlamlAdapter):
        assert TASK in cls.tasks and "text-classification" in cls.tasks
    assert Majority.availability(TASK).ok and TfidfLogReg.availability(TASK).ok


def test_majority_predicts_the_most_frequent_label_set(data) -> None:
    tr_x, tr_y, te_x, _ = data
    a = Majority(ml_ctx())
    info = a.fit(tr_x, tr_y)
    counts = {v: tr_y.count(v) for v in set(tr_y)}
    top = max(sorted(counts), key=lambda v: counts[v])
    assert info.details["label"] == top
    r = a.predict_batch(te_x[:10])
    assert_contract(r, 10, LABELS)
    assert set(r.labels) == {top}
    Y = indicator_matrix(tr_y, LABELS)
    assert r.scores[0] == pytest.approx(dict(zip(LABELS, Y.mean(axis=0), strict=True)))
    assert "label set" in a.explain()["text"] and any("label set" in n for n in a.notes)


def test_majority_answers_the_empty_set_when_it_is_commonest() -> None:
    labels = [EMPTY] * 5 + ["bug"] * 3 + ["bug|urgent"] * 2
    a = Majority(ml_ctx())
    a.fit(["x"] * 10, labels)
    r = a.predict_batch(["y", "z"])
    assert r.labels == [EMPTY, EMPTY]
    assert r.scores[0] == {"billing": 0.0, "bug": 0.5, "login": 0.0, "urgent": 0.2}


def test_tfidf_one_vs_rest_beats_majority_with_per_label_thresholds(data) -> None:
    tr_x, tr_y, te_x, te_y = data
    t = time.perf_counter()
    tfidf = TfidfLogReg(ml_ctx())
    info = tfidf.fit(tr_x, tr_y)
    r = tfidf.predict_batch(te_x)
    assert time.perf_counter() - t < 10
    assert_contract(r, len(te_x), LABELS)
    per = info.details["labels"]
    assert set(per) == set(LABELS) and all(v["tuned"] for v in per.values())
    assert any(abs(v["threshold"] - 0.5) > 0.05 for v in per.values())
    maj = Majority(ml_ctx())
    maj.fit(tr_x, tr_y)
    f_tfidf = micro_f1(te_y, r.labels, LABELS)
    f_maj = micro_f1(te_y, maj.predict_batch(te_x).labels, LABELS)
    assert f_tfidf > 0.85 and f_tfidf > f_maj + 0.3
    # per-label thresholds do at least as well on test as a flat 0.5 here (where the cut matters)
    proba = tfidf.ovr_.predict_proba(tfidf.vec_.transform(te_x))
    flat, _ = answers(proba, [0.5] * len(LABELS), LABELS)
    assert f_tfidf >= micro_f1(te_y, flat, LABELS) - 0.01
    ex = tfidf.explain()
    assert set(ex["features"]) == set(LABELS)
    for lab, words in KEYWORDS.items():
        assert set(ex["features"][lab][:4]) & set(words)
    assert set(ex["thresholds"]) == set(LABELS)


def test_tfidf_constant_labels_and_unseen_label(data) -> None:
    """A label in every train row answers always; one never seen answers never (both score every row)."""
    tr_x, tr_y, te_x, _ = data
    labels = [*LABELS, "spam", "ticket"]
    always = [encode((decode(v) or set()) | {"ticket"}) for v in tr_y]
    a = TfidfLogReg(ml_ctx(labels=labels))
    info = a.fit(tr_x, always)
    per = info.details["labels"]
    assert per["spam"]["constant"] and per["ticket"]["constant"]
    r = a.predict_batch(te_x[:20])
    assert_contract(r, 20, labels)
    assert all("ticket" in decode(v) and "spam" not in decode(v) for v in r.labels)
    assert all(s["ticket"] == 1.0 and s["spam"] == 0.0 for s in r.scores)


def test_tfidf_cv_option_chooses_c_per_label(data) -> None:
    tr_x, tr_y, te_x, _ = data
    a = TfidfLogReg(ml_ctx(C="cv"))
    info = a.fit(tr_x[:200], tr_y[:200])
    assert all(v["C"] in (0.3, 1, 3, 10, 30) for v in info.details["labels"].values())
    assert_contract(a.predict_batch(te_x[:10]), 10, LABELS)


def test_single_label_path_unchanged() -> None:
    """Single-label tfidf-logreg answers exactly what a plain TF-IDF + LogisticRegression pipeline answers, and
    majority its most frequent label: the multi-label branch is not on this path."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts, sets = tag_set(300, seed=3)
    y = [sorted(decode(s))[0] if decode(s) else "none" for s in sets]
    labels = sorted(set(y))
    ctx = AdapterContext(labels=labels, seed=7)
    a = TfidfLogReg(ctx)
    a.fit(texts, y)
    from baseline.adapters.trivial import solver_plan

    k = len(labels) if len(labels) > 2 else 1
    solver, tol, max_iter = solver_plan(len(texts), 0, k, 10.0)
    ref = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=1, max_features=None, sublinear_tf=True,
                                        strip_accents="unicode"),
                        LogisticRegression(C=10.0, solver=solver, tol=tol, max_iter=max_iter, class_weight=None,
                                           random_state=7)).fit(texts, y)
    r = a.predict_batch(texts[:50])
    assert r.labels == ref.predict(texts[:50]).tolist()
    proba = ref.predict_proba(texts[:50])
    got = np.array([[s[c] for c in ref.classes_] for s in r.scores])
    assert np.allclose(got, proba, atol=1e-4)  # within the solver tolerance: hashed float32 features, same optimum
    assert not hasattr(a, "ovr_")
    m = Majority(AdapterContext(labels=labels))
    m.fit(texts, y)
    assert m.predict_batch(["q"]).labels == [max(sorted(set(y)), key=y.count)] and not m.notes


# ---- flaml ---------------------------------------------------------------------------------------------------------


def test_flaml_one_vs_rest_in_one_shared_budget(data, tmp_path: Path) -> None:
    pytest.importorskip("flaml")
    pytest.importorskip("lightgbm")
    from baseline.adapters.automl import SEARCH_LOG, FlamlAdapter

    tr_x, tr_y, te_x, te_y = data
    labels = [*LABELS, "spam"]                       # never in train: a constant predictor
    budget = 5.0
    a = FlamlAdapter(ml_ctx(tmp_path, labels=labels, time_budget=budget, features="word,word+char"))
    a.load()
    t = time.perf_counter()
    a.fit(tr_x, tr_y)
    wall = time.perf_counter() - t
    d = a.details
    assert wall <= budget * 1.1 + 2.5, d["seconds"]
    assert d["seconds"]["total"] == pytest.approx(d["budget_used_s"], abs=0.05)
    per = d["labels"]
    assert set(per) == set(labels)
    assert per["spam"]["winner"] == "constant"
    searched = [lab for lab in LABELS if per[lab]["trials"] > 0]
    assert len(searched) >= 3
    assert all(per[lab]["threshold_from"] in ("out-of-fold", "holdout", "default") for lab in LABELS)
    assert any(abs(per[lab]["threshold"] - 0.5) > 0.02 for lab in searched)
    r = a.predict_batch(te_x)
    assert_contract(r, len(te_x), labels)
    assert all(s["spam"] == 0.0 for s in r.scores)
    maj = Majority(ml_ctx())
    maj.fit(tr_x, tr_y)
    f_flaml = micro_f1(te_y, r.labels, LABELS)
    assert f_flaml > 0.85 and f_flaml > micro_f1(te_y, maj.predict_batch(te_x).labels, LABELS) + 0.3
    trials = [json.loads(x) for x in (tmp_path / "w" / SEARCH_LOG).read_text().splitlines()]
    assert len(trials) == d["trials"] and {t["label"] for t in trials} == set(searched)
    assert json.loads((tmp_path / "w" / "search_summary.json").read_text())["labels"].keys() == per.keys()
    ex = a.explain()
    assert set(ex["labels"]) == set(labels) and "one-vs-rest" in ex["text"]
    assert any("one-vs-rest" in n for n in a.notes)
    a.teardown()


def test_flaml_tiny_share_and_rare_labels_skip_the_search(tmp_path: Path) -> None:
    """A budget too small to search gives every label the no-search linear SVM, within the budget."""
    pytest.importorskip("flaml")
    pytest.importorskip("lightgbm")
    from baseline.adapters.automl import FlamlAdapter

    tr_x, tr_y = tag_set(200, seed=2, rates=(0.4, 0.3, 0.3, 0.015))   # login: about 3 positives
    a = FlamlAdapter(ml_ctx(tmp_path, time_budget=1.0, features="word", estimators=["svc", "lrl2"]))
    a.load()
    a.fit(tr_x, tr_y)
    per = a.details["labels"]
    assert per["login"]["positives"] < MIN_POSITIVES and per["login"]["threshold_from"] == "default"
    assert all(v["winner"] in ("svc", "lrl2", "constant") for v in per.values())
    assert any("no_search" in v for v in per.values())
    assert_contract(a.predict_batch(tr_x[:30]), 30, LABELS)


def test_flaml_threshold_from_the_holdout_when_folds_do_not_fit(data, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """When out-of-fold fits (and a refit) would not fit a label's share, its cut comes from the search's own
    holdout and the holdout-trained model is kept, with a note."""
    pytest.importorskip("flaml")
    pytest.importorskip("lightgbm")
    from baseline.adapters.automl import FlamlAdapter, multilabel

    monkeypatch.setattr(multilabel, "RETRAIN_MARGIN", 1e6)   # every projected fit is far past any share
    tr_x, tr_y, te_x, te_y = data
    a = FlamlAdapter(ml_ctx(tmp_path, time_budget=3, features="word", estimators=["svc", "lrl2"], max_iter=3))
    a.load()
    a.fit(tr_x, tr_y)
    searched = {lab: v for lab, v in a.details["labels"].items() if v["trials"]}
    assert searched
    assert all(v["threshold_from"] == "holdout" and v["refit"] is False for v in searched.values())
    assert any("kept the model trained on" in n for n in a.notes)
    r = a.predict_batch(te_x)
    assert_contract(r, len(te_x), LABELS)
    assert micro_f1(te_y, r.labels, LABELS) > 0.8


def test_flaml_multilabel_metric_is_checked() -> None:
    pytest.importorskip("flaml")
    from baseline.adapters.automl import FlamlAdapter
    from baseline.errors import BadInput

    FlamlAdapter(AdapterContext(labels=LABELS, task=TASK, metric="samples_f1"))
    with pytest.raises(BadInput, match="micro_f1"):
        FlamlAdapter(AdapterContext(labels=LABELS, task=TASK, metric="weighted_f1"))
    with pytest.raises(BadInput, match="macro_f1"):
        FlamlAdapter(AdapterContext(labels=LABELS, metric="micro_f1"))    # single-label: as before
