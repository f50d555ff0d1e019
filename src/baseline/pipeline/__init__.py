"""``compare`` as a library call: load → split → profile → run → score → decide → render + store."""

from baseline.pipeline.candidates import adapter_seconds, estimate_adapters
from baseline.pipeline.flow import compare
from baseline.pipeline.history import compare_with_previous
from baseline.pipeline.inputs import (
           CompareRequest,
           QuietTaskProgress,
           load_for_task,
           resolve_metric,
)
from baseline.pipeline.memory import release_memory
from baseline.pipeline.results import PACKAGES, add_business_and_data_plan, provenance
from baseline.pipeline.run_folder import new_run_dir, write_csv, write_predictions
from baseline.pipeline.scoring import score_results

__all__ = ["PACKAGES", "CompareRequest", "QuietTaskProgress", "adapter_seconds", "add_business_and_data_plan",
           "compare", "compare_with_previous", "estimate_adapters", "load_for_task", "new_run_dir", "provenance",
           "release_memory", "resolve_metric", "score_results", "write_csv", "write_predictions"]
