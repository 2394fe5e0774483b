"""Decimated traces per trial × muscle, for reviewing trials later.

``emgkit run`` and ``emgkit process`` write them as ``envelopes.npz`` next to ``trials.tsv``
so that ``emgkit review`` draws every trial without re-reading the recording:

- the baseline-corrected envelope: block means of :func:`emgkit.epochs.baseline.correct` (the
  one scoring function) over at most :data:`MAX_POINTS` points per epoch;
- the excerpt of the signal behind it, gathered in the same pass over the recording
  (:class:`TrialExcerpts`): the filtered signal's minimum and maximum (µV) in each of at most
  :data:`EXCERPT_POINTS` bins of the epoch (the band a waveform plot draws, so spikes and
  bursts stay visible), and the input signal's bin means (µV, the epoch's mean removed; slow
  movement artefacts and electrode pops).

Every trace is stored as int8 with one scale per trace (1/127 of its largest absolute value:
finer than a pixel of the page's plots): about 100 + 120 bytes per trial × muscle, ≤ 200 KB
for 3 muscles × 240 trials (``tests/study/test_review_page.py`` checks it on a real run).

Arrays of the file (``np.load(path)``; no pickles):

- ``times`` float32 (n_points,): centre of each envelope block (s from stimulus onset);
- ``trial`` int32 (n_trials,): the trial numbers of ``trials.tsv``;
- ``muscles`` str (n_muscles,);
- ``data`` int8 (n_trials, n_muscles, n_points): value / ``scale``; :data:`MISSING_CODE`
  where the epoch is missing (outside the recording);
- ``scale`` float32 (n_trials, n_muscles): unit of the baseline mode per count;
- ``auto_rejected`` bool and ``auto_reason`` str (n_trials, n_muscles): the automatic
  decision before any manual override;
- ``unit`` str (): the baseline mode (``ratio``, ``percent``, ...);
- with the excerpt (files written since it exists; :func:`read_traces` gives None
  otherwise): ``ex_times`` float32 (n_bins,) bin centres (s); ``ex_low``, ``ex_high`` int8
  (n_trials, n_muscles, n_bins) and ``ex_scale`` float32 (n_trials, n_muscles): the filtered
  signal's bin minimum and maximum (µV = code × scale); ``ex_raw`` int8 and
  ``ex_raw_scale`` float32: the input signal's bin means less the epoch mean (µV).
"""

from __future__ import annotations

import numpy as np

from .._files import atomic_path
from ..errors import ReadError

#: points per trace at most
MAX_POINTS = 100
#: bins of the signal excerpt per epoch at most
EXCERPT_POINTS = 40
#: int8 code of a missing sample
MISSING_CODE = np.int8(-128)
#: largest int8 code of a value
TOP = 127
#: file name in a participant folder
FILE = "envelopes.npz"


