"""The data plan: label-issue detection on deliberately flipped labels, near-duplicate leakage on
constructed pairs, and the learning curve's advice in every verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from baseline.dataplan import label_check, labels_advice, near_duplicates, wilson
from baseline.decide import Bar

pytest.importorskip("cleanlab")


def _frame(texts, labels):
    return pd.DataFrame({"id": [str(i) for i in range(len(texts))], "text": texts, "label": labels})


def test_flipped_labels_are_found_on_separable_data(tmp_path):
    words = {"sport": ["match", "goal", "team", "league", "coach", "score"],
             "money": ["bank", "loan", "price", "market", "stock", "rate"],
             "food": ["bread", "cheese", "soup", "pasta", "salad", "fruit"]}
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for lab, ws in words.items():
        for _ in range(60):
            texts.append(" ".join(rng.choice(ws, 4)))
            labels.append(lab)
    flip = [3, 70, 130, 150]  # sport→money, money→food, food→sport, food→money
    new = {3: "money", 70: "food", 130: "sport", 150: "money"}
    for i in flip:
        labels[i] = new[i]
    r = label_check(_frame(texts, labels), seed=0, run_dir=tmp_path)
    assert r["status"] == "ok" and r["rows_checked"] == 180
    found = pd.read_csv(tmp_path / "label_issues.csv", dtype=str)
    assert set(flip) <= set(found["id"].astype(int))                  # recall 1.0 on clean-cut data
    assert len(found) <= 8                                            # and few false alarms
    top = found.set_index("id").loc["3"]
    assert top["given_label"] == "money" and top["suggested_label"] == "sport"
    lo, hi = r["share_ci"]
    assert lo <= r["share"] <= hi
    assert r["examples"][0]["given"] != r["examples"][0]["suggested"]
    # cleanlab's per-class copies of the probabilities are not kept in its module after the check
    import cleanlab.filter as cf
    assert not isinstance(getattr(cf, "pred_probs_by_class", None), dict)
    assert not isinstance(getattr(cf, "prune_count_matrix_cols", None), dict)


def test_a_find_label_issues_that_raises_after_setting_its_globals_leaves_none_behind(tmp_path, monkeypatch):
    """cleanlab sets its per-class copies of the probabilities in module globals, then works on them: a failure after
    that point is reported as a failed check (the run goes on) and the copies are still dropped."""
    import cleanlab.filter as cf

    from baseline.dataplan import data_plan

    def fails_midway(labels, pred_probs, **_):
        cf.pred_probs_by_class = {k: pred_probs[labels == k] for k in range(pred_probs.shape[1])}
        cf.prune_count_matrix_cols = {0: np.zeros(3)}
        raise MemoryError("Unable to allocate 1.00 GiB for an array")

    monkeypatch.setattr(cf, "find_label_issues", fails_midway)
    words = {"sport": ["match", "goal", "team", "coach"], "money": ["bank", "loan", "price", "stock"]}
    rng = np.random.default_rng(1)
    rows = [(" ".join(rng.choice(ws, 4)), lab) for lab, ws in words.items() for _ in range(40)]
    frame = _frame([t for t, _ in rows], [lab for _, lab in rows])
    plan = data_plan(type("Split", (), {"train": frame})(), {}, tmp_path, near_duplicates_reason="not here")
    assert plan["label_quality"]["status"] == "failed"
    assert "MemoryError" in plan["label_quality"]["reason"]
    assert not isinstance(getattr(cf, "pred_probs_by_class", None), dict)
    assert not isinstance(getattr(cf, "prune_count_matrix_cols", None), dict)


def test_label_issues_file_masks_a_secret_inside_a_flagged_text(tmp_path, monkeypatch):
    """A credential pasted into a mislabelled text (an environment secret and a key-shaped string) is masked in
    label_issues.csv and in the examples."""
    secret = "s3cr3t-value-0123456789abcdef"
    monkeypatch.setenv("MY_SERVICE_API_KEY", secret)
    words = {"sport": ["match", "goal", "team", "league"], "money": ["bank", "loan", "price", "market"]}
    rng = np.random.default_rng(1)
    texts, labels = [], []
    for lab, ws in words.items():
        for _ in range(60):
            texts.append(" ".join(rng.choice(ws, 4)))
            labels.append(lab)
    texts[3] += f" token {secret}"
    labels[3] = "money"   # a sport text labelled money: flagged
    r = label_check(_frame(texts, labels), seed=0, run_dir=tmp_path)
    found = pd.read_csv(tmp_path / "label_issues.csv", dtype=str)
    assert "3" in set(found["id"])
    body = (tmp_path / "label_issues.csv").read_text()
    assert secret not in body and secret not in str(r)


def test_flipped_labels_recall_on_sst2_copy(sst2_path):
    """5% of sst2's train labels flipped on purpose (seed 0): cleanlab's default filter (prune_by_noise_rate)
    on 5-fold out-of-fold TF-IDF + logistic-regression probabilities flags 71% of them (245 of 346;
    precision 0.19, since sst2 holds many genuinely ambiguous rows: 898 are flagged on the clean copy).
    The test holds recall ≥ 0.6 and precision ≥ 0.15 at that threshold (bench/bench_label_issues.py)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from bench_label_issues import measure

    df = pd.read_csv(sst2_path)
    r = measure(df[df["split"] == "train"][["text", "label"]], 0.05, 0)
    assert r["flipped"] == 346
    assert r["recall"] >= 0.6, r
    assert r["precision"] >= 0.15, r


