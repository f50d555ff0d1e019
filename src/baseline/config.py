"""``baseline.toml``: adapters, label maps, prices and the bar. CLI flags override it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from baseline.errors import BadInput

DEFAULT_NAME = "baseline.toml"


def load_config(path: str | Path | None) -> dict[str, Any]:
    """Read the config file; an explicit path must exist, the default one is optional."""
    if path is None:
        p = Path(DEFAULT_NAME)
        if not p.exists():
            return {}
    else:
        p = Path(path)
        if not p.exists():
            raise BadInput(f"config file {str(p)!r} does not exist: check --config")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"{p}: not valid TOML ({e}); fix the file") from e
    except UnicodeDecodeError as e:
        raise BadInput(f"{p}: not valid UTF-8; re-save the config as UTF-8") from e


def pick(flag: Any, cfg: dict[str, Any], key: str, default: Any = None) -> Any:
    """Flag value if given, else the config's, else the default."""
    if flag is not None:
        return flag
    return cfg.get(key, default)
