"""Loading, validation, splitting and profiling."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from baseline.cli import main
from baseline.data import load_dataset, make_split, profile
from baseline.errors import BadInput


def _write(tmp_path: Path, name: str, df: pd.DataFrame) -> Path:
    p = tmp_path / name
    if name.endswith(".csv"):
        df.to_csv(p, index=False)
    elif name.endswith(".tsv"):
        df.to_csv(p, index=False, sep="\t")
    elif name.endswith(".jsonl"):
        df.to_json(p, orient="records", lines=True)
    elif name.endswith(".parquet"):
        df.to_parquet(p)
    return p


FRAME = pd.DataFrame({"body": [f"text number {i}, with a comma" for i in range(40)],
                      "queue": ["a", "b"] * 20})


@pytest.mark.parametrize("name", ["d.csv", "d.tsv", "d.jsonl", "d.parquet"])
def test_formats_load_identically(tmp_path, name):
    ds = load_dataset(_write(tmp_path, name, FRAME), text_col="body", label_col="queue")
    assert ds.frame["text"].tolist() == FRAME["body"].tolist()
    assert ds.frame["label"].tolist() == FRAME["queue"].tolist()


def test_columns_autodetected(tmp_path):
    df = pd.DataFrame({"id": range(10), "sentence": ["x y"] * 10, "category": ["p", "q"] * 5})
    ds = load_dataset(_write(tmp_path, "d.csv", df))
    assert (ds.text_col, ds.label_col, ds.split_col) == ("sentence", "category", None)


def test_text_none_string_is_text_not_missing(tmp_path):
    df = pd.DataFrame({"text": ["None", "NA", "null", "ok"] * 3, "label": ["a", "b"] * 6})
    ds = load_dataset(_write(tmp_path, "d.csv", df))
    assert ds.frame["text"].iloc[0] == "None"


def test_file_split_is_kept(sst2_path):
    ds = load_dataset(sst2_path)
    sp = make_split(ds)
    assert sp.source == "file"
    assert (len(sp.train), len(sp.test), len(sp.validation)) == (6920, 1821, 872)


def test_stratified_split_is_frozen_and_hashed(tiny_csv):
    a = make_split(load_dataset(tiny_csv), test_size=0.25, seed=7)
    b = make_split(load_dataset(tiny_csv), test_size=0.25, seed=7)
    c = make_split(load_dataset(tiny_csv), test_size=0.25, seed=8)
    assert a.hash == b.hash and a.test["id"].tolist() == b.test["id"].tolist()
    assert a.hash != c.hash
    assert a.test["label"].value_counts().to_dict() == {"positive": 5, "negative": 5, "neutral": 5}
    assert set(a.train["id"]).isdisjoint(a.test["id"])


def test_single_valued_split_column_is_ignored(tmp_path):
    df = pd.DataFrame({"text": [f"t{i}" for i in range(20)], "label": ["a", "b"] * 10, "split": ["test"] * 20})
    ds = load_dataset(_write(tmp_path, "d.csv", df))
    sp = make_split(ds, test_size=0.5)
    assert sp.source == "stratified" and len(sp.train) == 10
    assert any("ignored" in n for n in ds.notes)


def test_profile_finds_duplicates_leakage_and_conflicts(tmp_path):
    df = pd.DataFrame({
        "text": ["dup", "dup", "leak", "leak", "conflict", "conflict", "x1", "x2", "x3", "x4"],
        "label": ["a", "a", "a", "a", "a", "b", "b", "b", "a", "b"],
        "split": ["train", "train", "train", "test", "train", "train", "test", "test", "train", "test"],
    })
    ds = load_dataset(_write(tmp_path, "d.csv", df))
    p = profile(ds, make_split(ds))
    assert p["exact_duplicate_rows"] == 6
    assert p["test_texts_in_train"] == 1 and p["test_texts_in_train_examples"] == ["leak"]
    assert p["conflicting_label_texts"] == 1 and p["conflicting_label_examples"] == ["conflict"]
    assert p["rows"] == {"train": 6, "test": 4}


def test_profile_counts_leaked_rows_after_normalisation_and_labels_unseen_in_train(tmp_path):
    """SNIPS/ATIS regressions: leakage after the duplicate normalisation, counted in test rows;
    labels that occur in test but never in train are flagged."""
    df = pd.DataFrame({
        "text": ["Play  some Jazz", "book a table", "what's the weather", "set an alarm", "x", "y",
                 "play some jazz", "PLAY SOME JAZZ ", "Book a table", "book a table", "fresh text", "turn off"],
        "label": ["music", "food", "weather", "alarm", "music", "food",
                  "music", "music", "food", "food", "weather", "lights"],
        "split": ["train"] * 6 + ["test"] * 6,
    })
    ds = load_dataset(_write(tmp_path, "d.csv", df))
    p = profile(ds, make_split(ds))
    assert p["test_texts_in_train"] == 4            # 2 jazz + 2 table rows, after lower-casing and spacing
    assert p["test_texts_in_train_exact"] == 1      # only "book a table" is byte-identical
    assert p["labels_test_not_train"] == ["lights"]
    assert p["labels_absent_from_test"] == ["alarm"]


def test_profile_duplicates_and_leaks_equal_counting_the_strings(tmp_path):
    """Exact texts are hashed only where the normalised text repeats: the duplicate, leak and conflict counts equal
    counting the Python strings directly, on a file with a validation part, exact and normalised-only repeats within
    and across parts, and texts that differ only in case, edge or repeated spaces, tabs and non-ASCII."""
    rng = np.random.default_rng(11)
    base = [f"item {i}" for i in range(400)] + ["Crème brûlée", "straße", "tab\there"]
    variants = [lambda t: t, str.upper, lambda t: f" {t}", lambda t: t.replace(" ", "  "), str.title]
    texts = [variants[rng.integers(0, 5)](base[rng.integers(0, len(base))]) for _ in range(2400)]
    texts += [f"unique {i}" for i in range(600)]
    split_col = rng.choice(["train", "test", "validation"], len(texts), p=[0.6, 0.25, 0.15])
    df = pd.DataFrame({"text": texts, "label": rng.choice(["a", "b", "c"], len(texts)), "split": split_col})
    ds = load_dataset(_write(tmp_path, "d.csv", df))
    split = make_split(ds)
    p = profile(ds, split)
    both = pd.concat([split.train, split.test, split.validation], ignore_index=True)
    raw = both["text"].astype(object)
    norm = raw.map(lambda t: " ".join(t.lower().split()))
    assert p["exact_duplicate_rows"] == int(raw.duplicated(keep=False).sum()) > 0
    assert p["normalized_duplicate_rows"] == int(norm.duplicated(keep=False).sum()) > p["exact_duplicate_rows"]
    train, test = split.train["text"].astype(object), split.test["text"].astype(object)
    assert p["test_texts_in_train_exact"] == int(test.isin(set(train)).sum()) > 0
    n_train = set(train.map(lambda t: " ".join(t.lower().split())))
    assert p["test_texts_in_train"] == int(test.map(lambda t: " ".join(t.lower().split())).isin(n_train).sum())
    by_text = both.assign(text=raw).groupby("text")["label"].nunique()
    assert p["conflicting_label_texts"] == int((by_text > 1).sum()) > 0


# ---- bad input: one line, exit code 2, no traceback ----------------------------------------------

def _bad_files(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    ok = pd.DataFrame({"text": [f"t{i}" for i in range(20)], "label": ["a", "b"] * 10})
    cases: dict[str, tuple[list[str], str]] = {}
    cases["missing file"] = (["--data", str(tmp_path / "nope.csv")], "does not exist")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    cases["empty file"] = (["--data", str(empty)], "empty")
    header = tmp_path / "header.csv"
    header.write_text("text,label\n")
    cases["header only"] = (["--data", str(header)], "no rows")
    p = _write(tmp_path, "ok.csv", ok)
    cases["unknown text column"] = (["--data", str(p), "--text-col", "body"], "'body' not found")
    cases["unknown label column"] = (["--data", str(p), "--label-col", "queue"], "'queue' not found")
    one = _write(tmp_path, "one.csv", ok.assign(label="a"))
    cases["single class"] = (["--data", str(one)], "only one class")
    nan_text = ok.copy()
    nan_text.loc[3, "text"] = None
    cases["NaN text"] = (["--data", str(_write(tmp_path, "nantext.csv", nan_text))], "empty or missing text")
    blank = ok.copy()
    blank.loc[4, "text"] = "   "
    cases["blank text"] = (["--data", str(_write(tmp_path, "blank.csv", blank))], "empty or missing text")
    nan_label = ok.copy()
    nan_label.loc[5, "label"] = None
    cases["NaN label"] = (["--data", str(_write(tmp_path, "nanlabel.csv", nan_label))], "no label")
    small = pd.concat([ok, pd.DataFrame({"text": ["lonely"], "label": ["c"]})])
    cases["class too small"] = (["--data", str(_write(tmp_path, "small.csv", small))], "only 1 row")
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("text,label\ncaf\xe9 ok,a\nbad,b\n".encode("latin-1"))
    cases["not UTF-8"] = (["--data", str(latin)], "not valid UTF-8")
    sp = _write(tmp_path, "split.csv", ok.assign(split=["train", "holdout"] * 10))
    cases["unknown split values"] = (["--data", str(sp)], "unknown value")
    cases["bad test size"] = (["--data", str(p), "--test-size", "1.5"], "--test-size")
    cases["unknown adapter"] = (["--data", str(p), "--adapters", "nope"], "unknown adapter")
    cases["bad extension"] = (["--data", str(tmp_path / "ok.xlsx")], None)
    (tmp_path / "ok.xlsx").write_text("x")
    return cases


CASES = ["missing file", "empty file", "header only", "unknown text column", "unknown label column",
         "single class", "NaN text", "blank text", "NaN label", "class too small", "not UTF-8",
         "unknown split values", "bad test size", "unknown adapter", "bad extension"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, case):
    args, needle = _bad_files(tmp_path)[case]
    rc = main(["compare", *args, "--adapters", "majority", "--out", str(tmp_path / "r"), "--no-progress"]
              if "--adapters" not in args else ["compare", *args, "--out", str(tmp_path / "r"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: ") and "Traceback" not in err
    if needle:
        assert needle in err


def test_bad_input_raises_badinput_in_library(tmp_path):
    with pytest.raises(BadInput):
        load_dataset(tmp_path / "missing.csv")


def test_split_recorded_in_run_folder(tiny_csv, tmp_path):
    assert main(["compare", "--data", str(tiny_csv), "--adapters", "majority", "--out", str(tmp_path),
                 "--no-progress", "--seed", "3"]) == 0
    run = next(p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith("."))
    split = pd.read_csv(run / "split.csv", dtype=str)
    meta = json.loads((run / "split.json").read_text())
    expected = make_split(load_dataset(tiny_csv), 0.25, 3)
    assert meta["hash"] == expected.hash
    assert sorted(split[split.split == "test"]["id"]) == sorted(expected.test["id"])


def _big_quoted_csv(path: Path, rows: int = 45_000) -> pd.DataFrame:
    """Over 4 MB (several of the reader's blocks), with quoted commas, quotes and newlines in the texts."""
    texts = [f'row {i}, "quoted"\nsecond line {"x" * (i % 200)}' if i % 7 == 0 else f"plain row {i} {'y' * (i % 150)}"
             for i in range(rows)]
    df = pd.DataFrame({"text": texts, "label": [f"c{i % 5}" for i in range(rows)]})
    df.to_csv(path, index=False)
    assert path.stat().st_size > 4 << 20
    return df


def test_large_quoted_file_reads_like_pandas_c_parser(tmp_path):
    """Arrow's streaming reader (in 4 MB blocks) gives every row the C parser gives, newlines inside quotes too."""
    p = tmp_path / "big.csv"
    _big_quoted_csv(p)
    ds = load_dataset(p)
    ref = pd.read_csv(p, dtype=str, keep_default_na=False)
    assert len(ds.frame) == len(ref)
    assert ds.frame["text"].tolist() == ref["text"].tolist()
    assert ds.frame["label"].tolist() == ref["label"].tolist()


def test_split_keeps_file_order_and_takes_rows_chunk_by_chunk(tmp_path):
    """Each part keeps the file's row order; the split moves the rows out of the dataset (no second copy)."""
    from baseline.data import TextColumn, take_rows

    p = tmp_path / "big.csv"
    df = _big_quoted_csv(p)
    ds = load_dataset(p)
    assert ds.frame["text"].array._pa_array.num_chunks > 1  # the chunked path is what is tested
    split = make_split(ds, 0.25, seed=3)
    assert len(ds.frame) == 0 and ds.labels == sorted(df["label"].unique())
    for part in (split.train, split.test):
        ids = part["id"].astype(int).to_numpy()
        assert (ids[1:] > ids[:-1]).all()  # file order
        assert part["text"].tolist() == df["text"].iloc[ids].tolist()
        assert part["label"].tolist() == df["label"].iloc[ids].tolist()
    assert len(split.train) + len(split.test) == len(df)
    assert set(split.train["id"]).isdisjoint(split.test["id"])
    # stratified: every class's share of test is within one row of the whole file's
    for lab, n in df["label"].value_counts().items():
        assert abs((split.test["label"] == lab).sum() - n * 0.25) <= 1
    # rows at arbitrary positions (across chunks, repeated, unordered) read as pandas would read them
    rows = [len(split.train) - 1, 0, 7, 7, 12_345, 3]
    col = split.train["text"]
    assert take_rows(col, rows).tolist() == col.iloc[rows].tolist()
    tc = TextColumn(col)
    assert tc.take(rows) == col.iloc[rows].tolist() and tc.take(range(100, 140)) == col.iloc[100:140].tolist()
    assert list(tc) == col.tolist() and tc[5] == col.iloc[5] and len(tc) == len(col)
    # the same seed and file give the same split and hash
    again = make_split(load_dataset(p), 0.25, seed=3)
    assert again.hash == split.hash and again.test["id"].tolist() == split.test["id"].tolist()


@pytest.mark.parametrize("sizes", [(50, 50), (30, 6, 4, 4), (1000, 13, 13, 13, 2, 2, 2, 5), tuple(range(2, 40))])
@pytest.mark.parametrize("seed", [0, 42, 2024])
@pytest.mark.parametrize("test_size", [0.25, 0.1, 0.5])
def test_stratified_rows_equal_scikit_learns_split(sizes, seed, test_size):
    """The split is drawn without scikit-learn but picks exactly the rows ``train_test_split`` picks for the same
    seed (ties in class sizes included), so splits and their hashes are unchanged."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    from baseline.data import stratified_rows

    strata = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(sizes)), sizes))
    n_test = int(np.ceil(test_size * len(strata)))
    tr, te = train_test_split(np.arange(len(strata)), test_size=test_size, random_state=seed, stratify=strata)
    ours_tr, ours_te = stratified_rows(strata, n_test, seed)
    assert ours_tr.tolist() == sorted(tr.tolist()) and ours_te.tolist() == sorted(te.tolist())


def test_conflicting_labels_match_grouping_the_texts_themselves(tmp_path):
    """The profile groups repeated texts by their hash and the labels as codes: the same count and the same
    (alphabetically first) examples as grouping the texts, on a file where most rows repeat, texts conflict across
    train and test, and more texts conflict than examples are shown."""
    rng = np.random.default_rng(3)
    pool = [f"text {i} {'x' * (i % 5)}" for i in range(300)]
    texts = [pool[i] for i in rng.integers(0, len(pool), 3000)]
    labels = [f"c{v}" for v in rng.choice(4, 3000, p=[0.85, 0.05, 0.05, 0.05])]
    df = pd.DataFrame({"text": texts, "label": labels})
    ds = load_dataset(_write(tmp_path, "d.csv", df))
    split = make_split(ds, test_size=0.3, seed=1)
    p = profile(ds, split)
    both = pd.concat([split.train, split.test])
    by_text = both.groupby("text")["label"].nunique()
    want = by_text[by_text > 1]
    assert p["conflicting_label_texts"] == len(want) > 3
    assert p["conflicting_label_examples"] == [t[:200] for t in want.index[:3]]


@pytest.mark.parametrize("arrow_type", ["string", "large_string"])
def test_text_keys_arrow_fast_path_gives_the_python_keys(arrow_type):
    """Plain ASCII rows are lower-cased by Arrow, the rest normalised in Python: every key equals the hash of
    ``" ".join(text.lower().split())`` (and the exact key the hash of the text), whatever mix of tabs, newlines, edge and
    repeated spaces, control characters and non-ASCII text (İ, Σ, ß, no-break and line-separator spaces) a row holds,
    on a sliced, many-chunk column and with pieces that cut across chunks."""
    import pyarrow as pa

    from baseline.data import _arrow_strings, _normalized_key, exact_keys, normalized_keys

    rng = np.random.default_rng(0)
    atoms = ["a", "B", "z", " ", "  ", "\t", "\n", "\r\n", "\x0b", "\x0c", "\x1c", "\x1f", "\x7f", "\x00", "é", "İ",
             "Σ", "ß", "\u00a0", "\u2028", "\u3000", "x.y", "Hello", "WORLD", "~", "ǅ", ""]
    texts = ["".join(rng.choice(atoms, rng.integers(0, 8))) for _ in range(5000)]
    texts += ["", " ", "  ", "a", " a", "a ", "A  b", "Ab c", "plain text", "Plain Text"]
    typ = getattr(pa, arrow_type)()
    col = pa.chunked_array([pa.array(texts[i:i + 777], type=typ) for i in range(0, len(texts), 777)]).slice(5)
    series = pd.Series(pd.arrays.ArrowExtensionArray(col))
    assert _arrow_strings(series) is not None
    want_exact = np.array([hash(t) for t in texts[5:]], dtype=np.int64)
    want_norm = np.array([_normalized_key(t) for t in texts[5:]], dtype=np.int64)
    for rows in (50_000, 1000, 333):
        assert (normalized_keys(series, rows) == want_norm).all()
        assert (exact_keys(series, rows) == want_exact).all()
    plain = pd.Series(texts[5:], dtype=object)  # not Arrow: the Python path
    assert (normalized_keys(plain, 333) == want_norm).all() and (exact_keys(plain) == want_exact).all()
    mostly = [f"Plain Row {i}" for i in range(3000)] + texts[:300]   # pieces mostly plain: lowered whole, then redone
    series = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([pa.array(mostly, type=typ)])))
    assert (normalized_keys(series, 1000) == np.array([_normalized_key(t) for t in mostly], dtype=np.int64)).all()


_KEY_FAULTS = """
import resource
import pandas as pd, pyarrow as pa
from baseline.data import exact_keys, normalized_keys
texts = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([pa.array(
    [f"The kitchen blender no. {i} was great, and I would buy it again" for i in range(200_000)],
    pa.large_string())])), dtype="str")
