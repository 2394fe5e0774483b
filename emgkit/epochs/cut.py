"""Cut epochs around event onsets and average them into time bins (pure array functions)."""

from __future__ import annotations

import numpy as np

from .._check import check_number, check_sfreq


def epoch_times(sfreq, tmin, tmax):
    """Return the epoch's sample times (s): the sample grid from ``tmin`` to ``tmax``."""
    sfreq = check_sfreq(sfreq)
    first = int(round(tmin * sfreq))
    last = int(round(tmax * sfreq))
    return np.arange(first, last + 1) / sfreq


def epoch_starts(onsets, sfreq, tmin, n_times):
    """First sample of each epoch, as int64 that cannot wrap.

    Onsets (s) far outside the recording are clipped to just outside it before the
    conversion, so they give epochs marked ``outside_recording`` rather than an overflowed
    integer that could land inside.
    """
    onsets = np.asarray(onsets, dtype=float)
    limit = n_times + abs(tmin) * sfreq + 1.0
    samples = np.clip(np.round(onsets * sfreq), -limit, limit)
    return samples.astype(np.int64) + int(round(tmin * sfreq))



def epoch(data, sfreq, onsets, tmin, tmax):
    """Cut ``data`` into epochs around ``onsets``.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
        Continuous signals.
    sfreq : float
        Sampling rate (Hz).
    onsets : array of float
        Event onsets in s from the first sample.
    tmin, tmax : float
        Epoch limits relative to onset (s).

    Returns
    -------
    epochs : ndarray, shape (n_events, n_channels, n_epoch_times)
        Epoch data; events whose window leaves the recording are all NaN.
    times : ndarray
        Sample times relative to onset (s).
    inside : ndarray of bool, shape (n_events,)
        True where the whole window lies inside the recording.
    """
    times = epoch_times(sfreq, tmin, tmax)
    onsets = np.asarray(onsets, dtype=float)
    n = data.shape[-1]
    starts = epoch_starts(onsets, sfreq, tmin, n)
    inside = (starts >= 0) & (starts + len(times) <= n)
    idx = np.clip(starts[:, None] + np.arange(len(times)), 0, max(n - 1, 0))
    out = np.moveaxis(data[:, idx], 0, 1)
    out[~inside] = np.nan
    return out, times, inside


def window_mean(epochs, times, window):
    """Mean over samples with ``window[0] <= t < window[1]`` (s), along the last axis."""
    a = int(np.searchsorted(times, window[0] - 1e-9))
    b = int(np.searchsorted(times, window[1] - 1e-9))
    if b <= a:  # window narrower than a sample: the nearest sample
        a = int(np.argmin(np.abs(times - window[0])))
        b = a + 1
    return epochs[..., a:b].mean(axis=-1)  # NaN epochs (outside the recording) stay NaN


def bin_edges(tmin, tmax, width):
    """Return bin start times (s): bins of ``width`` aligned to 0, inside [tmin, tmax]."""
    width = check_number("bin", width, low=0, low_inclusive=False)
    first = np.ceil(tmin / width - 1e-9) * width
    n = int(np.floor((tmax - first) / width + 1e-9))
    return first + width * np.arange(n)


def bin_means(epochs, times, width):
    """Average epochs into consecutive time bins.

    Parameters
    ----------
    epochs : ndarray, shape (..., n_times)
        Epoch data.
    times : ndarray
        Sample times (s).
    width : float
        Bin width (s); bins start at multiples of ``width``.

    Returns
    -------
    values : ndarray, shape (..., n_bins)
        Mean of the samples with ``start <= t < start + width`` per bin.
    starts : ndarray
        Bin start times (s).
    """
    starts = bin_edges(times[0], times[-1] + 1e-9, width)
    values = np.stack([window_mean(epochs, times, (s, s + width)) for s in starts], axis=-1)
    return values, starts
