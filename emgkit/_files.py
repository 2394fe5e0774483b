"""Files: atomic output (write to a temporary file beside the target, then rename), hashing,
safe file-name parts, table sidecars (a participants table coded by ``emgkit blind``)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
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
    failed or interrupted write never leaves a partial file under the final name.

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
        if tmp.exists():
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


def write_tsv(df, path, **kwargs):
    """Write a DataFrame as TSV atomically (missing values as ``n/a``)."""
    kwargs.setdefault("na_rep", "n/a")
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, **kwargs)
    return Path(path)


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


def read_tsv(path, *, what="Table", sep="\t"):
    """Read a tab-separated table the way emgkit writes them: missing values are ``n/a``
    (or empty), ``participant_id`` stays text (``01`` is not 1, ``NA`` is an id).

    Parameters
    ----------
    path : path-like
        The table (``.csv`` files are read comma-separated).
    what : str
        What the table is, named in errors.

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
        return pd.read_csv(path, sep="," if path.suffix.lower() == ".csv" else sep,
                           dtype={"participant_id": str}, keep_default_na=False,
                           na_values=["n/a", ""])
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ReadError(f"{what} {path} cannot be read as a table: {exc}.") from None


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
