"""The per-user home, concurrent history/cache writers, interrupted runs, option schemas, --out checks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from baseline.adapters.base import Opt, validate_options
from baseline.adapters.registry import Registry
from baseline.cli import main
from baseline.errors import BadInput
from baseline.home import resolve_home
from baseline.store import ResponseCache, Store

REPO = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    return env


# ---- where the home is ----------------------------------------------------------------------------

def test_home_flag_then_env_then_platform(monkeypatch, tmp_path):
    monkeypatch.setenv("BASELINE_HOME", str(tmp_path / "env-home"))
    assert resolve_home(str(tmp_path / "flag")).history_path == tmp_path / "flag" / "history.sqlite3"
    h = resolve_home()
    assert h.source == "BASELINE_HOME" and h.response_cache_path == tmp_path / "env-home" / "cache" / "responses.sqlite3"
    monkeypatch.delenv("BASELINE_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    h = resolve_home()
    if sys.platform.startswith("linux"):
        assert h.data_dir == tmp_path / "data" / "baseline" and h.cache_dir == tmp_path / "cache" / "baseline"
    assert h.source == "platform default"


def test_tests_never_use_the_real_home(baseline_home):
    assert resolve_home().data_dir == baseline_home


def test_history_and_cache_live_in_the_home_and_work_from_anywhere(tiny_csv, tmp_path, monkeypatch, capsys,
                                                                   baseline_home):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["compare", "--data", str(tiny_csv), "--adapters", "majority", "--out", str(a), "--no-progress"]) == 0
    assert main(["compare", "--data", str(tiny_csv), "--adapters", "majority", "--out", str(b), "--no-progress"]) == 0
    assert not list(a.rglob("*.sqlite3")) and (baseline_home / "history.sqlite3").exists()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["history", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert len(runs) == 2 and {Path(r["run_dir"]).parent for r in runs} == {a.resolve(), b.resolve()}
    assert main(["history", "--out", str(a), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    # --home points elsewhere: an empty home has no history
    assert main(["history", "--home", str(tmp_path / "other-home")]) == 2
    assert "no run history" in capsys.readouterr().err


# ---- concurrency: two processes writing at once ---------------------------------------------------

WRITER = textwrap.dedent("""
    import sys
    from baseline.store import ResponseCache, Store
    home, tag = sys.argv[1], sys.argv[2]
    s = Store(home + "/history.sqlite3")
    c = ResponseCache(home + "/cache/responses.sqlite3")
    for i in range(150):
        s.record_run({"run_id": f"{tag}-{i}", "started": f"2026-01-01T00:00:{i % 60:02d}", "finished": None,
                      "dataset": "d", "data_sha256": "x", "split_hash": "y", "adapters": ["a"], "best": None,
                      "verdict": None, "status": "ok", "run_dir": "/tmp/x"})
        c.put_many("a", "id", [(f"{tag}-{i}-{j}", {"label": "x"}, 0.001, {"u": 1.0}) for j in range(5)])
    s.close(); c.close()
