"""Trial rejection with reasons: outlying levels, flat and saturated input channels."""

from __future__ import annotations

import numpy as np

ROBUST_SD = 1.4826  # MAD -> SD for normal data


def robust_z(values):
    """Robust z-scores: ``(x - median) / (1.4826 * MAD)`` over the finite values.

    Returns NaN where ``values`` is not finite; all zeros when the MAD is 0.
    """
    values = np.asarray(values, dtype=float)
    ok = np.isfinite(values)
    z = np.full(values.shape, np.nan)
    if not ok.any():
        return z
    med = np.median(values[ok])
    mad = ROBUST_SD * np.median(np.abs(values[ok] - med))
    z[ok] = (values[ok] - med) / mad if mad > 0 else 0.0
    return z


def level_outliers(levels, threshold):
    """Flag levels (µV) lying more than ``threshold`` robust SDs from the median.

    The test is done on log10 of the level, because envelope levels are positive and
    right-skewed. ``threshold`` 0 switches the test off.

    Parameters
    ----------
    levels : ndarray, shape (n_trials,)
        Per-trial mean envelope (µV) of one muscle.
    threshold : float
        Robust SDs.

    Returns
    -------
    ndarray of bool
    """
    levels = np.asarray(levels, dtype=float)
    if not threshold:
        return np.zeros(levels.shape, bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = robust_z(np.log10(np.where(levels > 0, levels, np.nan)))
    return np.abs(np.nan_to_num(z, nan=0.0)) > threshold


def condition_outliers(levels, conditions, threshold):
    """Flag levels (µV) that are outliers within their condition.

    The test is done on log10 of the level. Each level is compared with its condition's
    median; the scale is the larger of the condition's robust SD and the robust SD of all
    within-condition deviations (so a condition with few or very similar trials does not
    get a tiny scale). ``threshold`` 0 switches the test off.

    Parameters
    ----------
    levels : ndarray, shape (n_trials,)
        Per-trial mean envelope (µV) of one muscle; NaN = not judged.
    conditions : ndarray, shape (n_trials,)
        Condition of each trial.
    threshold : float
        Robust SDs.

    Returns
    -------
    ndarray of bool
    """
    levels = np.asarray(levels, dtype=float)
    flag = np.zeros(levels.shape, bool)
    if not threshold:
        return flag
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(np.where(levels > 0, levels, np.nan))
    conditions = np.asarray(conditions)
    dev = np.full(levels.shape, np.nan)
    groups = [np.flatnonzero(conditions == c) for c in dict.fromkeys(conditions.tolist())]
    for rows in groups:
        ok = rows[np.isfinite(logs[rows])]
        if ok.size:
            dev[ok] = logs[ok] - np.median(logs[ok])
    finite = np.isfinite(dev)
    if finite.sum() < 3:
        return flag
    pooled = ROBUST_SD * np.median(np.abs(dev[finite]))
    for rows in groups:
        ok = rows[np.isfinite(dev[rows])]
        if ok.size == 0:
            continue
        scale = max(pooled, ROBUST_SD * np.median(np.abs(dev[ok])))
        if scale > 0:
            flag[ok] = np.abs(dev[ok]) > threshold * scale
    return flag


def constant_runs(x, min_samples):
    """Find stretches where ``x`` stays exactly constant for at least ``min_samples``.

    Parameters
    ----------
    x : ndarray, shape (n_times,)
        One input channel (raw, before filtering).
    min_samples : int
        Minimum run length.

    Returns
    -------
    list of (start, stop, value)
        Sample ranges ``[start, stop)`` and the constant value.
    """
    x = np.asarray(x)
    if x.size < 2 or min_samples < 2:
        return []
    same = np.concatenate([[False], x[1:] == x[:-1], [False]])
    edges = np.flatnonzero(np.diff(same.astype(np.int8)))
    starts, stops = edges[::2], edges[1::2] + 1
    keep = (stops - starts) >= min_samples
    return [(int(a), int(b), x[a]) for a, b in zip(starts[keep], stops[keep])]


def channel_bad_spans(x, sfreq, min_duration):
    """Flat and saturated stretches of one channel (µV or raw digital values).

    Returns
    -------
    list of (start_sample, stop_sample, kind)
    """
    if min_duration <= 0 or x.size == 0:
        return []
    runs = constant_runs(x, max(int(round(min_duration * sfreq)), 2))
    if not runs:
        return []
    hi, lo = x.max(), x.min()
    return [(a, b, span_kind(v, lo, hi)) for a, b, v in runs]


def span_kind(value, lo, hi):
    """``"saturated"`` when a constant stretch sits at the channel's minimum or maximum,
    else ``"flat"`` (a channel constant throughout is flat: it never moved)."""
    return "saturated" if value in (hi, lo) and hi != lo else "flat"


def span_reasons(spans, starts, stops):
    """Per epoch, the kinds of bad span overlapping ``[start, stop)`` (sample indices).

    Returns
    -------
    list of set of str
    """
    reasons = [set() for _ in starts]
    for a, b, kind in spans:
        hit = (starts < b) & (stops > a)
        for i in np.flatnonzero(hit):
            reasons[i].add(kind)
    return reasons
