"""Pretrained open-source models through Hugging Face, one module per adapter (embeddings, zero-shot, pipeline).

``common`` holds model resolution (hub / local / packaged), the embedding cache and the shared base class.
"""

from baseline.adapters.hf.common import (
    DEFAULT_EMBEDDING_MODEL,
    DEFAULT_NLI_MODEL,
    EmbeddingCache,
    ModelSource,
    cached_snapshot,
    hub_offline,
    hub_reachable,
    packaged_minilm,
    resolve_model,
)
from baseline.adapters.hf.embeddings import HFEmbeddings
from baseline.adapters.hf.pipeline import HFPipeline
from baseline.adapters.hf.zero_shot import HFZeroShot

__all__ = ["DEFAULT_EMBEDDING_MODEL", "DEFAULT_NLI_MODEL", "EmbeddingCache", "HFEmbeddings", "HFPipeline",
           "HFZeroShot", "ModelSource", "cached_snapshot", "hub_offline", "hub_reachable", "packaged_minilm",
           "resolve_model"]
