"""Trigger channels: events from trigger words, and the BioSemi ``Status`` flag bits.

Trigger values are masked (BioSemi carries status flags in bits 16-23) and an event is a
change of the masked value to anything other than the idle level, so set-ups that idle at
0, 255 or 254 all work. Bit 20 of a BioSemi Status word says whether the CMS electrode was
in range (:func:`cms_spans`).
"""

from __future__ import annotations

import logging

import numpy as np

from ..errors import EventError

logger = logging.getLogger("emgkit")

CMS_BIT = 20  # BioSemi Status: 1 = CMS within range
#: default shortest time (s) a trigger code must be held to count (``[events]
#: min_duration``): shorter codes are glitches
DEFAULT_MIN_DURATION = 0.005


STIM_NAMES = ("status", "trigger", "sti 014", "sti014", "stim")


def stim_events(stim, mask=0xFFFF, idle=None, *, min_samples=1, short=None):
    """Find trigger events in a trigger-channel array.

    Parameters
    ----------
    stim : ndarray, shape (n_times,)
        Raw trigger values (digital units).
    mask : int
        Bit mask; only these bits carry trigger codes.
    idle : int | None
        Value of the lines between events; None takes the value at the first sample
        (recordings start idle; set it explicitly when one starts inside a trigger).
    min_samples : int
        Shortest run (samples) of one masked value that counts. Shorter runs (glitches,
        intermediate values while the lines switch) are ignored: each is absorbed into the
        next value that lasts (into the previous one at the end of the recording), so a
        glitch adds no event and a one-sample dip inside a held code does not split it.
        1 keeps every change.
    short : dict | None
        When given, receives masked value -> number of runs ignored as too short.

    Returns
    -------
    samples : ndarray of int
        Sample index of each event (first sample of the new value).
    codes : ndarray of int
        Masked value after each change.
    idle : int
        The idle level used.
    """
    values = _integers(stim)
    if values.size == 0:
        return np.array([], int), np.array([], int), 0
    mask = int(mask)
    if idle is None:
        idle = int(values[0]) & mask
    samples = changes(values, mask)
    codes = values[samples].astype(np.int64) & mask
    if min_samples > 1:
        samples, codes = _drop_short_runs(values, samples, mask, int(min_samples), short)
    keep = codes != idle
    return samples[keep], codes[keep], idle


def _drop_short_runs(values, samples, mask, min_samples, short):
    """Change points and masked values (as :func:`changes` gives them) after runs shorter
    than ``min_samples`` are absorbed into the next run that lasts; the start of that run
    moves back to theirs."""
    starts = np.concatenate([[0], samples]).astype(np.int64)
    lengths = np.diff(np.concatenate([starts, [values.size]]))
    brief = lengths < min_samples
    run_values = values[starts].astype(np.int64) & mask
    if not brief.any():
        return samples, run_values[1:]
    if short is not None:
        for v, n in zip(*np.unique(run_values[brief], return_counts=True)):
            short[int(v)] = short.get(int(v), 0) + int(n)
    kept = np.flatnonzero(~brief)
    if kept.size == 0:  # nothing lasts: the whole channel is glitches
        return np.array([], np.int64), np.array([], np.int64)
    # a kept run starts where the run after the previous kept run started
    begin = starts[np.concatenate([[0], kept[:-1] + 1])]
    kept_values = run_values[kept]
    new = np.concatenate([[True], kept_values[1:] != kept_values[:-1]])
    new[0] = False  # the first run starts the recording: not a change
    return begin[new], kept_values[new]


def _integers(values):
    values = np.asarray(values)
    return values if values.dtype.kind in "iu" else np.rint(values).astype(np.int64)


def changes(values, mask, *, chunk=1 << 18):
    """Sample indices ``i`` where ``values[i] & mask`` differs from ``values[i - 1] & mask``.

    Computed in chunks, so a long trigger channel costs no full-length temporaries.
    """
    values = _integers(values)
    if int(mask) > np.iinfo(values.dtype).max:  # a mask that fits (0xFF0000 in int32): no copy
        values = values.astype(np.int64)
    mask = values.dtype.type(int(mask))
    found = []
    for a in range(0, max(values.size - 1, 0), chunk):
        seg = values[a:a + chunk + 1] & mask
        found.append(np.flatnonzero(seg[1:] != seg[:-1]) + (a + 1))
    return np.concatenate(found) if found else np.array([], np.int64)


def find_stim_channel(ch_names, ch_types=None, name=None, *, source=""):
    """Return the label of the trigger channel (``name`` matched case-insensitively)."""
    where = f" in {source}" if source else ""
    if name is not None:
        hits = [c for c in ch_names if c.lower() == name.lower()]
        if not hits:
            raise EventError(f"Trigger channel {name!r} not found{where}; available "
                             f"channels: {', '.join(ch_names)}. Fix events.stim_channel.")
        return hits[0]
    hits = [c for c in ch_names if c.strip().lower() in STIM_NAMES]
    if not hits and ch_types is not None:
        hits = [c for c, t in zip(ch_names, ch_types) if t == "stim"]
    if not hits:
        raise EventError(f"No trigger channel (Status/Trigger/STI 014) found{where}; set "
                         f"events.stim_channel, or use events.source = \"annotations\" or "
                         f"a TSV. Channels: {', '.join(ch_names)}.")
    return hits[0]


def cms_spans(status, sfreq):
    """Spans (s) where the BioSemi CMS-in-range bit (20) of the Status word is 0.

    A Status word whose bits 16–23 are all 0 everywhere does not come from ActiView (e.g.
    a converted EDF); it carries no CMS information and gives no spans.
    """
    status = np.asarray(status)
    if status.size == 0:
        return []
    flags = changes(status, 0xFF0000)  # changes of any flag bit (16-23)
    if not flags.size and not int(status[0]) & 0xFF0000:
        return []
    prev = status[flags - 1].astype(np.int64)
    edges = flags[((status[flags].astype(np.int64) ^ prev) >> CMS_BIT) & 1 == 1]
    ok0 = bool(int(status[0]) >> CMS_BIT & 1)
    bounds = np.concatenate([[] if ok0 else [0], edges, [status.size]]).astype(np.int64)
    # bounds alternate: start of a bad stretch, start of a good one, ...
    return [(int(a) / sfreq, int(b) / sfreq) for a, b in zip(bounds[::2], bounds[1::2])
            if b > a]


def warn_cms(spans, source, limit=5):
    """Log a warning for each (of the first ``limit``) CMS out-of-range spans (s)."""
    for a, b in list(spans or [])[:limit]:
        logger.warning("%s: BioSemi CMS out of range from %.3f s to %.3f s; the signals are "
                       "unreliable there.", source, a, b)
