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


#: NeuroKit2 activation methods offered (``[onsets] neurokit_method``)
NEUROKIT_METHODS = ("threshold", "mixture")


def neurokit_onsets(envelope, times, baseline, window, *, method="threshold", k=3.0,
                    min_duration=0.1):
    """Burst onsets by NeuroKit2's ``emg_activation``, for comparability with studies that
    used it.

    Each trial's envelope epoch is passed to :func:`neurokit2.emg_activation` as the
    amplitude, with the epoch's sampling rate and ``duration_min=min_duration`` (NeuroKit2
    drops activity and rest periods shorter than that). For ``method="threshold"`` the
    threshold is the trial's baseline mean + ``k`` baseline SDs, as in
    :func:`detect_onsets` (NeuroKit2's own default, a tenth of the amplitude's SD, is meant
    for a continuous recording and marks nearly every epoch sample active); ``"mixture"``
    uses NeuroKit2's two-state Gaussian mixture with its default probability (0.33). The
    onset is the first activation onset inside ``window`` whose activation lasts at least
    ``min_duration`` (NeuroKit2 keeps some shorter ones at the epoch edges).

    Parameters
    ----------
    envelope : ndarray, shape (..., n_times)
        Envelope epochs (µV).
    times : ndarray
        Epoch times (s), evenly spaced (their spacing gives the sampling rate).
    baseline, window : tuple of float
        Baseline window (s) for the threshold, search window (s) for onsets.
    method : "threshold" | "mixture"
        NeuroKit2's activation method.
    k : float
        Threshold in baseline SDs above the baseline mean (``threshold`` only).
    min_duration : float
        NeuroKit2's ``duration_min`` (s).

    Returns
    -------
    ndarray, shape envelope.shape[:-1]
        Onset times (s relative to the event); NaN where NeuroKit2 found no activation in
        the window (or the epoch lies outside the recording).
    """
    import neurokit2 as nk

    env = np.asarray(envelope, dtype=float)
    sfreq = 1.0 / np.median(np.diff(times))
    bsel = (times >= baseline[0] - 1e-9) & (times < baseline[1] - 1e-9)
    flat = env.reshape(-1, env.shape[-1])
    out = np.full(flat.shape[0], np.nan)
    for i, trace in enumerate(flat):
        if not np.isfinite(trace).all() or np.ptp(trace) == 0:
            continue
        thr = "default"
        if method == "threshold":
            thr = float(trace[bsel].mean() + k * trace[bsel].std())
        try:
            _, info = nk.emg_activation(emg_amplitude=trace, sampling_rate=sfreq, method=method,
                                        threshold=thr, duration_min=min_duration)
        except (ValueError, IndexError):  # NeuroKit2 fails on epochs without two states
            continue
        starts = np.asarray(info["EMG_Onsets"], dtype=int)
        stops = np.asarray(info["EMG_Offsets"], dtype=int)
        # each onset's offset (the end of the epoch for a burst still on there)
        ends = np.array([next((s for s in stops if s > a), trace.size) for a in starts])
        onsets = times[starts[(ends - starts) / sfreq >= min_duration - 1e-9]] \
            if starts.size else np.array([])
        onsets = onsets[(onsets >= window[0] - 1e-9) & (onsets <= window[1] + 1e-9)]
        if onsets.size:
            out[i] = onsets[0]
    return out.reshape(env.shape[:-1])


def onset_latencies(envelope, times, baseline, window, onsets):
    """Onset latencies by the method an ``[onsets]`` config section names.

    Parameters
    ----------
    envelope : ndarray, shape (..., n_times)
        Envelope epochs (µV).
    times : ndarray
        Epoch times (s).
    baseline, window : tuple of float
        Baseline window and search window (s).
    onsets : OnsetsConfig
        ``method``, ``neurokit_method``, ``k``, ``min_duration`` (s).

    Returns
    -------
    ndarray, shape envelope.shape[:-1]
        Onset times (s); NaN: no activation.
    """
    if onsets.method == "neurokit2":
        return neurokit_onsets(envelope, times, baseline, window, method=onsets.neurokit_method,
                               k=onsets.k, min_duration=onsets.min_duration)
    return detect_onsets(envelope, times, baseline, window, k=onsets.k,
                         min_duration=onsets.min_duration)
