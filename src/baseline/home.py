"""The per-user home for the response cache and the run history, independent of ``--out``.

Resolution order: the ``--home`` flag, the ``BASELINE_HOME`` environment variable, then the
platform's conventions:

- Linux and other Unix: cache in ``$XDG_CACHE_HOME/baseline`` (``~/.cache/baseline``), history in
  ``$XDG_DATA_HOME/baseline`` (``~/.local/share/baseline``);
- macOS: ``~/Library/Caches/baseline`` and ``~/Library/Application Support/baseline``;
- Windows: ``%LOCALAPPDATA%\\baseline\\Cache`` and ``%LOCALAPPDATA%\\baseline``.

With ``--home``/``BASELINE_HOME`` both live under that one folder (``cache/`` and the folder itself).
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from baseline.errors import BadInput

ENV = "BASELINE_HOME"
APP = "baseline"


@dataclass(frozen=True)
class Home:
    """Where the response cache (``cache_dir``) and the run history (``data_dir``) live."""

    data_dir: Path
    cache_dir: Path
    source: str  # "--home", "BASELINE_HOME" or "platform default"

    @property
    def history_path(self) -> Path:
        return self.data_dir / "history.sqlite3"

    @property
    def response_cache_path(self) -> Path:
        return self.cache_dir / "responses.sqlite3"

    @property
    def models_dir(self) -> Path:
        """Derived caches (embeddings, fitted models) that may be rebuilt at any time."""
        return self.cache_dir / "models"

    def ensure(self) -> Home:
        """Create both folders; a home that cannot be written is bad input (one line)."""
        for d in (self.data_dir, self.cache_dir):
            _writable_dir(d, f"baseline home ({self.source})")
        return self


def _platform_dirs() -> tuple[Path, Path]:
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / APP, home / "Library" / "Caches" / APP
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / APP
        return base, base / "Cache"
    data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share") / APP
    cache = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / APP
    return data, cache


def resolve_home(flag: str | os.PathLike[str] | None = None) -> Home:
    """The home for this process: ``--home``, then ``BASELINE_HOME``, then the platform default."""
    if flag:
        root = Path(flag).expanduser()
        return Home(root, root / "cache", "--home")
    env = os.environ.get(ENV)
    if env:
        root = Path(env).expanduser()
        return Home(root, root / "cache", ENV)
    data, cache = _platform_dirs()
    return Home(data, cache, "platform default")


def _writable_dir(path: Path, what: str) -> Path:
    """Create ``path`` if needed and check it is a folder we can write; else ``BadInput``."""
    if path.exists() and not path.is_dir():
        raise BadInput(f"{what}: {path} is a file, not a folder; pass a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"{what}: cannot create {path} ({e.strerror or type(e).__name__}); pass a writable folder") from None
    try:  # a real write: os.access says yes to root even on a read-only mount
        with tempfile.NamedTemporaryFile(dir=path, prefix=".baseline-probe-"):
            pass
    except OSError as e:
        raise BadInput(f"{what}: {path} is not writable ({e.strerror or type(e).__name__}); "
                       "pass a writable folder") from None
    return path


def writable_out(path: str | os.PathLike[str], flag: str = "--out") -> Path:
    """Validate an output folder before anything runs (exit 2 with one line, never a traceback)."""
    return _writable_dir(Path(path), flag)
