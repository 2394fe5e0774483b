"""EDF+/BDF+ annotation signals: time-keeping and annotations (TALs).

Every data record of an EDF+/BDF+ file starts its first annotation signal with a
time-keeping TAL (``+onset\\x14\\x14``) giving the record's start in s; further TALs
(``+onset[\\x15duration]\\x14text\\x14…\\x00``) are the annotations. The parser here follows
the EDF+ specification and reads what MNE does not: annotation-only files whose record
duration is 0, several annotation signals (also before the data signals), annotations
inside the time-keeping TAL, unsorted onsets, and UTF-8 text. The record start times also
show whether an EDF+D file really has gaps.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import ReadError

ANNOTATION_LABELS = ("edf annotations", "bdf annotations")
_TAL = re.compile(rb"([+-]\d+(?:\.\d*)?)(?:\x15(\d+(?:\.\d*)?))?\x14(.*?)(?=\x00|$)",
                  re.DOTALL)
MAX_ANNOTATION_BYTES = 64 << 20  # never read more than this for annotations


def annotation_signals(header):
    """Indices of the header's annotation signals."""
    return [i for i, lab in enumerate(header.labels)
            if lab.strip().lower() in ANNOTATION_LABELS]


def read_annotations(header):
    """Read all annotations and the record start times of an EDF+/BDF+ file.

    Parameters
    ----------
    header : EdfHeader

    Returns
    -------
    annotations : DataFrame
        ``onset`` (s, relative to the header's start time), ``duration`` (s, NaN when not
        given) and ``text``, in file order.
    record_onsets : ndarray or None
        Start (s) of each data record from the time-keeping TALs; None without an
        annotation signal.

    Raises
    ------
    ReadError
        When bytes of an annotation signal are neither a TAL nor padding (a corrupted
        onset or duration), naming the file and the byte offset.
    """
    idx = annotation_signals(header)
    empty = pd.DataFrame({"onset": np.array([], float), "duration": np.array([], float),
                          "text": np.array([], str)})
    if not idx:
        return empty, None
    nb = header.sample_bytes
    total = sum(header.spr[i] for i in idx) * nb * header.n_records
    if total > MAX_ANNOTATION_BYTES:
        raise ReadError(f"{header.path}: the annotation signals would be {total} bytes; the "
                        f"header is implausible.")
    offsets = np.cumsum([0] + [s * nb for s in header.spr])
    rows, starts = [], []
    with open(header.path, "rb") as f:
        for r in range(header.n_records):
            base = header.header_bytes + r * header.record_bytes
            record_start = None
            for j, k in enumerate(idx):
                at = base + int(offsets[k])
                f.seek(at)
                blob = f.read(header.spr[k] * nb)
                pos = 0
                for t, tal in enumerate(blob.split(b"\x00")):
                    m = _TAL.match(tal)
                    if m is None:
                        _check_unparsed(header, tal, at + pos, r, k)
                        pos += len(tal) + 1
                        continue
                    pos += len(tal) + 1
                    onset = float(m.group(1))
                    dur = float(m.group(2)) if m.group(2) else np.nan
                    texts = m.group(3).split(b"\x14")
                    if j == 0 and t == 0 and record_start is None:
                        record_start = onset  # time-keeping TAL
                    for text in texts:
                        if text:
                            rows.append((onset, dur, text.decode("utf-8", "replace")))
            starts.append(record_start if record_start is not None else np.nan)
    ann = pd.DataFrame(rows, columns=["onset", "duration", "text"]) if rows else empty
    return ann, np.asarray(starts, float)


def _check_unparsed(header, tal, offset, record, signal):
    """Refuse bytes between TAL terminators that are not a TAL (padding is ``\x00``).

    Raises
    ------
    ReadError
        Naming the file, the byte offset, the data record and the annotation signal.
    """
    if not tal.strip(b"\x00 "):
        return
    shown = tal[:40].decode("latin-1").encode("unicode_escape").decode("ascii")
    raise ReadError(f"{header.path}: the annotation at byte offset {offset} (data record "
                    f"{record + 1}, signal {signal + 1} {header.labels[signal]!r}) cannot be "
                    f"parsed as an EDF+ TAL (+onset[\\x15duration]\\x14text\\x14): "
                    f"'{shown}'. Its onset or duration is corrupt, so its event would be "
                    f"lost; repair or re-export the file.")


def gaps(header, record_onsets, tol=1e-6):
    """Discontinuities of an EDF+D file as (at_s_in_data, missing_s) pairs."""
    if record_onsets is None or len(record_onsets) < 2 or header.record_duration <= 0:
        return []
    step = np.diff(record_onsets) - header.record_duration
    return [(float((i + 1) * header.record_duration), float(step[i]))
            for i in np.flatnonzero(np.abs(step) > tol)]