def test_label_check_skips_classes_too_small_to_cross_validate():
    texts = ["good thing"] * 6 + ["bad thing"] * 6 + ["odd"]
    r = label_check(_frame(texts, ["pos"] * 6 + ["neg"] * 6 + ["other"]), seed=0)
    assert r["status"] == "ok" and r["classes_skipped"] == ["other"] and r["rows_checked"] == 12


def test_near_duplicates_on_constructed_pairs():
    train = _frame(["How do I top up my card with cash?", "My transfer to another account was declined yesterday",
                    "Can I change the PIN of my card at an ATM?", "What are the fees for exchanging currencies?",
                    "The app crashes whenever I open the statements page", "exact copy of a training sentence"],
                   ["topup", "transfer", "pin", "fees", "app", "x"])
    test = _frame([
        "How do I top-up my card with cash ?",                       # punctuation/spacing: near (1.0)
        "My transfer to another acount was declined yesterday",      # typo: near (0.94)
        "Can I change the PIN of my card at any ATM?",               # a word changed: near (0.95)
        "EXACT   copy of a training sentence",                       # normalised match (already profiled)
        "Which fees apply when I exchange money abroad?",            # paraphrase, other words: not near (0.29)
        "Is there a limit on how much I can withdraw each day?",     # unrelated: not near (0.22)
        "How do I top up my card with a transfer?",                  # same template, other meaning: not near (0.73)
    ], ["topup", "transfer", "pin", "x", "fees", "limit", "topup"])
    r = near_duplicates(train, test)
    mask = r.pop("leaked_mask")
    assert mask.tolist() == [True, True, True, True, False, False, False]
    assert r["normalised"] == 1 and r["near"] == 3 and r["leaked"] == 4
    assert r["share"] == pytest.approx(4 / 7) and r["material"]
    assert all(e["similarity"] >= 0.9 for e in r["examples"]) and len(r["examples"]) == 3
    assert r["same_label_share"] == 1.0


def test_wilson_interval():
    lo, hi = wilson(5, 100)
    assert lo == pytest.approx(0.0215, abs=1e-3) and hi == pytest.approx(0.1118, abs=1e-3)


def _curve(points):
    return {"metric": "macro_f1", "adapters": {n: [{"fraction": f, "n_train": int(1000 * f), "macro_f1": v}
                                                   for f, v in pts] for n, pts in points.items()}}


