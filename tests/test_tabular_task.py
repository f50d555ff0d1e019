"""Tabular tasks: column types and every drop rule on small frames, the time-ordered split, and bad targets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from baseline.errors import BadInput
from baseline.tasks import TABULAR_CLASSIFICATION, TABULAR_REGRESSION, TaskInputs, get_task, rows
from baseline.tasks.tabular_schema import infer_column, infer_schema


def frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n).round(3)
    b = rng.integers(0, 50, size=n)
    y = (a * 10 + b + rng.normal(size=n)).round(2)
    return pd.DataFrame({
        "row": np.arange(1, n + 1),                                   # counts the rows
        "uid": [f"C-{i:05d}x" for i in range(n)],                     # distinct on every row
        "plan": rng.choice(["basic", "plus", "pro"], size=n),         # categorical
        "flag": rng.choice(["Yes", "No"], size=n),                    # boolean
        "a": a, "b": b,
        "charges": [("" if i % 40 == 0 else str(v)) for i, v in enumerate(np.round(a * 3 + 50, 2))],  # text numbers
        "when": pd.date_range("2024-01-01", periods=n, freq="h").strftime("%m/%d/%y %H:%M"),
        "const": "same",
        "part1": (y - 3).round(2), "part2": 3.0,                     # part1 + part2 = y
        "y": y,
        "cls": np.where(a > 0, "high", "low"),
    })


def test_every_kind_and_drop_rule_on_a_small_frame():
    df = frame().astype(str).replace("nan", "")
    y = pd.to_numeric(df["y"]).to_numpy()
    schema = infer_schema(df.drop(columns=["cls"]), "y", y, regression=True)
    kinds = {c.name: (c.kind, c.dropped) for c in schema.columns}
    assert kinds["row"][0] == "identifier" and "row number" in kinds["row"][1]
    assert kinds["uid"][0] == "identifier" and "identifier" in kinds["uid"][1]
    assert kinds["plan"] == ("categorical", "")
    assert kinds["flag"] == ("boolean", "")
    assert kinds["a"] == ("numeric", "") and kinds["b"] == ("numeric", "")
    assert kinds["when"] == ("datetime", "")
    assert kinds["const"][0] == "constant" and kinds["const"][1]
    charges = next(c for c in schema.columns if c.name == "charges")
    assert charges.kind == "numeric" and charges.missing == 5 and "numbers stored as text" in charges.note
    # part2 is constant (dropped as such); part1 alone equals y − 3: correlation 1 → a leak
    assert "target leak" in kinds["part1"][1]
    assert set(schema.features) == {"plan", "flag", "a", "b", "charges", "when"}


def test_a_sum_of_two_columns_equal_to_the_target_is_a_leak():
    rng = np.random.default_rng(1)
    casual, registered = rng.integers(0, 100, 300), rng.integers(0, 400, 300)
    df = pd.DataFrame({"casual": casual, "registered": registered, "temp": rng.random(300).round(2),
                       "cnt": casual + registered}).astype(str)
    schema = infer_schema(df, "cnt", (casual + registered).astype(float), regression=True)
    dropped = {c.name: c.dropped for c in schema.dropped()}
    assert set(dropped) == {"casual", "registered"}
    assert "casual + registered = the target" in dropped["casual"]
    assert schema.features == {"temp": "numeric"}


def test_a_column_that_names_the_class_is_a_leak():
    rng = np.random.default_rng(2)
    y = rng.choice(["churn", "stay"], size=400)
    reason = np.where(y == "churn", rng.choice(["price", "service"], size=400), "none")
    df = pd.DataFrame({"reason": reason, "x": rng.random(400).round(3).astype(str), "y": y})
    schema = infer_schema(df, "y", y, regression=False)
    assert "target leak" in {c.name: c.dropped for c in schema.columns}["reason"]
    assert "x" in schema.features


def test_boolean_and_numeric_readings():
    assert infer_column("s", pd.Series(["0", "1", "1", "0"])).kind == "boolean"
    assert infer_column("s", pd.Series(["1.5", "2", "", "3"])).kind == "numeric"
    assert infer_column("s", pd.Series(["red", "blue", "red", "green"])).kind == "categorical"


def _write(tmp_path, df: pd.DataFrame, name: str = "t.csv"):
    p = tmp_path / name
    df.to_csv(p, index=False)
    return str(p)


def test_rows_travel_as_json_and_decode_to_the_same_values(tmp_path):
    df = frame()
    task = get_task(TABULAR_REGRESSION)
    ds = task.load(TaskInputs(path=_write(tmp_path, df.drop(columns=["cls"])), label_col="y"))
    first = json.loads(ds.frame["text"].iloc[0])
    assert set(first) == set(ds.schema)
    back = rows.decode_rows(ds.frame["text"].tolist(), ds.schema)
    assert np.allclose(back["a"].to_numpy(), df["a"].to_numpy())
    assert back["flag"].tolist() == (df["flag"] == "Yes").astype(float).tolist()
    assert np.allclose(rows.decode_numbers(ds.frame["label"].tolist()), df["y"].to_numpy())


def test_time_col_trains_on_the_past_and_tests_on_the_future(tmp_path):
    df = frame(120).drop(columns=["cls"]).sample(frac=1, random_state=3)  # file not in time order
    task = get_task(TABULAR_REGRESSION)
    ds = task.load(TaskInputs(path=_write(tmp_path, df), label_col="y", time_col="when"))
    sp = task.split(ds, 0.25, 42)
    assert sp.source == "time-ordered" and len(sp.test) == 30
    t_train = pd.to_datetime([json.loads(t)["when"] for t in sp.train["text"]])
    t_test = pd.to_datetime([json.loads(t)["when"] for t in sp.test["text"]])
    assert t_train.max() < t_test.min()
    assert "_time" not in sp.train.columns


def test_a_time_ordered_file_split_at_random_is_warned_about(tmp_path):
    task = get_task(TABULAR_REGRESSION)
    ds = task.load(TaskInputs(path=_write(tmp_path, frame().drop(columns=["cls"])), label_col="y"))
    assert any("looks time-ordered" in n and "--time-col when" in n for n in ds.notes)


def test_classification_split_is_stratified_and_frozen(tmp_path):
    task = get_task(TABULAR_CLASSIFICATION)
    path = _write(tmp_path, frame(400).drop(columns=["y", "part1"]))
    a = task.split(task.load(TaskInputs(path=path, label_col="cls")), 0.25, 42)
    b = task.split(task.load(TaskInputs(path=path, label_col="cls")), 0.25, 42)
    assert a.hash == b.hash and a.labels == ["high", "low"]
    share = lambda s: (s["label"] == "high").mean()  # noqa: E731
    assert abs(share(a.train) - share(a.test)) < 0.02


@pytest.mark.parametrize("case, expect", [
    ("target_missing", "target column 'nope' not found"),
    ("target_constant", "is constant"),
    ("regression_text", "holds text"),
    ("time_bad", "does not parse as dates or numbers"),
    ("blank_target", "have no target"),
])
def test_bad_tabular_input_is_one_line(tmp_path, case, expect):
    df = frame(60).drop(columns=["part1"])
    task, inputs = get_task(TABULAR_REGRESSION), {"label_col": "y"}
    if case == "target_missing":
        inputs["label_col"] = "nope"
    elif case == "target_constant":
        df["y"] = 5
    elif case == "regression_text":
        inputs["label_col"] = "cls"
    elif case == "time_bad":
        df["when"] = df["when"].astype(str)
        df.loc[df.index[7], "when"] = "not a date"
        inputs["time_col"] = "when"
    else:
        df["y"] = df["y"].astype(object)
        df.loc[df.index[3], "y"] = None
    with pytest.raises(BadInput) as e:
        task.load(TaskInputs(path=_write(tmp_path, df), **inputs))
    msg = str(e.value)
    assert expect in msg and "\n" not in msg


def test_a_second_regression_run_on_the_same_split_compares_with_the_first(tmp_path):
    """The rerun path (history, 'since the last run') must not assume a classification metric."""
    from baseline.adapters.registry import Registry
    from baseline.decide import Bar
    from baseline.pipeline import CompareRequest, compare
    from baseline.runner import RunOptions
    from baseline.store import Store

    path = _write(tmp_path, frame(120).drop(columns=["cls", "part1"]))
    reg = Registry.discover()
    store = Store(tmp_path / "history.sqlite3")
    try:
        for fresh in (False, True):
            req = CompareRequest(data=path, label_col="y", adapters="mean,median", out=tmp_path / "out",
                                 resamples=100, task_explicit=True, fresh=fresh)
            results, run_dir = compare(req, reg, RunOptions(task=TABULAR_REGRESSION, cache=None, latency_probe=0),
                                       Bar(), store)
        prev = results["previous_run"]
        assert prev is not None and {c["name"] for c in prev["changed"]} == {"mean", "median"}
        assert all(c["delta"] == 0 for c in prev["changed"])
        assert (run_dir / "report.md").exists()
    finally:
        store.close()
