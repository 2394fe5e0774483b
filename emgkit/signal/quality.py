"""Signal-quality measures of one recording, for the report and ``quality.tsv``."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import signal

from ..events.stim import warn_cms

logger = logging.getLogger("emgkit")

def psd(x, sfreq):
    """Welch power spectral density (µV²/Hz) with ~1 Hz resolution.

    Returns
    -------
    freqs : ndarray (Hz)
    power : ndarray, shape (..., n_freqs)
    """
    nper = int(min(x.shape[-1], max(64, round(sfreq))))
    return signal.welch(x, fs=sfreq, nperseg=nper, axis=-1)


def mains_ratio(freqs, power, mains, band):
    """Share of the in-band power within ±1 Hz of the mains frequency and its harmonics."""
    if not mains:
        return np.zeros(power.shape[:-1])
    lo, hi = band[0] or 0.0, band[1] or freqs[-1]
    inband = (freqs >= lo) & (freqs <= hi)
    near = np.zeros_like(freqs, bool)
    for h in np.arange(mains, freqs[-1], mains):
        near |= np.abs(freqs - h) <= 1.0
    total = power[..., inband].sum(-1)
    return np.where(total > 0, power[..., inband & near].sum(-1) / np.where(total > 0, total,
                                                                            1), 0.0)


def snr_db(filtered, sfreq, window=0.5, exclude=()):
    """Activity-to-floor ratio (dB) of one filtered EMG channel.

    10·log10(P95 / P5) of the power in consecutive windows of ``window`` s: how far the
    active stretches (responses) rise above the quietest ones (rest and amplifier noise).
    Windows overlapping ``exclude`` spans (s; flat/saturated stretches) are left out.
    """
    n = int(round(window * sfreq))
    k = filtered.shape[-1] // n
    if k < 4:
        return np.nan
    pw = (filtered[:k * n].reshape(k, n) ** 2).mean(-1)
    keep = np.ones(k, bool)
    for a, b, *_ in exclude:
        keep[int(a * sfreq) // n: int(np.ceil(b * sfreq / n)) + 1] = False
    pw = pw[keep]
    if len(pw) < 4:
        return np.nan
    lo, hi = np.percentile(pw, [5, 95])
    return float(10 * np.log10(hi / lo)) if lo > 0 else np.inf


def recording_quality(muscles, derived, filtered, sfreq, spans, channels, *, mains, band,
                      trials, cms=None, excerpt_s=10.0, start=None, source=""):
    """Compute the quality summary of a recording.

    Parameters
    ----------
    muscles : list of str
    derived, filtered : ndarray, shape (n_muscles, n_times)
        Bipolar signals (µV) before and after filtering.
    sfreq : float
        Hz.
    spans : dict
        Input channel label -> list of (start, stop, kind) constant stretches (samples).
    channels : dict
        Muscle -> (anode, cathode).
    mains : float
        Mains frequency (Hz) or 0.
    band : tuple
        (l_freq, h_freq) in Hz.
    trials : DataFrame
        The trial table (for kept/total counts).
    cms : list of (start_s, stop_s) | None
        CMS out-of-range spans (BioSemi).
    excerpt_s : float
        Length (s) of the raw excerpt kept for plots.
    start : float | None
        Excerpt start (s); None starts 1 s before the middle of the recording.

    Returns
    -------
    dict
        ``summary`` (DataFrame per muscle: ``muscle, snr_db, mains_ratio, flat_s,
        saturated_s, trials, kept``), ``freqs`` (Hz), ``psd_raw`` and ``psd_filtered``
        (µV²/Hz, per muscle), ``excerpt_times`` (s), ``excerpt_raw`` and
        ``excerpt_filtered`` (µV), ``bad_spans`` (muscle -> list of (start_s, stop_s,
        kind)), ``cms_spans`` (list of (start_s, stop_s)).
    """
    freqs, p_raw = psd(derived, sfreq)
    _, p_filt = psd(filtered, sfreq)
    n = derived.shape[-1]
    length = min(n, int(round(excerpt_s * sfreq)))
    first = (int(round(min(max(start, 0.0), n / sfreq) * sfreq)) if start is not None
             else max(0, n // 2 - length // 2))
    first = int(np.clip(first, 0, n - length))
    sel = slice(first, first + length)
    bad, rows = {}, []
    for m, muscle in enumerate(muscles):
        found = []
        for lab in channels[muscle]:
            if lab is not None:
                found += [(a / sfreq, b / sfreq, k) for a, b, k in spans.get(lab, [])]
        bad[muscle] = sorted(set(found))
        t = trials[trials["muscle"] == muscle]
        rows.append(dict(muscle=muscle, flat_s=sum(b - a for a, b, k in found if k == "flat"),
                         saturated_s=sum(b - a for a, b, k in found if k == "saturated"),
                         trials=len(t), kept=int((~t["rejected"]).sum())))
    summary = pd.DataFrame(rows)
    summary.insert(1, "snr_db", [snr_db(filtered[m], sfreq, exclude=bad[mu])
                                 for m, mu in enumerate(muscles)])
    summary.insert(2, "mains_ratio", mains_ratio(freqs, p_raw, mains, band))
    summary["cms_out_s"] = sum(b - a for a, b in (cms or []))
    warn_cms(cms, source)
    return dict(summary=summary, freqs=freqs, psd_raw=p_raw, psd_filtered=p_filt,
                excerpt_times=np.arange(first, first + length) / sfreq,
                excerpt_raw=derived[:, sel].copy(), excerpt_filtered=filtered[:, sel].copy(),
                bad_spans=bad, cms_spans=list(cms or []))
