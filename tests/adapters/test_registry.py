"""The built-in adapter table and pyproject's entry points name the same classes, and every one imports."""

import tomllib
from pathlib import Path

from baseline.adapters.registry import BUILTIN, Registry

REPO = Path(__file__).resolve().parents[2]


def test_builtin_table_matches_pyproject_entry_points():
    eps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]["baseline.adapters"]
    assert eps == BUILTIN


def test_every_builtin_adapter_imports_under_its_name():
    reg = Registry.discover()
    for name in BUILTIN:
        e = reg.get(name)
        assert e.cls is not None, e.import_error
        assert e.cls.name == name
