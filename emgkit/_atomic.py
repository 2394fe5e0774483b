"""Atomic file output (write to a temporary file beside the target, then rename) and file
hashing."""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path):
    """Yield a temporary path that replaces ``path`` when the block completes.

    On an exception the temporary file is removed and ``path`` is left untouched, so a
    failed or interrupted write never leaves a partial file under the final name.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


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
