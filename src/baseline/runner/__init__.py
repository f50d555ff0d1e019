"""Run adapters on the frozen split: availability → estimate → budget gate → fit → predict → teardown."""

from baseline.devices import resolve_device
from baseline.runner.finish import price as _price
from baseline.runner.latency import UNSTABLE_P95_SPREAD, percentiles
from baseline.runner.lifecycle import run_adapter
from baseline.runner.local import run_all
from baseline.runner.local import thread_cap as _thread_cap
from baseline.runner.predict import split_batches as _batches
from baseline.runner.results import (
    NOT_SENT_BUDGET,
    SCORED,
    STATUS_FAILED,
    STATUS_INCOMPLETE,
    STATUS_OK,
    STATUS_SKIPPED,
    STATUS_STOPPED,
    STATUS_UNAVAILABLE,
    AdapterResult,
    Budget,
    Progress,
    RunOptions,
    load_result,
    load_saved_result,
    resume_note,
    save_result,
    show_phase,
    unanswered_summary,
)
from baseline.runner.results import empty_result as _empty_result
from baseline.runner.stream import BatchStream, load_and_fit, train_inputs

__all__ = ["NOT_SENT_BUDGET", "SCORED", "STATUS_FAILED", "STATUS_INCOMPLETE", "STATUS_OK", "STATUS_SKIPPED",
           "STATUS_STOPPED", "STATUS_UNAVAILABLE", "UNSTABLE_P95_SPREAD", "AdapterResult", "BatchStream", "Budget",
           "Progress", "RunOptions", "_batches", "_empty_result", "_price", "_thread_cap", "load_and_fit",
           "load_result", "load_saved_result", "percentiles", "resolve_device", "resume_note", "run_adapter", "run_all",
           "save_result", "show_phase", "train_inputs", "unanswered_summary"]
