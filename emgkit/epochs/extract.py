"""Envelope epochs of a loaded recording: filter, rectify and smooth, and cut every epoch,
chunk by chunk (:mod:`emgkit.signal.chunked`) or, when some channels already hold an
envelope, on whole arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..signal.chunked import process_blocks
from ..signal.envelope import envelope, window_samples
from ..signal.filter import apply_filter, design_filter
from .cut import epoch, epoch_starts, epoch_times
from .traces import TrialExcerpts


@dataclass(repr=False)
class Extracted:
    """Envelope epochs and, where asked for, the continuous envelope.

    Attributes
    ----------
    times : ndarray
        Epoch sample times (s).
    starts : ndarray of int
        First sample of each epoch (clipped to the recording).
    epochs : ndarray, shape (n_trials, n_muscles, n_times)
        Envelope epochs (µV), NaN for events without a full epoch in the recording.
    inside : ndarray of bool
        Per trial, whether its epoch lies inside the recording.
    envelope : ndarray, shape (n_muscles, n_samples) | None
        Continuous envelope (µV), when kept.
    excerpts : dict | None
        The filtered and input signal of every epoch in bins
        (:meth:`emgkit.epochs.traces.TrialExcerpts.result`), when asked for.
    """

    times: np.ndarray
    starts: np.ndarray
    epochs: np.ndarray
    inside: np.ndarray
    envelope: np.ndarray | None = None
    excerpts: dict | None = None


class Collectors:
    """Several collectors fed by one pass (``None`` parts are left out)."""

    def __init__(self, *parts):
        self.parts = [p for p in parts if p is not None]

    def __repr__(self):
        return f"<Collectors | {', '.join(type(p).__name__ for p in self.parts)}>"

    @property
    def reach(self):
        return max(p.reach for p in self.parts)

    @property
    def every_block(self):
        return any(getattr(p, "every_block", True) for p in self.parts)

    def add(self, *args):
        for p in self.parts:
            p.add(*args)


def extract_epochs(loaded, preprocess, epochs, onsets, *, keep_continuous=False,
                   collect=None, excerpts=False):
    """Filter, rectify, smooth and epoch every muscle of a loaded recording.

    Parameters
    ----------
    loaded : emgkit.io.load.Loaded
        The recording (``source`` of µV signals, ``sfreq`` in Hz).
    preprocess : PreprocessConfig
        Band (Hz), notch (Hz), filter order, smoothing window (s), envelope kind and the
        muscles whose channels already hold an envelope (``processed``).
    epochs : EpochsConfig
        ``tmin``/``tmax`` (s) around each onset.
    onsets : ndarray
        Event onsets (s).
    keep_continuous : bool
        Keep the continuous envelope (µV), a whole-recording array.
    collect : emgkit.signal.quality.QualityCollector | None
        Gathers the quality measures in the same pass.
    excerpts : bool
        Also gather the excerpt of every epoch (:class:`~emgkit.epochs.traces.TrialExcerpts`,
        for ``emgkit review``).

    Returns
    -------
    Extracted
    """
    pp, sfreq, resolved = preprocess, loaded.sfreq, loaded.resolved
    times = epoch_times(sfreq, epochs.tmin, epochs.tmax)
    starts = epoch_starts(onsets, sfreq, epochs.tmin, loaded.n_times)
    ex = None
    if excerpts:
        ex = TrialExcerpts(starts, len(times), (starts >= 0) &
                           (starts + len(times) <= loaded.n_times), len(resolved))
        collect = Collectors(collect, ex)
    raw_rows = [i for i, m in enumerate(resolved) if m not in pp.processed]
    sos = design_filter(sfreq, pp.l_freq, pp.h_freq, order=pp.order, notch=pp.notch,
                        harmonics=pp.notch_harmonics) if raw_rows else None
    if len(raw_rows) == len(resolved):  # block by block, one pass
        env_epochs, inside, full = process_blocks(
            loaded.source, sos, window_samples(sfreq, pp.smooth), starts, len(times),
            kind=pp.envelope, keep=("envelope",) if keep_continuous else (), collect=collect)
        return Extracted(times, starts, env_epochs, inside, full.get("envelope"),
                         None if ex is None else ex.result(times))
    # some channels already hold the acquisition software's envelope: used as they are
    derived = loaded.derived
    filtered, env = derived.copy(), derived.copy()
    if raw_rows:
        filtered[raw_rows] = apply_filter(derived[raw_rows], sos)
        env[raw_rows] = envelope(filtered[raw_rows], sfreq, pp.smooth, kind=pp.envelope)
    if collect is not None:
        collect.add(0, loaded.n_times, derived, 0, filtered, 0, env)
    env_epochs, times, inside = epoch(env, sfreq, onsets, epochs.tmin, epochs.tmax)
    return Extracted(times, starts, env_epochs, inside, env if keep_continuous else None,
                     None if ex is None else ex.result(times))
