"""predictions.csv from per-row lists straight to Arrow: the same bytes as the frame those lists make."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from baseline.pipeline.run_folder import write_columns, write_csv


def _columns(n: int, rng: np.random.Generator) -> dict[str, object]:
    ids = pd.Series([str(i) for i in range(n)], dtype="str")
    texts = pd.Series([f"text, with \"quotes\" {i}\n2nd line" for i in range(n)], dtype="str")
    labels = pd.Series(rng.choice(["pos", "neg", "ünï"], n).tolist(), dtype=object)
    answers = [None if i % 7 == 0 else str(rng.choice(["pos", "neg", ""])) for i in range(n)]
    scores = [None if i % 5 == 0 else float(v) for i, v in enumerate(rng.random(n))]
    scores[3] = float("nan")
    return {"id": ids, "text": texts, "label": labels, "cand": answers, "cand:score": scores,
            "cand:error": [None] * (n - 1) + ["Timeout: no answer"], "quiet:error": [None] * n,
            "numbers": pd.Series(rng.random(n)), "tiny": [1e-300, 0.1, 2.5e10] * (n // 3) + [0.0] * (n % 3)}


@pytest.mark.parametrize("extra", [None, "ints", "bools"])
def test_written_columns_equal_the_frames_csv(tmp_path, extra):
    """Strings, missing values, NaN, quotes and newlines, numbers in every magnitude: the Arrow-built file is the
    frame's file byte for byte; a list Arrow is not given directly (ints, booleans) takes the frame."""
    columns = _columns(300, np.random.default_rng(1))
    if extra == "ints":
        columns["ints"] = list(range(300))
    elif extra == "bools":
        columns["bools"] = [True, False, None] * 100
    write_columns(columns, tmp_path / "fast.csv")
    write_csv(pd.DataFrame(columns), tmp_path / "frame.csv")
    fast, frame = (tmp_path / "fast.csv").read_bytes(), (tmp_path / "frame.csv").read_bytes()
    assert fast == frame and b"Timeout: no answer" in fast
