"""Trial rejection with reasons: outlying baseline and response levels, and trials that
overlap bad stretches of an input channel (found by :mod:`emgkit.signal.artifacts`)."""

from __future__ import annotations

import numpy as np

ROBUST_SD = 1.4826  # MAD -> SD for normal data
#: ``[reject] method``: emgkit's robust-SD rule on levels, or a rule from the literature
METHODS = ("robust", "kunecke2014", "dignath2019")


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


def range_outliers(envelope, sfreq, clean, *, window=0.05, k=3.0):
    """Künecke et al. (2014): trials whose envelope jumps within a short window.

    The range (max − min) of the envelope in every ``window``-long sliding window of each
    epoch is compared with ``k`` SDs of the session — here, of every envelope sample of the
    clean epochs of this muscle (emgkit keeps the epochs, not the whole recording).

    Parameters
    ----------
    envelope : ndarray, shape (n_trials, n_times)
        One muscle's envelope epochs (µV).
    sfreq : float
        Sampling rate (Hz).
    clean : ndarray of bool
        Trials that define the session SD (inside the recording, no flat/saturated span).
    window : float
        Sliding window (s).
    k : float
        SDs.

    Returns
    -------
    ndarray of bool, shape (n_trials,)
        Flagged trials (never those that are not ``clean``).
    """
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    flags = np.zeros(len(envelope), bool)
    if not clean.any():
        return flags
    x = envelope[clean]
    size = max(2, int(round(window * sfreq)))
    rng = maximum_filter1d(x, size, axis=-1) - minimum_filter1d(x, size, axis=-1)
    sd = np.std(x)
    flags[clean] = np.nanmax(rng, axis=-1) > k * sd if sd > 0 else False
    return flags


def bin_outliers(bins, clean, *, k=3.5, share=0.5):
    """Dignath et al. (2019): trials most of whose time bins are outliers.

    A bin is flagged when its baseline-corrected value, or its difference from the previous
    bin, lies more than ``k`` SDs from the mean of all clean trials' bins (values and
    differences standardised separately, per muscle); a trial is flagged when more than
    ``share`` of its bins are.

    Parameters
    ----------
    bins : ndarray, shape (n_trials, n_bins)
        One muscle's baseline-corrected bin values.
    clean : ndarray of bool
    k : float
    share : float

    Returns
    -------
    ndarray of bool, shape (n_trials,)
    """
    flags = np.zeros(len(bins), bool)
    if not clean.any() or bins.shape[1] == 0:
        return flags
    x = bins[clean]

    def extreme(v):
        ok = np.isfinite(v)
        if ok.sum() < 2:
            return np.zeros(v.shape, bool)
        sd = v[ok].std(ddof=1)
        return np.abs(np.nan_to_num(v - v[ok].mean())) > k * sd if sd > 0 else \
            np.zeros(v.shape, bool)

    bad = extreme(x)
    bad[:, 1:] |= extreme(np.diff(x, axis=1))  # a jump flags the bin it lands in
    flags[clean] = bad.mean(axis=1) > share
    return flags


def trial_reasons(spans, resolved, starts, n_times, inside, base, response, score, conditions,
                  threshold, *, method="robust", envelope=None, sfreq=None, bins=None):
    """Per trial and muscle, the sorted rejection reasons (an empty list: kept).

    Parameters
    ----------
    spans : dict
        Input channel label -> bad stretches ``(start, stop, kind)`` (samples).
    resolved : dict
        Muscle -> (anode, cathode) labels.
    starts : ndarray of int
        First sample of each epoch; ``n_times`` samples long.
    n_times : int
    inside : ndarray of bool
        Per trial, whether its epoch lies inside the recording.
    base, response, score : ndarray, shape (n_trials, n_muscles)
        Baseline and response levels (µV) and scores.
    conditions : ndarray
        Condition per trial.
    threshold : float
        Outlier limit in robust SDs of the log level (``method = "robust"``).
    method : "robust" | "kunecke2014" | "dignath2019"
        The outlier rule: emgkit's robust SDs of baseline and response levels, or
        :func:`range_outliers` (needs ``envelope`` and ``sfreq``), or :func:`bin_outliers`
        (needs ``bins``).
    envelope : ndarray, shape (n_trials, n_muscles, n_times) | None
        Envelope epochs (µV).
    sfreq : float | None
        Sampling rate (Hz).
    bins : ndarray, shape (n_trials, n_muscles, n_bins) | None
        Baseline-corrected bin values.

    Returns
    -------
    list of list of list of str
        ``flat``, ``saturated``, ``baseline_outlier``, ``response_outlier`` (robust),
        ``range_artifact`` (kunecke2014), ``bin_outlier`` (dignath2019),
        ``outside_recording``, ``invalid_score``.
    """
    muscles = list(resolved)
    n_events = len(starts)
    reasons = [[[] for _ in muscles] for _ in range(n_events)]
    stops = starts + n_times
    ok = inside.copy()
    for m, muscle in enumerate(muscles):
        per_trial = [set() for _ in range(n_events)]
        for lab in resolved[muscle]:
            if lab is not None:
                for i, kinds in enumerate(span_reasons(spans[lab], starts, stops)):
                    per_trial[i] |= kinds
        clean = ok & np.array([not s for s in per_trial])
        # outliers are judged against the clean trials' distribution: baselines across all
        # trials of the muscle, responses within condition (responses differ by condition)
        if method == "kunecke2014":
            for i in np.flatnonzero(range_outliers(envelope[:, m], sfreq, clean)):
                per_trial[i].add("range_artifact")
        elif method == "dignath2019":
            for i in np.flatnonzero(bin_outliers(bins[:, m], clean)):
                per_trial[i].add("bin_outlier")
        else:
            vals = np.where(clean, base[:, m], np.nan)
            for i in np.flatnonzero(level_outliers(vals, threshold)):
                per_trial[i].add("baseline_outlier")
            vals = np.where(clean, response[:, m], np.nan)
            for i in np.flatnonzero(condition_outliers(vals, conditions, threshold)):
                per_trial[i].add("response_outlier")
        for i in range(n_events):
            if not inside[i]:
                per_trial[i].add("outside_recording")
            elif not per_trial[i] and not np.isfinite(score[i, m]):
                # e.g. a zero baseline (channel at 0) in ratio modes: never a kept NaN score
                per_trial[i].add("invalid_score")
            reasons[i][m] = sorted(per_trial[i])
    return reasons
