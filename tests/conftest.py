"""Shared fixtures: small datasets written to tmp, the shared benchmark data when present."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

# A runner that starts pytest as a background job of a non-interactive shell (`cmd &`) hands it SIGINT ignored, and
# Python keeps an inherited SIG_IGN: the Ctrl-C tests (``_thread.interrupt_main``, or SIGINT sent to a child, which
# inherits it too) would then see nothing. Python's own handler, as a terminal would have it, for the whole session.
signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "datasets"


@pytest.fixture(scope="session", autouse=True)
def _session_baseline_home(tmp_path_factory: pytest.TempPathFactory):
    """A home for module- and session-scoped fixtures, which run before the per-test one below."""
    mp = pytest.MonkeyPatch()
    mp.setenv("BASELINE_HOME", str(tmp_path_factory.mktemp("baseline-home-session")))
    yield
    mp.undo()


@pytest.fixture(autouse=True)
def baseline_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own per-user home (history + response cache): never the real one."""
    home = tmp_path_factory.mktemp("baseline-home")
    monkeypatch.setenv("BASELINE_HOME", str(home))
    return home


def shared_dataset(name: str) -> Path:
    """Path to a dataset in ../shared/datasets, or skip: a fresh clone has no ../shared."""
    p = SHARED_DATA / name / f"{name}.csv"
    if not p.exists():
        pytest.skip(f"../shared/datasets/{name} not found (only CI and the dev machines have ../shared)")
    return p


@pytest.fixture
def sst2_path() -> Path:
    return shared_dataset("sst2")


@pytest.fixture
def sst2_slice(tmp_path: Path) -> Path:
    """A small sst2 file with its official split column: 800 train, 300 test rows."""
    import pandas as pd

    df = pd.read_csv(shared_dataset("sst2"))
    tr = df[df.split == "train"].sample(800, random_state=0)
    te = df[df.split == "test"].sample(300, random_state=0)
    p = tmp_path / "sst2_slice.csv"
    pd.concat([tr, te]).to_csv(p, index=False)
    return p


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    """A 60-row three-class dataset with no split column."""
    import pandas as pd

    rows = []
    words = {"positive": ["love", "great", "excellent", "happy", "superb"],
             "negative": ["awful", "broken", "refund", "angry", "terrible"],
             "neutral": ["question", "address", "tuesday", "invoice", "delivery"]}
    for lab, ws in words.items():
        for i in range(20):
            rows.append({"text": f"{ws[i % 5]} {ws[(i + 2) % 5]} item {i} {lab[:2]}", "label": lab})
    p = tmp_path / "tiny.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    return p
