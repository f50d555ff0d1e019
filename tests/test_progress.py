"""Periodic one-line progress when output is redirected: stage, items done, rate, ETA."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

from baseline.progress import LineProgress


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_lines_carry_stage_done_rate_and_eta_at_most_once_per_interval():
    out, clock = io.StringIO(), Clock()
    p = LineProgress(stream=out, interval=10, clock=clock)
    p.phase("loading data.csv")
    p.stage("tfidf-logreg", "predict", 1000)
    for _ in range(10):  # 100 items a second, an advance each second
        clock.t += 1
        p.advance("tfidf-logreg", 100)
    p.done(SimpleNamespace(name="tfidf-logreg", status="ok", reason=""))
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("loading data.csv") and lines[1].endswith("tfidf-logreg predict 0/1,000")
    periodic = [ln for ln in lines if "ETA" in ln]
    assert len(periodic) == 1  # 10 s of work, one line per 10 s
    assert re.search(r"tfidf-logreg predict 1,000/1,000 \(100%\) · 100/s · ETA 0s · 10s elapsed$", periodic[0])
    assert lines[-1].endswith("tfidf-logreg: ok after 10s in predict")


def test_eta_from_the_rate_so_far_and_a_heartbeat_for_stages_without_items():
    out, clock = io.StringIO(), Clock()
    p = LineProgress(stream=out, interval=5, clock=clock)
    p.stage("flaml", "predict", 10_000)
    clock.t = 5
    p.advance("flaml", 2_500)
    assert "2,500/10,000 (25%) · 500/s · ETA 15s" in out.getvalue()
    p.stage("flaml", "fit")
    clock.t = 200
    assert p.status("flaml") == "flaml fit · 3m15s elapsed"


def test_redirected_compare_writes_progress_lines_to_stderr(tmp_path, capfd, monkeypatch):
    from baseline.cli import main

    monkeypatch.setenv("BASELINE_PROGRESS_INTERVAL", "0")
    assert main(["compare", "--adapters", "majority", "--out", str(tmp_path / "o"), "--home", str(tmp_path / "h"),
                 "--latency-probe", "0", "--resamples", "100"]) == 0
    err = capfd.readouterr().err
    assert "scoring: 100 bootstrap resamples" in err and re.search(r"majority predict \d", err)
