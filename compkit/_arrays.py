"""Array helpers shared by the data contract, the aggregations and the calculators (private).

One argument order everywhere: the values first, then what they are looked up in. Every helper works on whole
columns (categorical codes, Arrow compute or one ``pd.factorize``), never row by row in Python: these arrays have
the length of a table (millions of rows at 100,000 managers).
"""
from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc
from numpy.typing import ArrayLike
from pandas.arrays import ArrowStringArray

if TYPE_CHECKING:
    from compkit.policy import Grade


def cat_codes(values: pd.Series | pd.Index) -> np.ndarray:
    """The codes of a categorical column (-1: missing), the categorical's own array, read-only: pandas 3's
    ``Series.cat.codes`` makes a new Series of a copy of them (30 MB for the 7.5 million sales rows' employee
    codes, each time)."""
    return values.array.codes


def positions(values: ArrayLike, index: ArrayLike) -> np.ndarray:
    """Position in ``index`` (distinct labels) of each of ``values`` (-1 when absent or missing), as
    ``pd.Index(index).get_indexer(values)`` but hashing each distinct value once: a categorical column is looked
    up by its categories, an Arrow text column with Arrow's ``index_in``, anything else through ``pd.factorize``.
    Small integers (int32)."""
    index = pd.Index(index)
    if not isinstance(values, (pd.Series, pd.Index)):
        values = pd.Series(np.asarray(values, dtype=object))
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = cat_codes(values)
        table = _category_table(values.cat.categories, index)
        # categories that are the index itself, in its order: each code is its own position (a copy, not a gather)
        return codes.astype(np.int32, copy=True) if table is None else table[codes]
    if isinstance(values.array, ArrowStringArray) and index.inferred_type in ("string", "empty"):
        arrow = pyarrow.array(values)
        labels = _text_labels(index, arrow.type)
        if _same_texts(arrow, labels):  # (e.g. a column of the employees' own ids)
            return np.arange(len(arrow), dtype=np.int32)
        found = pc.index_in(arrow, value_set=labels)
        return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    codes, uniques = pd.factorize(values)
    return _labels_table(pd.Index(uniques), index)[codes]  # code -1 (missing) takes the trailing -1


def _labels_table(labels: pd.Index, index: pd.Index) -> np.ndarray:
    """The position in ``index`` of each of the distinct ``labels`` (-1 when absent), then a trailing -1 (for code
    -1, a missing value): int32, ``len(labels) + 1``."""
    found = _text_positions(labels, index)
    if found is None:
        try:
            labels = labels.astype(index.dtype)
        except (TypeError, ValueError):
            pass  # labels of another type: get_indexer finds none of them
        found = index.get_indexer(labels)
    return np.append(found, -1).astype(np.int32)


def labels_are_index(categories: pd.Index, index: ArrayLike) -> bool:
    """Whether a categorical's ``categories`` are the labels of ``index`` in the same order (each code is then its
    row's position in ``index``): remembered per pair, as :func:`positions` looks categories up."""
    index = pd.Index(index)
    return len(categories) == len(index) and _category_table(categories, index) is None


def _is_identity(table: np.ndarray, n: int) -> bool:
    """Whether a :func:`_labels_table` of ``n`` labels maps each label to its own position (0, 1, ..., n - 1)."""
    return len(table) == n + 1 and bool(np.array_equal(table[:-1], np.arange(n, dtype=np.int32)))


# (categories, index) -> the categories' positions in the index, kept for the next look-up of the same two:
# the tables' employee ids share one categories Index (compkit.data), looked up in the employees' ids many times
# per evaluation. Each entry holds the categories and the index's data, so neither can be freed and its memory
# reused by other labels while its key is in use; the last _CATEGORY_TABLES_KEPT pairs are kept.
_CATEGORY_TABLES: dict[tuple[object, ...], tuple[pd.Index, object, np.ndarray | None]] = {}
_CATEGORY_TABLES_KEPT = 8
_CATEGORY_TABLES_LOCK = threading.Lock()


