"""Decimated baseline-corrected envelopes per trial × muscle, for reviewing trials later.

``emgkit run`` and ``emgkit process`` write them as ``envelopes.npz`` next to ``trials.tsv``
so that ``emgkit review`` draws every trial without re-reading the recording. The traces
are block means of the baseline-corrected envelope (:func:`emgkit.epochs.baseline.correct`,
the one scoring function) over at most :data:`MAX_POINTS` points per epoch, stored as int16
with one scale per trace: about 200 bytes per trial × muscle (≤ 200 KB for 3 muscles × 240
trials; quantisation error ≤ 1/65534 of each trace's largest absolute value).

Arrays of the file (``np.load(path)``; no pickles):

- ``times`` float32 (n_points,): centre of each block (s from stimulus onset);
- ``trial`` int32 (n_trials,): the trial numbers of ``trials.tsv``;
- ``muscles`` str (n_muscles,);
- ``data`` int16 (n_trials, n_muscles, n_points): value / ``scale``; :data:`MISSING_CODE`
  where the epoch is missing (outside the recording);
- ``scale`` float32 (n_trials, n_muscles): unit of the baseline mode per count;
- ``auto_rejected`` bool and ``auto_reason`` str (n_trials, n_muscles): the automatic
  decision before any manual override;
- ``unit`` str (): the baseline mode (``ratio``, ``percent``, ...).
"""

from __future__ import annotations

import numpy as np

from .._files import atomic_path
from ..errors import ReadError

#: points per trace at most
MAX_POINTS = 100
#: int16 code of a missing sample
MISSING_CODE = np.int16(-32768)
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


def quantise(values):
    """int16 codes and per-trace scales of ``values`` (..., n_points); NaN -> missing code.

    Returns
    -------
    codes : ndarray of int16
    scale : ndarray of float32, shape values.shape[:-1]
        ``values ≈ codes * scale``; 1 for a trace that is all zero or all missing.
    """
    values = np.asarray(values, float)
    finite = np.isfinite(values)
    peak = np.where(finite, np.abs(values), 0.0).max(axis=-1)
    scale = np.where(peak > 0, peak / 32767.0, 1.0).astype(np.float32)
    codes = np.round(np.where(finite, values, 0.0) / scale[..., None].astype(float))
    codes = np.clip(codes, -32767, 32767).astype(np.int16)
    codes[~finite] = MISSING_CODE
    return codes, scale


def dequantise(codes, scale):
    """Values (float) of int16 ``codes`` times ``scale``; missing codes -> NaN."""
    out = codes.astype(float) * scale[..., None].astype(float)
    out[codes == MISSING_CODE] = np.nan
    return out


def write_traces(path, result, automatic=None):
    """Write ``envelopes.npz`` (see the module docstring) for a processed recording.

    Parameters
    ----------
    path : path-like
        The file to write (atomically).
    result : ProcessedRecording
        Its baseline-corrected epochs are read one muscle at a time
        (:meth:`~emgkit.processed.ProcessedRecording.corrected_muscle`).
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
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, times=centres.astype(np.float32), trial=trials,
                            muscles=np.array(muscles, dtype=str), data=codes, scale=scale,
                            auto_rejected=rejected, auto_reason=reason.astype(str),
                            unit=np.array(str(result.config.epochs.baseline_mode)))
    return path


def read_traces(path):
    """Read ``envelopes.npz`` into a dict of arrays (see the module docstring).

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
    except (OSError, ValueError, KeyError) as exc:
        raise ReadError(f"{path} cannot be read as emgkit envelopes ({exc}); rerun emgkit "
                        f"run to write it again.") from None
    return out


__all__ = ["FILE", "MAX_POINTS", "MISSING_CODE", "decimate", "dequantise", "quantise",
           "read_traces", "write_traces"]
