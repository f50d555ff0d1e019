"""Tasks: what differs between kinds of problem (single-label text, multi-label text, ...), behind one contract."""

from baseline.tasks.base import Task, TaskInputs, TaskMismatch
from baseline.tasks.registry import all_tasks, get_task, register, task_names

TEXT_CLASSIFICATION = "text-classification"
MULTI_LABEL = "multi-label-text-classification"
TABULAR_CLASSIFICATION = "tabular-classification"
TABULAR_REGRESSION = "tabular-regression"

__all__ = ["MULTI_LABEL", "TABULAR_CLASSIFICATION", "TABULAR_REGRESSION", "TEXT_CLASSIFICATION", "Task", "TaskInputs", "TaskMismatch", "all_tasks", "get_task",
           "register", "task_names"]