def _category_table(categories: pd.Index, index: pd.Index) -> np.ndarray | None:
    """:func:`_labels_table` of a categorical's ``categories`` in ``index``, or None when the categories are the
    index's labels in the index's order (each code is then its own position). Remembered per (categories object,
    index data): the index is known by its Arrow buffers when it holds Arrow text (a new Index object over the same
    ids is the same index), else by the Index object itself."""
    if len(categories) < 1000 and len(index) < 1000:  # a small look-up: cheaper done again than remembered
        table = _labels_table(categories, index)
        return None if _is_identity(table, len(index)) else table
    index_key, held = _index_identity(index)
    key = (id(categories), *index_key)
    with _CATEGORY_TABLES_LOCK:
        entry = _CATEGORY_TABLES.get(key)
    if entry is not None:
        return entry[2]
    table: np.ndarray | None = _labels_table(categories, index)
    if _is_identity(table, len(index)):
        table = None
    _remember(_CATEGORY_TABLES, key, (categories, held, table))
    return table


def _remember(kept: dict, key: tuple[object, ...], entry: tuple) -> None:
    """``kept[key] = entry``, the oldest entries let go beyond the last _CATEGORY_TABLES_KEPT (thread-safe)."""
    with _CATEGORY_TABLES_LOCK:
        kept[key] = entry
        while len(kept) > _CATEGORY_TABLES_KEPT:
            del kept[next(iter(kept))]  # the oldest


def _index_identity(index: pd.Index) -> tuple[tuple[object, ...], object]:
    """(a key for the labels of ``index``, the object to hold so that the key stays valid): an index of Arrow text
    is known by its Arrow buffers (a new Index object over the same ids is the same index), any other by the
    Index object itself. Whoever keeps the key keeps the object: its memory cannot be freed and reused."""
    if isinstance(index.array, ArrowStringArray):
        held = index.array.__arrow_array__()
        chunks = held.chunks if isinstance(held, pyarrow.ChunkedArray) else [held]
        return ("arrow", str(held.type), tuple((c.offset, len(c), tuple(0 if b is None else b.address
                                                                          for b in c.buffers())) for c in chunks)), held
    return ("index", id(index)), index


_CATEGORY_DTYPES: dict[tuple[object, ...], tuple[object, pd.CategoricalDtype]] = {}


def categories_dtype(labels: pd.Index, as_object: bool = False) -> pd.CategoricalDtype:
    """``pd.CategoricalDtype(labels)`` (the labels as Python strings when ``as_object``): made once per labels'
    data and kept (the last 8), so that the tables an evaluation makes with the 100,000 employee ids as
    categories share one categories Index, checked for duplicates once (pandas checks each new dtype) and
    looked up once by :func:`positions`. The same dtype, equal to a new one, either way."""
    if len(labels) < 1000:  # small: cheaper made again than remembered
        return pd.CategoricalDtype(pd.Index(labels, dtype=object) if as_object else labels)
    index_key, held = _index_identity(labels)
    key = (*index_key, as_object)
    with _CATEGORY_TABLES_LOCK:
        entry = _CATEGORY_DTYPES.get(key)
    if entry is not None:
        return entry[1]
    arrow = labels.array.__arrow_array__() if isinstance(labels.array, ArrowStringArray) else None
    if arrow is not None and arrow.null_count == 0 and texts_distinct(arrow):
        # Arrow text, told distinct by its bytes: the dtype without pandas' check of the labels as Python strings
        # (as Python strings: the equal texts' one Index, e.g. the loaded tables' categories, _arrays.shared_labels)
        categories = shared_labels(pd.Series(labels.array, copy=False)) if as_object else labels
        try:
            dtype = pd.CategoricalDtype._from_fastpath(categories, False)
        except (AttributeError, TypeError):  # (a pandas without it)
            dtype = pd.CategoricalDtype(categories)
    else:
        dtype = pd.CategoricalDtype(pd.Index(labels, dtype=object) if as_object else labels)
    _remember(_CATEGORY_DTYPES, key, (held, dtype))
    return dtype


def _text_labels(index: pd.Index, kind: pyarrow.DataType) -> pyarrow.Array:
    """The labels of a text index as one Arrow array of type ``kind`` (an Arrow-backed index: its own array)."""
    if isinstance(index.array, ArrowStringArray):
        labels = index.array.__arrow_array__()
        labels = labels.combine_chunks() if isinstance(labels, pyarrow.ChunkedArray) else labels
        return labels if labels.type == kind else labels.cast(kind)
    return pyarrow.array(index.to_numpy(dtype=object), type=kind)


