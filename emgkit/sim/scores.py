"""Raw recordings whose trials carry given scores: the signal-level arm of power analysis.

Each muscle's EMG is Gaussian noise at a tonic RMS level; in every trial its amplitude is
multiplied by the trial's *gain* over the response window (a little wider, so that the
band-pass and the smoothing window do not shave its edges), and 1 elsewhere. The pipeline's
ratio score of that trial is then the gain up to measurement noise (the envelope of a finite
stretch of noise), so a trial-level score drawn from a mixed model becomes a recording the
whole pipeline — filtering, envelope, epochs, baseline, rejection — turns back into a score.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

#: baseline mode -> the gain (envelope ratio) that gives a score
GAIN = {"ratio": lambda s: s, "percent": lambda s: 1 + s / 100.0,
        "logratio": lambda s: 10.0 ** s}


def score_gain(scores, mode, floor=0.05):
    """Envelope gain per trial for ``scores`` in baseline mode ``mode`` (ratio-type modes
    only); gains below ``floor`` (a ratio score ≤ 0 drawn from a normal model) are raised
    to it.

    Raises
    ------
    ConfigError
        For ``subtract`` or ``zscore``, whose scores depend on the tonic level in µV.
    """
    if mode not in GAIN:
        raise ConfigError(f"epochs.baseline_mode={mode!r}: signal-level simulation plants "
                          f"scores as envelope ratios; use ratio, percent or logratio.")
    return np.maximum(GAIN[mode](np.asarray(scores, float)), floor)


def recording_from_scores(gains, conditions, codes, sfreq, *, window=(0.5, 3.0),
                          tmin=-1.0, tmax=6.0, gap=1.5, tonic=None, seed=None):
    """Electrode signals and a Status channel for trials with the given envelope gains.

    Parameters
    ----------
    gains : ndarray, shape (n_trials, n_muscles)
        Envelope gain of each trial × muscle over the response window.
    conditions : sequence of str, length n_trials
        Condition of each trial (in presentation order).
    codes : dict
        Condition -> trigger code.
    sfreq : float
        Sampling rate (Hz).
    window : tuple of float
        Response window (s after onset) the gain covers (widened by 0.1 s each side).
    tmin, tmax : float
        Epoch limits (s): trials are ``tmax - tmin + gap`` s apart.
    gap : float
        Extra seconds between epochs.
    tonic : sequence of float | None
        Tonic RMS per muscle (µV); default 4.
    seed : int | numpy.random.Generator | None

    Returns
    -------
    signals : ndarray, shape (n_muscles, n_times)
        µV.
    status : ndarray of int, shape (n_times,)
        Trigger codes (held 20 ms from each onset).
    onsets : ndarray
        Onset of each trial (s).
    """
    rng = np.random.default_rng(seed)
    gains = np.atleast_2d(np.asarray(gains, float))
    n_trials, n_muscles = gains.shape
    tonic = np.full(n_muscles, 4.0) if tonic is None else np.asarray(tonic, float)
    step = tmax - tmin + gap
    onsets = 2.0 - tmin + step * np.arange(n_trials)
    n = int(np.ceil((onsets[-1] + tmax + 2.0) * sfreq)) if n_trials else int(4 * sfreq)
    gain_t = np.ones((n_muscles, n))
    lo, hi = window[0] - 0.1, window[1] + 0.1
    for i, t0 in enumerate(onsets):
        a, b = int(round((t0 + lo) * sfreq)), int(round((t0 + hi) * sfreq))
        gain_t[:, a:b] = gains[i][:, None]
    signals = rng.standard_normal((n_muscles, n)) * tonic[:, None] * gain_t
    status = np.zeros(n, dtype=np.int64)
    hold = max(1, int(round(0.02 * sfreq)))
    for t0, cond in zip(onsets, conditions):
        a = int(round(t0 * sfreq))
        status[a:a + hold] = codes[cond]
    return signals, status, onsets