def decimate(traces, times, max_points=MAX_POINTS):
    """Block means of traces along the last axis.

    Parameters
    ----------
    traces : ndarray, shape (..., n_times)
        Values (any unit); NaN propagates into its block.
    times : ndarray, shape (n_times,)
        Sample times (s).
    max_points : int
        Points kept at most.

    Returns
    -------
    values : ndarray, shape (..., n_points)
        Means of consecutive blocks of ``ceil(n_times / max_points)`` samples (a last,
        incomplete block is dropped when there is more than one block).
    centres : ndarray, shape (n_points,)
        Mean time (s) of each block.
    """
    traces = np.asarray(traces, float)
    times = np.asarray(times, float)
    n = times.size
    step = max(1, -(-n // max_points))
    k = max(1, n // step) if n >= step else 1
    use = min(n, k * step)
    shape = traces.shape[:-1] + (k, -1)
    values = traces[..., :use].reshape(shape).mean(axis=-1)
    centres = times[:use].reshape(k, -1).mean(axis=-1)
    return values, centres


def quantise(values, axes=1):
    """int8 codes and per-trace scales of ``values``; NaN -> missing code.

    Parameters
    ----------
    values : ndarray, shape (..., n_points) or (..., k, n_points)
    axes : int
        How many last axes one scale covers: 1 (each trace its own), 2 (a ``k`` traces
        share one, e.g. the minimum and maximum of one signal).

    Returns
    -------
    codes : ndarray of int8
    scale : ndarray of float32, shape values.shape[:-axes]
        ``values ≈ codes * scale`` (error ≤ scale / 2, scale = peak / 127); 1 for a trace
        that is all zero or all missing.
    """
    values = np.asarray(values, float)
    finite = np.isfinite(values)
    last = tuple(range(-axes, 0))
    peak = np.where(finite, np.abs(values), 0.0).max(axis=last)
    scale = np.where(peak > 0, peak / TOP, 1.0).astype(np.float32)
    codes = np.round(np.where(finite, values, 0.0)
                     / scale.reshape(scale.shape + (1,) * axes).astype(float))
    codes = np.clip(codes, -TOP, TOP).astype(np.int8)
    codes[~finite] = MISSING_CODE
    return codes, scale


def dequantise(codes, scale):
    """Values (float) of ``codes`` times ``scale`` (one scale per ``scale.ndim`` leading
    axes); missing codes (-128 of int8, -32768 of the int16 of older files) -> NaN."""
    extra = codes.ndim - scale.ndim
    out = codes.astype(float) * scale.reshape(scale.shape + (1,) * extra).astype(float)
    out[codes == np.iinfo(codes.dtype).min] = np.nan
    return out


class TrialExcerpts:
    """The filtered and input signal of every epoch, reduced to bins in the pass that cuts
    the epochs (a collector of :func:`emgkit.signal.chunked.process_blocks`, like
    :class:`~emgkit.signal.quality.QualityCollector`).

    Parameters
    ----------
    starts : ndarray of int
        First sample of each epoch.
    n_epoch : int
        Samples per epoch.
    inside : ndarray of bool
        Per epoch, whether it lies inside the recording (others stay missing).
    n_signals : int
        Muscles.
    points : int
        Bins per epoch at most: ``ceil(n_epoch / points)`` samples each (the last may be
        shorter).
    """

    reach = 0  # reads nothing beyond a block's core
    every_block = False  # only the blocks that hold an epoch

    def __init__(self, starts, n_epoch, inside, n_signals, points=EXCERPT_POINTS):
        import threading

        self.starts = np.asarray(starts, np.int64)
        self.n = int(n_epoch)
        self.inside = np.asarray(inside, bool)
        self.step = max(1, -(-self.n // int(points)))
        self.k = -(-self.n // self.step)
        shape = (len(self.starts), int(n_signals), self.k)
        self.low = np.full(shape, np.inf)
        self.high = np.full(shape, -np.inf)
        self.sum = np.zeros(shape)
        self._lock = threading.Lock()

    def __repr__(self):
        return (f"<TrialExcerpts | {len(self.starts)} epochs × {self.k} bins of "
                f"{self.step} samples>")

    def add(self, a, b, x, x0, y, y0, env=None):
        """Take block ``[a, b)`` of the input ``x`` (from sample ``x0``) and the filtered
        signal ``y`` (from ``y0``), both (n_signals, n) in µV; ``env`` is not used."""
        ends = self.starts + self.n
        for i in np.flatnonzero(self.inside & (self.starts < b) & (ends > a)):
            s = int(self.starts[i])
            p, q = max(s, a), min(int(ends[i]), b)
            j0, j1 = (p - s) // self.step, (q - 1 - s) // self.step + 1
            cuts = np.maximum(s + np.arange(j0, j1) * self.step, p) - p
            ys, xs = y[:, p - y0:q - y0], x[:, p - x0:q - x0]
            low = np.minimum.reduceat(ys, cuts, axis=1)
            high = np.maximum.reduceat(ys, cuts, axis=1)
            total = np.add.reduceat(xs, cuts, axis=1)
            with self._lock:  # an epoch may straddle two blocks (threads)
                np.minimum(self.low[i, :, j0:j1], low, out=self.low[i, :, j0:j1])
                np.maximum(self.high[i, :, j0:j1], high, out=self.high[i, :, j0:j1])
                self.sum[i, :, j0:j1] += total

    def result(self, times):
        """The excerpts of the epochs with sample times ``times`` (s).

        Returns
        -------
        dict
            ``times`` (n_bins,) bin centres (s); ``low``, ``high`` (n_epochs, n_signals,
            n_bins) the filtered signal's bin minimum and maximum (µV); ``raw`` the input
            signal's bin means less the epoch's mean (µV); NaN for epochs outside.
        """
        times = np.asarray(times, float)
        edges = np.arange(self.k) * self.step
        counts = np.diff(np.append(edges, self.n))
        centres = np.add.reduceat(times[:self.n], edges) / counts
        raw = self.sum / counts
        raw -= self.sum.sum(-1, keepdims=True) / self.n
        out = {"times": centres, "low": self.low.copy(), "high": self.high.copy(), "raw": raw}
        for k in ("low", "high", "raw"):
            out[k][~self.inside] = np.nan
        return out


def write_traces(path, result, automatic=None):
    """Write ``envelopes.npz`` (see the module docstring) for a processed recording.

    Parameters
    ----------
    path : path-like
        The file to write (atomically).
    result : ProcessedRecording
        Its baseline-corrected epochs are read one muscle at a time
        (:meth:`~emgkit.processed.ProcessedRecording.corrected_muscle`), and its
        ``excerpts`` (:meth:`TrialExcerpts.result`) when it has them.
    automatic : DataFrame | None
        Trial table with the automatic decisions (``trial, muscle, rejected,
        reject_reason``) before manual overrides; default ``result.trials``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from pathlib import Path

    muscles = result.muscles
    trials = result.events["trial"].to_numpy().astype(np.int32)
    per_muscle = []
    for m in range(len(muscles)):
        values, centres = decimate(result.corrected_muscle(m), result.times)
        per_muscle.append(values)
    values = np.stack(per_muscle, axis=1) if per_muscle else np.zeros((len(trials), 0, 0))
    codes, scale = quantise(values)
    auto = result.trials if automatic is None else automatic
    wide = auto.pivot(index="trial", columns="muscle",  # only the columns read below
                      values=[c for c in ("rejected", "reject_reason") if c in auto])
    rejected = np.zeros((len(trials), len(muscles)), bool)
    reason = np.full((len(trials), len(muscles)), "", dtype=object)
    for j, m in enumerate(muscles):
        if ("rejected", m) in wide:
            rejected[:, j] = wide[("rejected", m)].reindex(trials).fillna(False).astype(bool)
            reason[:, j] = wide[("reject_reason", m)].reindex(trials).fillna("").astype(str)
    arrays = {}
    excerpts = getattr(result, "excerpts", None)
    if excerpts is not None:
        band, ex_scale = quantise(np.stack([excerpts["low"], excerpts["high"]], axis=-2), 2)
        raw, raw_scale = quantise(excerpts["raw"])
        arrays = {"ex_times": np.asarray(excerpts["times"], np.float32),
                  "ex_low": band[..., 0, :], "ex_high": band[..., 1, :], "ex_scale": ex_scale,
                  "ex_raw": raw, "ex_raw_scale": raw_scale}
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, times=centres.astype(np.float32), trial=trials,
                            muscles=np.array(muscles, dtype=str), data=codes, scale=scale,
                            auto_rejected=rejected, auto_reason=reason.astype(str),
                            unit=np.array(str(result.config.epochs.baseline_mode)), **arrays)
    return path


#: arrays of the excerpt (absent from files written before it)
EXCERPT_KEYS = ("ex_times", "ex_low", "ex_high", "ex_scale", "ex_raw", "ex_raw_scale")


def read_traces(path):
    """Read ``envelopes.npz`` into a dict of arrays (see the module docstring); the
    excerpt's arrays are None in a file written without them.

    Raises
    ------
    ReadError
        The file is missing, not an emgkit envelope file, or lacks an array.
    """
    keys = ("times", "trial", "muscles", "data", "scale", "auto_rejected", "auto_reason",
            "unit")
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in keys}
            for k in EXCERPT_KEYS:
                out[k] = z[k] if k in z.files else None
    except (OSError, ValueError, KeyError) as exc:
        raise ReadError(f"{path} cannot be read as emgkit envelopes ({exc}); rerun emgkit "
                        f"run to write it again.") from None
    return out


__all__ = ["EXCERPT_KEYS", "EXCERPT_POINTS", "FILE", "MAX_POINTS", "MISSING_CODE", "TOP",
           "TrialExcerpts", "decimate", "dequantise", "quantise", "read_traces",
           "write_traces"]