def _text_positions(labels: pd.Index, index: pd.Index) -> np.ndarray | None:
    """``index.get_indexer(labels)`` for distinct text labels (a categorical's categories) in a text index, by
    Arrow's ``index_in`` (one C++ hash of the index; pandas hashes a Python string per label): for the 100,000
    employee ids the engine looks up several times per evaluation. None when either is not all text."""
    if len(labels) < 1000 or index.inferred_type != "string" or labels.inferred_type != "string":
        return None
    text = _ARROW_TEXT_OF.get(id(labels))  # labels made by shared_labels: the Arrow text they were made of
    try:
        text = (pyarrow.array(np.asarray(labels, dtype=object), type=pyarrow.large_string()) if text is None
                else text.cast(pyarrow.large_string()))
    except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError):
        return None
    labels = _text_labels(index, pyarrow.large_string())
    if _same_texts(text, labels):  # (e.g. a table's employee categories that are the employees' ids, in order)
        return np.arange(len(text), dtype=np.int64)
    found = pc.index_in(text, value_set=labels)
    return found.fill_null(-1).to_numpy(zero_copy_only=False)


def _same_texts(values: pyarrow.Array | pyarrow.ChunkedArray, labels: pyarrow.Array) -> bool:
    """Whether Arrow text ``values`` are the (distinct) ``labels`` themselves, in order and none missing: each
    value is then found at its own position, told by comparing the bytes (no hash of the labels, which Arrow's
    ``index_in`` makes again at each call: for the 100,000 employee ids the engine looks up several times)."""
    if len(values) != len(labels) or values.null_count or labels.null_count or values.type != labels.type:
        return False
    chunked = values if isinstance(values, pyarrow.ChunkedArray) else pyarrow.chunked_array([values])
    return chunked.equals(pyarrow.chunked_array([labels]))


def sorted_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """(codes, labels) with the labels sorted, as ``pd.factorize(values, sort=True)``; a categorical column whose
    categories are sorted (as :func:`compkit.data.load_dataset` makes them) gives its own codes, without a pass
    over the values. Labels may then include values absent from the column."""
    if isinstance(values.dtype, pd.CategoricalDtype) and values.cat.categories.is_monotonic_increasing:
        return cat_codes(values), values.cat.categories
    codes, uniques = pd.factorize(values, sort=True)
    return codes, pd.Index(uniques)


def codes_used(codes: np.ndarray, n: int) -> np.ndarray:
    """Whether each of ``n`` categories is some row's code (``codes``: categorical codes, -1 for a missing row):
    a boolean per category, from one scatter of the codes into n + 1 flags (the last one takes the missing rows;
    no widened copy of the codes)."""
    used = np.zeros(n + 1, dtype=bool)
    used[codes] = True
    return used[:n]


