"""Files: atomic output (write to a temporary file beside the target, then rename), hashing,
safe file-name parts, table sidecars (a participants table coded by ``emgkit blind``)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError, ReadError

_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


#: errno -> what a failed write means, for the message
_WRITE_FAILURES = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded",
                   errno.EFBIG: "file too large for the file system",
                   errno.EIO: "input/output error (failing disk or network file system)"}


def write_failure(exc):
    """The ``OSError`` (ENOSPC, EDQUOT, EFBIG, EIO) behind ``exc`` — itself, or the error
    it was raised while handling, as when a PDF or zlib stream fails on flushing after the
    disk filled up — or None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _WRITE_FAILURES:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


@contextmanager
def atomic_path(path):
    """Yield a temporary path that replaces ``path`` when the block completes.

    On an exception the temporary file is removed and ``path`` is left untouched, so a
    failed or interrupted write never leaves a partial file under the final name. The
    temporary file is created fresh (``O_EXCL | O_NOFOLLOW``) after removing any stale one,
    so a symbolic link planted under its name is never written through.

    Raises
    ------
    OSError
        When the disk is full (or the quota exceeded, the file too large, an I/O error)
        while writing: ``errno`` as the system gave it, and a message that says so and
        names ``path`` (the library's own error, e.g. zlib's "Error -2 while flushing",
        is replaced).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if tmp.is_symlink() or tmp.is_file():
        tmp.unlink()  # a leftover of a killed writer (unlink never follows a link)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                     | getattr(os, "O_NOFOLLOW", 0), 0o644))
    try:
        yield tmp
        os.replace(tmp, path)
    except Exception as exc:
        cause = write_failure(exc)
        if cause is None:
            raise
        raise OSError(cause.errno, f"{_WRITE_FAILURES[cause.errno]} while writing {path} "
                      f"({os.strerror(cause.errno)}); free space or choose another folder, "
                      f"then rerun") from exc
    finally:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()


#: how participants' tables store numbers (six significant digits)
TABLE_FLOAT = "%.6g"


def as_written(df):
    """``df`` with its float columns rounded as :data:`TABLE_FLOAT` writes them (what the
    group step reads back from ``trials.tsv``), in a copy."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype.kind == "f":
            out[col] = [float(TABLE_FLOAT % v) for v in out[col].to_numpy()]
    return out


#: the float formats :func:`formatted_floats` takes over from pandas: one ``%`` conversion
#: of a float (``%.6g``, ``%.3e``, ``%+5.1f``); others (``%d``, ``%r``, ``{:.3g}``) stay
#: with ``to_csv``
_FLOAT_FORMAT = re.compile(r"%[-+ #0]*\d*(\.\d+)?[eEfFgG]")


def write_tsv(df, path, **kwargs):
    """Write a DataFrame as TSV atomically (missing values as ``n/a``).

    With a ``float_format`` string, the float columns are formatted first
    (:func:`formatted_floats`): the same bytes as ``to_csv`` writes, ~3× faster on a
    participant's tables."""
    kwargs.setdefault("na_rep", "n/a")
    fmt = kwargs.get("float_format")
    if isinstance(fmt, str) and _FLOAT_FORMAT.fullmatch(fmt) \
            and kwargs.get("decimal", ".") == ".":
        # the rest (e.g. nullable Float64 columns) still formatted by pandas
        df = formatted_floats(df, kwargs["float_format"], kwargs["na_rep"])
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, **kwargs)
    return Path(path)


def formatted_floats(df, float_format, na_rep):
    """``df`` with its numpy float columns as the strings ``to_csv`` writes for them:
    ``float_format % value``, and ``na_rep`` for NaN (what pandas' formatter does one value
    at a time through several layers of calls). Other columns are left to ``to_csv``."""
    import numpy as np

    cols = [i for i, dt in enumerate(df.dtypes)
            if isinstance(dt, np.dtype) and dt.kind == "f"]
    if not cols:
        return df
    out = df.copy(deep=False)
    for i in cols:
        values = df.iloc[:, i].to_numpy()
        missing = np.isnan(values)
        text = np.full(len(values), na_rep, dtype=object)
        text[~missing] = [float_format % v for v in values[~missing].tolist()]
        out.isetitem(i, text)
    return out


