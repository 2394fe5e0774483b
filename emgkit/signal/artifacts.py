"""Flat and saturated stretches of an input channel: the one implementation, used by every
reader, on whole arrays and chunk by chunk alike.

A stretch is a run of one exact value lasting at least the ``[reject] flat`` time;
"saturated" when the value is the channel's minimum or maximum, else "flat".
"""

from __future__ import annotations

import numpy as np


def equal_runs(x, min_len, offset=0):
    """Runs of equal values in one chunk of a channel.

    Parameters
    ----------
    x : ndarray, shape (n_times,)
        The chunk (raw digital values or µV).
    min_len : int
        Shortest run (samples) to keep; the chunk's first and last runs are kept whatever
        their length, since they may continue in the neighbouring chunks.
    offset : int
        Sample index of ``x[0]`` in the recording.

    Returns
    -------
    list of (start, stop, value)
        Sample ranges ``[start, stop)`` in recording samples.
    """
    x = np.asarray(x)
    n = x.size
    if n == 0:
        return []
    idx = np.flatnonzero(x[1:] == x[:-1])  # i where x[i] == x[i + 1]
    runs = []
    if idx.size:
        breaks = np.flatnonzero(np.diff(idx) != 1)
        first = idx[np.concatenate([[0], breaks + 1])]
        last = idx[np.concatenate([breaks, [idx.size - 1]])] + 2
        runs = [(int(a), int(b)) for a, b in zip(first, last)]
    head = runs[0] if runs and runs[0][0] == 0 else (0, 1)
    tail = runs[-1] if runs and runs[-1][1] == n else (n - 1, n)
    keep = {head, tail} | {r for r in runs if r[1] - r[0] >= min_len}
    return [(a + offset, b + offset, x[a]) for a, b in sorted(keep)]


def join_runs(chunks, lo, hi, min_len):
    """Join the runs of consecutive chunks into the channel's bad stretches.

    Parameters
    ----------
    chunks : iterable of list of (start, stop, value)
        :func:`equal_runs` of consecutive chunks, in order.
    lo, hi : float
        The channel's minimum and maximum (over the whole recording).
    min_len : int
        Shortest stretch (samples).

    Returns
    -------
    list of (start, stop, kind)
        ``kind`` is "flat" or "saturated" (:func:`span_kind`).
    """
    merged = []
    for runs in chunks:
        for run in runs:  # a run that goes on across a chunk edge becomes one
            if merged and merged[-1][1] == run[0] and merged[-1][2] == run[2]:
                merged[-1] = (merged[-1][0], run[1], run[2])
            else:
                merged.append(run)
    return [(a, b, span_kind(v, lo, hi)) for a, b, v in merged if b - a >= min_len]


def channel_bad_spans(x, sfreq, min_duration):
    """Flat and saturated stretches of one whole channel (µV or raw digital values).

    Parameters
    ----------
    x : ndarray, shape (n_times,)
    sfreq : float
        Sampling rate (Hz).
    min_duration : float
        Shortest stretch (s); 0 turns the check off.

    Returns
    -------
    list of (start_sample, stop_sample, kind)
    """
    x = np.asarray(x)
    if min_duration <= 0 or x.size == 0:
        return []
    n = max(int(round(min_duration * sfreq)), 2)
    return join_runs([equal_runs(x, n)], x.min(), x.max(), n)


def span_kind(value, lo, hi):
    """``"saturated"`` when a constant stretch sits at the channel's minimum or maximum,
    else ``"flat"`` (a channel constant throughout is flat: it never moved)."""
    return "saturated" if value in (hi, lo) and hi != lo else "flat"
