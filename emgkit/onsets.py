"""Burst-onset detection per trial (response latencies), vectorised over trials.

For each trial × muscle, the threshold is the baseline mean plus ``k`` baseline SDs of the
envelope; the onset is the first time in the search window from which the envelope stays
above the threshold for at least ``min_duration`` s. Trials without such a stretch get NaN
(no activation) rather than a spurious onset.
"""

from __future__ import annotations

import numpy as np


def detect_onsets(envelope, times, baseline, window, *, k=3.0, min_duration=0.1,
                  back=0.0):
    """Detect burst onsets in envelope epochs.

    Parameters
    ----------
    envelope : ndarray, shape (..., n_times)
        Envelope epochs (µV), e.g. ``ProcessedRecording.envelope_epochs``.
    times : ndarray
        Epoch times (s).
    baseline : tuple of float
        Baseline window (s) for the threshold.
    window : tuple of float
        Search window (s) for onsets, e.g. ``(0, 3)``.
    k : float
        Threshold in baseline SDs above the baseline mean.
    min_duration : float
        Minimum time (s) above threshold.
    back : float
        After detection, the onset is moved back to the last sample at or below the
        baseline mean + ``back`` SDs (where the rise starts), within the search window;
        None keeps the threshold crossing.

    Returns
    -------
    ndarray, shape envelope.shape[:-1]
        Onset times (s relative to the event); NaN where no burst was found.
    """
    env = np.asarray(envelope, dtype=float)
    sfreq = 1.0 / np.median(np.diff(times))
    bsel = (times >= baseline[0] - 1e-9) & (times < baseline[1] - 1e-9)
    mu = env[..., bsel].mean(-1)
    sd = env[..., bsel].std(-1)
    thr = mu + k * sd
    wsel = np.flatnonzero((times >= window[0] - 1e-9) & (times <= window[1] + 1e-9))
    seg = env[..., wsel[0]:wsel[-1] + 1] > thr[..., None]
    w = max(1, int(round(min_duration * sfreq)))
    n = seg.shape[-1]
    out = np.full(env.shape[:-1], np.nan)
    if n < w:
        return out
    cs = np.concatenate([np.zeros(seg.shape[:-1] + (1,), np.int32),
                         np.cumsum(seg, axis=-1, dtype=np.int32)], axis=-1)
    full = (cs[..., w:] - cs[..., :-w]) == w          # run of w samples starting here
    has = full.any(-1)
    first = np.argmax(full, axis=-1)
    if back is not None:
        lim = (mu + back * sd)
        base = wsel[0]
        flat_env = env.reshape(-1, env.shape[-1])
        flat_first, flat_lim = first.reshape(-1), lim.reshape(-1)
        for i in np.flatnonzero(has.reshape(-1)):
            f = flat_first[i]
            if f == 0:
                continue
            low = np.flatnonzero(flat_env[i, base:base + f] <= flat_lim[i])
            if low.size:
                flat_first[i] = low[-1] + 1
        first = flat_first.reshape(first.shape)
    out[has] = times[wsel[0] + first[has]]
    return out
