"""Per-item scores as rows of one float block: they read as, and equal, the dicts they replace; the stages that move
many rows (score file, probability metrics, redaction, pickling for Ray) give what the dicts gave; and they hold a
fraction of the dicts' memory."""

from __future__ import annotations

import json
import pickle
import tracemalloc

import numpy as np
import pytest

from baseline.adapters.base import proba_answers
from baseline.adapters.onevsrest import answers
from baseline.redact import redact_tree
from baseline.runner import AdapterResult, load_result, save_result
from baseline.scorerows import ScoreBlock, gather, score_rows
from baseline.tasks.proba_metrics import _matrix, probability_metrics


def _dicts(proba, classes, labels):
    """What ``proba_answers`` built before: every label at 0.0, then the classifier's probabilities."""
    out = []
    for row in proba:
        s = dict.fromkeys(labels, 0.0)
        s.update(zip(classes, map(float, row), strict=True))
        out.append(s)
    return out


def test_rows_read_as_the_dicts_they_replace():
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(3), size=50).astype(np.float32)   # float32 probabilities, read exactly
    classes, labels = ["c", "a", "z"], ["a", "b", "c"]             # "b" never seen in train; "z" not a label
    best, rows = proba_answers(proba, classes, labels)
    old = _dicts(proba, classes, labels)
    assert best == [classes[j] for j in proba.argmax(axis=1)]
    assert rows == old and old == rows
    for r, d in zip(rows, old, strict=True):
        assert list(r) == list(d) and list(r.keys()) == list(d.keys()) and r.items() == list(d.items())
        assert [v.hex() for v in r.values()] == [v.hex() for v in d.values()]
        assert all(type(v) is float for v in r.values()) and r["b"] == 0.0 and "z" in r and "q" not in r
        assert r.get("q") is None and max(r.values()) == max(d.values()) and len(r) == 4 and bool(r)
        assert json.loads(json.dumps(r.to_dict())) == d
    with pytest.raises(KeyError):
        rows[0]["q"]


def test_multilabel_answers_keep_every_label_score():
    proba = np.array([[0.9, 0.2], [0.4, 0.6]])
    sets, rows = answers(proba, [0.5, 0.5], ["x", "y"])
    assert rows == [{"x": 0.9, "y": 0.2}, {"x": 0.4, "y": 0.6}]


def test_a_block_is_read_only_and_checked():
    b = ScoreBlock(np.zeros((2, 2)), ["a", "b"])
    with pytest.raises(ValueError):
        b.values[0, 0] = 1.0
    with pytest.raises(ValueError):
        ScoreBlock(np.zeros((2, 3)), ["a", "b"])
    with pytest.raises(ValueError):
        ScoreBlock(np.zeros((2, 2)), ["a", "a"])
    src = np.ones((2, 2))
    rows = score_rows(src, ["a", "b"])
    src[0, 0] = 5.0                     # the caller's array is copied: a later write does not change answers
    assert rows[0]["a"] == 1.0


def test_gather_copies_runs_and_refuses_what_it_cannot_read():
    rng = np.random.default_rng(2)
    a, b = rng.random((5, 3)), rng.random((4, 3))
    ra, rb = score_rows(a, ["x", "y", "z"]), score_rows(b, ["x", "y", "z"])
    rows = [ra[3], ra[4], rb[0], rb[1], ra[0], rb[3], rb[3], ra[1]]   # runs, jumps, repeats, across blocks
    want = np.array([list(r.values()) for r in rows])
    assert np.array_equal(gather(rows), want)
    assert np.array_equal(gather(rows, ["x", "y", "z"]), want)
    assert gather(rows, ["y", "x", "z"]) is None                    # another column order
    assert gather([*rows, None]) is None and gather([{"x": 1.0}]) is None and gather([]) is None
    other = score_rows(rng.random((1, 3)), ["x", "y", "w"])
    assert gather([ra[0], other[0]]) is None                        # blocks over other labels
    big = score_rows(rng.random((3000, 3)), ["x", "y", "z"])
    for rows in (big, big[:1500] + big[1501:], big[:700] + big[701:703][::-1] + big[703:],   # whole, a gap, a swap
                 big[:10] + ra[:2] + big[10:], big[5:] + big[:5]):                        # another block inside, wrap
        want = np.array([list(r.values()) for r in rows])
        assert np.array_equal(gather(rows), want)
    assert gather(big[:100] + [{"x": 1.0, "y": 0.0, "z": 0.0}] + big[100:]) is None       # a dict inside a run


def test_pickle_holds_each_block_once():
    rows = score_rows(np.random.default_rng(3).random((2_000, 20)), [f"c{j}" for j in range(20)])
    data = pickle.dumps(rows)
    assert len(data) < 2_000 * 20 * 8 * 1.5     # the block once, not once per row
    back = pickle.loads(data)
    assert back == rows and back[0].block is back[-1].block


