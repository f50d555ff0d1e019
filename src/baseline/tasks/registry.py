"""Where tasks are found: the built-ins, the ``baseline.tasks`` entry-point group, and ``register`` (tests, notebooks)."""

from __future__ import annotations

from importlib.metadata import entry_points

from baseline.errors import BadInput
from baseline.tasks.base import Task

_REGISTERED: dict[str, type[Task]] = {}


def register(cls: type[Task]) -> type[Task]:
    """Make a task available by its name and aliases (usable as a class decorator)."""
    _REGISTERED[cls.name] = cls
    return cls


def _builtins() -> dict[str, type[Task]]:
    from baseline.tasks.multilabel import MultiLabelTextClassification
    from baseline.tasks.tabular import TabularClassification, TabularRegression
    from baseline.tasks.text_classification import TextClassification

    return {c.name: c for c in (TextClassification, MultiLabelTextClassification, TabularClassification,
                                TabularRegression)}


def all_tasks() -> dict[str, type[Task]]:
    """Every known task by name: built-ins, then entry points, then ``register``-ed ones."""
    out = _builtins()
    for ep in entry_points(group="baseline.tasks"):
        try:
            cls = ep.load()
        except Exception:  # a broken plugin must not break the built-in tasks
            continue
        if isinstance(cls, type) and issubclass(cls, Task):
            out[cls.name] = cls
    out.update(_REGISTERED)
    return out


def task_names() -> list[str]:
    return sorted(all_tasks())


def get_task(name: str) -> Task:
    """The task called ``name`` (or one of its aliases); ``BadInput`` naming the known ones otherwise."""
    tasks = all_tasks()
    for cls in tasks.values():
        if name == cls.name or name in cls.aliases:
            return cls()
    raise BadInput(f"unknown task {name!r}; known tasks: {', '.join(sorted(tasks))}")
