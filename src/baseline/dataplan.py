"""The data plan: are the labels right, does test leak from train, and is there enough data?

- **Label quality** (extra ``[data]``: cleanlab): out-of-fold class probabilities of a cheap model
  (word 1–2-gram TF-IDF + logistic regression; multinomial naive Bayes beyond ``LOGREG_MAX_WEIGHTS``) on
  the *train* split feed cleanlab's label-issue detection. Gives the share of train rows flagged
  (Wilson 95% interval), the classes most affected, and the suspected rows with their given and
  suggested labels (``label_issues.csv``). Test labels are never read.
- **Near-duplicate leakage**: test texts whose nearest train text, by cosine similarity of character
  3–5-gram term-frequency vectors (after lower-casing, punctuation and spacing), is at or above ``NEAR_DUP_THRESHOLD`` —
  beyond the exact and normalised matches the profile already counts. When the leaked share is
  material (``MATERIAL_SHARE``), the headline metric is recomputed without the leaked rows.
- **Enough data?** (``labels_advice``) the learning curve's advice in every verdict: at the current
  slope, how many more labels would lift the best candidate by the margin, and whether a cheaper
  candidate would reach the bar with them.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from baseline.data import normalize_texts, normalized_keys, take_rows
from baseline.heap import trim_heap
from baseline.redact import redact, redact_tree

NEAR_DUP_THRESHOLD = 0.9     # char 3-5-gram tf cosine; see tests/test_dataplan.py for the constructed pairs
MATERIAL_SHARE = 0.01        # leaked test rows at or above this share → headline recomputed without them
MAX_FOLDS = 5
# the label check's logistic regression fits at most this many weights (vocabulary × classes); beyond, naive Bayes
LOGREG_MAX_WEIGHTS = 250_000
NB_ALPHA = 0.1               # its smoothing: TF-IDF values are under 1, so scikit-learn's default 1.0 blurs the classes
EXAMPLES = 10
CHUNK = 2000
BLOCK_CELLS = 5_000_000      # test × train similarities the near-duplicate scan computes at a time
MAX_CHECK_ROWS = 20_000      # the label check reads a seeded, stratified sample of train beyond this
MAX_PAIRS = 400_000_000      # test × train pairs beyond which the near-duplicate scan is skipped (normalised matches stay)
# pairs the scan compares at most (~5-8 s on two cores): beyond, a seeded sample of test rows against every train row.
# The scan ran 25 s at 241M pairs of real text (bench/results/near_duplicates_sampled.json), harness time on every run
SCAN_PAIRS = 50_000_000
MIN_SCAN_ROWS = 1_000        # a sampled scan looks at no fewer test rows (the near share's 95% CI within ±3 points)


def cleanlab_available() -> str | None:
    """``None`` when cleanlab can be imported, else the reason."""
    try:
        _import_cleanlab()
    except ImportError:
        return 'extra "data" not installed (pip install "baseline[data]")'
    return None


def _import_cleanlab() -> None:
    """Import cleanlab without its Datalab. cleanlab's package ``__init__`` imports ``Datalab`` eagerly, and with
    Hugging Face ``datasets`` installed (extra ``[hf]``) that import alone takes about 2 s at every run; the check
    reads only ``cleanlab.filter`` and ``cleanlab.rank``. While cleanlab's ``__init__`` runs, ``cleanlab.datalab`` is
    marked missing, so cleanlab sets ``cleanlab.Datalab`` to its own "unavailable" stand-in; the mark is removed
    afterwards, so ``import cleanlab.datalab`` still works later in the process. A no-op once cleanlab is loaded."""
    import sys

    if "cleanlab" in sys.modules:
        return
    sys.modules["cleanlab.datalab"] = None  # type: ignore[assignment]  # an import of it raises ImportError
    try:
        import cleanlab  # noqa: F401
    except ImportError:
        whole = True  # a cleanlab whose import needs its Datalab (or no cleanlab at all): import it as it is
    else:
        whole = False
    finally:
        if sys.modules.get("cleanlab.datalab", 0) is None:
            del sys.modules["cleanlab.datalab"]
    if whole:
        import cleanlab  # noqa: F401,F811


def _drop_cleanlab_globals() -> None:
    """cleanlab's ``find_label_issues`` leaves each class's rows of the probabilities in module globals (shared with
    its worker processes) after it returns: a copy of the n × K array (8 MB at 20,000 rows × 50 classes) alive through
    the report. Removed, as before the first call (the module only declares them); each call sets them again."""
    import cleanlab.filter as cf

    for name in ("pred_probs_by_class", "prune_count_matrix_cols"):
        if isinstance(getattr(cf, name, None), dict):
            delattr(cf, name)


def wilson(k: int, n: int, z: float = 1.959964) -> list[float]:
    """Wilson 95% interval of a proportion k/n."""
    if n == 0:
        return [0.0, 1.0]
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return [max(0.0, c - h), min(1.0, c + h)]


def check_vocabulary(counts: Any, folds: int) -> int:
    """Columns the label check's folds would keep, counted on the whole sample: the 1-2-grams in at least ``min_df``
    rows (2 when a fold trains on 2,000 rows or more, else 1), as each fold counts them on its own train rows."""
    train_rows = counts.shape[0] - counts.shape[0] // folds
    doc_freq = np.bincount(counts.indices, minlength=counts.shape[1])
    return int((doc_freq >= (2 if train_rows >= 2000 else 1)).sum())


def check_model(columns: int, n_classes: int) -> str:
    """``"logreg"`` while a logistic regression over ``columns`` features fits at most ``LOGREG_MAX_WEIGHTS`` weights
    (one vector for two classes, one a class beyond), else ``"naive-bayes"``: lbfgs's time grows with the weights
    (about 0.1 µs a weight an iteration, 30-70 iterations), naive Bayes reads the counts once."""
    weights = columns * (1 if n_classes <= 2 else n_classes)
    return "logreg" if weights <= LOGREG_MAX_WEIGHTS else "naive-bayes"


class OutOfFold(NamedTuple):
    """The label check's out-of-fold class probabilities (columns = class codes 0..K-1), the model that gave them
    (``check_model``) and the regression folds refitted to the floor's rule."""

    probs: np.ndarray
    model: str
    refitted: list[int]