def any_codes(values: pd.Series) -> tuple[np.ndarray, int]:
    """(codes, number of distinct values): the codes of a categorical column, else those of ``pd.factorize``;
    missing -> -1. Equal values, equal codes; nothing else is promised about them."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return cat_codes(values), len(values.cat.categories)
    if isinstance(values.array, ArrowStringArray):  # customer ids, months: Arrow's one-pass dictionary encoding
        codes, dictionary = _arrow_dictionary(values)
        return codes, len(dictionary)
    codes, uniques = pd.factorize(values)
    return codes, len(uniques)


def run_starts(values: pd.Series) -> np.ndarray | None:
    """The position of the first row of each run of equal adjacent values (int64, ascending, starting with 0; a
    missing value is a run of its own) of an Arrow text column, from one comparison of each row with the one
    before (no hashing); None for any other column."""
    if not isinstance(values.array, ArrowStringArray):
        return None
    arrow = values.array.__arrow_array__()
    n = len(arrow)
    if n < 2:
        return np.zeros(n, dtype=np.int64)
    changed = pc.fill_null(pc.not_equal(arrow[1:], arrow[:-1]), True)  # a missing value starts (and ends) a run
    return np.r_[0, np.flatnonzero(changed.to_numpy(zero_copy_only=False)) + 1].astype(np.int64)


def _few_runs(values: pd.Series) -> np.ndarray | None:
    """:func:`run_starts` when the column is made of at most half as many runs as rows (then a look-up of the
    runs' first rows, repeated over each run, is cheaper than one of every row), else None."""
    starts = run_starts(values)
    return starts if starts is not None and 2 * len(starts) <= len(values) else None


def run_codes(values: pd.Series) -> tuple[np.ndarray, int]:
    """:func:`any_codes` for a column in runs of equal values (e.g. ids repeated row after row): the codes of the
    runs' first rows (:func:`run_starts`), each repeated over its run, the same codes as ``any_codes(values)``
    (Arrow's codes follow first appearance, and a value first appears at the head of a run). When the runs'
    first rows are distinct texts (:func:`texts_distinct`, no hash table; each id one run) run r's code is r,
    without encoding them. any_codes itself when the column is not Arrow text or not in runs."""
    starts = _few_runs(values)
    if starts is None:
        return any_codes(values)
    lengths = np.diff(np.r_[starts, len(values)])
    heads = values.array.__arrow_array__().take(pyarrow.array(starts))
    if heads.null_count == 0 and texts_distinct(heads):
        return np.repeat(np.arange(len(starts), dtype=np.int32), lengths), len(starts)
    codes, n = any_codes(values.iloc[starts])
    return np.repeat(codes, lengths), n


def _arrow_dictionary(values: pd.Series) -> tuple[np.ndarray, pyarrow.Array]:
    """One Arrow dictionary encoding of a whole Arrow text column: (codes as int32, -1 for missing; the distinct
    texts in order of first appearance). A chunked column is encoded by Arrow with one hash table across its
    chunks, so every chunk comes back with the one dictionary of the whole column (encoding each chunk, e.g. each
    Parquet row group, on its own and unifying their dictionaries hashes every value again: 12 s instead of 0.8 s
    for 5.5 million customer ids in 40 chunks), and the chunks' codes are copied into one array: no combined copy
    of the texts first, nor a filled copy of the codes (at 100,000 managers 0.15 GB fewer for the sales' customer
    ids)."""
    arrow = values.array.__arrow_array__()
    encoded = pc.dictionary_encode(arrow)
    chunks = encoded.chunks if isinstance(encoded, pyarrow.ChunkedArray) else [encoded]
    if not chunks:
        return np.empty(0, dtype=np.int32), pyarrow.array([], type=arrow.type)
    codes = np.empty(len(arrow), dtype=np.int32)
    start = 0
    for chunk in chunks:
        n = len(chunk)
        indices = chunk.indices  # int32; a null's slot holds any code (overwritten with -1 below)
        out = codes[start:start + n]
        out[:] = np.frombuffer(indices.buffers()[1], dtype=np.int32)[indices.offset:indices.offset + n]
        if chunk.null_count:
            out[~chunk.is_valid().to_numpy(zero_copy_only=False)] = -1
        start += n
    return codes, chunks[0].dictionary


#: odd 64-bit constants mixing the words of a text into its hash (splitmix / murmur finalisers)
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                 0xFF51AFD7ED558CCD], dtype=np.uint64)
#: the low k bytes of a little-endian 64-bit word (k = 0..8)
_LOW_BYTES = np.array([0] + [(1 << (8 * k)) - 1 for k in range(1, 8)] + [0xFFFFFFFFFFFFFFFF], dtype=np.uint64)


def texts_distinct(values: pyarrow.Array | pyarrow.ChunkedArray) -> bool:
    """Whether the texts present (nulls left out) of an Arrow text column are all distinct; exact.

    Texts of at most 32 bytes (ids) are hashed to 64 bits from their bytes read as up to four little-endian
    words and their length (a gather per word, no Python string, no hash table), the hashes sorted (numpy's
    vectorised sort) and neighbours compared: no two equal hashes means no two equal texts. Only when two hashes
    are equal (a repeated text, or by chance about once in 10^6 columns of 10^7 texts) or a text is longer is
    the answer taken from Arrow's hash table of the texts themselves (``pc.unique``: 1.4 s of CPU for 7.5 million
    deal ids, against about 0.4 s this way)."""
    chunks = values.chunks if isinstance(values, pyarrow.ChunkedArray) else [values]
    longest = 0
    for chunk in chunks:  # (a chunk's offsets at a time: not every chunk's widened offsets held at once)
        if not (pyarrow.types.is_string(chunk.type) or pyarrow.types.is_large_string(chunk.type)):
            return _distinct_exactly(values)
        if len(chunk) - chunk.null_count:
            longest = max(longest, int(pc.max(pc.binary_length(chunk)).as_py()))
    words = (longest + 7) // 8  # the same for every chunk: equal texts, equal hashes
    if words > 4:
        return _distinct_exactly(values)
    h = np.empty(len(values) - values.null_count, dtype=np.uint64)  # every chunk's hashes put in one array
    start = 0
    for chunk in chunks:
        if chunk.null_count:
            chunk = pc.drop_null(chunk)
        if len(chunk):
            h[start:start + len(chunk)] = _text_hashes(chunk, _offsets(chunk), words)
            start += len(chunk)
    if len(h) < 2:
        return True
    h.sort()
    if not bool((h[1:] == h[:-1]).any()):
        return True  # distinct hashes: distinct texts
    return _distinct_exactly(values)


