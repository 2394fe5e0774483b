"""Flat and saturated stretches of an input channel: the one implementation, used by every
reader (whole arrays and chunked sources alike)."""

from __future__ import annotations

import numpy as np


def constant_runs(x, min_samples):
    """Find stretches where ``x`` stays exactly constant for at least ``min_samples``.

    Parameters
    ----------
    x : ndarray, shape (n_times,)
        One input channel (raw, before filtering).
    min_samples : int
        Minimum run length.

    Returns
    -------
    list of (start, stop, value)
        Sample ranges ``[start, stop)`` and the constant value.
    """
    x = np.asarray(x)
    if x.size < 2 or min_samples < 2:
        return []
    same = np.concatenate([[False], x[1:] == x[:-1], [False]])
    edges = np.flatnonzero(np.diff(same.astype(np.int8)))
    starts, stops = edges[::2], edges[1::2] + 1
    keep = (stops - starts) >= min_samples
    return [(int(a), int(b), x[a]) for a, b in zip(starts[keep], stops[keep])]


def channel_bad_spans(x, sfreq, min_duration):
    """Flat and saturated stretches of one channel (µV or raw digital values).

    Returns
    -------
    list of (start_sample, stop_sample, kind)
    """
    if min_duration <= 0 or x.size == 0:
        return []
    runs = constant_runs(x, max(int(round(min_duration * sfreq)), 2))
    if not runs:
        return []
    hi, lo = x.max(), x.min()
    return [(a, b, span_kind(v, lo, hi)) for a, b, v in runs]


def span_kind(value, lo, hi):
    """``"saturated"`` when a constant stretch sits at the channel's minimum or maximum,
    else ``"flat"`` (a channel constant throughout is flat: it never moved)."""
    return "saturated" if value in (hi, lo) and hi != lo else "flat"
