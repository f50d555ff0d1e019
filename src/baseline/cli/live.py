"""Progress on screen while ``compare`` runs: a live display, plain lines for logs, or adapter outcomes only."""

from __future__ import annotations

import argparse
import os
from typing import Any

from baseline.cli.console import escape


class RichProgress:
    """Live progress for the runner's callbacks."""

    def __init__(self, console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console
        self.p = Progress(TextColumn("[bold]{task.fields[adapter]:<26}"), TextColumn("{task.description:<8}"),
                          BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=False)
        self.tasks: dict[str, Any] = {}

    def __enter__(self):
        self.p.__enter__()
        return self

    def __exit__(self, *a):
        self.p.__exit__(*a)

    def stage(self, adapter: str, stage: str, total: int | None = None) -> None:
        if adapter not in self.tasks:
            self.tasks[adapter] = self.p.add_task(stage, adapter=adapter, total=total)
        else:
            self.p.update(self.tasks[adapter], description=stage, total=total, completed=0)

    def advance(self, adapter: str, n: int) -> None:
        if adapter in self.tasks:
            self.p.advance(self.tasks[adapter], n)

    def message(self, text: str) -> None:
        from baseline.redact import redact

        self.p.console.print(f"  {escape(redact(text))}")

    def done(self, result) -> None:
        t = self.tasks.get(result.name)
        style = {"ok": "green", "failed": "red"}.get(result.status, "yellow")
        if t is None:
            t = self.tasks[result.name] = self.p.add_task("", adapter=result.name, total=1)
        self.p.update(t, description=f"[{style}]{result.status}[/]", completed=self.p.tasks[t].total or 1)
        if result.status not in ("ok",):
            self.p.console.print(f"  [{style}]{result.name}: {result.status}[/] — {escape(result.reason)}")


class QuietProgress:
    """No live display: messages and each adapter's outcome, one line each."""

    def __init__(self, console) -> None:
        self.console = console

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return None

    def stage(self, *a, **k) -> None: ...
    def advance(self, *a, **k) -> None: ...

    def message(self, text: str) -> None:
        from baseline.redact import redact

        self.console.print(f"  {escape(redact(text))}")

    def done(self, result) -> None:
        self.console.print(escape(f"  {result.name}: {result.status}" + (f" — {result.reason}" if result.reason else "")))



def progress_display(args: argparse.Namespace, console):
    """What renders progress: outcomes only (``--no-progress``, ``--json``), a live display on a terminal, else
    periodic one-line progress on stderr (stage, done/total, rate, ETA)."""
    if args.no_progress or args.json:
        return QuietProgress
    if console.is_terminal:
        return RichProgress
    from baseline.progress import LineProgress

    interval = float(os.environ.get("BASELINE_PROGRESS_INTERVAL", "10"))
    return lambda console: LineProgress(interval=interval)