def test_labels_advice_in_every_verdict():
    curve = _curve({"flaml": [(0.25, 0.70), (0.5, 0.74), (1.0, 0.78)],          # +0.04 per doubling
                    "tfidf-logreg": [(0.25, 0.68), (0.5, 0.72), (1.0, 0.76)]})   # +0.04 per doubling
    adapters = [{"name": "flaml", "simplicity": 60, "metrics": {"macro_f1": 0.78}, "cost": {"per_1k_usd": 0.01}},
                {"name": "tfidf-logreg", "simplicity": 40, "metrics": {"macro_f1": 0.76}, "cost": {"per_1k_usd": 0.001}}]
    a = labels_advice(curve, {"verdict": "ADOPT", "choice": "flaml", "best_passing": "flaml"}, adapters, Bar())
    # margin 0.02 at +0.04 per doubling: 2^(0.5) = 1.414× the labels → 415 more on 1,000
    assert a["more_labels"] == 415 and a["factor"] == pytest.approx(2 ** 0.5)
    p = a["projected"][0]
    assert p["adapter"] == "tfidf-logreg" and p["projected"] == pytest.approx(0.78) and p["reaches"]
    assert "415 more labels" in a["text"] and "would reach" in a["text"]
    b = labels_advice(curve, {"verdict": "ADOPT", "choice": "flaml", "best_passing": "flaml"}, adapters,
                      Bar(min_metric=0.9))
    assert not b["projected"][0]["reaches"] and "no simpler candidate would reach the bar 0.9" in b["text"]
    # 0.78 → 0.90 at +0.04 per doubling: 2^3 = 8× the labels, 7,000 more
    assert b["labels_to_bar"] == 7000 and "7,000 more (8.0×)" in b["text"]
    assert labels_advice(None, {}, adapters, Bar())["status"] == "no curve"
    # the trivial floor is never offered as the cheaper option
    floor = {"name": "majority", "simplicity": 0, "metrics": {"macro_f1": 0.33}, "cost": {"per_1k_usd": 0.0}}
    c = labels_advice(_curve({"flaml": [(0.25, 0.70), (0.5, 0.74), (1.0, 0.78)], "majority": [(0.5, 0.33), (1.0, 0.33)]}),
                      {"best_passing": "flaml"}, adapters[:1] + [floor], Bar())
    assert c["projected"] == [] and "majority" not in c["text"]


def test_large_inputs_are_sampled_or_skipped_not_scanned(monkeypatch):
    import baseline.dataplan as dp

    monkeypatch.setattr(dp, "MAX_CHECK_ROWS", 40)
    monkeypatch.setattr(dp, "MAX_PAIRS", 10)
    texts = [f"{w} item number {i}" for i in range(40) for w in ("good",)] + [f"bad thing {i}" for i in range(40)]
    frame = _frame(texts, ["pos"] * 40 + ["neg"] * 40)
    r = label_check(frame, seed=0)
    assert r["sampled_from"] == 80 and r["rows_checked"] == 40
    nd = near_duplicates(frame, _frame(["GOOD item number 3", "good item numbr 3"], ["pos", "pos"]))
    assert not nd["scanned"] and "skipped" in nd["method"]
    assert nd["normalised"] == 1 and nd["near"] == 0


def test_without_the_data_extra_the_check_is_skipped_with_the_reason(monkeypatch):
    import baseline.dataplan as dp

    monkeypatch.setattr(dp, "cleanlab_available", lambda: 'extra "data" not installed (pip install "baseline[data]")')
    r = label_check(_frame(["a b", "c d"] * 5, ["x", "y"] * 5))
    assert r == {"status": "skipped", "reason": 'extra "data" not installed (pip install "baseline[data]")'}


