"""Baseline correction and scoring: every baseline mode and every corrected value in one place
(:func:`correct`); :func:`rescale` is modelled on ``mne.baseline.rescale``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._check import check_option
from ..errors import ConfigError
from .blocks import block_baselines
from .cut import bin_means, window_mean

#: baseline-correction modes, in the order the docs list them
BASELINE_MODES = ("subtract", "ratio", "percent", "logratio", "zscore")


def rescale(data, times, baseline, mode):
    """Baseline-correct epochs.

    With ``m`` the mean and ``s`` the SD of each epoch over the baseline window:

    - ``"subtract"``: ``x - m`` (µV)
    - ``"ratio"``: ``x / m``
    - ``"percent"``: ``100 * (x - m) / m``
    - ``"logratio"``: ``log10(x / m)`` (NaN where ``x`` or ``m`` is not positive)
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
    return correct(data, base[..., None], mode,
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


def correct(level, base, mode, sd=None):
    """Express envelope levels relative to a baseline level: the one scoring function.

    Every corrected number emgkit gives goes through here: the trial score (the level is
    the mean envelope over the response window), the time-course bins (the bin mean) and
    the per-sample curves of plots and :attr:`ProcessedRecording.corrected` (the envelope
    at one sample, itself a mean over the smoothing window). So for ``logratio`` a trial's
    score is ``log10(mean response / mean baseline)``, the log of the window means' ratio,
    as fEMG studies report it, never a mean of per-sample logs.

    Parameters
    ----------
    level : ndarray
        Envelope level(s) (µV): window means, bin means or samples.
    base : ndarray
        Baseline level (µV), broadcasting against ``level``.
    mode : str
        One of :data:`BASELINE_MODES` (see :func:`rescale` for the formulas).
    sd : ndarray | None
        Baseline SD (µV), needed for ``zscore``.

    Returns
    -------
    ndarray
        Corrected values (Δ µV, ratio, %, log10 ratio or z). NaN where ``base`` (ratio
        modes) or ``sd`` (``zscore``) is not positive, and where ``level`` is not positive in
        ``logratio``.
    """
    mode = check_option("baseline_mode", mode, BASELINE_MODES)
    level, base = np.asarray(level, float), np.asarray(base, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        positive = np.where(base > 0, base, np.nan)
        if mode == "subtract":
            return level - base
        if mode == "ratio":
            return level / positive
        if mode == "percent":
            return 100.0 * (level - base) / positive
        if mode == "logratio":
            return np.log10(np.where(level > 0, level, np.nan) / positive)
        if sd is None:
            raise ValueError("correct(mode='zscore') needs the baseline SD")
        sd = np.asarray(sd, float)
        return (level - base) / np.where(sd > 0, sd, np.nan)


@dataclass(repr=False)
class Scores:
    """Baseline levels and scores of every trial × muscle (arrays (n_trials, n_muscles)).

    Attributes
    ----------
    prestim : ndarray
        Pre-stimulus mean envelope (µV).
    sd : ndarray | None
        Pre-stimulus SD (µV), ``zscore`` only.
    level : ndarray
        The baseline each trial is expressed against (µV): ``prestim`` or, with
        ``[blocks]`` baselines, the matched baseline block's level.
    source : ndarray of str | None
        Per trial, ``"pre-stimulus"`` or ``"block:<name>"`` (None without ``[blocks]``).
    response : ndarray
        Mean envelope over the response window (µV).
    score : ndarray
        :func:`correct` of ``response`` against ``level``.
    bins : ndarray, shape (n_trials, n_muscles, n_bins)
        :func:`correct` of each time bin's mean envelope.
    bin_starts : ndarray
        Bin start times (s).
    """

    prestim: np.ndarray
    sd: np.ndarray | None
    level: np.ndarray
    source: np.ndarray | None
    response: np.ndarray
    score: np.ndarray
    bins: np.ndarray
    bin_starts: np.ndarray


def score_epochs(envelope_epochs, times, epochs, *, events=None, blocks=None, source=""):
    """Baseline levels, trial scores and binned time courses of envelope epochs.

    Parameters
    ----------
    envelope_epochs : ndarray, shape (n_trials, n_muscles, n_times)
        Envelope epochs (µV).
    times : ndarray, shape (n_times,)
        Sample times (s) relative to onset.
    epochs : EpochsConfig
        ``baseline`` and ``response`` windows (s), ``baseline_mode``, ``bin`` width (s).
    events : DataFrame | None
        Mapped events (needed with block baselines).
    blocks : BlocksConfig | None
        With ``blocks.baseline``, trials are expressed against matched baseline blocks.
    source : str
        Recording or config named in messages.

    Returns
    -------
    Scores
    """
    mode = epochs.baseline_mode
    prestim, sd = baseline_stats(envelope_epochs, times, epochs.baseline, mode)
    response = window_mean(envelope_epochs, times, epochs.response)
    level, used = prestim, None
    if blocks is not None and blocks.baseline:
        if mode == "zscore":
            raise ConfigError(f"{source}: epochs.baseline_mode = 'zscore' cannot be combined "
                              f"with [blocks] baselines; use logratio, ratio, percent or "
                              f"subtract.")
        block_level, used = block_baselines(events, response, blocks, source=source)
        has = used != ""
        level = np.where(has[:, None], block_level, prestim)
        used = np.where(has, used, "pre-stimulus")
    bin_levels, starts = bin_means(envelope_epochs, times, epochs.bin)
    score = correct(response, level, mode, sd)
    bins = correct(bin_levels, level[..., None], mode, None if sd is None else sd[..., None])
    return Scores(prestim, sd, level, used, response, score, bins, starts)
