"""Amplitude envelope: full-wave rectification and smoothing (pure array functions)."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from ._check import check_number, check_option, check_sfreq


def window_samples(sfreq, window):
    """Return the number of samples (at least 1) in a window of ``window`` s."""
    return max(1, int(round(check_number("smooth", window, low=0) * check_sfreq(sfreq))))


def envelope(data, sfreq, window, *, kind="mean"):
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

    Returns
    -------
    ndarray
        The envelope (µV), same shape as ``data``; edges use the nearest value.
    """
    kind = check_option("envelope", kind, ("mean", "rms"))
    size = window_samples(sfreq, window)
    data = np.asarray(data, dtype=float)
    if kind == "mean":
        rect = np.abs(data)
        return rect if size == 1 else uniform_filter1d(rect, size, axis=-1, mode="nearest")
    power = uniform_filter1d(data * data, size, axis=-1, mode="nearest")
    return np.sqrt(np.maximum(power, 0.0))
