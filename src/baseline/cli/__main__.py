"""``python -m baseline.cli``: the same as the ``baseline`` command."""

import sys

from baseline.cli.app import main

if __name__ == "__main__":
    sys.exit(main())
