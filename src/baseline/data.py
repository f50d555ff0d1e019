"""Load, validate, split and profile a labeled text dataset.

Data flows one way: ``load_dataset`` → ``make_split`` → ``profile``. Every function returns
plain data; every problem with the user's file is a :class:`BadInput` naming it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from baseline.errors import BadInput

TEXT_COL_NAMES = ("text", "sentence", "body", "review", "content", "message", "utterance",
                  "comment", "document", "question", "feedback")
LABEL_COL_NAMES = ("label", "labels", "class", "category", "target", "intent", "sentiment",
                   "y", "queue", "topic")
SPLIT_COL_NAMES = ("split", "fold", "set", "partition", "subset")
SPLIT_ALIASES = {
    "train": "train", "training": "train", "trn": "train",
    "test": "test", "testing": "test", "tst": "test", "eval": "test", "evaluation": "test",
    "validation": "validation", "valid": "validation", "val": "validation", "dev": "validation",
}
FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".json": "json", ".parquet": "parquet", ".pq": "parquet"}


@dataclass
class Dataset:
    """A validated dataset: one row per item with ``id``, ``text``, ``label`` (and ``split``)."""

    name: str
    path: str
    file_sha256: str
    frame: pd.DataFrame
    text_col: str
    label_col: str
    split_col: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return sorted(self.frame["label"].unique().tolist())


@dataclass
class Split:
    """The frozen split every adapter sees: row ids per part and a hash that pins it."""

    train: pd.DataFrame
    test: pd.DataFrame
    validation: pd.DataFrame | None
    source: str  # "file" (the file's own split column) or "stratified"
    seed: int
    test_size: float | None
    hash: str
    labels: list[str]

    def assignment(self) -> pd.DataFrame:
        """Row id → split name, the table that is saved with every run."""
        parts = [self.train.assign(split="train"), self.test.assign(split="test")]
        if self.validation is not None:
            parts.append(self.validation.assign(split="validation"))
        return pd.concat(parts)[["id", "split"]].reset_index(drop=True)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def text_hash(text: str) -> str:
    """Stable short hash of a text, used for split hashes and cache keys."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


_SCAN_BYTES = 1 << 24


def _scan_file(path: Path, check_utf8: bool) -> tuple[str, int]:
    """SHA-256 and size of a file read in 16 MB pieces (never the whole file at once), and UTF-8 validity.

    A file holding only whitespace counts as empty (size 0).
    """
    import codecs

    h = hashlib.sha256()
    dec = codecs.getincrementaldecoder("utf-8")()
    size = 0
    lines = 0
    blank = True
    with open(path, "rb") as f:
        while chunk := f.read(_SCAN_BYTES):
            h.update(chunk)
            size += len(chunk)
            blank = blank and not chunk.strip()
            if check_utf8:
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError as e:
                    line = lines + chunk[: e.start].count(b"\n") + 1
                    raise BadInput(f"{path}: not valid UTF-8 (first bad byte on line {line}); "
                                   "re-save the file as UTF-8") from e
                lines += chunk.count(b"\n")
        if check_utf8:
            try:
                dec.decode(b"", final=True)
            except UnicodeDecodeError as e:
                raise BadInput(f"{path}: not valid UTF-8 (first bad byte on line {lines + 1}); "
                               "re-save the file as UTF-8") from e
    return h.hexdigest(), 0 if blank else size