def _distinct_exactly(values: pyarrow.Array | pyarrow.ChunkedArray) -> bool:
    if isinstance(values, pyarrow.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    values = pc.drop_null(values)
    return len(pc.unique(values)) == len(values)


def _offsets(chunk: pyarrow.Array) -> np.ndarray:
    """The n + 1 offsets of an Arrow string array's texts in its data buffer (int64)."""
    width = np.int64 if pyarrow.types.is_large_string(chunk.type) else np.int32
    return np.frombuffer(chunk.buffers()[1], dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1].astype(np.int64)


def _text_hashes(chunk: pyarrow.Array, offsets: np.ndarray, words: int) -> np.ndarray:
    """A 64-bit hash of each text of an Arrow string array without nulls, from its length and its bytes read as
    ``words`` little-endian 64-bit words (texts of at most 8 x ``words`` bytes; equal texts, equal hashes)."""
    lengths = np.diff(offsets)
    first, last = int(offsets[0]), int(offsets[-1])
    starts = offsets[:-1] - first
    # the bytes of the texts, with room for a whole word read past the last text's end (zeros)
    padded = np.zeros(last - first + 8 * words + 8, dtype=np.uint8)
    if last > first:
        padded[:last - first] = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[first:last]
    # the little-endian 64-bit word beginning at each byte: a strided view of the bytes, nothing copied
    word_at = np.ndarray(shape=(len(padded) - 7,), dtype="<u8", buffer=padded.data, strides=(1,))
    h = lengths.astype(np.uint64) * _MIX[4]
    for w in range(words):
        word = word_at[starts + 8 * w]
        word &= _LOW_BYTES[np.clip(lengths - 8 * w, 0, 8)]  # bytes past the text's end (the next text's) cleared
        h ^= word * _MIX[w]
        h ^= h >> np.uint64(29)
        h *= _MIX[(w + 1) % 4]
    return h


#: the Index of Python strings made for a set of texts, by digest of those texts, while some table holds it
_LABELS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
# id of an Index made by shared_labels -> the Arrow text it was made of (while the Index lives): looked up by
# positions without its 100,000 Python strings made Arrow text again
_ARROW_TEXT_OF: dict[int, pyarrow.Array] = {}
_LABELS_LOCK = threading.Lock()


def shared_labels(texts: pd.Series) -> pd.Index:
    """``pd.Index(np.asarray(texts, dtype=object), dtype=object)`` for a column of texts without missing values (a
    categorical's categories), the same Index object for the same texts as long as one is in use: the 100,000
    employee ids that the metrics, sales, ratings and surveys tables each hold as their categories are then one
    set of Python strings (about 6 MB each at 100,000 managers) with one hash table for look-ups, not four. Equal
    texts are told by a BLAKE2 digest of their lengths and bytes (Arrow text: no Python string made to tell);
    anything else gets an Index of its own."""
    arrow = texts.array.__arrow_array__() if isinstance(texts.array, ArrowStringArray) else None
    if arrow is None or arrow.null_count or len(arrow) < 1000:
        return pd.Index(np.asarray(texts, dtype=object), dtype=object)
    lengths, data = hashlib.blake2b(digest_size=16), hashlib.blake2b(digest_size=16)  # (however chunked)
    for chunk in arrow.chunks:
        if len(chunk) == 0:
            continue
        offsets = _offsets(chunk)
        lengths.update(np.diff(offsets).tobytes())
        data.update(np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]].tobytes())
    key = (len(arrow), lengths.hexdigest(), data.hexdigest())
    with _LABELS_LOCK:
        found = _LABELS.get(key)
    if found is not None:
        return found
    labels = pd.Index(np.asarray(texts, dtype=object), dtype=object)
    with _LABELS_LOCK:
        shared = _LABELS.setdefault(key, labels)
        if shared is labels:  # remembered beside them while they live: the Arrow text they were made of
            _ARROW_TEXT_OF[id(labels)] = arrow.combine_chunks() if arrow.num_chunks != 1 else arrow.chunk(0)
            weakref.finalize(labels, _ARROW_TEXT_OF.pop, id(labels), None)
        return shared


