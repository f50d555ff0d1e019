"""Load, validate, split and profile a labeled text dataset.

Data flows one way: ``load_dataset`` → ``make_split`` → ``profile``. Every function returns
plain data; every problem with the user's file is a :class:`BadInput` naming it.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, overload

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
    label_names: list[str] | None = None  # the single labels when ``label`` holds label sets (multi-label)
    schema: dict[str, str] | None = None  # tabular tasks: feature → kind; ``text`` holds each row as JSON
    table: dict[str, Any] | None = None   # tabular tasks: every column's reading, the target, the time column

    @cached_property
    def labels(self) -> list[str]:
        """The distinct labels, sorted (read once: ``make_split`` moves the rows out of ``frame``)."""
        if self.label_names is not None:
            return list(self.label_names)
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
    schema: dict[str, str] | None = None  # tabular tasks: feature → kind (the items are JSON rows of these)
    _keys: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def text_keys(self, part: str) -> np.ndarray:
        """Normalised 64-bit hashes (``normalized_keys``) of one part's texts, computed once per split: the profile
        and the leakage check both read them, and at 1M rows each pass over the texts costs a second."""
        if part not in self._keys:
            self._keys[part] = normalized_keys(getattr(self, part)["text"])
        return self._keys[part]

    def drop_texts(self) -> None:
        """Let every part's text column go (ids, labels and the cached text hashes stay): once the adapters have
        run and the predictions are written, a large run's late stages need no texts, and at 1M rows they are the
        largest thing the process holds."""
        for part in ("train", "test", "validation"):
            frame = getattr(self, part)
            if frame is not None and "text" in frame.columns:
                self.text_keys(part)  # the leakage check reads these after the texts are gone
                setattr(self, part, frame.drop(columns="text"))

    def assignment(self) -> pd.DataFrame:
        """Row id → split name, the table that is saved with every run."""
        parts = [self.train.assign(split="train"), self.test.assign(split="test")]
        if self.validation is not None:
            parts.append(self.validation.assign(split="validation"))
        return pd.concat(parts)[["id", "split"]].reset_index(drop=True)


class TextColumn(Sequence[str]):
    """A split's text column as a read-only sequence of strings, made a piece at a time as a caller iterates: a
    large train split never exists as one Python list (adapters that declare ``streams_texts`` get one)."""

    def __init__(self, values: pd.Series) -> None:
        self._values = values.reset_index(drop=True)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[str]:
        return _strings(self._values)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return self._values.iloc[i].tolist()
        return str(self._values.iloc[i])

    def take(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        """The texts at these positions, as a list: a slice when they are consecutive (batches usually are), else
        one Arrow take per chunk they touch."""
        if not len(rows):
            return []
        idx = np.asarray(rows, dtype=np.int64)
        if idx[-1] - idx[0] == len(idx) - 1 and (len(idx) < 2 or bool((np.diff(idx) == 1).all())):
            return self._values.iloc[int(idx[0]):int(idx[-1]) + 1].tolist()
        return take_rows(self._values, idx).tolist()


def take_rows(values: pd.Series | pd.DataFrame, rows: np.ndarray) -> Any:
    """``values.iloc[rows]`` (index reset), with Arrow-backed string columns taken chunk by chunk: Arrow's take on a
    chunked column first joins every chunk into one copy of the whole column."""
    if isinstance(values, pd.DataFrame):
        return pd.DataFrame({c: take_rows(values[c], rows) for c in values.columns})
    rows = np.asarray(rows, dtype=np.int64)
    arr = getattr(values.array, "_pa_array", None)
    if arr is None or arr.num_chunks <= 1 or not isinstance(values.dtype, pd.StringDtype):
        return values.iloc[rows].reset_index(drop=True)
    import pyarrow as pa

    starts = np.cumsum([0] + [len(c) for c in arr.chunks])
    which = np.searchsorted(starts, rows, side="right") - 1
    order = np.argsort(which, kind="stable")
    pieces = []
    for j in np.unique(which):
        sel = order[which[order] == j]
        pieces.append((sel, arr.chunk(int(j)).take(pa.array(rows[sel] - starts[j]))))
    if not pieces:
        return values.iloc[:0].reset_index(drop=True)
    joined = pa.concat_arrays([p for _, p in pieces])
    back = np.empty(len(rows), dtype=np.int64)
    back[np.concatenate([sel for sel, _ in pieces])] = np.arange(len(rows))
    return pd.Series(type(values.array)(pa.chunked_array([joined.take(pa.array(back))])), dtype=values.dtype)


def shared_strings(values: pd.Series) -> list[str]:
    """A column of few distinct values (labels) as a list whose equal values are one string object each."""
    codes, uniques = pd.factorize(values)
    return np.asarray([str(u) for u in uniques], dtype=object)[codes].tolist()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def text_hash(text: str) -> str:
    """Stable short hash of a text, used for split hashes and cache keys."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


