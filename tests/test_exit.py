"""The command's quick exit: exit handlers run, streams arrive whole, the code is kept, running threads are waited for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    env.pop("PYTHONUNBUFFERED", None)  # buffered streams, as a user's shell has them: what a bare os._exit would lose
    return env


EXITING = """
import atexit, sys, tempfile, threading, time, weakref
from pathlib import Path
from baseline.cli.app import exit_now

out = Path(sys.argv[1])
atexit.register(lambda: (out / "atexit").write_text("ran"))
box = type("Box", (), {})()
weakref.finalize(box, lambda: (out / "finalizer").write_text("ran"))  # run at exit by the finalize machinery
kept = tempfile.TemporaryDirectory()                                  # removed at exit by its finalizer
(out / "tmpdir").write_text(kept.name)
if sys.argv[2] == "thread":
    threading.Thread(target=lambda: (time.sleep(0.5), (out / "thread").write_text("done"))).start()
sys.stdout.write("x" * 200_000)
sys.stdout.write("end")                   # still in the stream's buffer at exit: must be flushed, not dropped
sys.stderr.write("last words")
exit_now(int(sys.argv[3]))
"""


def _run(tmp_path: Path, mode: str, code: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", EXITING, str(tmp_path), mode, str(code)], env=_env(),
                          capture_output=True, text=True, timeout=60)


def test_exit_now_runs_handlers_flushes_and_keeps_the_code(tmp_path):
    p = _run(tmp_path, "plain", 3)
    assert p.returncode == 3
    assert p.stdout == "x" * 200_000 + "end" and p.stderr.endswith("last words")
    assert (tmp_path / "atexit").read_text() == "ran"
    assert (tmp_path / "finalizer").read_text() == "ran"
    assert not Path((tmp_path / "tmpdir").read_text()).exists()


def test_exit_now_waits_for_a_running_thread(tmp_path):
    p = _run(tmp_path, "thread", 0)
    assert p.returncode == 0
    assert (tmp_path / "thread").read_text() == "done"   # os._exit would have killed it mid-sleep
    assert (tmp_path / "atexit").read_text() == "ran"


def test_module_command_exits_with_its_code_and_whole_output(tiny_csv, tmp_path, baseline_home):
    out = tmp_path / "runs"
    p = subprocess.run([sys.executable, "-m", "baseline.cli", "compare", "--data", str(tiny_csv), "--adapters",
                        "majority", "--out", str(out), "--no-progress"], env=_env(), capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    assert "Leaderboard" in p.stdout and "majority" in p.stdout
    (run_dir,) = [d for d in out.iterdir() if d.is_dir()]
    assert json.loads((run_dir / "results.json").read_text())["adapters"][0]["name"] == "majority"
    bad = subprocess.run([sys.executable, "-m", "baseline.cli", "compare", "--data", str(tmp_path / "missing.csv"),
                          "--out", str(out), "--no-progress"], env=_env(), capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.startswith("error:")