def _read_frame(path: Path, fmt: str) -> pd.DataFrame:
    opts: dict[str, Any] = {"keep_default_na": False, "na_values": [""], "dtype": str}
    try:
        if fmt in ("csv", "tsv"):
            sep = "\t" if fmt == "tsv" else ","
            try:  # Arrow's reader: straight into Arrow strings, no per-row Python objects, several threads
                import pyarrow  # noqa: F401

                return pd.read_csv(path, sep=sep, engine="pyarrow", **opts)
            except ImportError:
                pass
            except Exception:  # anything Arrow cannot parse gets the C parser (and its error messages)
                pass
            return pd.read_csv(path, sep=sep, encoding="utf-8", **opts)
        if fmt == "jsonl":
            return pd.read_json(path, lines=True, dtype=False, encoding="utf-8")
        if fmt == "json":
            return pd.read_json(path, dtype=False, encoding="utf-8")
        return pd.read_parquet(path)
    except pd.errors.EmptyDataError as e:
        raise BadInput(f"{path}: the file is empty; give a file with a header and labeled rows") from e
    except (ValueError, pd.errors.ParserError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BadInput(f"{path}: cannot be read as {fmt.upper()} ({first}); check the format or the file extension") from e


def _one_chunk(values: pd.Series) -> pd.Series:
    """An Arrow-backed column in one chunk (Arrow's CSV reader leaves hundreds): taking rows for the split is
    several times faster. Anything else is returned as it is."""
    try:
        import pyarrow as pa

        arr = values.array._pa_array  # pandas' ArrowStringArray
        if arr.num_chunks <= 1:
            return values
        return pd.Series(type(values.array)(pa.chunked_array([arr.combine_chunks()])), index=values.index,
                         dtype=values.dtype)
    except Exception:
        return values


def _blank(values: pd.Series) -> pd.Series:
    """Missing or whitespace only (``str.strip``), one string at a time: no stripped copy of the column."""
    missing = values.isna().to_numpy()
    blank = np.fromiter((not str(v).strip() for v in _strings(values)), dtype=bool, count=len(values))
    return pd.Series(missing | blank, index=values.index)


def _pick_column(df: pd.DataFrame, given: str | None, names: tuple[str, ...], role: str, flag: str,
                 required: bool = True) -> str | None:
    cols = [str(c) for c in df.columns]
    if given is not None:
        if given not in cols:
            raise BadInput(f"{role} column {given!r} not found; the file has columns {cols}: pass {flag} with one of them")
        return given
    lower = {c.lower(): c for c in cols}
    for n in names:
        if n in lower:
            return lower[n]
    if required:
        raise BadInput(f"cannot tell which column holds the {role} (columns: {cols}): pass {flag}")
    return None


def load_dataset(path: str | Path, text_col: str | None = None, label_col: str | None = None,
                 split_col: str | None = None, name: str | None = None) -> Dataset:
    """Read CSV, TSV, JSONL, JSON or Parquet and validate it into a :class:`Dataset`."""
    path = Path(path)
    if not path.exists():
        raise BadInput(f"data file {str(path)!r} does not exist: check the path given to --data")
    if path.is_dir():
        raise BadInput(f"{path} is a folder: pass the data file itself to --data")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise BadInput(f"{path}: unknown file type {path.suffix!r}; use .csv, .tsv, .jsonl, .json or .parquet")
    digest, size = _scan_file(path, check_utf8=fmt != "parquet")
    if size == 0:
        raise BadInput(f"{path}: the file is empty; give a file with a header and labeled rows")
    df = _read_frame(path, fmt)
    if len(df) == 0:
        raise BadInput(f"{path}: the file has a header but no rows; add labeled rows")
    df.columns = [str(c) for c in df.columns]

    t = _pick_column(df, text_col, TEXT_COL_NAMES, "text", "--text-col")
    lab = _pick_column(df, label_col, LABEL_COL_NAMES, "label", "--label-col")
    s = _pick_column(df, split_col, SPLIT_COL_NAMES, "split", "--split-col", required=False)
    if t == lab:
        raise BadInput(f"text and label columns are both {t!r}: pass different --text-col and --label-col")

    texts = df[t]
    bad_text = _blank(texts)
    if bad_text.any():
        rows = np.flatnonzero(bad_text.to_numpy())
        raise BadInput(f"{path}: {len(rows)} row(s) have an empty or missing text in column {t!r} "
                       f"(first at data row {rows[0] + 1}); fill them in or remove them")
    labels = df[lab]
    bad_label = _blank(labels)
    if bad_label.any():
        rows = np.flatnonzero(bad_label.to_numpy())
        raise BadInput(f"{path}: {len(rows)} row(s) have no label in column {lab!r} "
                       f"(first at data row {rows[0] + 1}); label them or remove them")

    # columns stay pandas strings (Arrow-backed): no per-row Python objects, so the frame costs about the
    # file's own size; labels are stripped once per distinct value, not once per row
    lab_str = labels.astype(str)
    stripped = {v: v.strip() for v in lab_str.unique()}
    out = pd.DataFrame({
        "id": pd.Series(np.arange(len(df)).astype(str), dtype="str"),
        "text": _one_chunk(texts.astype("str").reset_index(drop=True)),
        "label": _one_chunk(lab_str.map(stripped).astype("str").reset_index(drop=True)),
    })
    notes: list[str] = []
    if s is not None:
        raw_split = df[s].astype(str).str.strip().str.lower()
        unknown = sorted(set(raw_split) - set(SPLIT_ALIASES))
        if unknown:
            raise BadInput(f"split column {s!r} has unknown value(s) {unknown[:5]}; use train/test/validation "
                           f"(or drop the column to let baseline split)")
        out["split"] = raw_split.map(SPLIT_ALIASES).to_numpy()
    n_classes = out["label"].nunique()
    if n_classes < 2:
        raise BadInput(f"{path}: only one class ({out['label'].iloc[0]!r}) in column {lab!r}; "
                       "classification needs at least two labels")
    return Dataset(name=name or path.stem, path=str(path), file_sha256=digest, frame=out,
                   text_col=t, label_col=lab, split_col=s, notes=notes)


_HASH_ROWS = 50_000


def split_hash(train: pd.DataFrame, test: pd.DataFrame, validation: pd.DataFrame | None) -> str:
    """Hash of (split, id, text, label) for every row: equal hashes mean identical splits."""
    h = hashlib.sha256()
    for name, part in (("train", train), ("test", test), ("validation", validation)):
        if part is None:
            continue
        # one update per column (separators that cannot occur in CSV cells), not one hash per row
        h.update(f"\x1d{name}\x1d{len(part)}\x1d".encode())
        for col in ("id", "text", "label"):
            values = part[col].astype(str)
            # in pieces (the same bytes as one join): one joined copy of a large column costs its whole size
            for start in range(0, len(values), _HASH_ROWS):
                if start:
                    h.update(b"\x1f")
                h.update("\x1f".join(values.iloc[start:start + _HASH_ROWS].tolist()).encode("utf-8"))
            h.update(b"\x1e")
    return h.hexdigest()


def make_split(ds: Dataset, test_size: float = 0.25, seed: int = 42) -> Split:
    """Keep the file's own train/test split when present; else a seeded stratified split."""
    df = ds.frame
    labels = ds.labels
    if "split" in df.columns:
        present = set(df["split"])
        if "train" in present and ("test" in present or "validation" in present):
            train = df[df["split"] == "train"].drop(columns="split").reset_index(drop=True)
            test_name = "test" if "test" in present else "validation"
            test = df[df["split"] == test_name].drop(columns="split").reset_index(drop=True)
            val = None
            if test_name == "test" and "validation" in present:
                val = df[df["split"] == "validation"].drop(columns="split").reset_index(drop=True)
            if test_name == "validation":
                ds.notes.append("no test split in the file: its validation split is used as test")
            _check_train(train, ds)
            return Split(train=train, test=test, validation=val, source="file", seed=seed,
                         test_size=None, hash=split_hash(train, test, val), labels=labels)
        ds.notes.append(f"split column holds only {sorted(present)}: ignored, rows split by baseline")
        df = df.drop(columns="split")
    if not 0 < test_size < 1:
        raise BadInput(f"--test-size must be between 0 and 1 (got {test_size})")
    counts = df["label"].value_counts()
    small = counts[counts < 2]
    if len(small):
        raise BadInput(f"class {small.index[0]!r} has only {int(small.iloc[0])} row; a stratified split needs "
                       "at least 2 per class: add examples or remove the class")
    n_test = int(np.ceil(test_size * len(df)))
    if n_test < len(counts) or len(df) - n_test < len(counts):
        raise BadInput(f"{len(df)} rows cannot be split into train and test that each hold all "
                       f"{len(counts)} classes at --test-size {test_size}: add rows or change --test-size")
    from sklearn.model_selection import train_test_split

    # split row numbers, then take the rows: the same split as splitting the frame, without sklearn's
    # generic indexing of a wide object frame
    # labels as codes in sorted order: the classes np.unique would find, without sorting 1M strings
    strata = pd.Categorical(df["label"], categories=sorted(counts.index)).codes
    tr, te = train_test_split(np.arange(len(df)), test_size=test_size, random_state=seed, stratify=strata)
    train = df.iloc[tr].reset_index(drop=True)
    test = df.iloc[te].reset_index(drop=True)
    return Split(train=train, test=test, validation=None, source="stratified", seed=seed,
                 test_size=test_size, hash=split_hash(train, test, None), labels=labels)


def _check_train(train: pd.DataFrame, ds: Dataset) -> None:
    if train["label"].nunique() < 2:
        raise BadInput(f"{ds.path}: the train split holds only one class; every adapter that learns needs two or more")


def normalize_texts(texts: pd.Series) -> pd.Series:
    """Lower case, whitespace runs collapsed, ends stripped: the key for duplicates and leakage."""
    return texts.str.lower().str.replace(r"\s+", " ", regex=True).str.strip()


def normalized_keys(texts: pd.Series) -> np.ndarray:
    """``normalize_texts`` as one 64-bit hash per text (equal normalised texts, equal keys)."""
    return np.fromiter((hash(" ".join(t.lower().split())) for t in _strings(texts)), dtype=np.int64, count=len(texts))


def _strings(values: pd.Series, rows: int = 50_000) -> Iterator[str]:
    """A column's values as Python strings, a piece at a time (one ``tolist`` per piece, not per row)."""
    for start in range(0, len(values), rows):
        yield from values.iloc[start:start + rows].tolist()


def _length_stats(texts: pd.Series) -> dict[str, float]:
    n = texts.str.len().to_numpy()
    return {"min": int(n.min()), "median": float(np.median(n)), "mean": round(float(n.mean()), 1),
            "p95": float(np.percentile(n, 95)), "max": int(n.max())}


def profile(ds: Dataset, split: Split, examples: int = 3) -> dict[str, Any]:
    """What a reviewer should know about the data before trusting any score."""
    parts = {"train": split.train, "test": split.test}
    if split.validation is not None:
        parts["validation"] = split.validation
    # every text as 64-bit hashes (exact and normalised), one Python string alive at a time: a joined copy
    # of every text would double the memory a large file needs (a collision at 1M rows has odds ~1e-7)
    frames = list(parts.values())
    exact = np.concatenate([np.fromiter((hash(t) for t in _strings(f["text"])), dtype=np.int64, count=len(f))
                            for f in frames])
    norm = np.concatenate([normalized_keys(f["text"]) for f in frames])
    dup_mask = pd.Series(exact).duplicated(keep=False).to_numpy()
    near_dup = int(pd.Series(norm).duplicated(keep=False).sum())
    # only texts that occur more than once can carry conflicting labels
    bounds = np.cumsum([0] + [len(f) for f in frames])
    dup_rows = pd.concat([f.loc[dup_mask[bounds[i]:bounds[i + 1]], ["text", "label"]] for i, f in enumerate(frames)])
    by_text = dup_rows.groupby("text")["label"].nunique()
    conflicting = by_text[by_text > 1]
    # leakage after the same normalisation as the duplicate count: test rows whose text is in train
    n_train, n_test = len(split.train), len(split.test)
    leaked = np.isin(norm[n_train:n_train + n_test], norm[:n_train])
    exact_leak = int(np.isin(exact[n_train:n_train + n_test], exact[:n_train]).sum())
    del norm, exact
    leak = list(dict.fromkeys(split.test["text"][leaked]))
    train_labels = set(split.train["label"])
    test_only = sorted(set(split.test["label"]) - train_labels, key=str)
    declared_unused = [lab for lab in split.labels if lab not in set(split.test["label"])]
    counts = {k: {str(lab): int(c) for lab, c in v["label"].value_counts().sort_index().items()}
              for k, v in parts.items()}
    total = pd.concat([f["label"] for f in frames], ignore_index=True).value_counts()
    return {
        "dataset": ds.name,
        "path": ds.path,
        "text_col": ds.text_col,
        "label_col": ds.label_col,
        "split_col": ds.split_col,
        "split_source": split.source,
        "rows": {k: int(len(v)) for k, v in parts.items()},
        "classes": len(split.labels),
        "labels": split.labels,
        "class_counts": counts,
        "majority_share": round(float(total.max() / total.sum()), 4),
        "minority_share": round(float(total.min() / total.sum()), 4),
        "text_chars": {k: _length_stats(v["text"]) for k, v in parts.items()},
        "exact_duplicate_rows": int(dup_mask.sum()),
        "normalized_duplicate_rows": near_dup,
        "test_texts_in_train": int(leaked.sum()),          # test rows, after normalisation
        "test_texts_in_train_exact": exact_leak,           # test rows, byte-identical text
        "test_texts_in_train_examples": [t[:200] for t in leak[:examples]],
        "labels_test_not_train": [str(x) for x in test_only],   # no adapter that learns can predict these
        "labels_absent_from_test": [str(x) for x in declared_unused],  # outside macro-F1 unless predicted
        "conflicting_label_texts": int(len(conflicting)),
        "conflicting_label_examples": [t[:200] for t in conflicting.index[:examples]],
        "notes": list(ds.notes),
    }


def demo_dataset_path() -> Path:
    """The team-written demo dataset, from the installed package or the source checkout."""
    here = Path(__file__).resolve().parent
    for cand in (here / "_demo" / "feedback" / "feedback.csv",
                 here.parents[1] / "datasets" / "feedback" / "feedback.csv"):
        if cand.exists():
            return cand
    raise BadInput("the bundled demo dataset is missing from this install: pass --data FILE")


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str)
