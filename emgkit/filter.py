"""Zero-phase band-pass and mains notch filters (pure array functions).

The band-pass is a Butterworth filter of the given order applied forward and backward
(``scipy.signal.sosfiltfilt``), so it has zero phase and its magnitude response is the
square of the single-pass Butterworth response (-6 dB at the band edges). Notches are
second-order IIR notches (``scipy.signal.iirnotch``, quality factor ``q``) at the mains
frequency and its harmonics below Nyquist and below the upper band edge, applied in the
same zero-phase cascade.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from ._check import check_number, check_sfreq
from .errors import ConfigError


def check_band(sfreq, l_freq, h_freq):
    """Check band edges (Hz) against the sampling rate; return ``(l_freq, h_freq)``."""
    sfreq = check_sfreq(sfreq)
    nyq = sfreq / 2.0
    if l_freq is not None:
        l_freq = check_number("l_freq", l_freq, low=0, low_inclusive=False)
        if l_freq >= nyq:
            raise ConfigError(f"l_freq={l_freq:g} Hz is at or above Nyquist ({nyq:g} Hz for "
                              f"sfreq={sfreq:g} Hz); use l_freq < {nyq:g}.")
    if h_freq is not None:
        h_freq = check_number("h_freq", h_freq, low=0, low_inclusive=False)
        if h_freq >= nyq:
            raise ConfigError(f"h_freq={h_freq:g} Hz is at or above Nyquist ({nyq:g} Hz for "
                              f"sfreq={sfreq:g} Hz); use h_freq < {nyq:g} or omit it "
                              f"(preprocess.band = [{l_freq:g}] for high-pass only).")
        if l_freq is not None and h_freq <= l_freq:
            raise ConfigError(f"h_freq={h_freq:g} Hz must be above l_freq={l_freq:g} Hz.")
    return l_freq, h_freq


def notch_frequencies(sfreq, freq, *, harmonics=True, h_freq=None):
    """Return the notch frequencies (Hz): ``freq`` and, optionally, its harmonics.

    Harmonics at or above Nyquist, or above the upper band edge ``h_freq`` (which the
    band-pass already removes), are left out.
    """
    if not freq:
        return []
    freq = check_number("notch", freq, low=0, low_inclusive=False)
    top = min(sfreq / 2.0, h_freq if h_freq is not None else np.inf)
    if freq >= sfreq / 2.0:
        raise ConfigError(f"notch={freq:g} Hz is at or above Nyquist ({sfreq / 2:g} Hz for "
                          f"sfreq={sfreq:g} Hz); use 50 or 60, or 0 for no notch.")
    if not harmonics:
        return [freq]
    n = int(np.floor((top - 1e-9) / freq))
    return [freq * k for k in range(1, max(n, 1) + 1)]


def design_filter(sfreq, l_freq=20.0, h_freq=500.0, *, order=4, notch=50.0,
                  harmonics=True, q=30.0):
    """Design the band-pass + notch cascade as second-order sections.

    Parameters
    ----------
    sfreq : float
        Sampling rate (Hz).
    l_freq, h_freq : float | None
        Band edges (Hz); None drops that edge (``h_freq=None``: high-pass only).
    order : int
        Butterworth order of one pass.
    notch : float
        Mains frequency (Hz); 0 or None for no notch.
    harmonics : bool
        Also notch the harmonics below Nyquist and ``h_freq``.
    q : float
        Quality factor of each notch (bandwidth = frequency / q).

    Returns
    -------
    ndarray, shape (n_sections, 6)
        Second-order sections for :func:`apply_filter`.
    """
    sfreq = check_sfreq(sfreq)
    l_freq, h_freq = check_band(sfreq, l_freq, h_freq)
    parts = []
    if l_freq is not None and h_freq is not None:
        parts.append(signal.butter(order, [l_freq, h_freq], btype="bandpass", fs=sfreq,
                                   output="sos"))
    elif l_freq is not None:
        parts.append(signal.butter(order, l_freq, btype="highpass", fs=sfreq, output="sos"))
    elif h_freq is not None:
        parts.append(signal.butter(order, h_freq, btype="lowpass", fs=sfreq, output="sos"))
    for f in notch_frequencies(sfreq, notch, harmonics=harmonics, h_freq=h_freq):
        b, a = signal.iirnotch(f, q, fs=sfreq)
        parts.append(signal.tf2sos(b, a))
    if not parts:
        return np.array([[1.0, 0, 0, 1.0, 0, 0]])
    return np.vstack(parts)


def apply_filter(data, sos):
    """Filter along the last axis forward and backward (zero phase)."""
    data = np.asarray(data, dtype=float)
    return signal.sosfiltfilt(sos, data, axis=-1)


def band_pass(data, sfreq, l_freq, h_freq, *, order=4, notch=0.0, harmonics=True):
    """Zero-phase Butterworth band-pass (and optional notch) of ``data``.

    Parameters
    ----------
    data : ndarray, shape (..., n_times)
        Signals (µV).
    sfreq : float
        Sampling rate (Hz).
    l_freq, h_freq : float | None
        Band edges (Hz).
    order : int
        Butterworth order of one pass.
    notch : float
        Mains frequency (Hz) to notch with harmonics; 0 for none.
    harmonics : bool
        Notch harmonics too.

    Returns
    -------
    ndarray
        The filtered signals (µV), same shape as ``data``.
    """
    sos = design_filter(sfreq, l_freq, h_freq, order=order, notch=notch, harmonics=harmonics)
    return apply_filter(data, sos)


def zero_phase_gain(sos, freqs, sfreq):
    """|H(f)|² of the cascade at ``freqs`` (Hz): the response of forward-backward filtering."""
    w = 2 * np.pi * np.asarray(freqs, float) / sfreq
    c1, c2 = np.cos(w), np.cos(2 * w)
    gain = np.ones_like(w)
    for b0, b1, b2, a0, a1, a2 in np.asarray(sos, float):
        # |p0 + p1 e^{-jw} + p2 e^{-2jw}|² in real arithmetic
        num = b0 * b0 + b1 * b1 + b2 * b2 + 2 * (b0 * b1 + b1 * b2) * c1 + 2 * b0 * b2 * c2
        den = a0 * a0 + a1 * a1 + a2 * a2 + 2 * (a0 * a1 + a1 * a2) * c1 + 2 * a0 * a2 * c2
        gain *= num / den
    return gain


def apply_filter_fft(data, sos, sfreq, *, pad=4.0, workers=2):
    """Zero-phase filtering in the frequency domain (fast for long recordings).

    Multiplies the spectrum by ``|H(f)|²``, the exact response of forward-backward IIR
    filtering; the signal is extended at both ends by ``pad`` s of odd reflection (as
    ``sosfiltfilt`` does), so away from the first and last seconds the output equals
    :func:`apply_filter` to ~1e-9 relative.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
    sos : ndarray
        Second-order sections from :func:`design_filter`.
    sfreq : float
        Hz.
    pad : float
        Odd-reflection padding (s) at each end.
    workers : int
        Threads for the FFTs.

    Returns
    -------
    ndarray, same shape as ``data``
    """
    from scipy import fft

    data = np.atleast_2d(np.asarray(data, dtype=float))
    n = data.shape[-1]
    p = int(min(n - 1, round(pad * sfreq)))
    nfft = fft.next_fast_len(n + 2 * p + int(2 * sfreq), real=True)
    gain = zero_phase_gain(sos, fft.rfftfreq(nfft, 1.0 / sfreq), sfreq)
    out = np.empty_like(data)
    buf = np.zeros(nfft)
    for k, x in enumerate(data):
        buf[:p] = 2 * x[0] - x[p:0:-1]
        buf[p:p + n] = x
        buf[p + n:p + n + p] = 2 * x[-1] - x[-2:-p - 2:-1]
        buf[p + n + p:] = 0.0
        spec = fft.rfft(buf, workers=workers)
        spec *= gain
        out[k] = fft.irfft(spec, nfft, workers=workers)[p:p + n]
    return out
