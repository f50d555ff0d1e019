#!/usr/bin/env bash
# Creates the peers' own environment for bench/bench_tabular_peers.py: LazyPredict and PyCaret,
# kept OUT of baseline's dependencies (issue 21, "Side by side with the peers").
# PyCaret 3.3.2 pins scikit-learn<1.5 and pandas<2.2 (and numpy<1.27 via its deps), so it cannot live
# in baseline's own venv (scikit-learn 1.9 / pandas 3); pip resolves the versions it can for Python 3.11.
# Usage: bash bench/peers_env.sh [VENV_DIR]   (default bench/.peers-venv, git-ignored)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${1:-$HERE/.peers-venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# six: scikit-plot 0.3.7 (a PyCaret dependency) imports it without declaring it; without it
# `import pycaret.classification` fails with ModuleNotFoundError: No module named 'six'.
"$VENV/bin/python" -m pip install "pycaret==3.3.2" "lazypredict==0.3.0" six
"$VENV/bin/python" - <<'PY'
import importlib.metadata as md
for name in ("pycaret", "lazypredict", "scikit-learn", "pandas", "numpy", "lightgbm", "xgboost", "catboost"):
    try:
        print(f"{name}=={md.version(name)}")
    except md.PackageNotFoundError:
        print(f"{name}: not installed")
PY
