"""Signal-quality measures of one recording, for the report and ``quality.tsv``."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pandas as pd

from ..events.stim import warn_cms
from .spectra import WelchSum

logger = logging.getLogger("emgkit")

class QualityCollector:
    """What the quality summary and the report need, gathered block by block.

    Handed to :func:`emgkit.signal.chunked.process_blocks` (or given whole arrays as one
    block), it keeps only small results: Welch spectra of the input and filtered signals
    (:class:`~emgkit.signal.spectra.WelchSum`), the power of every ``snr_window`` of the
    filtered signal, a raw and filtered excerpt, and the envelope's maximum in every
    ``1 / session_rate`` s for the whole-session overview.

    Parameters
    ----------
    n_times, n_signals : int
        Recording length (samples) and number of muscles.
    sfreq : float
        Sampling rate (Hz).
    excerpt : tuple of int
        ``(first, length)`` of the excerpt (samples).
    session_rate : float
        Points per second of the session envelope (Hz).
    snr_window : float
        Window (s) of the activity-to-floor ratio (:func:`snr_db`).
    """

    def __init__(self, n_times, n_signals, sfreq, excerpt, *, session_rate=10.0,
                 snr_window=0.5):
        self.n_times, self.n_signals, self.sfreq = int(n_times), int(n_signals), float(sfreq)
        self.raw = WelchSum(n_times, n_signals, sfreq)
        self.filtered = WelchSum(n_times, n_signals, sfreq, self.raw.nperseg)
        self.window = max(1, int(round(snr_window * sfreq)))
        self.n_windows = self.n_times // self.window
        self.bin = max(1, int(round(sfreq / session_rate)))
        self.n_bins = -(-self.n_times // self.bin)
        first, length = excerpt
        self.excerpt = (int(first), int(first) + int(length))
        self.ex_raw = np.zeros((n_signals, int(length)))
        self.ex_filt = np.zeros((n_signals, int(length)))
        self.power = np.zeros((n_signals, self.n_windows))
        self.session = np.full((n_signals, self.n_bins), -np.inf)
        self._lock = threading.Lock()

    @property
    def reach(self):
        """Samples after a block's last one that :meth:`add` reads."""
        return max(self.raw.reach, self.window - 1)

    def __repr__(self):
        return (f"<QualityCollector | {self.n_signals} signals × {self.n_times} samples at "
                f"{self.sfreq:g} Hz>")

    def add(self, a, b, x, x0, y, y0, env):
        """Take block ``[a, b)``.

        Parameters
        ----------
        a, b : int
            The block (samples).
        x, y : ndarray, shape (n_signals, n)
            Input (µV, bipolar derived) and filtered signals from samples ``x0`` and ``y0``,
            correct up to at least ``b + reach``  (or the recording's end).
        env : ndarray, shape (n_signals, b - a) | None
            Envelope (µV) of ``[a, b)``.
        """
        self.raw.add(x, x0, a, b)
        self.filtered.add(y, y0, a, b)
        w = self.window
        k0, k1 = -(-a // w), min(self.n_windows, -(-b // w))
        if k1 > k0:
            seg = y[:, k0 * w - y0:k1 * w - y0].reshape(self.n_signals, k1 - k0, w)
            self.power[:, k0:k1] = np.einsum("skw,skw->sk", seg, seg) / w
        p, q = max(a, self.excerpt[0]), min(b, self.excerpt[1])
        if q > p:
            e0 = self.excerpt[0]
            self.ex_raw[:, p - e0:q - e0] = x[:, p - x0:q - x0]
            self.ex_filt[:, p - e0:q - e0] = y[:, p - y0:q - y0]
        if env is not None:
            self._add_session(a, b, env)

    def _add_session(self, a, b, env):
        """The envelope's maximum in every bin of ``[a, b)``: whole bins from a view of
        ``env``, the two partial ones (shared with the neighbouring blocks) apart."""
        h = self.bin
        j0, j1 = -(-a // h), b // h  # bins wholly inside the block
        if j1 > j0:
            part = env[:, j0 * h - a:j1 * h - a].reshape(self.n_signals, j1 - j0, h).max(-1)
            self.session[:, j0:j1] = part  # no other block touches these bins
        edges = [(a, min(b, j0 * h))] if j1 >= j0 else [(a, b)]
        if j1 >= j0:
            edges.append((max(a, j1 * h), b))
        for p, q in edges:
            if q > p:
                peak = env[:, p - a:q - a].max(-1)
                j = p // h
                with self._lock:  # a bin may straddle two blocks (threads)
                    np.maximum(self.session[:, j], peak, out=self.session[:, j])

    def result(self):
        """Dict of ``freqs`` (Hz), ``psd_raw``, ``psd_filtered`` (µV²/Hz), ``window_power``
        (µV², per ``snr_window``), ``excerpt_times`` (s), ``excerpt_raw``,
        ``excerpt_filtered`` (µV), ``session_times`` (s, bin starts) and
        ``session_envelope`` (µV, maximum per bin; NaN where no envelope was given)."""
        freqs, p_raw = self.raw.result()
        _, p_filt = self.filtered.result()
        session = np.where(np.isfinite(self.session), self.session, np.nan)
        return dict(freqs=freqs, psd_raw=p_raw, psd_filtered=p_filt,
                    window_power=self.power, snr_window=self.window / self.sfreq,
                    excerpt_times=np.arange(*self.excerpt) / self.sfreq,
                    excerpt_raw=self.ex_raw, excerpt_filtered=self.ex_filt,
                    session_times=np.arange(self.n_bins) * self.bin / self.sfreq,
                    session_envelope=session)


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


def window_power(filtered, sfreq, window=0.5):
    """Mean power (µV²) of consecutive ``window`` s windows of each signal (last partial
    window left out), shape (..., n_windows)."""
    n = max(1, int(round(window * sfreq)))
    k = filtered.shape[-1] // n
    return (filtered[..., :k * n].reshape(*filtered.shape[:-1], k, n) ** 2).mean(-1)


def snr_db(power, sfreq, window=0.5, exclude=()):
    """Activity-to-floor ratio (dB) of one filtered EMG channel.

    10·log10(P95 / P5) of the power in consecutive windows of ``window`` s
    (:func:`window_power`): how far the active stretches (responses) rise above the
    quietest ones (rest and amplifier noise). Windows overlapping ``exclude`` spans (s;
    flat/saturated stretches) are left out.

    Parameters
    ----------
    power : ndarray, shape (n_windows,)
        Window powers (µV²).
    sfreq : float
        Hz.
    window : float
        Window length (s) the powers were computed over.
    exclude : iterable of (start_s, stop_s, ...)
    """
    n = max(1, int(round(window * sfreq)))
    k = len(power)
    if k < 4:
        return np.nan
    keep = np.ones(k, bool)
    for a, b, *_ in exclude:
        keep[int(a * sfreq) // n: int(np.ceil(b * sfreq / n)) + 1] = False
    pw = power[keep]
    if len(pw) < 4:
        return np.nan
    lo, hi = np.percentile(pw, [5, 95])
    return float(10 * np.log10(hi / lo)) if lo > 0 else np.inf


def excerpt_window(n_times, sfreq, seconds=10.0, start=None):
    """``(first, length)`` samples of the excerpt shown in the report: ``seconds`` long
    from ``start`` (s), or centred in the recording when None; kept inside it."""
    length = min(n_times, int(round(seconds * sfreq)))
    first = (int(round(min(max(start, 0.0), n_times / sfreq) * sfreq)) if start is not None
             else max(0, n_times // 2 - length // 2))
    return int(np.clip(first, 0, n_times - length)), length


def recording_quality(muscles, collected, sfreq, spans, channels, *, mains, band, trials,
                      cms=None, source=""):
    """Compute the quality summary of a recording.

    Parameters
    ----------
    muscles : list of str
    collected : dict
        :meth:`QualityCollector.result` of the recording's pass.
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
    source : str
        The file, for warnings.

    Returns
    -------
    dict
        ``collected`` plus ``summary`` (DataFrame per muscle: ``muscle, snr_db,
        mains_ratio, flat_s, saturated_s, trials, kept, cms_out_s``), ``bad_spans``
        (muscle -> list of (start_s, stop_s, kind)) and ``cms_spans`` (list of
        (start_s, stop_s)).
    """
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
    win = collected["snr_window"]
    summary.insert(1, "snr_db", [snr_db(collected["window_power"][m], sfreq, win,
                                        exclude=bad[mu]) for m, mu in enumerate(muscles)])
    summary.insert(2, "mains_ratio", mains_ratio(collected["freqs"], collected["psd_raw"],
                                                 mains, band))
    summary["cms_out_s"] = sum(b - a for a, b in (cms or []))
    warn_cms(cms, source)
    return dict(collected, summary=summary, bad_spans=bad, cms_spans=list(cms or []))
