"""``python -m baseline.cli``: the same as the ``baseline`` command."""

from baseline.cli.app import run

if __name__ == "__main__":
    run()
