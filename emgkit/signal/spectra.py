"""Welch power spectra accumulated block by block.

:class:`WelchSum` adds up the periodograms of the Welch segments whose first sample falls in
each block of a recording, so that a blockwise pass (:mod:`emgkit.signal.chunked`) yields the
spectrum of the whole signal without holding it: the same segments, window, detrending and
scaling as ``scipy.signal.welch`` with its defaults (Hann window, 50 % overlap, constant
detrend, density scaling, mean over segments), in float64.

Each segment's mean (from sums of half-segments) is subtracted straight from the signal into
a reused buffer, which is then windowed and transformed in place; the result equals scipy's
to rounding error in every bin, also where a signal's offset is 10⁶ times its noise
(subtracting the mean after the transform instead, ``FFT(segment · window) - mean ·
FFT(window)``, spread the offset's rounding error into the weak bins).
"""

from __future__ import annotations

import threading

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import fft as sp_fft
from scipy.signal import get_window


def welch_length(n_times, sfreq):
    """Samples per Welch segment for ~1 Hz resolution: ``round(sfreq)`` (at least 64),
    at most the recording."""
    return int(min(n_times, max(64, round(sfreq))))


class WelchSum:
    """Running Welch spectrum of ``n_signals`` signals of ``n_times`` samples.

    Parameters
    ----------
    n_times, n_signals : int
        Length (samples) and number of signals of the whole recording.
    sfreq : float
        Sampling rate (Hz).
    nperseg : int | None
        Samples per segment; None takes :func:`welch_length`.

    Notes
    -----
    Segment ``k`` covers samples ``[k·step, k·step + nperseg)`` with ``step = nperseg -
    nperseg // 2``, for every ``k`` whose segment ends inside the recording (scipy's
    segments). :meth:`add` takes the segments that *start* in ``[a, b)``; the caller passes
    samples up to ``b + nperseg - 1`` (:attr:`reach`). Blocks may be added in any order and
    from several threads; :meth:`result` sums them in sample order.
    """

    def __init__(self, n_times, n_signals, sfreq, nperseg=None):
        self.n_times, self.n_signals, self.sfreq = int(n_times), int(n_signals), float(sfreq)
        self.nperseg = welch_length(n_times, sfreq) if nperseg is None else int(nperseg)
        self.step = self.nperseg - self.nperseg // 2
        self.count = max(0, (self.n_times - self.nperseg) // self.step + 1)
        self.window = get_window("hann", self.nperseg)
        self._parts = {}
        self._lock = threading.Lock()

    @property
    def reach(self):
        """Samples after a block's last one that :meth:`add` reads."""
        return self.nperseg - 1

    def __repr__(self):
        return (f"<WelchSum | {self.n_signals} signals × {self.n_times} samples, "
                f"{self.count} segments of {self.nperseg}, {len(self._parts)} blocks added>")

    def add(self, x, x0, a, b, batch=32):
        """Add the segments starting in ``[a, b)``.

        Parameters
        ----------
        x : ndarray, shape (n_signals, n)
            Samples ``x0 .. x0 + n - 1`` of every signal (µV); must include every sample
            of those segments.
        x0 : int
            Recording sample of ``x[:, 0]``.
        a, b : int
            The block (samples).
        batch : int
            Segments transformed at once (bounds the memory).
        """
        k0 = -(-max(a, 0) // self.step)
        k1 = min(self.count, -(-b // self.step))
        nf, n_sig = self.nperseg // 2 + 1, self.n_signals
        # |X|² summed over segments, real and imaginary parts interleaved (summed at the end)
        total = np.zeros((n_sig, 2 * nf))
        if k1 > k0:
            first = k0 * self.step - x0
            part = x[:, first:(k1 - 1) * self.step - x0 + self.nperseg]
            view = sliding_window_view(part, self.nperseg, axis=-1)[:, ::self.step]
            means = self._means(part, k1 - k0)
            buf = np.empty((n_sig, min(batch, k1 - k0), self.nperseg))
            for k in range(0, k1 - k0, batch):
                seg = view[:, k:k + batch]
                windowed = buf[:, :seg.shape[1]]
                # scipy's constant detrend before the window (as scipy does): taking the mean
                # out after the FFT instead spread the rounding error of a large offset into
                # every bin (weak bins wrong by 4e-4 relative at an offset 1e4× the noise)
                np.subtract(seg, means[:, k:k + seg.shape[1], None], out=windowed)
                windowed *= self.window
                spec = sp_fft.rfft(windowed, axis=-1, overwrite_x=True)
                flat = spec.view(np.float64)
                total += np.einsum("skf,skf->sf", flat, flat)  # no temporary
        total = total[:, 0::2] + total[:, 1::2]
        with self._lock:
            self._parts[a] = (total, max(0, k1 - k0))

    def _means(self, part, count):
        """Mean of each of ``count`` consecutive segments of ``part`` (which starts at the
        first one), from sums of half-segments when the step divides the segment."""
        if self.nperseg == 2 * self.step:
            halves = part[:, :(count + 1) * self.step].reshape(
                self.n_signals, count + 1, self.step).sum(-1)
            return (halves[:, :-1] + halves[:, 1:]) / self.nperseg
        view = sliding_window_view(part, self.nperseg, axis=-1)[:, ::self.step]
        return view[:, :count].mean(axis=-1)

    def result(self):
        """Frequencies (Hz) and power spectral density (µV²/Hz), shape (n_signals, n_freqs).

        Raises
        ------
        ValueError
            When the segments added do not cover the recording.
        """
        nf = self.nperseg // 2 + 1
        freqs = np.fft.rfftfreq(self.nperseg, 1.0 / self.sfreq)
        total = np.zeros((self.n_signals, nf))
        for a in sorted(self._parts):
            total += self._parts[a][0]
        added = sum(n for _, n in self._parts.values())
        if added != self.count:
            raise ValueError(f"{added} of the {self.count} Welch segments were added; every "
                             f"part of the recording must be added once.")
        if self.count == 0:
            return freqs, np.full((self.n_signals, nf), np.nan)
        power = total / (self.count * self.sfreq * (self.window ** 2).sum())
        if self.nperseg % 2:
            power[:, 1:] *= 2
        else:
            power[:, 1:-1] *= 2
        return freqs, power
