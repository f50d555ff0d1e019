"""Error types the CLI maps onto exit codes."""

from __future__ import annotations


class BadInput(Exception):
    """Bad input or configuration: the CLI prints this one line and exits with code 2.

    The message must name the problem and say what to do next; it must never carry a secret.
    """


class AdapterUnavailable(Exception):
    """Raised by an adapter that finds, late, that it cannot run (one-line reason)."""
