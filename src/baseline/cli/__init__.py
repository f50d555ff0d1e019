"""The ``baseline`` command line: compare, estimate, adapters, report, history, diff, gate, cleanup."""

from baseline.cli.app import exit_now, main, run
from baseline.cli.exits import (
           EXIT_BAD_INPUT,
           EXIT_FAILED_ADAPTERS,
           EXIT_INCOMPLETE,
           EXIT_INTERRUPTED,
           EXIT_OK,
)
from baseline.cli.options import ray_data_min_rows as _ray_data_min_rows
from baseline.cli.printing import print_leaderboard, print_plan, print_profile

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED_ADAPTERS", "EXIT_INCOMPLETE", "EXIT_INTERRUPTED", "EXIT_OK",
           "_ray_data_min_rows", "exit_now", "main", "print_leaderboard", "print_plan", "print_profile", "run"]
