"""Score columns read back from predictions.csv: Arrow's cast where every cell is a number, pandas' parse otherwise."""

from __future__ import annotations

import numpy as np
import pandas as pd

from baseline.analysis import _score_array, load_predictions


def test_score_columns_read_exactly_and_unreadable_cells_are_nan(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random(1000)
    x[::9] = np.nan
    p = tmp_path / "predictions.csv"
    pd.DataFrame({"id": range(1000), "label": "a", "m": "a", "m:score": x}).to_csv(p, index=False)
    df = load_predictions(tmp_path)
    assert getattr(df["m:score"].array, "_pa_array", None) is not None     # the Arrow path is the one tested
    assert np.array_equal(_score_array(df["m:score"]), x, equal_nan=True)   # floats round-trip exactly
    mixed = df["m:score"].copy()
    mixed.iloc[3] = "high"
    got = _score_array(mixed)
    assert np.isnan(got[3]) and np.array_equal(np.delete(got, 3), np.delete(x, 3), equal_nan=True)