def labelled_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """(codes, labels): ``labels[codes[i]]`` is row i's value (code -1: missing), as :func:`any_codes` gives the
    codes (a categorical's own, Arrow text by one dictionary encoding of the whole column, else
    ``pd.factorize``), with the distinct values they stand for."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return cat_codes(values), values.cat.categories
    if isinstance(values.array, ArrowStringArray):
        codes, dictionary = _arrow_dictionary(values)
        return codes, pd.Index(dictionary.to_pylist(), dtype=object)
    codes, uniques = pd.factorize(values)
    return codes, pd.Index(uniques)


def dictionary_coded(values: pd.Series) -> pd.Series:
    """A text column with many distinct values (millions of customer ids) as dictionary codes: a categorical
    whose categories are the distinct texts in order of first appearance, held as Arrow text (one Arrow dictionary
    encoding of the whole column; no Python string per value). Missing stays missing (code -1); the values read
    back as before (``astype("string")`` gives the same texts). :func:`any_codes` then hands out its codes
    without hashing a row. A column already categorical is returned as it is."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values
    if isinstance(values.array, ArrowStringArray):
        codes, dictionary = _arrow_dictionary(values)
        categories = pd.Index(ArrowStringArray(pyarrow.chunked_array([dictionary.cast(pyarrow.large_string())])))
    else:
        codes, uniques = pd.factorize(values.astype("string"))
        categories = pd.Index(uniques.astype("string") if len(uniques) else pd.array([], dtype="string"))
    try:  # the categories are distinct by construction: skip pandas' check of it (a hash of every category)
        dtype = pd.CategoricalDtype._from_fastpath(categories, False)
    except (AttributeError, TypeError):
        dtype = pd.CategoricalDtype(categories)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype, validate=False), index=values.index,
                     name=values.name)


