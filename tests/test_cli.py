"""The CLI end to end: demo data, sst2's official split, exit codes, re-render, history, resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from baseline.cli import main


def _run_dir(out: Path) -> Path:
    runs = sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert runs, f"no run folder in {out}"
    return runs[-1]


def test_demo_end_to_end(tmp_path, capsys):
    rc = main(["compare", "--task", "text-classification", "--adapters", "majority,tfidf-logreg",
               "--out", str(tmp_path), "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "Leaderboard" in out and "tfidf-logreg" in out
    run = _run_dir(tmp_path)
    r = json.loads((run / "results.json").read_text())
    assert r["dataset"]["name"] == "feedback" and r["schema_version"]
    assert r["split"]["source"] == "stratified" and len(r["split"]["hash"]) == 64
    m = {a["name"]: a["metrics"] for a in r["adapters"]}
    # the demo data is a realistic problem: the linear baseline beats the floor but is far from perfect
    assert m["majority"]["macro_f1"] < 0.25
    assert 0.45 < m["tfidf-logreg"]["macro_f1"] < 0.9
    tf = next(a for a in r["adapters"] if a["name"] == "tfidf-logreg")
    lat = tf["timing"]["item_latency_ms"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] and lat["mode"] == "single-item requests"
    assert tf["timing"]["throughput_per_s"] > 0 and tf["timing"]["warmup_excluded"]
    assert tf["cost"]["per_1k_usd"] > 0 and "local.cpu" in tf["cost"]["pricing"]
    assert r["decision"]["verdict"] in {"ADOPT", "TOO CLOSE TO CALL", "PIVOT"}
    preds = pd.read_csv(run / "predictions.csv", keep_default_na=False)
    assert len(preds) == r["split"]["rows"]["test"]
    assert {"id", "text", "label", "majority", "tfidf-logreg", "tfidf-logreg:score"} <= set(preds.columns)
    acc = (preds["tfidf-logreg"] == preds["label"]).mean()
    assert acc == pytest.approx(m["tfidf-logreg"]["accuracy"])
    assert (run / "report.md").read_text().startswith("# baseline report")


def test_sst2_official_split(sst2_path, tmp_path, capsys):
    rc = main(["compare", "--data", str(sst2_path), "--adapters", "majority,tfidf-logreg", "--out", str(tmp_path),
               "--json", "--latency-probe", "20"])
    assert rc == 0
    r = json.loads(capsys.readouterr().out)
    assert r["split"]["source"] == "file" and r["split"]["rows"] == {"train": 6920, "test": 1821, "validation": 872}
    assert r["profile"]["test_texts_in_train"] == 2  # the dataset card says 2 test texts also occur in train
    m = {a["name"]: a["metrics"] for a in r["adapters"]}
    assert 0.78 < m["tfidf-logreg"]["accuracy"] < 0.85
    cmp = next(a for a in r["adapters"] if a["name"] == "majority")["comparison"]
    assert cmp["against"] == "tfidf-logreg" and cmp["ci"][1] < 0 and cmp["mcnemar_p"] < 1e-10
    assert r["best"] == "tfidf-logreg" and r["decision"]["choice"] == "tfidf-logreg"


def test_failing_adapter_recorded_others_finish_exit_1(tiny_csv, tmp_path, capsys):
    cfg = tmp_path / "baseline.toml"
    cfg.write_text('[adapters.tfidf-logreg]\nmin_df = 1000\n')  # well-formed, but fails at fit time
    rc = main(["compare", "--data", str(tiny_csv), "--adapters", "majority,tfidf-logreg", "--config", str(cfg),
               "--out", str(tmp_path / "r"), "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 1
    r = json.loads((_run_dir(tmp_path / "r") / "results.json").read_text())
    st = {a["name"]: a for a in r["adapters"]}
    assert st["tfidf-logreg"]["status"] == "failed" and "ValueError" in st["tfidf-logreg"]["reason"]
    assert st["majority"]["status"] == "ok" and st["majority"]["metrics"]
    assert r["failed"] == ["tfidf-logreg"]
    assert "failed" in out


def test_report_rerenders_without_running(tiny_csv, tmp_path, capsys):
    assert main(["compare", "--data", str(tiny_csv), "--adapters", "majority,tfidf-logreg", "--out", str(tmp_path),
                 "--no-progress"]) == 0
    run = _run_dir(tmp_path)
    before = (run / "report.md").read_text()
    (run / "report.md").unlink()
    shutil.rmtree(run / "adapters")  # nothing to rerun from: the report must come from results.json alone
    assert main(["report", str(run)]) == 0
    assert (run / "report.md").read_text() == before


def test_report_on_non_run_folder_is_bad_input(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no results.json" in capsys.readouterr().err


def test_history_lists_runs(tiny_csv, tmp_path, capsys):
    for _ in range(2):
        assert main(["compare", "--data", str(tiny_csv), "--adapters", "majority", "--out", str(tmp_path),
                     "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["history", "--out", str(tmp_path), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert len(runs) == 2 and all(r["dataset"] == "tiny" and r["status"] == "ok" for r in runs)
    assert runs[0]["split_hash"] == runs[1]["split_hash"]
    second = json.loads((Path(runs[0]["run_dir"]) / "results.json").read_text())
    assert second["previous_run"]["run_id"] == runs[1]["run_id"]


def test_history_without_runs_is_bad_input(tmp_path, capsys):
    assert main(["history", "--out", str(tmp_path)]) == 2


def test_resume_keeps_finished_adapters(tiny_csv, tmp_path, capsys):
    assert main(["compare", "--data", str(tiny_csv), "--adapters", "majority,tfidf-logreg", "--out", str(tmp_path),
                 "--no-progress"]) == 0
    run = _run_dir(tmp_path)
    # simulate an interruption after majority finished: tfidf-logreg's result and the summary are missing
    shutil.rmtree(run / "adapters" / "tfidf-logreg")
    (run / "results.json").unlink()
    majority_before = json.loads((run / "adapters" / "majority" / "result.json").read_text())
    assert main(["compare", "--data", str(tiny_csv), "--adapters", "majority,tfidf-logreg", "--out", str(tmp_path),
                 "--resume", str(run), "--no-progress"]) == 0
    r = json.loads((run / "results.json").read_text())
    st = {a["name"]: a for a in r["adapters"]}
    assert st["tfidf-logreg"]["status"] == "ok"
    assert any("resumed" in n for n in st["majority"]["notes"])
    assert st["majority"]["timing"] == majority_before["timing"]


def test_resume_with_other_split_is_bad_input(tiny_csv, tmp_path, capsys):
    assert main(["compare", "--data", str(tiny_csv), "--adapters", "majority", "--out", str(tmp_path),
                 "--no-progress"]) == 0
    run = _run_dir(tmp_path)
    rc = main(["compare", "--data", str(tiny_csv), "--adapters", "majority", "--out", str(tmp_path),
               "--seed", "99", "--resume", str(run), "--no-progress"])
    assert rc == 2 and "split hash differs" in capsys.readouterr().err


def test_adapters_lists_families_and_reasons(capsys):
    assert main(["adapters", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["majority"]["family"] == "trivial" and rows["majority"]["available"]
    assert rows["tfidf-logreg"]["available"]
    assert all(r["available"] or r["reason"] for r in rows.values())


def test_ray_data_options_are_checked_before_anything_runs(tiny_csv, tmp_path, capsys):
    from baseline.cli import _ray_data_min_rows

    assert _ray_data_min_rows("off") is None and _ray_data_min_rows("0") == 0 and _ray_data_min_rows(20_000) == 20_000
    for bad, what in ((["--ray-data-min-rows", "-5"], "ray_data_min_rows"), (["--ray-data-min-rows", "lots"], "ray_data_min_rows"),
                      (["--ray-data-actors", "0"], "ray_data_actors")):
        rc = main(["compare", "--data", str(tiny_csv), "--adapters", "majority", "--out", str(tmp_path / "o"),
                   "--no-progress", "--executor", "ray", *bad])
        assert rc == 2 and what in capsys.readouterr().err
        assert not (tmp_path / "o").exists() or not any(p.is_dir() for p in (tmp_path / "o").iterdir())


@pytest.mark.parametrize("chosen", [None, "mimalloc"])
def test_the_cli_runs_arrow_on_the_c_heap_unless_the_user_chose_a_pool(chosen):
    """mimalloc (pyarrow's default) keeps freed pages in the CSV reader threads' heaps, out of reach of the release
    between stages; the CLI's Arrow allocates from the C heap instead, which is trimmed. A pool the user chose is
    kept. Checked in a fresh interpreter: Arrow reads the choice when pyarrow is first imported."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    code = ("from baseline.cli.app import main\nmain(['adapters'])\nimport pyarrow as pa\n"
            "print('pool', pa.default_memory_pool().backend_name)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == f"pool {chosen or 'system'}"


_COUNT_ARENAS = """
import ctypes, sys
from baseline.cli.app import main
main(['adapters'])
import pyarrow.csv as pcsv
path = sys.argv[1]
with pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=1 << 16)) as reader:
    table = reader.read_all()
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype = ctypes.c_void_p
info = sys.argv[2]
fp = libc.fopen(info.encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(fp))
libc.fclose(ctypes.c_void_p(fp))
print("rows", table.num_rows, "arenas", open(info).read().count("<heap nr="))
"""


@pytest.mark.skipif(__import__("platform").libc_ver()[0] != "glibc", reason="glibc's arenas")
@pytest.mark.parametrize("chosen", [None, "8"])
def test_the_cli_allocates_from_one_c_heap_arena_unless_the_user_set_the_count(tmp_path, chosen):
    """glibc gives each thread that allocates under contention an arena of its own; Arrow's CSV reader threads then
    fault in and unmap heaps of their own block after block. The CLI keeps every thread on the main arena; a count
    the user set (``MALLOC_ARENA_MAX``) is kept. A fresh interpreter runs ``main``, reads a CSV with Arrow's threads
    in 64 kB blocks, and counts the arenas glibc reports (``malloc_info``)."""
    import os
    import subprocess
    import sys

    data = tmp_path / "t.csv"
    with open(data, "w", encoding="utf-8") as f:
        f.write("text,label\n")
        for i in range(60_000):
            f.write(f"row {i} says something about item {i % 977} and more words here,{'ab'[i % 2]}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("MALLOC_ARENA_MAX", "GLIBC_TUNABLES")}
    env["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    if chosen:
        env["MALLOC_ARENA_MAX"] = chosen
    out = subprocess.run([sys.executable, "-c", _COUNT_ARENAS, str(data), str(tmp_path / "malloc_info.xml")],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    rows, arenas = out.stdout.split()[-3], int(out.stdout.split()[-1])
    assert rows == "60000"
    if chosen:
        assert arenas > 1      # the user's count, and the threads did allocate under contention
    else:
        assert arenas == 1
