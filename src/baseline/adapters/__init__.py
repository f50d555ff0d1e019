"""Adapters: one module per family, registered through the ``baseline.adapters`` entry points."""

from baseline.adapters.base import (
    Adapter,
    AdapterContext,
    Availability,
    BatchResult,
    Cost,
    FitInfo,
)

__all__ = ["Adapter", "AdapterContext", "Availability", "BatchResult", "Cost", "FitInfo"]