def test_a_run_too_large_to_scan_drops_texts_and_keeps_its_data_plan(tmp_path, monkeypatch):
    """Past the scan's size (where the pipeline drops the split's texts before its late stages) the data plan is
    whole: the label check reads its seeded sample (the same rows and flags as a direct check), leakage counts
    normalised matches from the cached hashes as the profile does (reading a dropped text column would fail it),
    and ``drop_texts`` keeps the hashes while letting the texts go."""
    import json

    import baseline.dataplan as dp
    from baseline.cli import main
    from baseline.data import load_dataset, make_split

    monkeypatch.setattr(dp, "MAX_CHECK_ROWS", 60)
    monkeypatch.setattr(dp, "MAX_PAIRS", 0)
    rng = np.random.default_rng(0)
    words = {"pos": ["love", "great", "superb"], "neg": ["awful", "broken", "refund"]}
    rows = [(f"{rng.choice(words[lab])} {rng.choice(words[lab])} item {i % 70}", lab)
            for i, lab in enumerate(["pos", "neg"] * 100)]
    data = tmp_path / "d.csv"
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(data, index=False)
    assert main(["compare", "--data", str(data), "--adapters", "majority", "--out", str(tmp_path / "o"),
                 "--home", str(tmp_path / "h"), "--no-progress"]) == 0
    res = json.loads(next((tmp_path / "o").glob("*/results.json")).read_text())
    lq, lk = res["data_plan"]["label_quality"], res["data_plan"]["leakage"]
    assert lq["status"] == "ok" and lq["rows_checked"] == 60 and lq["sampled_from"] == 150
    assert lk["status"] == "ok" and not lk["scanned"]
    assert lk["normalised"] == res["profile"]["test_texts_in_train"] > 0
    split = make_split(load_dataset(data), 0.25, 42)
    rows, sampled_from = dp.label_check_rows(split.train, 42)
    direct = label_check(rows, seed=42, sampled_from=sampled_from)
    assert (direct["flagged"], direct["examples"]) == (lq["flagged"], lq["examples"])
    split.drop_texts()
    assert "text" not in split.train.columns and len(split.text_keys("test")) == len(split.test)


def _oof_per_fold_vectorizer(texts, labels, n_classes, seed, folds, model="logreg"):
    """The label check's model as it was written first: a TfidfVectorizer fitted on each fold's train rows."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.naive_bayes import MultinomialNB

    probs = np.zeros((len(texts), n_classes))
    arr = np.asarray(texts, dtype=object)
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(arr, labels):
        vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2 if len(tr) >= 2000 else 1, sublinear_tf=True,
                              strip_accents="unicode")
        clf = LogisticRegression(C=10.0, max_iter=200, tol=1e-3) if model == "logreg" else MultinomialNB(alpha=0.1)
        clf.fit(vec.fit_transform(arr[tr]), labels[tr])
        probs[np.ix_(te, clf.classes_)] = clf.predict_proba(vec.transform(arr[te]))
    return probs


@pytest.mark.parametrize("rows,classes,folds,model", [(300, 3, 5, "logreg"), (3000, 2, 3, "logreg"),
                                                      (2400, 12, 5, "logreg"), (2400, 12, 5, "naive-bayes")])
def test_oof_probabilities_tokenise_once_and_match_a_vectorizer_per_fold(rows, classes, folds, model):
    """Every text is tokenised once and each fold keeps the terms its train rows hold (min_df 1 below 2,000 train
    rows, else 2): the same features as a TfidfVectorizer fitted per fold, so the same probabilities up to the order
    in which a row's terms are summed (last bits)."""
    from baseline.dataplan import oof_probabilities

    rng = np.random.default_rng(rows)
    vocab = [f"w{i}" for i in range(400)] + ["Café", "cafe", "naïve", "NAIVE"]
    y = rng.integers(0, classes, rows)
    texts = [" ".join([f"k{c}x{rng.integers(0, 5)}"] + list(rng.choice(vocab, rng.integers(3, 12)))) for c in y]
    got, used, refitted = oof_probabilities(texts, y, classes, 7, folds, model=model)
    assert used == model and refitted == []
    want = _oof_per_fold_vectorizer(texts, y, classes, 7, folds, model)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert (got.argmax(axis=1) == want.argmax(axis=1)).all()


