"""Baseline correction of epochs (a pure array function, modelled on ``mne.baseline.rescale``)."""

from __future__ import annotations

import numpy as np

from ._check import check_option
from .config import BASELINE_MODES
from .epochs import window_mean


def rescale(data, times, baseline, mode):
    """Baseline-correct epochs.

    With ``m`` the mean and ``s`` the SD of each epoch over the baseline window:

    - ``"subtract"``: ``x - m`` (µV)
    - ``"ratio"``: ``x / m``
    - ``"percent"``: ``100 * (x - m) / m``
    - ``"logratio"``: ``log10(x / m)`` (trial scores and time bins use the log of the
      window means' ratio, see :func:`emgkit.pipeline.process_recording`)
    - ``"zscore"``: ``(x - m) / s``

    Parameters
    ----------
    data : ndarray, shape (..., n_times)
        Envelope epochs (µV).
    times : ndarray, shape (n_times,)
        Sample times (s).
    baseline : tuple of float
        Baseline window (s), start inclusive, stop exclusive.
    mode : str
        One of the modes above.

    Returns
    -------
    corrected : ndarray
        Same shape as ``data``; NaN where the baseline mean (or SD) is 0.
    base : ndarray
        The baseline mean ``m`` (µV), shape ``data.shape[:-1]``.
    """
    mode = check_option("baseline_mode", mode, BASELINE_MODES)
    base, s = baseline_stats(data, times, baseline, mode)
    return apply_baseline(data, base[..., None], mode,
                          None if s is None else s[..., None]), base


def baseline_stats(data, times, baseline, mode):
    """Mean (and, for ``mode="zscore"``, SD) of epochs over the baseline window.

    Parameters
    ----------
    data : ndarray, shape (..., n_times)
        Envelope epochs (µV).
    times : ndarray, shape (n_times,)
        Sample times (s).
    baseline : tuple of float
        Baseline window (s), start inclusive, stop exclusive.
    mode : str
        Baseline mode (see :func:`rescale`).

    Returns
    -------
    mean : ndarray, shape data.shape[:-1]
        Baseline mean (µV).
    sd : ndarray | None
        Baseline SD (µV) for ``"zscore"``, else None.
    """
    mean = window_mean(data, times, baseline)
    if mode != "zscore":
        return mean, None
    sel = (times >= baseline[0] - 1e-9) & (times < baseline[1] - 1e-9)
    return mean, data[..., sel].std(axis=-1)


def apply_baseline(data, m, mode, s=None):
    """Express ``data`` relative to baseline level ``m`` (and SD ``s`` for ``zscore``).

    ``data``, ``m`` and ``s`` broadcast against each other; see :func:`rescale` for the
    modes. NaN where ``m`` (ratio modes) or ``s`` is not positive.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if mode == "subtract":
            out = data - m
        elif mode == "ratio":
            out = data / np.where(m > 0, m, np.nan)
        elif mode == "percent":
            out = 100.0 * (data - m) / np.where(m > 0, m, np.nan)
        elif mode == "logratio":
            out = np.log10(data / np.where(m > 0, m, np.nan))
        else:
            out = (data - m) / np.where(s > 0, s, np.nan)
    return out