_SCAN_BYTES = 1 << 20


def _scan_file(path: Path, check_utf8: bool) -> tuple[str, int, bool]:
    """SHA-256 and size of a file read in 1 MB pieces (never the whole file at once), UTF-8 validity, and whether
    it holds a double quote at all (without one, no quoted value can hold a newline: Arrow may cut the file
    into blocks at any newline).

    A file holding only whitespace counts as empty (size 0).
    """
    import codecs

    h = hashlib.sha256()
    dec = codecs.getincrementaldecoder("utf-8")()
    size = 0
    lines = 0
    blank = True
    quotes = False
    with open(path, "rb") as f:
        while chunk := f.read(_SCAN_BYTES):
            h.update(chunk)
            size += len(chunk)
            blank = blank and not chunk.strip()
            quotes = quotes or b'"' in chunk
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
    return h.hexdigest(), 0 if blank else size, quotes


_ARROW_BLOCK = 4 << 20  # Arrow's streaming reader parses the file a block this size at a time (larger blocks
# leave more over-allocated builder memory behind: 16 MB blocks held 1.3× the strings, 4 MB ones 1.0×)


def _read_arrow_csv(path: Path, sep: str, quotes: bool) -> pd.DataFrame | None:
    """Every column as Arrow-backed pandas strings (empty cells missing), in 4 MB chunks; None when Arrow is not
    installed or the header has repeated names (pandas' own reader renames those). The streaming reader holds one
    block beside what it has parsed: the whole-file reader holds about twice the file at its peak."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pcsv
    except ImportError:
        return None
    import csv

    with open(path, encoding="utf-8", newline="") as f:
        header = next(csv.reader(f, delimiter=sep), [])
    if not header or len(set(header)) != len(header):
        return None
    with pcsv.open_csv(
            path, read_options=pcsv.ReadOptions(block_size=_ARROW_BLOCK),
            parse_options=pcsv.ParseOptions(delimiter=sep, newlines_in_values=quotes),
            convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(header, pa.large_string()), null_values=[""],
                                                strings_can_be_null=True)) as reader:
        table = reader.read_all()
    pa.default_memory_pool().release_unused()  # the parser's block buffers: back to the system now, not later
    return pd.DataFrame({name: pd.Series(pd.arrays.ArrowStringArray(table.column(name)), dtype="str")
                         for name in table.column_names})


def _read_frame(path: Path, fmt: str, quotes: bool = True) -> pd.DataFrame:
    """The file as a frame of strings. CSV/TSV go through Arrow's reader first (it checks UTF-8 itself); anything
    it cannot parse is checked for UTF-8 here (naming the first bad line) and read by pandas' C parser (with its
    error messages). JSON was checked by ``load_dataset``'s scan."""
    opts: dict[str, Any] = {"keep_default_na": False, "na_values": [""], "dtype": str}
    if fmt in ("csv", "tsv"):
        try:  # Arrow's reader: straight into Arrow strings, no per-row Python objects
            df = _read_arrow_csv(path, "\t" if fmt == "tsv" else ",", quotes)
            if df is not None:
                return df
        except Exception:  # anything Arrow cannot parse gets the C parser (and its error messages)
            pass
        _scan_file(path, check_utf8=True)  # names the first bad line before pandas' reader fails on it
    try:
        if fmt in ("csv", "tsv"):
            return pd.read_csv(path, sep="\t" if fmt == "tsv" else ",", encoding="utf-8", **opts)
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


def _row_ids(n: int) -> pd.Series:
    """"0" … "n-1" as strings (Arrow's string buffers written by numpy when Arrow is there: no Python string per
    row, and no number-to-text cast, which took 0.25 s at 3M rows)."""
    try:
        import pyarrow as pa
    except ImportError:
        return pd.Series(np.arange(n).astype(str), dtype="str")
    data, offsets = _decimal_digits(n)
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([arr])), dtype="str")