normalized_keys(texts); exact_keys(texts)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    normalized_keys(texts); exact_keys(texts)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="minor page faults as Linux counts them")
def test_text_keys_reuse_the_memory_of_their_python_strings():
    """The keys turn a piece of rows into Python strings at a time; a piece small enough that CPython reuses its
    small-object arenas costs no fresh pages. Hashing 200k texts three times over (after one warm-up): about 2.5k
    minor page faults in 10,000-row pieces; 50,000-row ones unmapped their arenas after each piece and faulted them
    in again, 36k. A fresh interpreter, so nothing else in the test process counts."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", _KEY_FAULTS], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.split()[-1]) < 10_000


def test_split_hash_is_the_same_bytes_on_arrow_and_python_strings():
    """Arrow's piecewise join hashes exactly what one Python join of every value does, across Arrow chunks and
    pieces (so a run's split hash matches runs made before and with either string storage)."""
    import hashlib

    import pyarrow as pa

    from baseline.data import _HASH_ROWS, split_hash

    rng = np.random.default_rng(3)
    n = 2 * _HASH_ROWS + 17
    words = np.array(["", "a", "é x", "ok, fine", "日本", "tab\there"])
    texts = [" ".join(words[rng.integers(0, len(words), rng.integers(0, 4))]) for _ in range(n)]
    labels = rng.choice(["pos", "neg"], n).tolist()
    ids = [str(i) for i in range(n)]

    def frame(arrow: bool, cut: int) -> pd.DataFrame:
        if not arrow:
            return pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in (("id", ids), ("text", texts),
                                                                           ("label", labels))})
        col = {c: pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(
            [pa.array(v[:cut], pa.large_string()), pa.array(v[cut:], pa.large_string())])), dtype="str")
            for c, v in (("id", ids), ("text", texts), ("label", labels))}
        return pd.DataFrame(col)

    ref = hashlib.sha256()
    for name, part in (("train", frame(False, 0)), ("test", frame(False, 0).iloc[:5])):
        ref.update(f"\x1d{name}\x1d{len(part)}\x1d".encode())
        for c in ("id", "text", "label"):
            ref.update("\x1f".join(part[c].tolist()).encode("utf-8") + b"\x1e")
    for arrow, cut in ((False, 0), (True, 0), (True, 7), (True, _HASH_ROWS), (True, n)):
        f = frame(arrow, cut)
        assert split_hash(f, f.iloc[:5].reset_index(drop=True), None) == ref.hexdigest(), (arrow, cut)


