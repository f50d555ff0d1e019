"""Which accelerator a local model runs on: ``--device auto`` resolved to cuda, mps or cpu."""

from __future__ import annotations


def resolve_device(device: str) -> str:
    """``auto`` → cuda, then mps, then cpu (only probes torch if it is installed)."""
    if device != "auto":
        return device
    try:
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            return "cpu"
        import torch

        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
    except Exception:
        pass
    return "cpu"
