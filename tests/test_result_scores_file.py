"""Per-item class scores of a large run go to adapters/<name>/scores.<token>.npy: read back exactly, small or
irregular results stay JSON, a save that fails midway leaves the previous result whole, and a resumed run reads the
file as it read the JSON."""

from __future__ import annotations

import json
import shutil

import numpy as np

import baseline.runner.results as rr
from baseline.cli import main
from baseline.runner import AdapterResult, load_result, save_result


def _result(n: int, scores) -> AdapterResult:
    return AdapterResult(name="cand", family="trivial", simplicity=1, paid=False, status="ok",
                         predictions=["a"] * n, scores=scores, raw=[None] * n, item_errors=[None] * n)


def test_large_scores_round_trip_exactly_through_the_file(tmp_path):
    rng = np.random.default_rng(0)
    n, labels = 30_123, ["b", "a", "c", "d"]           # the adapter's key order is kept, not sorted
    shared = {k: 0.25 for k in labels}
    scores = [dict(zip(labels, rng.dirichlet(np.ones(4)).tolist(), strict=True)) for _ in range(n)]
    scores[5] = None
    scores[6] = {}
    scores[7:100] = [shared] * 93                        # one dict shared by many rows (a floor's constant answer)
    scores[8] = {"b": 1, "a": 0, "c": 0, "d": 0}         # ints are numbers too
    save_result(_result(n, scores), tmp_path)
    folder = tmp_path / "adapters" / "cand"
    saved = json.loads((folder / "result.json").read_text())
    matrix = saved["scores"]["file"]
    assert matrix.startswith("scores.") and matrix.endswith(".npy") and saved["scores"]["labels"] == labels
    assert (folder / "result.json").stat().st_size < 20 * n       # the other per-item lists only, no scores
    assert (folder / matrix).stat().st_size >= 8 * 4 * n
    back = load_result(tmp_path, "cand").scores
    assert back == scores and list(back[0]) == labels and back[5] is None and back[6] == {}
    assert all(type(v) is float for v in back[0].values())


def test_a_save_that_fails_midway_leaves_the_previous_result_whole(tmp_path, monkeypatch):
    """The disk fills while the new result.json is written: the previous JSON and the matrix it names survive, and
    the next save that succeeds leaves one matrix, the one its JSON names."""
    n = 60_000
    first = [{"a": 0.25, "b": 0.75}] * n
    second = [{"a": 0.5, "b": 0.5}] * n
    save_result(_result(n, first), tmp_path)

    def disk_full(d, f, rows=20_000):
        f.write("{")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rr, "_write_json", disk_full)
    try:
        save_result(_result(n, second), tmp_path)
    except OSError:
        pass
    else:
        raise AssertionError("the failing write did not fail")
    assert load_result(tmp_path, "cand").scores == first     # the previous save, whole
    monkeypatch.undo()
    save_result(_result(n, second), tmp_path)
    folder = tmp_path / "adapters" / "cand"
    named = json.loads((folder / "result.json").read_text())["scores"]["file"]
    assert [f.name for f in folder.glob("scores.*.npy")] == [named]
    assert load_result(tmp_path, "cand").scores == second


def test_small_irregular_or_non_numeric_scores_stay_json(tmp_path, monkeypatch):
    n = 60_000   # 120,000 scores: over SCORES_FILE_MIN_CELLS, so only the irregularity keeps them JSON
    cases = {
        "small": [{"a": 0.5, "b": 0.5}] * 100,
        "key order differs": [{"a": 0.5, "b": 0.5}] * (n - 1) + [{"b": 0.5, "a": 0.5}],
        "other keys": [{"a": 0.5, "b": 0.5}] * (n - 1) + [{"a": 1.0}],
        "not a number": [{"a": 0.5, "b": 0.5}] * (n - 1) + [{"a": "high", "b": None}],
        "a missing score": [{"a": 0.5, "b": 0.5}] * (n - 1) + [{"a": 0.5, "b": None}],   # not stored as NaN
    }
    for why, scores in cases.items():
        d = tmp_path / why.replace(" ", "_")
        save_result(_result(len(scores), scores), d)
        folder = d / "adapters" / "cand"
        assert not list(folder.glob("scores.*.npy")), why
        assert json.loads((folder / "result.json").read_text())["scores"] == scores, why
        assert load_result(d, "cand").scores == scores, why


def test_a_resumed_run_reads_the_scores_file_and_scores_the_same(tiny_csv, tmp_path, monkeypatch):
    monkeypatch.setattr(rr, "SCORES_FILE_MIN_CELLS", 1)   # the tiny test split counts as large
    args = ["compare", "--data", str(tiny_csv), "--adapters", "majority,tfidf-logreg", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    run = next((tmp_path / "a").glob("*/results.json")).parent
    assert len(list((run / "adapters" / "tfidf-logreg").glob("scores.*.npy"))) == 1
    first = json.loads((run / "results.json").read_text())
    shutil.rmtree(run / "adapters" / "majority")          # interrupted after tfidf-logreg finished
    (run / "results.json").unlink()
    assert main([*args, "--out", str(tmp_path / "a"), "--resume", str(run)]) == 0
    again = json.loads((run / "results.json").read_text())
    by = {a["name"]: a for a in again["adapters"]}
    assert any("resumed" in note for note in by["tfidf-logreg"]["notes"])
    assert [a["metrics"] for a in again["adapters"]] == [a["metrics"] for a in first["adapters"]]
    assert again["analysis"] == first["analysis"]         # coverage curves and calibration read the scores


def test_a_resume_reruns_a_candidate_whose_saved_result_cannot_be_read(tiny_csv, tmp_path, monkeypatch, capsys):
    """The saved result of a finished candidate lost its scores file (deleted by hand, a disk that lost it) or its
    JSON was cut short: the resume does not crash on it; the candidate runs again, says why, and scores the same."""
    monkeypatch.setattr(rr, "SCORES_FILE_MIN_CELLS", 1)
    args = ["compare", "--data", str(tiny_csv), "--adapters", "majority,tfidf-logreg", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    run = next((tmp_path / "a").glob("*/results.json")).parent
    first = json.loads((run / "results.json").read_text())
    folder = run / "adapters" / "tfidf-logreg"
    for damage in ("scores file deleted", "result.json cut short"):
        if damage == "scores file deleted":
            next(folder.glob("scores.*.npy")).unlink()
        else:
            text = (folder / "result.json").read_text()
            (folder / "result.json").write_text(text[:len(text) // 2])
        (run / "results.json").unlink()
        capsys.readouterr()
        assert main([*args, "--out", str(tmp_path / "a"), "--resume", str(run)]) == 0, damage
        said = " ".join("".join(capsys.readouterr()).split())   # the run's lines, however the console wrapped them
        assert "tfidf-logreg: resumed: its saved result could not be read" in said and "run again" in said, damage
        again = json.loads((run / "results.json").read_text())
        by = {a["name"]: a for a in again["adapters"]}
        assert any("could not be read" in n for n in by["tfidf-logreg"]["notes"]), damage
        assert any("resumed" in n for n in by["majority"]["notes"]), damage      # the readable one is kept
        assert [a["metrics"] for a in again["adapters"]] == [a["metrics"] for a in first["adapters"]], damage
        assert load_result(run, "tfidf-logreg").status == "ok"                   # saved whole again