@pytest.mark.parametrize("name", ["data.csv", "data.tsv", "data.jsonl", "data.parquet"])
def test_file_digest_is_the_files_sha256_and_labels_are_stripped(tmp_path, name):
    """The digest is the file's SHA-256 in every format; labels come back stripped, one string per row, rebuilt from
    the distinct values; a file of whitespace only is empty."""
    import hashlib

    df = pd.DataFrame({"text": [f"row {i}" for i in range(30)], "label": [" pos", "neg ", "pos"] * 10})
    p = _write(tmp_path, name, df)
    ds = load_dataset(p)
    assert ds.file_sha256 == hashlib.sha256(p.read_bytes()).hexdigest()
    assert ds.frame["label"].tolist() == ["pos", "neg", "pos"] * 10 and str(ds.frame["label"].dtype) == "str"
    blank = tmp_path / ("blank." + name.split(".")[1])
    blank.write_bytes(b" \n\n  \n")
    with pytest.raises(BadInput, match="empty"):
        load_dataset(blank)


def test_row_ids_are_the_decimal_numbers_across_digit_widths():
    from baseline.data import _row_ids

    for n in (0, 1, 9, 10, 11, 100, 101, 12_345, 100_001):
        ids = _row_ids(n)
        assert ids.tolist() == [str(i) for i in range(n)] and str(ids.dtype) == "str"


@pytest.mark.parametrize("arrow_type", ["string", "large_string"])
def test_blank_rows_are_arrows_trim_on_every_row(arrow_type):
    """Only rows that start with a space, a control character or a non-ASCII byte (or are empty) are trimmed; the
    answer is Arrow's whitespace trim of every row, on a sliced many-chunk column with missing values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from baseline.data import _blank

    rng = np.random.default_rng(2)
    atoms = ["", " ", "\t", "\n", "\x0b", "\x1c", "\x00", "\x7f", "\u00a0", "\u2028", "\u3000", "é", "a", "Z", "~",
             "!", "x y"]
    texts = ["".join(rng.choice(atoms, rng.integers(0, 4))) for _ in range(4000)]
    values = [None if i % 97 == 0 else t for i, t in enumerate(texts)]
    typ = getattr(pa, arrow_type)()
    col = pa.chunked_array([pa.array(values[i:i + 333], type=typ) for i in range(0, len(values), 333)]).slice(7)
    got = _blank(pd.Series(pd.arrays.ArrowExtensionArray(col))).to_numpy()
    want = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(col)), 0).fill_null(True).to_numpy(zero_copy_only=False)
    assert (got == want).all() and 0 < got.sum() < len(got)