def test_saved_and_loaded_through_the_file_and_as_json(tmp_path):
    def result(n, scores):
        return AdapterResult(name="cand", family="trivial", simplicity=1, paid=False, status="ok",
                             predictions=["a"] * n, scores=scores, raw=[None] * n, item_errors=[None] * n)
    rng = np.random.default_rng(4)
    labels = ["b", "a", "c"]
    # the score matrix file from SCORES_FILE_MIN_CELLS items × classes (100,000), JSON below
    for n, k in ((40_000, 3), (300, 3), (3_000, 40), (2_000, 40)):
        labels = ["b", "a", "c"] if k == 3 else [f"intent_{j}" for j in range(k)]
        rows = []
        for start in range(0, n, 1_000):         # one block per batch, as the runner gets them
            rows += score_rows(rng.dirichlet(np.ones(k), size=min(1_000, n - start)), labels)
        rows[7] = None
        save_result(result(n, rows), tmp_path)
        saved = json.loads((tmp_path / "adapters" / "cand" / "result.json").read_text())
        assert isinstance(saved["scores"], dict) == (n * k >= 100_000)
        back = load_result(tmp_path, "cand").scores
        assert back == rows and back[7] is None and list(back[0]) == labels
        assert [v.hex() for v in back[-1].values()] == [v.hex() for v in rows[-1].values()]
    labels = ["b", "a", "c"]
    rows = score_rows(rng.dirichlet(np.ones(3), size=40_000), labels)   # only score rows: nothing None or empty
    save_result(result(40_000, rows), tmp_path)
    saved = json.loads((tmp_path / "adapters" / "cand" / "result.json").read_text())
    assert saved["scores"]["none"] == [] and saved["scores"]["empty"] == []
    assert load_result(tmp_path, "cand").scores == rows
    rows[3] = score_rows(np.zeros((1, 0)), [])[0]                        # a row over a block without classes
    rows[5], rows[9] = {}, None
    save_result(result(40_000, rows), tmp_path)
    saved = json.loads((tmp_path / "adapters" / "cand" / "result.json").read_text())
    assert saved["scores"]["empty"] == [3, 5] and saved["scores"]["none"] == [9]
    back = load_result(tmp_path, "cand").scores
    assert back[3] == {} and back[5] == {} and back[9] is None and back == rows
    shared = {"b": 0.25, "a": 0.5, "c": 0.25}                              # dicts only: one shared answer, one empty
    rows = [shared] * 40_000
    rows[11] = {}
    save_result(result(40_000, rows), tmp_path)
    saved = json.loads((tmp_path / "adapters" / "cand" / "result.json").read_text())
    assert saved["scores"]["empty"] == [11] and saved["scores"]["none"] == []
    assert load_result(tmp_path, "cand").scores == rows


def test_redaction_writes_rows_out_as_dicts_with_their_labels_masked(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-testsecret1234567890")
    rows = score_rows(np.array([[0.3, 0.7]]), ["ok", "sk-testsecret1234567890"])
    out = redact_tree({"scores": rows})
    assert type(out["scores"][0]) is dict and "sk-testsecret1234567890" not in json.dumps(out)
    assert sorted(out["scores"][0].values()) == [0.3, 0.7]


def test_probability_metrics_read_blocks_as_they_read_dicts():
    rng = np.random.default_rng(5)
    n, labels = 600, ["a", "b", "c", "d"]
    block = rng.dirichlet(np.ones(3), size=n) * 1.1            # off-simplex rows: renormalised the same way
    block[3, 0] = -0.2                                          # a bad row: unscored either way
    block[4] = 0.0                                              # an all-zero row
    rows = score_rows(block, ["c", "a", "zz"])                  # "zz" not a label; "b", "d" never scored
    dicts = [r.to_dict() for r in rows]
    assert gather(rows) is not None and gather(dicts) is None   # the fast and the per-row path
    for got, want in zip(_matrix(labels, rows), _matrix(labels, dicts), strict=True):
        assert np.array_equal(np.asarray(got), np.asarray(want))
    truth = rng.choice(labels, size=n).tolist()
    assert probability_metrics(labels, truth, rows, 200, 0, 0.95) == probability_metrics(labels, truth, dicts, 200, 0,
                                                                                         0.95)


def test_rows_hold_a_fraction_of_the_dicts_memory():
    n, k = 20_000, 50
    proba = np.random.default_rng(6).dirichlet(np.ones(k), size=n)
    labels = [f"topic {j}" for j in range(k)]

    def peak(build):
        tracemalloc.start()
        kept = build()
        size = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        del kept
        return size
    as_dicts = peak(lambda: [dict(zip(labels, map(float, row), strict=True)) for row in proba])
    as_rows = peak(lambda: score_rows(proba, labels))
    assert as_rows < as_dicts / 4, (as_rows, as_dicts)


def test_item_confidences_over_blocks_equal_the_per_item_reading():
    from baseline.tasks import get_task

    rng = np.random.default_rng(7)
    rows = score_rows(rng.dirichlet(np.ones(5), size=300), list("abcde"))
    mixed = [*rows[:10], None, {}, {"a": 0.4, "b": 0.6}]
    for name in ("text-classification", "multi-label-text-classification"):
        task = get_task(name)
        for scores in (rows, mixed):
            assert task.item_confidences(scores) == [task.item_confidence(s) for s in scores]


def test_long_answer_lists_are_masked_or_copied_whole(monkeypatch):
    """A per-item list of labels is copied as it is when no label holds a secret, and masked item by item when one
    does (``None`` kept), a distinct label redacted once."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-testsecret1234567890")
    plain = ["pos", "neg", None] * 200
    out = redact_tree({"predictions": plain})["predictions"]
    assert out == plain and out is not plain
    leaky = ["pos", "key sk-testsecret1234567890", None] * 200
    out = redact_tree({"predictions": leaky})["predictions"]
    assert "sk-testsecret1234567890" not in json.dumps(out)
    assert out[0::3] == ["pos"] * 200 and out[2::3] == [None] * 200 and out[1].startswith("key ")