""")


def test_two_processes_write_history_and_cache_at_once(baseline_home):
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(baseline_home), tag], env=_env(),
                              stderr=subprocess.PIPE, text=True) for tag in ("p1", "p2")]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    s = Store(baseline_home / "history.sqlite3")
    c = ResponseCache(baseline_home / "cache" / "responses.sqlite3")
    try:
        assert len(s.runs(limit=1000)) == 300 and c.count() == 1500
        assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000
    finally:
        s.close()
        c.close()


# ---- interrupted runs -----------------------------------------------------------------------------

def test_a_running_row_whose_process_is_gone_reads_interrupted(baseline_home):
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    s = Store(baseline_home / "history.sqlite3")
    row = {"run_id": "r1", "started": "2026-01-01", "finished": None, "dataset": "d", "data_sha256": "x",
           "split_hash": "y", "adapters": [], "best": None, "verdict": None, "status": "running", "run_dir": "/x"}
    s.record_run({**row, "pid": p.pid})
    s.record_run({**row, "run_id": "r2", "started": "2026-01-02"})  # this process: alive
    try:
        st = {r["run_id"]: r["status"] for r in s.runs()}
        assert st == {"r1": "interrupted", "r2": "running"}
        assert s.mark_interrupted(os.getpid()) == "r2" and s.runs()[0]["status"] == "interrupted"
    finally:
        s.close()


SLOW_ADAPTER = textwrap.dedent("""
    import sys, time
    from baseline.adapters.base import Adapter, BatchResult
    from baseline.adapters.registry import Registry
    import baseline.adapters.registry as reg

    class Slow(Adapter):
        name = "slow"
        option_schema = {}
        def predict_batch(self, texts):
            print("PREDICTING", flush=True)
            time.sleep(0.5)
            return BatchResult(labels=["positive"] * len(texts))
        def teardown(self):
            print("TEARDOWN", flush=True)

    real = Registry.discover
    def discover():
        r = real()
        r.add(Slow)
        return r
    Registry.discover = staticmethod(discover)
    from baseline.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def test_sigterm_marks_the_run_interrupted_and_tears_down(tiny_csv, tmp_path, baseline_home):
    """SIGTERM (timeout, docker stop, CI cancel) takes the Ctrl-C path: teardown, history says interrupted."""
    proc = subprocess.Popen([sys.executable, "-c", SLOW_ADAPTER, "compare", "--data", str(tiny_csv), "--adapters",
                             "slow", "--out", str(tmp_path / "r"), "--no-progress"], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = ""
    t0 = time.monotonic()
    while "PREDICTING" not in line and time.monotonic() - t0 < 60:
        line = proc.stdout.readline()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "TEARDOWN" in out and "interrupted (SIGTERM)" in out and "--resume" in out
    s = Store(baseline_home / "history.sqlite3")
    try:
        assert [r["status"] for r in s.runs()] == ["interrupted"]
    finally:
        s.close()


def test_resume_of_a_run_still_running_is_refused(tiny_csv, tmp_path, capsys, baseline_home):
    assert main(["compare", "--data", str(tiny_csv), "--adapters", "majority", "--out", str(tmp_path / "r"),
                 "--no-progress"]) == 0
    run = next(p for p in (tmp_path / "r").iterdir() if p.is_dir())
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        s = Store(baseline_home / "history.sqlite3")
        s.set_status(run.name, "running")
        s.db.execute("UPDATE runs SET pid = ? WHERE run_id = ?", (alive.pid, run.name))
        s.db.commit()
        s.close()
        rc = main(["compare", "--data", str(tiny_csv), "--adapters", "majority", "--resume", str(run), "--no-progress"])
        assert rc == 2 and "still running" in capsys.readouterr().err
    finally:
        alive.kill()
        alive.wait()


# ---- option schemas: every adapter, before anything runs ------------------------------------------

ALL = sorted(Registry.discover().entries)


@pytest.mark.parametrize("name", ALL)
def test_unknown_option_is_bad_input_for_every_adapter(name, tiny_csv, tmp_path, capsys):
    cls = Registry.discover().get(name).cls
    if cls is None:
        pytest.skip(f"{name} does not import here")
    assert cls.option_schema is not None, f"{name} declares no option schema"
    cfg = tmp_path / "baseline.toml"
    cfg.write_text(f"[adapters.{name}]\nno_such_key = 1\n")
    out = tmp_path / "r"
    rc = main(["compare", "--data", str(tiny_csv), "--adapters", "majority", "--config", str(cfg), "--out", str(out),
               "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err and "Traceback" not in err
    assert f"[adapters.{name}]" in err and "'no_such_key'" in err and "allowed keys:" in err
    assert not out.exists() or not any(out.iterdir())  # nothing ran
    assert main(["estimate", "--data", str(tiny_csv), "--config", str(cfg)]) == 2


@pytest.mark.parametrize("name, key, value, expect", [
    ("tfidf-logreg", "C", '"abc"', "C must be a number > 0 or 'cv'"),
    ("tfidf-logreg", "ngram_max", '"two"', "ngram_max must be a whole number >= 1"),
    ("majority", "C", "1", "unknown option 'C'"),
    ("hf-embeddings", "Cs", '["x"]', "Cs must be a list of numbers > 0"),
    ("hf-zero-shot", "multi_label", '"yes"', "multi_label must be true or false"),
    ("flaml", "selection_folds", "1", "selection_folds must be a whole number >= 2 and <= 10"),
    ("aws-comprehend-sentiment", "max_attempts", "0", "max_attempts must be a whole number >= 1"),
    ("aws-comprehend-custom", "mode", '"batch"', "mode must be one of 'endpoint', 'async'"),
    ("bedrock-llm", "temperature", '"hot"', "temperature must be a number >= 0"),
    ("azure-language-sentiment", "batch_size", "11", "batch_size must be a whole number >= 1 and <= 10"),
    ("azure-language-custom", "polling_interval", '"soon"', "polling_interval must be a number >= 0"),
    ("azure-language-sentiment", "key", '"abc123"', "keys are read only from the AZURE_LANGUAGE_KEY"),
])
def test_bad_option_value_is_one_line_exit_2(name, key, value, expect, tiny_csv, tmp_path, capsys):
    cfg = tmp_path / "baseline.toml"
    cfg.write_text(f"[adapters.{name}]\n{key} = {value}\n")
    rc = main(["compare", "--data", str(tiny_csv), "--adapters", "majority", "--config", str(cfg),
               "--out", str(tmp_path / "r"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and expect in err and f"[adapters.{name}]" in err and "\n" not in err


def test_unknown_adapter_section_is_bad_input(tiny_csv, tmp_path, capsys):
    cfg = tmp_path / "baseline.toml"
    cfg.write_text("[adapters.tfidf-logregg]\nC = 1.0\n")
    assert main(["compare", "--data", str(tiny_csv), "--adapters", "majority", "--config", str(cfg),
                 "--out", str(tmp_path / "r"), "--no-progress"]) == 2
    assert "[adapters.tfidf-logregg] names no adapter" in capsys.readouterr().err


def test_validate_options_shapes():
    schema = {"n": Opt("int", lo=1), "x": Opt("float", lo=0, lo_open=True, choices=("cv",)), "s": Opt("list")}
    validate_options("t", schema, {"n": 3, "x": "cv", "s": ["a"]})
    validate_options("t", schema, {"x": 0.5})
    validate_options("plugin", None, {"anything": object()})  # undeclared: unchecked
    for bad in ({"n": True}, {"n": 1.5}, {"n": 0}, {"x": 0}, {"x": float("nan")}, {"s": "a"}, {"zz": 1}):
        with pytest.raises(BadInput, match=r"^\[adapters\.t\] .*allowed keys: n, s, x$"):
            validate_options("t", schema, bad)


# ---- --out --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["file", "under-a-file", "unwritable"])
def test_out_that_cannot_hold_runs_is_one_line_exit_2(kind, tiny_csv, tmp_path, capsys):
    f = tmp_path / "not-a-folder.txt"
    f.write_text("x")
    out = {"file": f, "under-a-file": f / "sub", "unwritable": Path("/proc/baseline-test-out")}[kind]
    rc = main(["compare", "--data", str(tiny_csv), "--adapters", "majority", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: --out") and "\n" not in err and "Traceback" not in err
