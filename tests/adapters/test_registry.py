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


def test_credentials_in_baseline_toml_are_refused_by_every_paid_adapter_that_declares_its_source():
    """One rule in the adapter contract: a key written into baseline.toml is unavailable / bad input."""
    import pytest

    from baseline.adapters.registry import Registry
    from baseline.errors import BadInput

    reg = Registry.discover()
    declaring = [n for n in reg.names() if reg.get(n).cls is not None and reg.get(n).cls.credentials_from]
    assert {"azure-language-sentiment", "gcp-language-sentiment"} <= set(declaring)
    for n in declaring:
        cls = reg.get(n).cls
        with pytest.raises(BadInput, match=r"option 'api_key' in baseline.toml is not used"):
            cls.check_options({"api_key": "abc123"})
        av = cls.availability("text-classification", {"token": "abc123"})
        assert not av.ok and "'token' in baseline.toml is not used" in av.reason, (n, av.reason)