def row_codes(values: pd.Series, rows: np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """(codes, labels) of ``values`` at the positions ``rows``: ``labels[codes[i]]`` is the value of row
    ``rows[i]`` as text (code -1: missing). A categorical column gives its own codes and categories; an Arrow
    text column is taken at the rows and dictionary-encoded by Arrow (no Python string per row); anything else is
    factorized as text. For looking up a few distinct labels (coefficients, loan ids) on a subset of a table."""
    rows = np.asarray(rows, dtype=np.int64)
    if isinstance(values.dtype, pd.CategoricalDtype):
        return cat_codes(values)[rows], values.cat.categories
    if isinstance(values.array, ArrowStringArray):
        arrow = values.array.__arrow_array__()
        taken = arrow.take(pyarrow.array(rows))
        if isinstance(taken, pyarrow.ChunkedArray):
            taken = taken.combine_chunks()
        encoded = pc.dictionary_encode(taken)
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
        return codes, pd.Index(encoded.dictionary.to_pylist(), dtype=object)
    codes, uniques = pd.factorize(values.iloc[rows].astype("string"))
    return codes, pd.Index(np.asarray(uniques, dtype=object), dtype=object)


def isin(values: pd.Series, allowed: set | list | tuple | pd.Index | pyarrow.Array) -> pd.Series:
    """``values.isin(allowed)``; for a categorical column, each category is looked up once and the answer taken
    by code (a table of millions of rows has a few thousand distinct ids); an Arrow text column is looked up with
    Arrow's ``is_in`` against the allowed texts as one Arrow array (pandas' own ``isin`` on Arrow text converts
    every allowed value one by one in Python: slow for 100,000 employee ids)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = pd.Series(values.cat.categories)
        if categories.dtype == object and pd.api.types.infer_dtype(categories, skipna=True) == "string":
            categories = categories.astype("string")
        per_category = np.append(isin(categories, allowed).to_numpy(dtype=bool), False)
        return pd.Series(per_category[cat_codes(values)], index=values.index)
    if isinstance(values.array, ArrowStringArray):
        value_set = text_array(allowed)
        if value_set is not None:
            found = pc.is_in(values.array.__arrow_array__(), value_set=value_set)
            return pd.Series(found.to_numpy(zero_copy_only=False), index=values.index).fillna(False).astype(bool)
    if isinstance(allowed, (pyarrow.Array, pyarrow.ChunkedArray)):
        allowed = allowed.to_pylist()
    return values.isin(list(allowed) if isinstance(allowed, (set, frozenset)) else allowed)


def text_array(values: set | list | tuple | pd.Index | pyarrow.Array) -> pyarrow.Array | None:
    """``values`` as an Arrow string array (None when they are not all texts)."""
    if isinstance(values, (pyarrow.Array, pyarrow.ChunkedArray)):
        return values if pyarrow.types.is_string(values.type) or pyarrow.types.is_large_string(values.type) else None
    try:
        return pyarrow.array(list(values) if isinstance(values, (set, frozenset)) else values, type=pyarrow.string())
    except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError, TypeError):
        return None


def before_or_in(periods: pd.Series, through: str) -> np.ndarray:
    """Mask of the rows whose period (YYYY-MM) is ``through`` or earlier."""
    return (periods <= through).to_numpy(dtype=bool, na_value=False)


def any_true(mask: pyarrow.ChunkedArray | pyarrow.Array) -> bool:
    """Whether any value of an Arrow boolean array is true (nulls are not)."""
    return bool(pc.any(mask).as_py())


def is_arrow_text(values: pd.Series) -> bool:
    """Whether a column holds Arrow text (pandas' ``string``/``str`` dtypes backed by pyarrow)."""
    return isinstance(values.array, ArrowStringArray)


def as_text(values: pd.Series) -> pd.Series:
    """A column as Arrow text (dtype ``string``); a categorical column is decoded by Arrow from its codes and
    categories (pandas' own ``astype`` goes through a Python object per row)."""
    if isinstance(values.dtype, pd.CategoricalDtype) and pd.api.types.infer_dtype(values.cat.categories) == "string":
        codes = pyarrow.array(cat_codes(values), mask=cat_codes(values) < 0)
        # decoded straight to large strings, which pandas' Arrow text holds (from ``string`` it would cast: a copy)
        dictionary = pyarrow.array(np.asarray(values.cat.categories, dtype=object), type=pyarrow.large_string())
        # (a categorical's codes are below its number of categories by construction: not checked again, a pass
        # over millions of codes)
        decoded = pyarrow.DictionaryArray.from_arrays(codes, dictionary, safe=False).dictionary_decode()
        return pd.Series(ArrowStringArray(pyarrow.chunked_array([decoded])), index=values.index)
    return values.astype("string")


# ------------------------------------------------------------------ dates, grades and ratings as codes


def day_numbers(dates: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(days since 1970-01-01 as int64, missing mask) for a column of dates (datetime64 of any unit, strings)."""
    if getattr(dates, "dtype", None) is not None and dates.dtype.kind == "M":  # already dates: no parsing
        d = np.asarray(dates).astype("datetime64[D]")
        missing = np.isnat(d)
        return np.where(missing, 0, d.astype("int64")), missing
    d = np.asarray(pd.to_datetime(pd.Series(np.asarray(dates) if not isinstance(dates, pd.Series) else dates)),
                   dtype="datetime64[D]")
    missing = np.isnat(d)
    return np.where(missing, 0, d.astype("int64")), missing


def day_number(date: object) -> int:
    return int(np.datetime64(pd.Timestamp(date), "D").astype("int64"))


def grade_lookup(grades: Sequence[Grade], values: dict[str, float], grade_col: ArrayLike,
                 fill: float = np.nan) -> np.ndarray:
    """values[grade] for each row (one vectorised take over the few grades); unknown or missing -> ``fill``."""
    ids = [g.id for g in grades]
    table = np.array([values[i] for i in ids] + [fill], dtype="float64")
    return table[positions(grade_col, pd.Index(ids))]  # code -1 (unknown) takes the trailing fill


def rating_codes(ratings: ArrayLike, labels: Sequence[str]) -> np.ndarray:
    """Position of each rating in ``labels`` (best first: 0 = best); missing or unknown -> -1."""
    return positions(ratings, pd.Index(list(labels)))
