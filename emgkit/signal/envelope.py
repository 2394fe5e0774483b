"""Amplitude envelope: full-wave rectification and smoothing (pure array functions)."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from .._check import check_number, check_option, check_sfreq


def window_samples(sfreq, window):
    """Return the number of samples (at least 1) in a window of ``window`` s."""
    return max(1, int(round(check_number("smooth", window, low=0) * check_sfreq(sfreq))))


def envelope(data, sfreq, window, *, kind="mean", out=None):
    """Compute the amplitude envelope of EMG.

    Parameters
    ----------
    data : ndarray, shape (..., n_times)
        Filtered EMG (µV).
    sfreq : float
        Sampling rate (Hz).
    window : float
        Length of the centred smoothing window (s); 0 = rectification only.
    kind : "mean" | "rms"
        ``"mean"``: moving average of the full-wave rectified signal; ``"rms"``: root of
        the moving average of the squared signal.

    out : ndarray | None
        Array for the result (may be ``data`` itself).

    Returns
    -------
    ndarray
        The envelope (µV), same shape as ``data``; edges use the nearest value.
    """
    kind = check_option("envelope", kind, ("mean", "rms"))
    size = window_samples(sfreq, window)
    data = np.asarray(data, dtype=float)
    flat = data.reshape(-1, data.shape[-1])
    res = np.empty_like(flat) if out is None else out.reshape(flat.shape)

    n = flat.shape[1]

    def run(k):
        res[k] = envelope_segment(flat[k:k + 1], -(size // 2), n + size - 1 - size // 2, n,
                                  size, kind)[0]

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(2, len(flat))) as pool:
        list(pool.map(run, range(len(flat))))
    return res.reshape(data.shape)


def moving_average(x, size, *, out=None, square=False):
    """Centred moving average of ``size`` samples with edges extended by the end values.

    The same as ``scipy.ndimage.uniform_filter1d(np.abs(x), size, mode="nearest")`` (of
    ``x**2`` with ``square=True``; :func:`running_mean`).

    Parameters
    ----------
    x : ndarray, shape (n,)
    size : int
        Window length (samples).
    out : ndarray | None
        Result array (may be ``x`` itself).
    square : bool
        ``False`` averages ``abs(x)`` (rectified mean); ``True`` averages ``x**2``.

    Returns
    -------
    ndarray
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    left = size // 2
    res = running_mean(x[None], -left, n + size - 1 - left, n, size, square=square)[0]
    if out is None:
        return res
    out[...] = res
    return out


def envelope_segment(y, lo, hi, n_times, size, kind):
    """Envelope of part of a signal, from the filtered samples it depends on.

    Parameters
    ----------
    y : ndarray, shape (n_signals, m)
        Filtered samples ``[max(lo, 0), min(hi, n_times))`` (µV).
    lo, hi, n_times, size
        As for :func:`running_mean`.
    kind : "mean" | "rms"
        See :func:`envelope`.

    Returns
    -------
    ndarray, shape (n_signals, hi - lo - size + 1)
        Envelope (µV) of samples ``lo + size // 2 ..``; edges use the nearest value.
    """
    if size == 1:
        return np.abs(y)  # one sample: rectified value (mean) = RMS
    out = running_mean(y, lo, hi, n_times, size, square=kind == "rms")
    if kind == "rms":
        np.sqrt(np.maximum(out, 0.0, out=out), out=out)
    return out


def running_mean(y, lo, hi, n_times, size, *, square=False):
    """Centred moving averages of ``abs(y)`` (or ``y**2``).

    ``scipy.ndimage.uniform_filter1d`` on the samples the windows need: a running sum in C,
    updated by one sample in and one out (relative error ~1e-14 over a block of 10⁶
    samples; a difference of cumulative sums loses ~1e-11 there, and takes three times as
    long).

    Parameters
    ----------
    y : ndarray, shape (n_signals, m)
        Samples ``[max(lo, 0), min(hi, n_times))`` of signals ``n_times`` samples long.
    lo, hi : int
        The window sums need samples ``lo .. hi - 1``; those before 0 or from
        ``n_times`` on take the first/last value (``mode="nearest"``).
    n_times : int
        Length of the whole signals.
    size : int
        Window length (samples).
    square : bool
        Average ``y**2`` instead of ``abs(y)``.

    Returns
    -------
    ndarray, shape (n_signals, hi - lo - size + 1)
        Output ``i`` averages samples ``lo + i .. lo + i + size - 1``.
    """
    have0, have1 = max(lo, 0), min(hi, n_times)
    length = hi - lo - size + 1
    ext = np.empty((y.shape[0], hi - lo))
    body = ext[:, have0 - lo:have1 - lo]
    if square:
        np.multiply(y, y, out=body)
    else:
        np.abs(y, out=body)
    if have0 > lo:
        ext[:, :have0 - lo] = body[:, :1]
    if have1 < hi:
        ext[:, have1 - lo:] = body[:, -1:]
    # output i of uniform_filter1d averages ext[i - size // 2 .. i - size // 2 + size - 1]:
    # the outputs kept never reach past ext's ends, so its own edge mode does not matter;
    # in place (ndimage copies each line to a buffer before writing it; tests compare
    # against uniform_filter1d on separate arrays)
    uniform_filter1d(ext, size, axis=1, mode="nearest", output=ext)
    return ext[:, size // 2:size // 2 + length]
