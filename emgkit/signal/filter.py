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

from .._check import check_number, check_sfreq
from ..errors import ConfigError

#: lowest band edge, as a fraction of the sampling rate, for which the Butterworth design
#: and its steady-state start are numerically sound (below it: singular matrices)
MIN_RELATIVE_EDGE = 1e-5
#: lowest notch (mains) frequency (Hz): mains is 50 or 60 Hz, railways 16.7 Hz
MIN_NOTCH = 1.0
#: most notch filters (the mains and its harmonics) in one cascade
MAX_NOTCHES = 200


def check_band(sfreq, l_freq, h_freq):
    """Check band edges (Hz) against the sampling rate; return ``(l_freq, h_freq)``.

    Edges must lie below Nyquist and at or above ``MIN_RELATIVE_EDGE × sfreq`` (a
    high-pass far below that cannot be designed in floating point).

    Raises
    ------
    ConfigError
        Naming the edge, the rate and the allowed range.
    """
    sfreq = check_sfreq(sfreq)
    nyq = sfreq / 2.0
    lowest = MIN_RELATIVE_EDGE * sfreq
    for name, edge in (("l_freq", l_freq), ("h_freq", h_freq)):
        if edge is not None:
            edge = check_number(name, edge, low=0, low_inclusive=False)
            if edge < lowest:
                raise ConfigError(f"{name}={edge:g} Hz is too low for a stable filter at "
                                  f"sfreq={sfreq:g} Hz; use at least {lowest:.3g} Hz (EMG "
                                  f"high-pass edges are 10-30 Hz).")
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

    Raises
    ------
    ConfigError
        When ``freq`` is below ``MIN_NOTCH`` (1 Hz) or at/above Nyquist, or would need more
        than ``MAX_NOTCHES`` notch filters.
    """
    if not freq:
        return []
    freq = check_number("notch", freq, low=MIN_NOTCH)
    top = min(sfreq / 2.0, h_freq if h_freq is not None else np.inf)
    if freq >= sfreq / 2.0:
        raise ConfigError(f"preprocess.notch={freq:g} Hz is at or above Nyquist "
                          f"({sfreq / 2:g} Hz for sfreq={sfreq:g} Hz): data sampled at "
                          f"{sfreq:g} Hz cannot hold mains at {freq:g} Hz. Set notch = 0 (no "
                          f"notch), or list the channels in preprocess.processed when they "
                          f"hold an envelope computed by the acquisition software.")
    if not harmonics:
        return [freq]
    n = int(np.floor((top - 1e-9) / freq))
    if n > MAX_NOTCHES:
        raise ConfigError(f"notch={freq:g} Hz with its harmonics below {top:g} Hz would need "
                          f"{n} notch filters (at most {MAX_NOTCHES}); mains is 50 or 60 Hz. "
                          f"Set the mains frequency, lower h_freq, or notch_harmonics = "
                          f"false.")
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


def pad_length(sos):
    """The padding (samples) ``scipy.signal.sosfiltfilt`` uses by default."""
    sos = np.atleast_2d(sos)
    ntaps = 2 * len(sos) + 1
    ntaps -= min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * ntaps


def filtfilt_segment(sos, x, *, left_end=True, right_end=True, zi=None):
    """Forward-backward filtering of ``x`` (n_signals, n) along the last axis.

    At a true end of the recording (``left_end``/``right_end``) the signal is extended by
    odd reflection as ``scipy.signal.sosfiltfilt`` does, with its steady-state initial
    conditions, so that with both ends true the result equals ``sosfiltfilt``. Elsewhere
    (a block cut out of a longer recording) the pass starts in the steady state of the
    first sample; the caller's margin absorbs the start-up transient
    (:func:`emgkit.signal.chunked.filter_margin`). ``zi``: ``scipy.signal.sosfilt_zi(sos)``
    when already computed (a blockwise pass filters every block with the same cascade).
    """
    zi = (signal.sosfilt_zi(sos) if zi is None else zi)[:, None, :]
    y, state = signal.sosfilt(sos, x, zi=forward_state(sos, x, zi, left_end=left_end))
    back = backward_state(sos, x, y, state, zi, right_end=right_end)
    out, _ = signal.sosfilt(sos, y[:, ::-1], zi=back)
    return out[:, ::-1]


def forward_state(sos, x, zi, *, left_end):
    """Initial state of the forward pass over ``x`` (n_signals, n): after ``sosfiltfilt``'s
    odd extension at a true start of the recording (``left_end``), else the steady state of
    the first sample. ``zi``: ``sosfilt_zi(sos)[:, None, :]``."""
    edge = min(pad_length(sos), x.shape[1] - 1)  # as sosfiltfilt pads
    if left_end and edge:
        ext = 2 * x[:, :1] - x[:, edge:0:-1]
        _, state = signal.sosfilt(sos, ext, zi=zi * ext[:, 0][None, :, None])
        return state
    return zi * x[:, 0][None, :, None]


def backward_state(sos, x, y, state, zi, *, right_end):
    """Initial state of the backward pass over the forward output ``y`` of input ``x``
    (``state``: the forward pass's state after ``x``'s last sample): after ``sosfiltfilt``'s
    odd extension at a true end of the recording (``right_end``), else the steady state of
    ``y``'s last sample. ``zi``: ``sosfilt_zi(sos)[:, None, :]``."""
    edge = min(pad_length(sos), x.shape[1] - 1)
    if right_end and edge:
        ext = 2 * x[:, -1:] - x[:, -2:-(edge + 2):-1]
        y_right, _ = signal.sosfilt(sos, ext, zi=state)
        rev = y_right[:, ::-1]
        _, back = signal.sosfilt(sos, rev, zi=zi * rev[:, 0][None, :, None])
        return back
    return zi * y[:, -1][None, :, None]


def apply_filter(data, sos, *, workers=2, out=None):
    """Filter along the last axis forward and backward (zero phase).

    Equal to ``scipy.signal.sosfiltfilt(sos, data, axis=-1)`` (odd padding, steady-state
    initial conditions; signals shorter than its padding are padded by all but one
    sample); channels run in ``workers`` threads (scipy's ``sosfilt`` releases the GIL).
    ``out`` (which may be ``data`` itself) receives the result.
    """
    data = np.asarray(data, dtype=float)
    if data.shape[-1] < 2:
        return data.copy() if out is None else data
    flat = data.reshape(-1, data.shape[-1])
    res = np.empty_like(flat) if out is None else out.reshape(flat.shape)

    def run(k):
        res[k] = filtfilt_segment(sos, flat[k:k + 1])[0]

    if workers > 1 and len(flat) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(workers, len(flat))) as pool:
            list(pool.map(run, range(len(flat))))
    else:
        for k in range(len(flat)):
            run(k)
    return res.reshape(data.shape)


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