def oof_probabilities(texts: list[str], labels: np.ndarray, n_classes: int, seed: int,
                      folds: int, model: str | None = None) -> OutOfFold:
    """Out-of-fold class probabilities from TF-IDF + logistic regression, or multinomial naive Bayes where the
    regression would be slow (``check_model``; ``model`` forces one).

    Each fold's features are what ``TfidfVectorizer(ngram_range=(1, 2), min_df=…, sublinear_tf=True,
    strip_accents="unicode")`` fitted on that fold's train rows gives, but every text is tokenised once, not once per
    fold: the counts of every 1-2-gram in the sample (columns in sorted term order, as the vectorizer sorts them), then
    per fold the columns whose document frequency in the fold's train rows is at least ``min_df`` (the fold's
    vocabulary, still sorted) and IDF weights fitted on those rows. Tokenising was most of the check's time. The
    matrices hold the same terms and values; only the order of a train row's terms in storage can differ from the
    vectorizer's (which follows first appearance in the fold), so sums round differently in the last bits and the
    probabilities agree to about 1e-12 (``tests/test_dataplan.py``): the same flags, ranks and shares on every set
    measured (``bench/bench_profile_labelcheck.py``).

    Many classes over a large vocabulary make the regression slow: 10 s on banking77 (77 classes, 685k weights;
    ``bench/results/label_issues_newton_trial.json``), 54-57 s in a run on 20,000 rows of real text with 85 classes
    (3M weights, the run's memory peak; ``scale_mix_label_check_nb.json``). Beyond ``LOGREG_MAX_WEIGHTS`` the folds
    fit ``MultinomialNB(alpha=NB_ALPHA)`` on the same features instead: 0.4-0.5 and 2 s there, and on copies with 5% of the labels flipped it ranks the flipped rows as well (precision of the top *k*),
    with a few more flags (``bench/bench_label_issues.py``, ``bench/results/label_issues_nb.json``).

    A regression fold whose lbfgs stops where it started (no iteration: every weight zero, every probability 1/K) is
    refitted with the TF-IDF floor's solver and stopping rule (``fit_logreg``: newton-cg, the summed objective's
    gradient). lbfgs tests the *mean* gradient against its tolerance (1e-3); with balanced classes and a class signal
    spread over many rare words that mean is under it at zero, and the check then flagged nothing at chance accuracy
    (every fold on the generated 4-class tickets: ``bench/bench_scale.py --set tickets``, 0 flags at 0.2505 before)."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.naive_bayes import MultinomialNB
    from threadpoolctl import threadpool_limits

    from baseline.adapters import lean_logreg
    from baseline.adapters.trivial import fit_logreg

    arr = np.asarray(texts, dtype=object)
    # integer counts (4 bytes a nonzero, not 8): the TF-IDF weighting turns them into the same float64 values
    counts = CountVectorizer(ngram_range=(1, 2), strip_accents="unicode", dtype=np.int32).fit_transform(arr).tocsr()
    trim_heap()  # the tokeniser's freed pages (its n-gram strings and vocabulary), before the folds allocate
    width = counts.shape[1]
    model = model or check_model(check_vocabulary(counts, folds), n_classes)
    # each fit holds only what it needs: the folds' answers so far (not the whole n × K array), not the fold's counts
    # beside their TF-IDF copy nor its test rows (cut out after the fit), and on the last fold not the counts at all
    answers: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    refitted: list[int] = []
    # one BLAS thread: lbfgs on sparse TF-IDF gains nothing from more, and on a busy machine they cost 50×
    with threadpool_limits(1):
        for fold, (tr, te) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(arr, labels)):
            x_tr = counts[tr]
            doc_freq = np.bincount(x_tr.indices, minlength=width)
            vocab = np.flatnonzero(doc_freq >= (2 if len(tr) >= 2000 else 1))
            tfidf = TfidfTransformer(sublinear_tf=True)
            x_fit = tfidf.fit_transform(x_tr[:, vocab])
            del x_tr
            x_te = None
            if fold == folds - 1:  # the last fold's test rows are cut out first, so the counts go before its fit
                x_te = _fold_rows(counts, te, vocab)
                del counts
            if model == "naive-bayes":
                clf = MultinomialNB(alpha=NB_ALPHA).fit(x_fit, labels[tr])
            else:
                clf = LogisticRegression(C=10.0, max_iter=200, tol=1e-3)
                if len(np.unique(labels[tr])) > 2 and lean_logreg.available():
                    # scikit-learn's lbfgs fit, bit for bit, with one n × K array where it holds two (the check's
                    # peak at 13,300 rows × 50 classes)
                    lean_logreg.fit_lbfgs_multinomial(clf, x_fit, labels[tr])
                else:
                    clf.fit(x_fit, labels[tr])
                if int(np.max(clf.n_iter_)) == 0:   # stopped where it started: refitted to the floor's rule
                    clf, _ = fit_logreg(x_fit, labels[tr], 10.0, None, seed)
                    refitted.append(fold)
            del x_fit
            trim_heap()  # the fit's freed per-row arrays: the next fold's come on fresh pages, not on top of these
            if x_te is None:
                x_te = _fold_rows(counts, te, vocab)
            answers.append((te, clf.classes_, clf.predict_proba(tfidf.transform(x_te))))
    probs = np.zeros((len(texts), n_classes))
    for te, classes, p in answers:
        probs[np.ix_(te, classes)] = p
    return OutOfFold(probs, model, refitted)


def _fold_rows(counts: Any, rows: np.ndarray, vocab: np.ndarray) -> Any:
    """A fold's test rows of the counts, in its vocabulary's columns, indices sorted as the vectorizer's transform
    leaves them."""
    x = counts[rows][:, vocab]
    x.sort_indices()
    return x


def _stratified_sample(labels: pd.Series, size: int, seed: int) -> np.ndarray:
    """Row positions of a seeded sample of ``size`` rows with every label's share kept (rounded), in file order;
    only the sampled rows are ever copied."""
    codes, _ = pd.factorize(labels)
    rng = np.random.default_rng(seed)
    frac = size / len(labels)
    picked = []
    for c in range(int(codes.max()) + 1):
        rows = np.flatnonzero(codes == c)
        k = int(round(len(rows) * frac))
        if k:
            picked.append(rng.choice(rows, size=k, replace=False))
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)


def label_check_rows(train: pd.DataFrame, seed: int = 42) -> tuple[pd.DataFrame, int | None]:
    """The train rows the label check reads, and the size of train when they are a sample: all of train up to
    ``MAX_CHECK_ROWS``, else a seeded stratified sample of that many (only those rows copied)."""
    if len(train) <= MAX_CHECK_ROWS:
        return train, None
    return take_rows(train, _stratified_sample(train["label"], MAX_CHECK_ROWS, seed)), len(train)


def label_check(train: pd.DataFrame, seed: int = 42, run_dir: str | Path | None = None,
                examples: int = EXAMPLES, sampled_from: int | None = None) -> dict[str, Any]:
    """cleanlab label issues on the train split; writes ``label_issues.csv`` into ``run_dir``. ``sampled_from``:
    ``train`` is already ``label_check_rows``' sample of a train split that size."""
    t0 = time.perf_counter()
    why = cleanlab_available()
    if why:
        return {"status": "skipped", "reason": why}
    from cleanlab.filter import find_label_issues  # loaded by cleanlab_available, without Datalab
    from cleanlab.rank import get_label_quality_scores

    if sampled_from is None:
        train, sampled_from = label_check_rows(train, seed)
    counts = train["label"].astype(str).value_counts()
    usable = counts[counts >= 2].index
    rows = train[train["label"].astype(str).isin(usable)].reset_index(drop=True)
    skipped = sorted(set(counts.index) - set(usable))
    if rows.empty or len(usable) < 2:
        return {"status": "skipped", "reason": "fewer than two classes with two or more train rows"}
    classes = sorted(usable)
    code = {c: i for i, c in enumerate(classes)}
    y = rows["label"].astype(str).map(code).to_numpy()
    # a sample of a large train split: 3 folds (each model still sees 2/3 of 20,000 rows), as the check's cost is
    # harness time on every run
    folds = int(min(MAX_FOLDS if sampled_from is None else 3, counts[usable].min()))
    probs, model, refitted = oof_probabilities(rows["text"].astype(str).tolist(), y, len(classes), seed, folds)
    # n_jobs=1: cleanlab otherwise forks a process pool, which can deadlock beside threads (HTTP servers, BLAS)
    try:
        ranked = find_label_issues(labels=y, pred_probs=probs, return_indices_ranked_by="self_confidence", n_jobs=1)
    finally:  # also when it raises after setting them (the check is then reported as failed, the run goes on)
        _drop_cleanlab_globals()
    quality = get_label_quality_scores(y, probs)
    n, k = len(rows), len(ranked)
    suggested = probs.argmax(axis=1)
    flagged = np.zeros(n, dtype=bool)
    flagged[ranked] = True
    per_class = []
    for c in classes:
        mask = y == code[c]
        f = int(flagged[mask].sum())
        if f:
            per_class.append({"label": c, "flagged": f, "rows": int(mask.sum()), "share": f / int(mask.sum())})
    per_class.sort(key=lambda r: (-r["flagged"], -r["share"], r["label"]))
    pairs: dict[tuple[str, str], int] = {}
    for i in ranked:
        key = (classes[y[i]], classes[suggested[i]])
        pairs[key] = pairs.get(key, 0) + 1
    table = pd.DataFrame({
        "rank": np.arange(1, k + 1),
        "id": rows["id"].to_numpy()[ranked] if "id" in rows.columns else ranked,
        "text": rows["text"].astype(str).to_numpy()[ranked],
        "given_label": [classes[y[i]] for i in ranked],
        "suggested_label": [classes[suggested[i]] for i in ranked],
        "label_quality": quality[ranked].round(5),
        "suggested_probability": probs[ranked, suggested[ranked]].round(5),
    })
    file = None
    if run_dir is not None:
        p = Path(run_dir) / "label_issues.csv"
        # one secrets lookup for every text (a lookup scans the environment), not one per text
        table.assign(text=redact_tree(table["text"].tolist())).to_csv(p, index=False)
        file = p.name
    return {
        "status": "ok", "method": f"cleanlab find_label_issues (prune_by_noise_rate) on {folds}-fold out-of-fold "
                                  "probabilities of word 1-2-gram TF-IDF + "
                                  + ("logistic regression" if model == "logreg" else
                                     f"multinomial naive Bayes (alpha {NB_ALPHA}; a logistic regression would fit more "
                                     f"than {LOGREG_MAX_WEIGHTS:,} weights: vocabulary × classes)")
                                  + ", train split only"
                                  + (f"; {len(refitted)} of the {folds} folds refitted with newton-cg to the TF-IDF "
                                     "floor's stopping rule (lbfgs stopped where it started: the mean gradient at "
                                     "zero was already under its tolerance)" if refitted else ""),
        "model": model, "refitted_folds": len(refitted),
        "rows_checked": n, "flagged": k, "share": k / n if n else 0.0, "share_ci": wilson(k, n),
        "classes_skipped": skipped, "folds": folds, "sampled_from": sampled_from,
        "oof_accuracy": float((suggested == y).mean()),
        # what always answering the commonest class scores on the same rows: a model no better than that reads
        # nothing in the texts, and its flags say nothing either way
        "oof_majority": float(np.bincount(y).max() / n) if n else 0.0,
        "classes": per_class[:10],
        "pairs": [{"given": g, "suggested": s, "count": c} for (g, s), c in
                  sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:10]],
        "examples": [{"id": str(r["id"]), "text": redact(r["text"])[:240], "given": r["given_label"],
                      "suggested": r["suggested_label"], "quality": float(r["label_quality"])}
                     for r in table.head(examples).to_dict("records")],
        "file": file, "seconds": time.perf_counter() - t0,
    }


