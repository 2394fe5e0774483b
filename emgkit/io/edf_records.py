"""Decode EDF/BDF samples straight from the file with numpy: one channel's raw digital
values (e.g. the full 24-bit BioSemi ``Status`` word, whose high bits — CMS in range,
battery — MNE drops) or a range of records of the channels a chunk needs."""

from __future__ import annotations

import os

import numpy as np

from ..errors import ReadError


def read_digital(header, label):
    """Decode one signal's raw digital samples (int32) without loading the others.

    Parameters
    ----------
    header : EdfHeader
    label : str
        Exact signal label.

    Returns
    -------
    ndarray of int32
        Sign-extended digital values, all records concatenated.
    """
    k = header.labels.index(label)
    nb, spr = header.sample_bytes, header.spr[k]
    width = spr * nb
    out = np.empty(header.n_records * spr, dtype=np.int32)
    step = max(1, (1 << 20) // spr)  # records per read: ~1M samples, bounded memory
    for r0 in range(0, header.n_records, step):
        r1 = min(header.n_records, r0 + step)
        raw = read_records(header, sum(header.spr[:k]) * nb, width, r0, r1)
        out[r0 * spr:r1 * spr] = decode_samples(raw, r1 - r0, spr, 0, width, nb)
    return out


def read_records(header, start, width, r0, r1):
    """Bytes ``start .. start + width - 1`` of each data record ``r0 .. r1 - 1``.

    Only those bytes are read (one positioned read per record, or one read in all when
    they are whole records), and nothing of the file is mapped into memory (a memmap's
    fault-around would map neighbouring channels' pages too).

    Returns
    -------
    ndarray of uint8, shape ((r1 - r0) * width + 4,)
        The records' bytes one after the other, plus 4 spare bytes (for
        :func:`decode_samples`).
    """
    out = np.empty((r1 - r0) * width + 4, dtype=np.uint8)
    view = memoryview(out)
    step = header.record_bytes
    fd = os.open(header.path, os.O_RDONLY)
    try:
        base = header.header_bytes + start
        if width == step:
            want = (r1 - r0) * width
            if os.preadv(fd, [view[:want]], base + r0 * step) != want:
                raise ReadError(f"{header.path}: records {r0 + 1}..{r1} of "
                                f"{header.n_records} are incomplete (truncated file).")
        else:
            for r in range(r0, r1):
                k = r - r0
                if os.preadv(fd, [view[k * width:(k + 1) * width]], base + r * step) != width:
                    raise ReadError(f"{header.path}: record {r + 1} of {header.n_records} "
                                    f"is incomplete (truncated file).")
    finally:
        os.close(fd)
    return out


def decode_samples(raw, n_rec, spr, offset, stride, nb):
    """Decode one signal's little-endian samples from a byte buffer.

    Parameters
    ----------
    raw : ndarray of uint8
        Bytes of ``n_rec`` records (at least 4 bytes beyond the last sample).
    n_rec, spr : int
        Records and samples per record of the signal.
    offset : int
        Byte position of the signal's first sample in ``raw``.
    stride : int
        Bytes from one record's samples of the signal to the next record's.
    nb : int
        Bytes per sample: 2 (EDF) or 3 (BDF).

    Returns
    -------
    ndarray of int32, shape (n_rec * spr,)
        Sign-extended digital values.
    """
    if nb == 3:
        # each sample read as a little-endian int32 starting at its first byte (the 4th
        # byte belongs to the next sample); shifting left then arithmetically right by 8
        # keeps the 24-bit value, sign-extended
        words = np.ndarray((n_rec, spr), dtype="<i4", buffer=raw, offset=offset,
                           strides=(stride, 3))
        out = np.left_shift(words, 8)
        np.right_shift(out, 8, out=out)
        return out.reshape(-1)
    words = np.ndarray((n_rec, spr), dtype="<i2", buffer=raw, offset=offset,
                       strides=(stride, 2))
    return words.astype(np.int32).reshape(-1)
