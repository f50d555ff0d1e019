"""The analysis compares answers as integer codes: every figure equals comparing the strings themselves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from baseline.analysis import (
    Answers,
    analyze_run,
    coverage_precision,
    disagreements,
    load_predictions,
)


def _frame(rng: np.random.Generator, n: int = 3000) -> pd.DataFrame:
    labels = ["pos", "neg", "mixed", "0", "nan"]
    truth = rng.choice(labels, n)
    a = np.where(rng.random(n) < 0.7, truth, rng.choice(labels + ["unseen"], n)).astype(object)
    b = np.where(rng.random(n) < 0.5, truth, rng.choice(labels, n)).astype(object)
    a[rng.random(n) < 0.1] = None          # abstentions
    b[rng.random(n) < 0.1] = None
    sa = np.round(rng.random(n), 2)        # many ties
    sa[rng.random(n) < 0.05] = np.nan      # answers without a score
    err = np.where(rng.random(n) < 0.05, "Timeout: service did not answer", None)
    b[err != None] = None                  # noqa: E711 — an unanswered item has no answer
    return pd.DataFrame({"id": [str(i) for i in range(n)], "text": [f"text {i}" for i in range(n)], "label": truth,
                         "a": a, "a:score": sa, "b": b, "b:score": np.round(rng.random(n), 3), "b:error": err})


@pytest.mark.parametrize("engine", ["pyarrow", "c"])
def test_answer_codes_give_the_string_figures(tmp_path, engine):
    """Disagreement counts and coverage against precision from codes equal the same figures computed on the strings
    (abstentions on both sides agree, a predicted label the truth never has is wrong, unanswered rows are apart), on
    Arrow strings and on the C parser's Python strings."""
    df = _frame(np.random.default_rng(5))
    df.to_csv(tmp_path / "predictions.csv", index=False)
    if engine == "pyarrow":
        read = load_predictions(tmp_path)
        assert getattr(read["a"].array, "_pa_array", None) is not None
    else:
        read = pd.read_csv(tmp_path / "predictions.csv", dtype=str, keep_default_na=False, na_values=[""])
    truth = read["label"].astype(str).to_numpy(dtype=object)
    pa_ = read["a"].astype(object).where(read["a"].notna(), None).to_numpy(dtype=object)
    pb = read["b"].astype(object).where(read["b"].notna(), None).to_numpy(dtype=object)
    results = {"adapters": [{"name": n, "metrics": {"macro_f1": m}} for n, m in (("a", 0.7), ("b", 0.5))],
               "leaderboard": ["a", "b"], "settings": {"metric": "macro_f1"}}
    an = analyze_run(results, tmp_path)   # reads the file with Arrow
    d = disagreements(read, "a", "b")      # this engine's frame
    assert d == an["disagreements"]
    ans = Answers(read)
    for name, preds in (("a", pa_), ("b", pb)):
        codes = ans.codes(name)
        assert ((codes == ans.truth_codes) == (preds == truth)).all() and ((codes >= 0) == pd.notna(preds)).all()
    ra, rb = pa_ == truth, pb == truth
    same = np.array([x == y for x, y in zip(pa_, pb, strict=True)])
    assert (d["agree"], d["both_right"], d["only_a_right"], d["both_wrong_same_answer"]) == (
        int(same.sum()), int((ra & rb).sum()), int((ra & ~rb).sum()), int((~ra & ~rb & same).sum()))
    assert 0 < d["both_wrong_same_answer"] and any(x is None for x in pa_[~ra & ~rb & same])
    for ex in d["a_right_b_wrong"]:
        i = int(ex["id"])
        assert (ex["label"], ex["a"], ex["b"]) == (truth[i], pa_[i], pb[i])
    miss = read["b:error"].notna().to_numpy()
    for name, preds, unanswered in (("a", pa_, None), ("b", pb, miss)):
        want = coverage_precision(truth, preds, pd.to_numeric(read[f"{name}:score"]).to_numpy(dtype=float),
                                  unanswered=unanswered)
        assert an["coverage_precision"][name] == want
    assert an["coverage_precision"]["b"]["unanswered"] == int(miss.sum()) > 0


def test_answer_codes_append_labels_outside_the_truth(tmp_path):
    df = pd.DataFrame({"id": ["0", "1", "2"], "text": ["x", "y", "z"], "label": ["a", "b", "a"],
                       "c": ["zz", None, "a"]})
    df.to_csv(tmp_path / "predictions.csv", index=False)
    ans = Answers(load_predictions(tmp_path))
    codes = ans.codes("c")
    assert [ans.label(int(c)) for c in codes] == ["zz", None, "a"]
    assert (codes == ans.truth_codes).tolist() == [False, False, True]