def _decimal_digits(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The decimal digits of 0 … n-1 end to end (ASCII bytes) and where each number starts (n + 1 offsets). The
    numbers of one width d run from 10^(d-1) upwards, so each digit column is a repeating pattern: the digit worth
    10^k counts 0-9, each held 10^k times (the leading digit counts from 1); written with numpy's repeat, no
    division per number."""
    offsets = np.zeros(n + 1, dtype=np.int64)
    parts = []
    at, lo, d = 0, 0, 1
    while lo < n:
        hi = min(n, 10 ** d)
        m = hi - lo
        digits = np.empty((m, d), dtype=np.uint8)
        for k in range(d):   # the digit worth 10^k: column d-1-k
            if k == d - 1:
                digits[:, 0] = np.repeat(np.arange(1 if d > 1 else 0, 10, dtype=np.uint8), 10 ** k)[:m]
            else:
                digits[:, d - 1 - k] = np.resize(np.repeat(np.arange(10, dtype=np.uint8), 10 ** k), m)
        parts.append((digits + 48).reshape(-1))  # "0" is 48
        offsets[lo + 1:hi + 1] = at + d * np.arange(1, m + 1, dtype=np.int64)
        at += m * d
        lo, d = hi, d + 1
    return (np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)), offsets


def _from_codes(codes: np.ndarray, values: list[str]) -> pd.Series:
    """``values[codes]`` as a pandas string column (every code a valid index), built by Arrow from the dictionary
    when it is there: no Python string per row."""
    try:
        import pyarrow as pa
    except ImportError:
        return pd.Series(np.asarray(values, dtype=object)[codes], dtype="str")
    arr = pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, dtype=np.int32)), pa.array(values, pa.large_string()))
    return pd.Series(pd.arrays.ArrowStringArray(arr.cast(pa.large_string())), dtype="str")


def _blank(values: pd.Series) -> pd.Series:
    """Missing or whitespace only, one Arrow chunk (or one piece of Python strings) at a time: no stripped copy of
    the whole column."""
    missing = values.isna().to_numpy()
    arr = getattr(values.array, "_pa_array", None)
    if arr is not None:
        import pyarrow.compute as pc

        blank = np.concatenate([_blank_chunk(c, pc) for c in arr.chunks] or [np.zeros(0, dtype=bool)])
    else:
        blank = np.fromiter((not str(v).strip() for v in _strings(values)), dtype=bool, count=len(values))
    return pd.Series(missing | blank, index=values.index)


def _blank_chunk(chunk: Any, pc: Any) -> np.ndarray:
    """Per row of one Arrow string chunk, whether it is empty or whitespace only (Arrow's ``utf8_trim_whitespace``).
    A row whose first byte is printable ASCII other than a space is not blank whatever whitespace means, so only
    the other rows (empty, or starting with a space, a control character or a non-ASCII byte) are trimmed: on a
    large file that is a few rows, not a trimmed copy of every text."""
    import pyarrow as pa

    def trimmed_empty(arr: Any) -> np.ndarray:
        return pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(arr)), 0).fill_null(True).to_numpy(zero_copy_only=False)

    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        return trimmed_empty(chunk)
    n = len(chunk)
    offsets, data = _string_buffers(chunk)
    starts, ends = offsets[:-1], offsets[1:]
    check = ends <= starts
    full = np.flatnonzero(~check)
    first = data[starts[full]]
    check[full] = (first <= 0x20) | (first >= 0x7F)
    blank = np.zeros(n, dtype=bool)
    rows = np.flatnonzero(check)
    if len(rows):
        blank[rows] = trimmed_empty(chunk.take(pa.array(rows)))
    return blank


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


def read_table(path: str | Path) -> tuple[pd.DataFrame, str]:
    """Read CSV, TSV, JSONL, JSON or Parquet as a frame with string column names, and the file's SHA-256; a missing,
    empty or unreadable file is ``BadInput`` naming it. Every task reads its file through here."""
    path = Path(path)
    if not path.exists():
        raise BadInput(f"data file {str(path)!r} does not exist: check the path given to --data")
    if path.is_dir():
        raise BadInput(f"{path} is a folder: pass the data file itself to --data")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise BadInput(f"{path}: unknown file type {path.suffix!r}; use .csv, .tsv, .jsonl, .json or .parquet")
    # CSV/TSV: UTF-8 is checked by the reader that parses it (``_read_frame``); Parquet is binary
    digest, size, quotes = _scan_file(path, check_utf8=fmt in ("json", "jsonl"))
    if size == 0:
        raise BadInput(f"{path}: the file is empty; give a file with a header and labeled rows")
    df = _read_frame(path, fmt, quotes)
    if len(df) == 0:
        raise BadInput(f"{path}: the file has a header but no rows; add labeled rows")
    df.columns = [str(c) for c in df.columns]
    return df, digest


def pick_text_column(df: pd.DataFrame, text_col: str | None, path: str | Path) -> str:
    """The text column (given or auto-detected), with no empty or missing text (``BadInput`` naming the rows)."""
    t = _pick_column(df, text_col, TEXT_COL_NAMES, "text", "--text-col")
    bad_text = _blank(df[t])
    if bad_text.any():
        rows = np.flatnonzero(bad_text.to_numpy())
        raise BadInput(f"{path}: {len(rows)} row(s) have an empty or missing text in column {t!r} "
                       f"(first at data row {rows[0] + 1}); fill them in or remove them")
    return t


def pick_split_column(df: pd.DataFrame, split_col: str | None) -> tuple[str | None, np.ndarray | None]:
    """The split column (given or auto-detected) and its values as train/test/validation, or (None, None)."""
    s = _pick_column(df, split_col, SPLIT_COL_NAMES, "split", "--split-col", required=False)
    if s is None:
        return None, None
    raw_split = df[s].astype(str).str.strip().str.lower()
    unknown = sorted(set(raw_split) - set(SPLIT_ALIASES))
    if unknown:
        raise BadInput(f"split column {s!r} has unknown value(s) {unknown[:5]}; use train/test/validation "
                       f"(or drop the column to let baseline split)")
    return s, raw_split.map(SPLIT_ALIASES).to_numpy()


def row_ids(n: int) -> pd.Series:
    """Row ids "0" … "n-1" as a string column."""
    return _row_ids(n)


def load_dataset(path: str | Path, text_col: str | None = None, label_col: str | None = None,
                 split_col: str | None = None, name: str | None = None) -> Dataset:
    """Read CSV, TSV, JSONL, JSON or Parquet and validate it into a single-label text :class:`Dataset`."""
    return text_dataset(*read_table(path), path, text_col, label_col, split_col, name)


def label_column(df: pd.DataFrame, label_col: str | None) -> str:
    """The label column, given or auto-detected (``BadInput`` when neither)."""
    return _pick_column(df, label_col, LABEL_COL_NAMES, "label", "--label-col")


def text_dataset(df: pd.DataFrame, digest: str, path: str | Path, text_col: str | None = None,
                 label_col: str | None = None, split_col: str | None = None, name: str | None = None) -> Dataset:
    """Validate a frame read by ``read_table`` into a single-label text :class:`Dataset`."""
    path = Path(path)

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
    codes, uniques = pd.factorize(labels.astype(str))
    out = pd.DataFrame({
        "id": _row_ids(len(df)),
        "text": texts.astype("str").reset_index(drop=True),
        "label": _from_codes(codes, [str(v).strip() for v in uniques]),
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
            _hash_joined(h, part[col].astype(str))
            h.update(b"\x1e")
    release_arrow_pool()  # the joined pieces' memory back to the system, not kept by Arrow's pool
    return h.hexdigest()


def _hash_joined(h: Any, values: pd.Series) -> None:
    """``h.update("\\x1f".join(values).encode("utf-8"))``, a piece at a time (the same bytes as one join: a joined
    copy of a large column costs its whole size). An Arrow string column is joined by Arrow, piece by piece, with no
    Python string per row (at 2M rows that was most of the split's time)."""
    arr = _arrow_strings(values)
    if arr is None:
        for start in range(0, len(values), _HASH_ROWS):
            if start:
                h.update(b"\x1f")
            h.update("\x1f".join(values.iloc[start:start + _HASH_ROWS].tolist()).encode("utf-8"))
        return
    import pyarrow as pa
    import pyarrow.compute as pc

    sep = pa.scalar("\x1f", arr.type)
    first = True
    for chunk in arr.chunks:
        for start in range(0, len(chunk), _HASH_ROWS):
            piece = chunk.slice(start, _HASH_ROWS)
            if not first:
                h.update(b"\x1f")
            first = False
            rows = pa.ListArray.from_arrays(pa.array([0, len(piece)], pa.int32()), piece)
            h.update(pc.binary_join(rows, sep)[0].as_buffer())


def release_arrow_pool() -> None:
    """Hand memory Arrow's pool keeps after freeing back to the system (mimalloc or jemalloc keep it otherwise;
    the CLI runs Arrow on the C heap, which ``trim_heap`` returns)."""
    try:
        import pyarrow as pa
    except ImportError:
        return
    pa.default_memory_pool().release_unused()


def _take_parts(frame: pd.DataFrame, parts: list[np.ndarray]) -> list[pd.DataFrame]:
    """Rows of ``frame`` for each part (ascending row numbers; a row in at most one part), one Arrow chunk of each
    column at a time: the chunk read is released as soon as its rows are copied, so a large file is held about
    once, not twice, while it is split. ``frame`` is emptied."""
    n = len(frame)
    which = np.full(n, -1, dtype=np.int8)
    for k, rows in enumerate(parts):
        which[rows] = k
    columns: list[dict[str, pd.Series]] = [{} for _ in parts]
    for name in list(frame.columns):
        col = frame.pop(name)
        arr = getattr(col.array, "_pa_array", None)
        if arr is None or not isinstance(col.dtype, pd.StringDtype):
            for k, rows in enumerate(parts):
                columns[k][name] = col.iloc[rows].reset_index(drop=True)
            continue
        import pyarrow as pa

        chunks, kind = list(arr.chunks), type(col.array)
        del col, arr
        pieces: list[list[Any]] = [[] for _ in parts]
        start = 0
        for j in range(len(chunks)):
            chunk, chunks[j] = chunks[j], None
            w = which[start:start + len(chunk)]
            for k in range(len(parts)):
                pieces[k].append(chunk.filter(pa.array(w == k)))
            start += len(chunk)
            del chunk
        for k in range(len(parts)):
            columns[k][name] = pd.Series(kind(pa.chunked_array(pieces[k], type=pa.large_string()
                                                               if not pieces[k] else pieces[k][0].type)),
                                         dtype="str")
    return [pd.DataFrame(c) for c in columns]


def _approximate_mode(counts: np.ndarray, draws: int, rng: np.random.RandomState) -> np.ndarray:
    """Rows to draw from each class so that ``draws`` rows keep the classes' shares: the floor of each exact share,
    then one more for the largest remainders, ties broken at random (one ``rng.choice`` per remainder value, from
    the largest down)."""
    exact = counts / counts.sum() * draws
    out = np.floor(exact)
    short = int(draws - out.sum())
    if short > 0:
        rest = exact - out
        for value in np.unique(rest)[::-1]:
            tied = np.flatnonzero(rest == value)
            take = min(len(tied), short)
            out[rng.choice(tied, size=take, replace=False)] += 1
            short -= take
            if short == 0:
                break
    return out.astype(int)


def stratified_rows(strata: np.ndarray, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Ascending train and test row numbers of a seeded stratified split (strata: class codes 0..k-1, each
    present): the rows scikit-learn's ``train_test_split(..., stratify=strata, random_state=seed)`` picks, drawn
    with the same random stream (class sizes by approximate mode, then one permutation per class), so splits
    made before this function existed are unchanged. Written here so the split needs no scikit-learn (its import
    costs 70 MB at the point where a large file's memory peaks) and stays the same whatever version is installed;
    ``tests/test_data.py`` checks it against scikit-learn."""
    counts = np.bincount(strata)
    n_train = len(strata) - n_test
    rng = np.random.RandomState(seed)
    n_tr = _approximate_mode(counts, n_train, rng)
    n_te = _approximate_mode(counts - n_tr, n_test, rng)
    keys = strata.astype(np.int16) if len(counts) <= np.iinfo(np.int16).max else strata  # radix sort: same order
    members = np.split(np.argsort(keys, kind="stable"), np.cumsum(counts)[:-1])
    part = np.full(len(strata), -1, dtype=np.int8)
    for i, rows in enumerate(members):
        mixed = rows[rng.permutation(counts[i])]
        part[mixed[:n_tr[i]]] = 0
        part[mixed[n_tr[i]:n_tr[i] + n_te[i]]] = 1
    return np.flatnonzero(part == 0), np.flatnonzero(part == 1)


def _emptied(df: pd.DataFrame) -> pd.DataFrame:
    """A new empty frame with ``df``'s columns and types; ``df.iloc[:0]`` would keep its buffers alive."""
    return pd.DataFrame({c: pd.Series([], dtype=df[c].dtype) for c in df.columns})


def label_strata_rows(df: pd.DataFrame, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Single-label stratification: every class with at least 2 rows, and on both sides of the split."""
    counts = df["label"].value_counts()
    small = counts[counts < 2]
    if len(small):
        raise BadInput(f"class {small.index[0]!r} has only {int(small.iloc[0])} row; a stratified split needs "
                       "at least 2 per class: add examples or remove the class")
    if n_test < len(counts) or len(df) - n_test < len(counts):
        raise BadInput(f"{len(df)} rows cannot be split into train and test that each hold all "
                       f"{len(counts)} classes with {n_test} test rows: add rows or change --test-size")
    # labels as codes in sorted order: the classes np.unique would find, without sorting 1M strings
    codes, uniques = pd.factorize(df["label"])  # Arrow's dictionary encoding: no Python string per row
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[np.argsort(np.asarray([str(u) for u in uniques], dtype=object))] = np.arange(len(uniques))
    return stratified_rows(rank[codes], n_test, seed)


def make_split(ds: Dataset, test_size: float = 0.25, seed: int = 42,
               strata_rows: Callable[[pd.DataFrame, int, int], tuple[np.ndarray, np.ndarray]] = label_strata_rows,
               check_train: Callable[[pd.DataFrame, Dataset], None] | None = None,
               source: str = "stratified") -> Split:
    """Keep the file's own train/test split when present; else a seeded stratified split (``strata_rows``: the
    task's stratification). Either way each part keeps the file's row order. The rows move from ``ds.frame`` into
    the split (``ds.frame`` is left empty)."""
    check_train = check_train or _check_train
    df = ds.frame
    labels = ds.labels
    if "split" in df.columns:
        present = set(df["split"])
        if "train" in present and ("test" in present or "validation" in present):
            test_name = "test" if "test" in present else "validation"
            has_val = test_name == "test" and "validation" in present
            names = ["train", test_name] + (["validation"] if has_val else [])
            ds.frame = _emptied(df)
            where = df.pop("split").to_numpy()
            parts = _take_parts(df, [np.flatnonzero(where == k) for k in names])
            del df, where
            train, test = parts[0], parts[1]
            val = parts[2] if has_val else None
            if test_name == "validation":
                ds.notes.append("no test split in the file: its validation split is used as test")
            check_train(train, ds)
            return Split(train=train, test=test, validation=val, source="file", seed=seed,
                         test_size=None, hash=split_hash(train, test, val), labels=labels, schema=ds.schema)
        ds.notes.append(f"split column holds only {sorted(present)}: ignored, rows split by baseline")
        df = df.drop(columns="split")
    if not 0 < test_size < 1:
        raise BadInput(f"--test-size must be between 0 and 1 (got {test_size})")
    n_test = int(np.ceil(test_size * len(df)))
    tr, te = strata_rows(df, n_test, seed)
    ds.frame = _emptied(df)
    train, test = _take_parts(df, [tr, te])
    del df
    return Split(train=train, test=test, validation=None, source=source, seed=seed,
                 test_size=test_size, hash=split_hash(train, test, None), labels=labels, schema=ds.schema)


def _check_train(train: pd.DataFrame, ds: Dataset) -> None:
    if train["label"].nunique() < 2:
        raise BadInput(f"{ds.path}: the train split holds only one class; every adapter that learns needs two or more")


# rows turned into Python strings at a time. A piece's strings live in CPython's 1 MB small-object arenas, and an
# arena left empty when the piece is freed goes back to the system, to be faulted in again for the next piece:
# hashing 200k texts three times over took 36k minor page faults in 50,000-row pieces and 2.5k in 10,000-row ones,
# whose arenas are reused (tests/test_data.py::test_text_keys_reuse_the_memory_of_their_python_strings)
PIECE_ROWS = 10_000


def normalize_texts(texts: pd.Series) -> pd.Series:
    """Lower case, whitespace runs collapsed, ends stripped: the key for duplicates and leakage."""
    return texts.str.lower().str.replace(r"\s+", " ", regex=True).str.strip()


def normalized_keys(texts: pd.Series, rows: int = PIECE_ROWS) -> np.ndarray:
    """``normalize_texts`` as one 64-bit hash per text (equal normalised texts, equal keys), one piece of the column
    turned into Python strings at a time.

    On an Arrow string column most rows skip the Python normalisation (``" ".join(text.lower().split())``, most of
    the profile's time at 1M rows): a text of printable ASCII only, with no space at either end and never two in a
    row, normalises to itself lower-cased, which Arrow does for the whole piece at once; its key is the hash of that
    string, the same hash the Python path gives. Every other text (tabs, newlines, repeated or edge spaces, anything
    beyond ASCII) takes the Python path, so the keys are the same either way."""
    norm = np.empty(len(texts), dtype=np.int64)
    arrow = _arrow_strings(texts)
    if arrow is None:
        for start, piece in zip(range(0, len(texts), rows), _pieces(texts, rows), strict=True):
            norm[start:start + len(piece)] = list(map(_normalized_key, piece))
        return norm
    import pyarrow as pa
    import pyarrow.compute as pc

    for start in range(0, len(texts), rows):
        part = arrow.slice(start, rows)
        n = len(part)
        plain = np.concatenate([_plain_rows(c) for c in part.chunks] or [np.zeros(0, dtype=bool)])
        k = int(plain.sum())
        if k * 2 >= n:   # mostly plain: lower-case the whole piece (no filtered copy), then redo the few others
            lowered = pc.ascii_lower(part).to_numpy(zero_copy_only=False)
            norm[start:start + n] = np.fromiter(map(hash, lowered), dtype=np.int64, count=n)
        elif k:
            lowered = pc.ascii_lower(part.filter(pa.array(plain))).to_numpy(zero_copy_only=False)
            norm[start:start + n][plain] = np.fromiter(map(hash, lowered), dtype=np.int64, count=k)
        if k < n:
            other = part.filter(pa.array(~plain)).to_numpy(zero_copy_only=False)
            norm[start:start + n][~plain] = list(map(_normalized_key, other))
    return norm


def _normalized_key(text: str) -> int:
    return hash(" ".join(text.lower().split()))


def exact_keys(texts: pd.Series, rows: int = PIECE_ROWS) -> np.ndarray:
    """One 64-bit hash per text as it is (equal texts, equal keys)."""
    keys = np.empty(len(texts), dtype=np.int64)
    for start, piece in zip(range(0, len(texts), rows), _pieces(texts, rows), strict=True):
        keys[start:start + len(piece)] = list(map(hash, piece))
    return keys


def _arrow_strings(texts: pd.Series) -> Any:
    """The column's Arrow data when it is Arrow ``string`` / ``large_string`` without nulls, else ``None``."""
    import pyarrow as pa

    arr = getattr(texts.array, "_pa_array", None)
    if not isinstance(arr, pa.ChunkedArray) or arr.null_count:
        return None
    return arr if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) else None


def _string_buffers(chunk: Any) -> tuple[np.ndarray, np.ndarray]:
    """An Arrow ``string`` / ``large_string`` array's n + 1 offsets (int64, its slice only) and its data bytes, as
    numpy views of its buffers (the offsets copied to int64 for ``string``)."""
    import pyarrow as pa

    n = len(chunk)
    _, off_buf, data_buf = chunk.buffers()
    wide = pa.types.is_large_string(chunk.type)
    offsets = np.frombuffer(off_buf, dtype=np.int64 if wide else np.int32)[chunk.offset:chunk.offset + n + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, dtype=np.uint8)
    return offsets.astype(np.int64, copy=False), data


def _plain_rows(chunk: Any) -> np.ndarray:
    """Which rows of an Arrow string array are plain: printable ASCII bytes only (0x20–0x7E), no space first or last
    and no two spaces in a row. For such a text Python's ``" ".join(text.lower().split())`` is ``text.lower()`` (its
    only whitespace is single inner spaces) and ``str.lower`` is ASCII lower-casing. Read off the array's offsets and
    data bytes with numpy."""
    n = len(chunk)
    offsets, data = _string_buffers(chunk)
    lo = int(offsets[0]) if n else 0
    b = data[lo:int(offsets[-1])] if n else data[:0]
    bad = (b < 0x20) | (b > 0x7E)                       # control characters (tabs, newlines …), DEL, non-ASCII
    bad[1:] |= (b[1:] == 0x20) & (b[:-1] == 0x20)       # the second of two spaces (across rows: both rows fail below)
    plain = np.ones(n, dtype=bool)
    plain[np.searchsorted(offsets, np.flatnonzero(bad) + lo, side="right") - 1] = False
    starts, ends = offsets[:-1], offsets[1:]
    full = ends > starts
    plain[full] &= (data[starts[full]] != 0x20) & (data[ends[full] - 1] != 0x20)
    return plain


def _pieces(values: pd.Series, rows: int = PIECE_ROWS) -> Iterator[list[str]]:
    """A column as lists of ``rows`` Python strings each."""
    for start in range(0, len(values), rows):
        yield values.iloc[start:start + rows].tolist()


def _strings(values: pd.Series, rows: int = PIECE_ROWS) -> Iterator[str]:
    """A column's values as Python strings, a piece at a time (one ``tolist`` per piece, not per row)."""
    for piece in _pieces(values, rows):
        yield from piece


def _length_stats(texts: pd.Series) -> dict[str, float]:
    n = texts.str.len().to_numpy()
    return {"min": int(n.min()), "median": float(np.median(n)), "mean": round(float(n.mean()), 1),
            "p95": float(np.percentile(n, 95)), "max": int(n.max())}


def _conflicting_labels(frames: list[pd.DataFrame], exact: np.ndarray, dup_mask: np.ndarray,
                        examples: int) -> tuple[int, list[str]]:
    """Distinct texts that occur with more than one label (over every part), and the first ``examples`` of them in
    sorted order. Only texts that occur more than once can conflict; their rows are grouped by the exact text hash
    (``exact``, every part's rows in order) with the labels as codes, not by the texts themselves: on a file with many
    repeated texts, grouping the strings was most of the profile's time. Only the conflicting texts are read back."""
    bounds = np.cumsum([0] + [len(f) for f in frames])
    rows = [np.flatnonzero(dup_mask[bounds[i]:bounds[i + 1]]) for i in range(len(frames))]
    labels = pd.concat([take_rows(f["label"], r) for f, r in zip(frames, rows, strict=True)], ignore_index=True)
    codes = pd.factorize(labels)[0]  # a missing label is -1: not a label, as groupby's nunique skips it
    keys = exact[np.flatnonzero(dup_mask)]
    pairs = pd.DataFrame({"key": keys, "label": codes})
    per_text = pairs[pairs["label"] >= 0].drop_duplicates()["key"].value_counts()
    conflicting = per_text.index[per_text.to_numpy() > 1]
    if not len(conflicting) or not examples:
        return int(len(conflicting)), []
    hit = pd.Series(keys).isin(conflicting).to_numpy()
    first = hit & ~pd.Series(keys).duplicated().to_numpy()  # one row per conflicting text
    texts: list[str] = []
    at = 0
    for f, r in zip(frames, rows, strict=True):
        texts += take_rows(f["text"], r[first[at:at + len(r)]]).astype(str).tolist()
        at += len(r)
    return int(len(conflicting)), heapq.nsmallest(examples, texts)


def _exact_keys_at(frames: list[pd.DataFrame], rows: np.ndarray) -> np.ndarray:
    """Exact text hashes at ``rows`` of the parts laid end to end (zero elsewhere): only those texts are read."""
    keys = np.zeros(sum(len(f) for f in frames), dtype=np.int64)
    at = 0
    for f in frames:
        mine = rows[(rows >= at) & (rows < at + len(f))]
        if len(mine):
            keys[mine] = exact_keys(take_rows(f["text"], mine - at))
        at += len(f)
    return keys


def profile(ds: Dataset, split: Split, examples: int = 3) -> dict[str, Any]:
    """What a reviewer should know about the data before trusting any score."""
    parts = {"train": split.train, "test": split.test}
    if split.validation is not None:
        parts["validation"] = split.validation
    # every text as a 64-bit hash of its normalised form, one Python string alive at a time: a joined copy of every
    # text would double the memory a large file needs (a collision at 1M rows has odds ~1e-7)
    frames = list(parts.values())
    norm = np.concatenate([split.text_keys(k) for k in parts])
    near_mask = pd.Series(norm).duplicated(keep=False).to_numpy()
    near_dup = int(near_mask.sum())
    # equal texts normalise alike: exact duplicates, texts with conflicting labels and byte-identical leaks are all
    # among the rows whose normalised text occurs more than once, so only those rows' texts are hashed as they are
    maybe = np.flatnonzero(near_mask)
    exact = _exact_keys_at(frames, maybe)
    dup_mask = np.zeros(len(norm), dtype=bool)
    dup_mask[maybe] = pd.Series(exact[maybe]).duplicated(keep=False).to_numpy()
    conflicting, conflicting_examples = _conflicting_labels(frames, exact, dup_mask, examples)
    # leakage after the same normalisation as the duplicate count: test rows whose text is in train
    n_train, n_test = len(split.train), len(split.test)
    leaked = pd.Series(norm[n_train:n_train + n_test]).isin(norm[:n_train]).to_numpy()  # a hash table, not a sort
    in_train, in_test = maybe[maybe < n_train], maybe[(maybe >= n_train) & (maybe < n_train + n_test)]
    exact_leak = int(pd.Series(exact[in_test]).isin(exact[in_train]).sum())
    del norm, exact, near_mask, maybe
    leak = list(dict.fromkeys(take_rows(split.test["text"], np.flatnonzero(leaked)[:1000])))
    train_labels = set(split.train["label"].unique().tolist())
    test_labels = set(split.test["label"].unique().tolist())
    test_only = sorted(test_labels - train_labels, key=str)
    declared_unused = [lab for lab in split.labels if lab not in test_labels]
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
        "conflicting_label_texts": conflicting,
        "conflicting_label_examples": [t[:200] for t in conflicting_examples],
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
