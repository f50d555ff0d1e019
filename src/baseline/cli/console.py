"""The terminal a command writes to: a rich console sized for logs too, and markup escaping for free text."""

from __future__ import annotations

import os


def escape(text: str) -> str:
    """Rich markup escaping for text that may hold brackets (reasons, config keys)."""
    from rich.markup import escape as _escape

    return _escape(str(text))


def console(stderr: bool = False):
    """A rich console on stdout (or stderr); piped or logged, wide enough that tables are not squeezed."""
    from rich.console import Console

    c = Console(stderr=stderr, highlight=False)
    if not c.is_terminal and "COLUMNS" not in os.environ:  # piped or logged: don't squeeze tables to 80 columns
        c = Console(stderr=stderr, highlight=False, width=180)
    return c
