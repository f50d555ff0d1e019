"""AutoML adapters: FLAML over text features (``flaml``)."""

from baseline.adapters.automl.flaml import (
    DEFAULT_ESTIMATORS,
    SEARCH_LOG,
    FlamlAdapter,
    weighted_f1_metric,
)

__all__ = ["DEFAULT_ESTIMATORS", "SEARCH_LOG", "FlamlAdapter", "weighted_f1_metric"]