def write_text(text, path):
    """Write UTF-8 text atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def sha256(path, chunk=1 << 20):
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def read_regular(path, *, what, max_bytes=1 << 20):
    """Read a small input file's bytes, refusing anything but a regular file of sane size.

    The file is opened without blocking (a FIFO never waits for a writer) and checked on the
    open descriptor, so a device (``/dev/zero``), a FIFO or a folder is refused before any
    byte is read, and no more than ``max_bytes`` are ever read.

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        What the file is, named in errors (e.g. ``"--key"``).
    max_bytes : int
        Largest size accepted (bytes).

    Returns
    -------
    bytes

    Raises
    ------
    ReadError
        Missing, unreadable, not a regular file, or larger than ``max_bytes``.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ReadError(f"{what} {path} cannot be opened ({exc.strerror}); give the path of "
                        f"an existing file.") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ReadError(f"{what} {path} is not a regular file (a folder, FIFO or device); "
                            f"give the path of the file itself.")
        if info.st_size > max_bytes:
            raise ReadError(f"{what} {path} is {info.st_size:,} bytes, more than the "
                            f"{max_bytes:,} such a file can hold; is it the right file?")
        data = os.read(fd, max_bytes + 1)
        while len(data) <= max_bytes and (block := os.read(fd, max_bytes + 1 - len(data))):
            data += block
    except OSError as exc:
        raise ReadError(f"{what} {path} cannot be read ({exc.strerror}).") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # grew while being read
        raise ReadError(f"{what} {path} is larger than {max_bytes:,} bytes; is it the right "
                        f"file?")
    return data


def safe_part(value, *, what):
    """Return ``value`` as a file-name part after checking it cannot leave its folder.

    Letters, digits, ``_``, ``-`` and ``.`` (none of these three first) are allowed;
    anything else (``/``, ``..``, spaces, an empty name) raises :class:`OutputError` naming
    ``what``.
    """
    text = str(value)
    if not _PART.match(text):
        raise OutputError(f"{what} {value!r} cannot be used in a file name: use letters, "
                          f"digits, '_', '-' and '.' (not first).")
    return text


def read_tsv(path, *, what="Table", sep="\t", ids=True, text=False):
    """Read a tab-separated table the way emgkit writes them: missing values are ``n/a``
    (or empty), ``participant_id`` stays text (``01`` is not 1, ``NA`` is an id) and is
    normalised to ``sub-<label>`` (:func:`emgkit._ids.normalise_ids`: ``01`` and ``sub-01``
    are one participant in every table emgkit reads).

    Parameters
    ----------
    path : path-like
        The table (``.csv`` files are read comma-separated).
    what : str
        What the table is, named in errors.
    ids : bool
        Normalise ``participant_id``; False keeps the ids as written (a copy of the table
        that must keep the user's spelling).
    text : bool
        Read every cell as text exactly as written (no missing values, no numbers), for
        tables whose cells are checked one by one.

    Returns
    -------
    DataFrame

    Raises
    ------
    ReadError
        The file does not exist or is not a table.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ReadError(f"{what} {path} does not exist.")
    try:
        how = {"dtype": str, "na_filter": False} if text else {
            "dtype": {"participant_id": str}, "na_values": ["n/a", ""]}
        table = pd.read_csv(path, sep="," if path.suffix.lower() == ".csv" else sep,
                            keep_default_na=False, **how)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ReadError(f"{what} {path} cannot be read as a table: {exc}.") from None
    if not ids:
        return table
    from ._ids import normalise_ids

    return normalise_ids(table)


def as_table(value, *, param, what, error=None):
    """A table given as a DataFrame or as the path of a file (how analysts pass
    ``participants.tsv`` in a notebook).

    Parameters
    ----------
    value : DataFrame | str | os.PathLike
        The table itself (returned as is), or the path of a ``.tsv`` (``.csv``) file read by
        :func:`read_tsv` (``participant_id`` as text, ``01`` and ``sub-01`` one participant,
        ``n/a`` missing).
    param : str
        The parameter's name, for the error.
    what : str
        What the table is, named in read errors.
    error : type of EmgkitError | None
        Raised for a value that is neither (default :class:`~emgkit.errors.ReadError`).

    Returns
    -------
    DataFrame

    Raises
    ------
    ReadError
        (or ``error``) ``value`` is neither a DataFrame nor a path; the file does not exist
        or is not a table.
    """
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return value
    if not isinstance(value, (str, os.PathLike)):
        raise (error or ReadError)(f"{param} must be a DataFrame or the path of a .tsv "
                                   f"table, got {type(value).__name__}.")
    return read_tsv(value, what=what)


def sidecar_of(table):
    """The JSON sidecar of a participants table (``coded.tsv`` -> ``coded.json``)."""
    return Path(table).with_suffix(".json")


def blinded_codes(table):
    """``(column, codes)`` when the participants table was coded by ``emgkit blind``
    (its sidecar says so), else None."""
    side = sidecar_of(table)
    if not side.is_file():
        return None
    try:
        info = json.loads(side.read_text(encoding="utf-8")).get("emgkit_blinded")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(info, dict) or "column" not in info:
        return None
    return info["column"], list(info.get("codes", []))