def test_cleanlab_loads_without_datalab_and_datalab_still_imports_later():
    """cleanlab's __init__ imports Datalab (and with it Hugging Face datasets, ~2 s); the check loads cleanlab
    without it, and leaves ``import cleanlab.datalab`` working for anything that wants it afterwards."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from baseline.dataplan import cleanlab_available\n"
            "assert cleanlab_available() is None\n"
            "assert 'cleanlab' in sys.modules and 'cleanlab.datalab' not in sys.modules\n"
            "from cleanlab.filter import find_label_issues\n"
            "from cleanlab.rank import get_label_quality_scores\n"
            "import importlib.util\n"
            "if importlib.util.find_spec('datasets') is not None:\n"
            "    from cleanlab.datalab.datalab import Datalab\n"
            "    assert Datalab.__name__ == 'Datalab'\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def _spread_tickets(n: int, seed: int = 0, noise: float = 0.05):
    """Four exactly balanced classes whose signal is one to three of 200 class words in a text of 36 (a fifth of
    them another class's) among Zipf-distributed filler: at zero weights lbfgs's mean gradient is under its 1e-3
    tolerance. ``noise`` of the rows get another label; returns the frame and which rows were flipped."""
    rng = np.random.default_rng(seed)
    classes = ["billing", "delivery", "account", "technical"]
    vocab = np.array([f"w{i:04d}" for i in range(5000)])
    y = rng.permutation(np.arange(n) % 4)
    filler = vocab[rng.zipf(1.3, size=(n, 36)) % 5000]
    k = rng.integers(1, 4, n)
    texts = []
    for i in range(n):
        own = y[i] if rng.random() < 0.8 else rng.integers(0, 4)
        toks = list(filler[i])
        toks[:k[i]] = [f"{classes[own][:3]}{j:03d}" for j in rng.integers(0, 200, k[i])]
        texts.append(" ".join(toks))
    given = y.copy()
    flip = rng.random(n) < noise
    given[flip] = (y[flip] + rng.integers(1, 4, int(flip.sum()))) % 4
    return pd.DataFrame({"id": [str(i) for i in range(n)], "text": texts, "label": [classes[c] for c in given]}), flip


def test_a_label_check_whose_lbfgs_stops_at_zero_is_refitted_and_finds_the_flipped_labels(tmp_path):
    """lbfgs stops where it started on these texts: every probability 1/4, out-of-fold accuracy at chance, nothing
    flagged although 5% of the labels were flipped. Refitted to the floor's rule, the model reads the texts and most
    flipped rows are among the flags."""
    df, flip = _spread_tickets(10_000)
    out = label_check(df, 42, tmp_path)
    assert out["refitted_folds"] >= 1 and "refitted with newton-cg" in out["method"]
    assert out["oof_majority"] == pytest.approx(0.25, abs=0.01)
    assert out["oof_accuracy"] > out["oof_majority"] + 0.2
    flagged = set(pd.read_csv(tmp_path / "label_issues.csv", dtype=str)["id"])
    flipped = set(df["id"][flip])
    assert len(flagged & flipped) >= 0.5 * len(flipped)


def test_the_check_s_model_turns_to_naive_bayes_beyond_the_regression_s_weight_budget():
    """Vocabulary × classes (one vector for two classes) against ``LOGREG_MAX_WEIGHTS``: the shared text sets' samples
    stay under it (sst2 15k weights, ag_news 138k), banking77's 77 classes over 8.9k columns (685k) do not."""
    from baseline.dataplan import LOGREG_MAX_WEIGHTS, check_model

    assert check_model(15_000, 2) == "logreg" and check_model(34_500, 4) == "logreg"
    assert check_model(LOGREG_MAX_WEIGHTS, 2) == "logreg" and check_model(LOGREG_MAX_WEIGHTS + 1, 2) == "naive-bayes"
    assert check_model(LOGREG_MAX_WEIGHTS // 50, 50) == "logreg"
    assert check_model(LOGREG_MAX_WEIGHTS // 50 + 1, 50) == "naive-bayes"
    assert check_model(8_900, 77) == "naive-bayes"


@pytest.mark.parametrize("name,model", [("sst2", "logreg"), ("sms_spam", "logreg"), ("banking77", "naive-bayes")])
def test_the_shared_sets_fall_on_the_side_of_the_weight_budget_their_figures_were_kept_on(name, model):
    """The shared sets' figures are kept (regression) or moved (naive Bayes) by where their own vocabulary × classes
    falls: counted as the check counts it, on their train split."""
    from sklearn.feature_extraction.text import CountVectorizer

    from baseline.dataplan import MAX_FOLDS, check_model, check_vocabulary
    from conftest import shared_dataset

    df = pd.read_csv(shared_dataset(name))
    train = df[df["split"] == "train"] if "split" in df.columns else df
    counts = CountVectorizer(ngram_range=(1, 2), strip_accents="unicode").fit_transform(train["text"].astype(str))
    assert check_model(check_vocabulary(counts.tocsr(), MAX_FOLDS), train["label"].nunique()) == model


def test_a_check_over_the_weight_budget_finds_the_flipped_labels_with_naive_bayes(tmp_path):
    """60 classes, each with its own 40 words, over 4,800 rows: 2,400+ columns × 60 classes is over the budget, so
    the folds fit naive Bayes, say so, and still find the flipped rows."""
    rng = np.random.default_rng(3)
    n_classes, per = 60, 80
    y = np.repeat(np.arange(n_classes), per)
    texts = [" ".join(rng.choice([f"c{c}w{j}" for j in range(40)], 6)) for c in y]
    given = y.copy()
    flip = rng.choice(len(y), 120, replace=False)
    given[flip] = (y[flip] + rng.integers(1, n_classes, len(flip))) % n_classes
    out = label_check(_frame(texts, [f"class{c:02d}" for c in given]), 0, tmp_path)
    assert out["model"] == "naive-bayes" and "naive Bayes" in out["method"] and out["refitted_folds"] == 0
    flagged = set(pd.read_csv(tmp_path / "label_issues.csv", dtype=str)["id"].astype(int))
    assert len(flagged & set(flip)) >= 0.9 * len(flip)
    assert len(flagged) <= 1.5 * len(flip)


def test_a_check_no_better_than_the_commonest_class_is_said_to_read_nothing():
    from baseline.report.plan_view import data_plan_view

    lq = {"status": "ok", "flagged": 0, "rows_checked": 9_000, "share": 0.0, "share_ci": [0.0, 0.0004], "file": None,
          "seconds": 0.5, "classes": [], "pairs": [], "method": "cleanlab", "examples": [], "oof_accuracy": 0.61,
          "oof_majority": 0.62}
    r = {"settings": {"metric": "macro_f1"}, "data_plan": {"label_quality": lq, "leakage": {}}}
    said = " ".join(data_plan_view(r)["labels"])
    assert "no better out of fold (0.610) than always answering the commonest class (0.620)" in said
    assert "its 0 flags say nothing either way" in said and "upper bound" not in said
    lq["oof_accuracy"] = 0.7    # above the commonest class but weak: the older sentence
    said = " ".join(data_plan_view(r)["labels"])
    assert "commonest class" not in said and "upper bound" in said


def test_scan_rows_scans_all_then_a_sample_then_nothing(monkeypatch):
    import baseline.dataplan as dp

    monkeypatch.setattr(dp, "SCAN_PAIRS", 1_000)
    monkeypatch.setattr(dp, "MIN_SCAN_ROWS", 5)
    monkeypatch.setattr(dp, "MAX_PAIRS", 10_000)
    assert dp.scan_rows(100, 10) == 10            # 1,000 pairs: every test row
    assert dp.scan_rows(100, 40) == 10            # 4,000 pairs: as many rows as 1,000 pairs allow
    assert dp.scan_rows(400, 20) == 5             # 2 rows would fit: at least MIN_SCAN_ROWS
    assert dp.scan_rows(400, 30) == 0 and not dp.scans_pairs(400, 30)   # 12,000 pairs: skipped


def test_a_sampled_scan_finds_the_sample_s_near_duplicates_and_estimates_their_share(monkeypatch):
    import baseline.dataplan as dp

    rng = np.random.default_rng(0)
    vocab = [f"{a}{b}{c}" for a in "bcdfg" for b in "aeiou" for c in "klmnp"]
    train_texts = [" ".join(rng.choice(vocab, 12)) for _ in range(60)]
    # every other test text is a train text with one word changed (near), the rest are new
    test_texts = [(" ".join(train_texts[i].split()[:11] + ["zzz"]) if i % 2 == 0 else " ".join(rng.choice(vocab, 12)))
                  for i in range(40)]
    train = _frame(train_texts, ["a", "b"] * 30)
    test = _frame(test_texts, ["a", "b"] * 20)
    full = near_duplicates(train, test)
    assert full["near"] == 20 and "sampled_rows" not in full
    monkeypatch.setattr(dp, "SCAN_PAIRS", 60 * 10)
    monkeypatch.setattr(dp, "MIN_SCAN_ROWS", 4)
    r = near_duplicates(train, test, seed=3)
    mask = r.pop("leaked_mask")
    assert r["sampled_rows"] == 10 and r["scanned"] and "seeded sample of 10 of the 40 test rows" in r["method"]
    rows = np.sort(np.random.default_rng(3).choice(40, size=10, replace=False))   # the seeded sample it documents
    full_mask = full["leaked_mask"]
    assert r["near"] == int(full_mask[rows].sum())              # the sample's near-duplicates are the full scan's
    assert mask[rows].tolist() == full_mask[rows].tolist()
    outside = np.setdiff1d(np.arange(40), rows)
    assert mask[outside].all()      # rows never compared are left out of the headline's recomputation too
    again = near_duplicates(train, test, seed=3)
    assert again.pop("leaked_mask").tolist() == mask.tolist()  # seeded: the same sample
    assert r["near_share"] == pytest.approx(r["near"] / 10)
    assert r["share"] == pytest.approx(r["normalised"] / 40 + r["near"] / 10)
    lo, hi = r["near_share_ci"]
    assert lo <= r["near_share"] <= hi and 0 <= lo and hi <= 1
    assert 0 < r["near"] < 10       # about half the sample, as half of all test rows


def test_the_report_says_a_near_duplicate_share_was_estimated_from_a_sample():
    from baseline.report.plan_view import data_plan_view

    lk = {"status": "ok", "method": "cosine …, on a seeded sample of 1,000 of the 9,000 test rows", "scanned": True,
          "threshold": 0.9, "test_rows": 9000, "normalised": 90, "near": 40, "leaked": 130, "share": 0.05,
          "near_share": 0.04, "sampled_rows": 1000, "near_share_ci": [0.0296, 0.0541], "same_label_share": 0.9,
          "material": True, "material_share": 0.01, "examples": [],
          "without_leaked": [{"name": "m", "metric": "macro_f1", "all_rows": 0.8, "without_leaked": 0.78,
                              "change": -0.02, "rows": 923}]}
    text = " ".join(data_plan_view({"data_plan": {"leakage": lk}, "settings": {"metric": "macro_f1"}})["leak"])
    assert "an estimated 5.0% of the 9,000 test rows leak" in text
    assert "40 of 1,000 sampled rows are near-duplicates beyond those (4.0%, 95% CI 3.0%–5.4%" in text
    assert "recomputed on the 923 sampled test rows that do not leak" in text


def test_the_sampled_near_share_interval_covers_the_full_scan_s_share_at_its_nominal_rate():
    """The rule behind a sampled scan, by simulation: test rows drawn without replacement (as the scan draws them,
    hypergeometric counts) from 9,000 rows with a known near-duplicate share; the Wilson 95% interval on the sample
    holds the full scan's share at least 93% of the time, from rare to common leaks and at the smallest sample."""
    from baseline.dataplan import MIN_SCAN_ROWS

    rng = np.random.default_rng(0)
    n, draws = 9_000, 2_000
    for m in (MIN_SCAN_ROWS, 4_000):
        for near in (45, 450, 2_700):          # 0.5%, 5%, 30% of the test rows
            k = rng.hypergeometric(near, n - near, m, size=draws)
            covered = sum(lo <= near / n <= hi for lo, hi in (wilson(int(x), m) for x in k))
            assert covered / draws >= 0.93, (m, near, covered / draws)