def nearest_train(train_texts: pd.Series, test_texts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """For each test text: cosine similarity to its nearest train text (char 3–5-gram term frequencies), and that row."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    def prep(s: pd.Series) -> pd.Series:  # punctuation to spaces, then lower-case and collapse spacing
        return normalize_texts(s.astype(str).str.replace(r"[^\w\s]", " ", regex=True))

    tr, te = prep(train_texts), prep(test_texts)
    # plain term-frequency cosine (no IDF): a pair's similarity does not depend on the rest of the corpus
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, use_idf=False,
                          dtype=np.float32)
    # every text tokenised once (fitting then transforming tokenised each twice: half the scan's time on sst2); the
    # rows sorted by column, as a transform leaves them, so the products below add up in the same order
    both = vec.fit_transform(pd.concat([tr, te], ignore_index=True)).tocsr()
    both.sort_indices()
    a, b = both[:len(tr)], both[len(tr):]
    del both
    sim = np.zeros(b.shape[0])
    arg = np.zeros(b.shape[0], dtype=np.int64)
    # a block of products is about dense: kept near BLOCK_CELLS test × train cells (20M held 650 MB at the peak on
    # 35.9k rows of real text, 5M 437 MB and ran 18% faster: bench/results/near_duplicates_block_cells.json); each
    # row's products, and so every answer, are the same whatever the block
    step = max(20, min(CHUNK, BLOCK_CELLS // max(1, a.shape[0])))
    for s in range(0, b.shape[0], step):
        block = (b[s:s + step] @ a.T).tocsr()
        sim[s:s + step] = block.max(axis=1).toarray().ravel()
        arg[s:s + step] = np.asarray(block.argmax(axis=1)).ravel()
    return sim, arg


def near_duplicates(train: pd.DataFrame, test: pd.DataFrame, threshold: float = NEAR_DUP_THRESHOLD,
                    examples: int = 5, keys: tuple[np.ndarray, np.ndarray] | None = None,
                    seed: int = 42) -> dict[str, Any]:
    """Test rows that leak from train: exact, normalised, and near-duplicates beyond those.

    ``keys``: the normalised text hashes of train and test (``Split.text_keys``) when already computed. Exact and
    normalised matches are looked up for every test row. The near-duplicate scan compares every test row with
    every train row up to ``SCAN_PAIRS`` pairs; beyond that (up to ``MAX_PAIRS``) a seeded random sample of test rows
    (``scan_rows``), and the near-duplicates' share is then an estimate with its 95% interval.
    """
    t0 = time.perf_counter()
    if train.empty or test.empty:
        return {"status": "skipped", "reason": "empty split"}
    k_train, k_test = keys if keys is not None else (normalized_keys(train["text"]), normalized_keys(test["text"]))
    normalised = pd.Series(k_test).isin(k_train).to_numpy()
    n = len(test)
    m = scan_rows(len(train), n)
    sim, arg = np.zeros(n), np.zeros(n, dtype=np.int64)
    looked = np.zeros(n, dtype=bool)   # the rows the scan compared with train
    partial = 0 < m < n                # a sample of the test rows, not all of them
    if m == n:
        sim, arg = nearest_train(train["text"], test["text"])
        looked[:] = True
    elif m:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=m, replace=False))
        sim[rows], arg[rows] = nearest_train(train["text"], take_rows(test["text"], rows))
        looked[rows] = True
    near = (sim >= threshold) & ~normalised
    leaked = near | normalised
    tr_lab = train["label"]
    order = np.flatnonzero(near)[np.argsort(-sim[near], kind="stable")]
    # spread the examples over the similarity range: the closest and the ones nearest the threshold
    pick = order if len(order) <= examples else order[np.unique(np.linspace(0, len(order) - 1, examples).round().astype(int))]
    # texts read at the few rows shown, not copied whole (and only found by the scan: without it the frames may
    # hold no texts, see ``Split.drop_texts``)
    ex = [{"test": redact(str(test["text"].iloc[i]))[:200], "train": redact(str(train["text"].iloc[arg[i]]))[:200],
           "similarity": round(float(sim[i]), 3), "test_label": str(test["label"].iloc[i]),
           "train_label": str(tr_lab.iloc[arg[i]])} for i in pick]
    # a leaked row's train twin is known where the scan looked (it finds a normalised match too, at similarity 1)
    leaked_rows = np.flatnonzero(leaked & looked)
    same = (test["label"].iloc[leaked_rows].to_numpy(dtype=object)
            == tr_lab.iloc[arg[leaked_rows]].to_numpy(dtype=object)).tolist()
    share, near_share = float(leaked.mean()), float(near.mean())
    sampled: dict[str, Any] = {}
    if partial:   # the near-duplicates' share from the sample; exact and normalised matches counted on every row
        k = int(near.sum())
        share, near_share = float(normalised.mean()) + k / m, k / m
        sampled = {"sampled_rows": m, "near_share_ci": wilson(k, m)}
    out = {"status": "ok", "method": _scan_method(threshold, len(train), n, m), "scanned": bool(m),
           "threshold": threshold, "test_rows": n, "normalised": int(normalised.sum()), "near": int(near.sum()),
           "leaked": int(leaked.sum()), "share": share, "near_share": near_share, **sampled,
           # without the scan the matching train row of a normalised match is not looked up
           "same_label_share": float(np.mean(same)) if same else None,
           "material": bool(share >= MATERIAL_SHARE), "material_share": MATERIAL_SHARE, "examples": ex}
    out["leaked_mask"] = leaked | ~looked if partial else leaked
    out["seconds"] = time.perf_counter() - t0
    return out


def _scan_method(threshold: float, n_train: int, n_test: int, m: int) -> str:
    """What the near-duplicate check did, in a line."""
    what = f"cosine of character 3-5-gram term frequencies after lower-casing, punctuation and spacing ≥ {threshold:g}"
    if m == n_test:
        return what
    if m:
        return (f"{what}, on a seeded sample of {m:,} of the {n_test:,} test rows (every row × {n_train:,} train rows "
                f"is over {SCAN_PAIRS:,} pairs)")
    return (f"near-duplicate scan skipped: {n_test:,} × {n_train:,} pairs is over {MAX_PAIRS:,}; exact and normalised "
            "matches only")


def scan_rows(n_train: int, n_test: int) -> int:
    """How many test rows the near-duplicate scan compares with every train row: all of them up to ``SCAN_PAIRS``
    pairs; beyond, as many as ``SCAN_PAIRS`` allows (at least ``MIN_SCAN_ROWS``); none beyond ``MAX_PAIRS``."""
    if not scans_pairs(n_train, n_test):
        return 0
    if n_train * n_test <= SCAN_PAIRS:
        return n_test
    return min(n_test, max(MIN_SCAN_ROWS, SCAN_PAIRS // max(1, n_train)))


def scans_pairs(n_train: int, n_test: int) -> bool:
    """Whether the near-duplicate scan runs at this size (on every test row or on a sample of them)."""
    return n_train * n_test <= MAX_PAIRS


def without_leaked(results: dict[str, Any], run_dir: str | Path, leaked: np.ndarray) -> list[dict[str, Any]]:
    """The headline metric of every scored candidate on the test rows that do not leak, beside the full figure."""
    from baseline.analysis import label_array, load_predictions, scored_names
    from baseline.tasks import get_task

    task = get_task(results.get("task") or "text-classification")

    df = load_predictions(run_dir)
    if df is None or len(df) != len(leaked):
        return []
    metric = results["settings"]["metric"]
    labels = results["split"]["labels"]
    keep = ~np.asarray(leaked)
    truth = df["label"].astype(str).to_numpy()
    by = {a["name"]: a for a in results.get("adapters", [])}
    out = []
    for name in scored_names(results):
        if name not in df.columns:
            continue
        preds = label_array(df[name])
        clean = task.score(labels, truth[keep].tolist(), preds[keep].tolist())[metric]
        full = by[name]["metrics"][metric]
        out.append({"name": name, "metric": metric, "all_rows": full, "without_leaked": clean,
                    "change": clean - full, "rows": int(keep.sum())})
    return out


def labels_advice(curve: dict[str, Any] | None, decision: dict[str, Any], adapters: list[dict[str, Any]],
                  bar: Any) -> dict[str, Any]:
    """Enough data? At the current slope of the best candidate's curve, the labels that would lift it by the margin,
    and whether a simpler candidate would reach the bar (or the best's figure today) with as many."""
    from baseline.decide import curve_trend, metric_name

    metric, margin = bar.metric, bar.margin
    mname = metric_name(metric)
    if not curve or not curve.get("adapters"):
        return {"status": "no curve", "text": "rerun with --learning-curve to learn whether more labels would help "
                                              "(trainable free candidates are refitted on 10/25/50/100% of train)"}
    trends = {n: t for n, pts in curve["adapters"].items() if (t := curve_trend(pts, metric)) is not None}
    if not trends:
        return {"status": "no curve", "text": "the learning curve has too few scored points to read a slope"}
    # every comparison in "goodness" (the metric itself, or minus it when lower is better); texts print real values
    lower = bool(getattr(bar, "lower_is_better", False))
    up = (lambda x: -x) if lower else (lambda x: x)  # noqa: E731
    limit = getattr(bar, "max_metric", None) if lower else bar.min_metric
    by = {a["name"]: a for a in adapters}
    focus = decision.get("best_passing") or decision.get("choice") or decision.get("nearest_miss")
    name = focus if focus in trends else max(trends, key=lambda n: up(trends[n]["last"][metric]))
    t = trends[name]
    g, last = t["gain_per_doubling"], t["last"]
    gu = up(g)
    n_train = int(last.get("n_train") or 0)
    out: dict[str, Any] = {"status": "ok", "adapter": name, "gain_per_doubling": g, "n_train": n_train,
                           "more_labels": None, "projected": [], "margin": margin}
    flat = 0.001 * (getattr(bar, "scale", None) or 1.0) if lower else 0.001
    if gu < flat:
        out["text"] = (f"{name}'s learning curve is flat ({g:{'+.3g' if lower else '+.3f'}} {mname} per doubling "
                       f"of train): more labels of "
                       f"this kind would not {'lower' if lower else 'lift'} it by the {margin:g} margin")
        return out
    factor = 2 ** (margin / gu)
    more = int(math.ceil(n_train * (factor - 1)))
    out.update(factor=factor, more_labels=more)
    text = (f"at {name}'s current slope ({g:+.3f} {mname} per doubling of train), about {more:,} more labels "
            f"({factor:.1f}× the {n_train:,} now) would {'lower' if lower else 'lift'} it by the {margin:g} margin")
    if limit is not None and up(last[metric]) < up(limit):
        to_bar = 2 ** ((up(limit) - up(last[metric])) / gu)
        out["labels_to_bar"] = int(math.ceil(n_train * (to_bar - 1)))
        text += (f"; to reach the bar {limit:g} from {last[metric]:.3f} it would take about "
                 f"{out['labels_to_bar']:,} more ({to_bar:.1f}×)")
    target = limit if limit is not None else (by.get(name, {}).get("metrics") or {}).get(metric)

    def rank(n: str) -> int:
        return int(by.get(n, {}).get("simplicity", 99))

    def per_1k(n: str) -> float:
        return float((by.get(n, {}).get("cost") or {}).get("per_1k_usd") or 0.0)

    # simpler or cheaper candidates with a curve of their own; the trivial floor (rank 0) is a reference, not an option
    simpler = [n for n in trends if n != name and rank(n) > 0 and (rank(n) < rank(name) or per_1k(n) < per_1k(name))]
    for n in simpler:
        tn = trends[n]
        proj = tn["last"][metric] + (max(tn["gain_per_doubling"], 0.0) if not lower
                                     else min(tn["gain_per_doubling"], 0.0)) * math.log2(factor)
        reach = target is not None and up(proj) >= up(target)
        out["projected"].append({"adapter": n, "now": tn["last"][metric], "projected": proj, "target": target,
                                 "reaches": reach})
    if out["projected"] and target is not None:
        hit = [p for p in out["projected"] if p["reaches"]]
        what = f"the bar {target:g}" if limit is not None else f"{name}'s {mname} today ({target:.3f})"
        if hit:
            text += "; with them the simpler " + ", ".join(f"{p['adapter']} ({p['now']:.3f} → ~{p['projected']:.3f})"
                                                          for p in hit) + f" would reach {what}"
        else:
            best = max(out["projected"], key=lambda p: up(p["projected"]))
            text += (f"; no simpler candidate would reach {what} with them (best: {best['adapter']} "
                     f"{best['now']:.3f} → ~{best['projected']:.3f})")
    out["text"] = text
    return out


def data_plan(split: Any, results: dict[str, Any], run_dir: str | Path, seed: int = 42,
              check_labels: bool = True, label_rows: tuple[pd.DataFrame, int | None] | None = None,
              skip_reason: str = "--no-label-check", near_duplicates_reason: str | None = None) -> dict[str, Any]:
    """Label quality, near-duplicate leakage (with the headline without leaked rows when material), and the
    learning curve's advice; every figure JSON-ready, with the seconds each part took. ``label_rows``: what
    ``label_check_rows`` gave, taken before the split's texts were dropped."""
    out: dict[str, Any] = {}
    if check_labels:
        try:
            rows, sampled_from = label_rows or (split.train, None)
            out["label_quality"] = label_check(rows, seed, run_dir, sampled_from=sampled_from)
        except Exception as ex:  # a failed check is reported, never a failed run
            out["label_quality"] = {"status": "failed", "reason": redact(f"{type(ex).__name__}: {ex}")[:300]}
        trim_heap()  # the check's freed pages, before the leakage figures read predictions.csv
    else:
        out["label_quality"] = {"status": "skipped", "reason": skip_reason}
    if near_duplicates_reason is not None:  # the task says a text scan means nothing here (table rows)
        out["leakage"] = {"status": "not applicable", "reason": near_duplicates_reason}
        return out
    try:
        nd = near_duplicates(split.train, split.test,
                             keys=(split.text_keys("train"), split.text_keys("test")), seed=seed)
        mask = nd.pop("leaked_mask", None)
        if nd.get("material") and mask is not None:
            nd["without_leaked"] = without_leaked(results, run_dir, mask)
        out["leakage"] = nd
    except Exception as ex:
        out["leakage"] = {"status": "failed", "reason": redact(f"{type(ex).__name__}: {ex}")[:300]}
    return out
