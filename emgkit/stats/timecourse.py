"""Time-course inference: where in the epoch do the groups differ?

Participant-level time courses (mean over kept trials per participant × bin) of one muscle ×
condition are compared between two levels of a between-participant factor with MNE's
cluster-based permutation test (``mne.stats.permutation_cluster_test``, an F test per bin,
clusters of adjacent supra-threshold bins, their F sums against the permutation distribution
of the largest cluster), which controls the family-wise error over bins. The alternative,
:func:`binwise_test`, fits the mixed model of trial values per bin (random intercept per
participant) and controls the false discovery rate over bins (Benjamini–Hochberg).
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager

import numpy as np
import pandas as pd

from .._ids import normalise_ids
from ..errors import ModelError

logger = logging.getLogger("emgkit")


def _tables(timecourses, participants):
    """The time courses and the participants table, each given as a DataFrame or a path."""
    from .design import as_table, participants_table

    return (as_table(timecourses, param="timecourses", what="Time-course table"),
            participants_table(participants))


def participant_timecourses(timecourses, participants, *, muscle, condition,
                            factor="group"):
    """Per participant, the mean of kept trials in every bin of one muscle × condition.

    Returns
    -------
    times : ndarray
        Bin start times (s).
    data : dict
        Factor level -> ndarray, shape (n_participants, n_bins).
    """
    timecourses, participants = _tables(timecourses, participants)
    tc = timecourses[(timecourses["muscle"] == muscle)
                     & (timecourses["condition"] == condition)]
    if "rejected" in tc:
        tc = tc[~tc["rejected"].astype(bool)]
    if tc.empty:
        raise ModelError(f"No kept trials of {muscle} × {condition} in the time courses.")
    # 01 and sub-01 are one participant (emgkit._ids)
    per = normalise_ids(tc).pivot_table(index="participant_id", columns="time_s",
                                        values="value", aggfunc="mean")
    parts = normalise_ids(participants).set_index("participant_id")
    if factor not in parts:
        raise ModelError(f"The participants table has no column {factor!r}.")
    levels = parts.loc[parts.index.intersection(per.index), factor]
    data = {str(lv): per.loc[levels.index[levels == lv]].to_numpy()
            for lv in pd.unique(levels)}
    return per.columns.to_numpy(float), data


@contextmanager
def _plain_tqdm():
    """MNE's progress bar as plain tqdm (its bar is off at ``verbose="error"`` anyway):
    MNE's default, ``tqdm.auto``, imports the notebook bar in a Jupyter kernel and warns
    (TqdmWarning) into the notebook's outputs when ipywidgets is missing. A user's own
    ``MNE_TQDM`` is kept."""
    if "MNE_TQDM" in os.environ:
        yield
        return
    os.environ["MNE_TQDM"] = "tqdm"
    try:
        yield
    finally:
        os.environ.pop("MNE_TQDM", None)


def cluster_test(timecourses, participants, *, muscle, condition, factor="group",
                 n_permutations=2000, alpha=0.05, threshold=None, seed=0):
    """Cluster-based permutation test of a two-level between factor over time bins.

    Parameters
    ----------
    timecourses : DataFrame | path-like
        emgkit's time-course table (``participant_id, condition, muscle, time_s, time_end_s,
        value, rejected``), or its path (``group/timecourses.tsv``).
    participants : DataFrame | path-like
        With ``participant_id`` and ``factor``, or the path of ``participants.tsv``.
    muscle, condition : str
    factor : str
        Two-level between-participant factor (e.g. ``group``).
    n_permutations : int
    alpha : float
        Cluster-level significance.
    threshold : float | None
        Per-bin F threshold forming clusters (None: MNE's default, the F quantile at
        p = 0.05).
    seed : int

    Returns
    -------
    DataFrame
        One row per cluster: ``muscle, condition, start_s, end_s`` (bin edges), ``f_sum``,
        ``p``, ``significant``, ``direction`` ("<level 2> > <level 1>" or the reverse, by
        the cluster's mean difference). Empty when no bin passes the threshold.
    """
    from mne.stats import permutation_cluster_test

    times, data = participant_timecourses(timecourses, participants, muscle=muscle,
                                          condition=condition, factor=factor)
    if len(data) != 2:
        raise ModelError(f"The cluster test compares two levels of {factor!r}; found "
                         f"{len(data)} ({', '.join(data)}).")
    (la, xa), (lb, xb) = sorted(data.items(), key=lambda kv: (kv[0] != "placebo", kv[0]))
    if min(len(xa), len(xb)) < 2:
        raise ModelError(f"Each level of {factor!r} needs at least 2 participants with "
                         f"{muscle} × {condition} trials ({la}: {len(xa)}, {lb}: {len(xb)}).")
    width = np.median(np.diff(times)) if len(times) > 1 else 0.0
    floor = attainable_p(len(xa), len(xb), n_permutations)
    if floor["min_p"] > alpha:
        logger.warning("%s × %s: with %d vs %d participants only %d distinct permutations "
                       "exist, so the smallest attainable p is %.3g > alpha = %g; no cluster "
                       "can be significant.", muscle, condition, len(xa), len(xb),
                       floor["n_distinct"], floor["min_p"], alpha)
    # mne >= 1.7 takes the generator as rng= (seed= deprecated), mne 1.6 as seed=; the same
    # generator gives the same permutations in both
    import inspect

    key = "rng" if "rng" in inspect.signature(permutation_cluster_test).parameters else "seed"
    with _plain_tqdm():
        _, clusters, pvals, _ = permutation_cluster_test(
            [xa, xb], threshold=threshold, n_permutations=n_permutations, tail=1,
            out_type="mask", verbose="error", **{key: np.random.default_rng(seed)})
    fvals = _f_values(xa, xb)
    rows = []
    for cluster, p in zip(clusters, pvals):
        mask = np.zeros(len(times), bool)
        mask[cluster] = True  # MNE gives 1-D clusters as (slice,) or as a boolean mask
        idx = np.flatnonzero(mask)
        diff = xb[:, idx].mean() - xa[:, idx].mean()
        rows.append(dict(muscle=muscle, condition=condition, start_s=float(times[idx[0]]),
                         end_s=float(times[idx[-1]] + width), f_sum=float(fvals[idx].sum()),
                         p=float(p), significant=bool(p < alpha),
                         direction=f"{lb} > {la}" if diff > 0 else f"{la} > {lb}"))
    out = pd.DataFrame(rows, columns=["muscle", "condition", "start_s", "end_s", "f_sum",
                                      "p", "significant", "direction"])
    out.attrs.update(floor, n_a=len(xa), n_b=len(xb))
    return out


def attainable_p(n_a, n_b, n_permutations):
    """The smallest p a two-group permutation test can give.

    Parameters
    ----------
    n_a, n_b : int
        Participants per group.
    n_permutations : int
        Permutations requested.

    Returns
    -------
    dict
        ``n_distinct``: distinct relabellings (``C(n_a + n_b, n_a)``, halved when the groups
        are equal in size, since the F statistic is symmetric in the labels); ``min_p``:
        ``1 / min(n_distinct, n_permutations)``.
    """
    from math import comb

    n = comb(n_a + n_b, n_a) // (2 if n_a == n_b else 1)
    return {"n_distinct": int(n), "min_p": 1.0 / min(n, int(n_permutations))}


def binwise_test(timecourses, participants, *, muscle, condition, factor="group",
                 alpha=0.05):
    """A mixed model per time bin, false discovery rate controlled over bins.

    In every bin, the kept trials' values of one muscle × condition are fitted with
    ``value ~ factor`` and a random intercept per participant
    (:func:`emgkit.stats.fit_model`, Satterthwaite df); the factor's contrast p values are
    adjusted over the bins with Benjamini–Hochberg (statsmodels ``multipletests``).

    Parameters
    ----------
    timecourses, participants, muscle, condition, factor
        As for :func:`cluster_test`.
    alpha : float
        FDR level.

    Returns
    -------
    DataFrame
        One row per bin × contrast: ``muscle, condition, start_s, end_s, contrast,
        estimate, se, df, p, p_fdr, significant`` (``p_fdr`` < ``alpha``).
    """
    from statsmodels.stats.multitest import multipletests

    from ..config.formula import r_name
    from .model import fit_model
    from .split import captured_warnings

    timecourses, participants = _tables(timecourses, participants)
    tc = timecourses[(timecourses["muscle"] == muscle)
                     & (timecourses["condition"] == condition)]
    if tc.empty:
        raise ModelError(f"No {muscle} × {condition} rows in the time courses.")
    rows = []
    with captured_warnings() as caught:  # singular fits are common in single bins
        for t, d in tc.groupby("time_s", sort=True):
            res = fit_model(d, f"value ~ {r_name(factor)}", participants=participants)
            for _, c in res.contrasts(factor, adjust="none").iterrows():
                rows.append(dict(muscle=muscle, condition=condition, start_s=float(t),
                                 end_s=float(d["time_end_s"].iloc[0]), contrast=c["contrast"],
                                 estimate=c["estimate"], se=c["se"], df=c["df"], p=c["p"]))
    out = pd.DataFrame(rows)
    out["p_fdr"] = multipletests(out["p"].to_numpy(), method="fdr_bh")[1]
    out["significant"] = out["p_fdr"] < alpha
    out.attrs["cautions"] = sorted(set(caught))
    return out


def _f_values(xa, xb):
    from mne.stats import f_oneway

    return np.asarray(f_oneway(xa, xb), float)


def plot_clusters(timecourses, participants, clusters, *, muscles, condition,
                  factor="group", ax=None, ylabel="score"):
    """Group mean ± SEM time courses (across participants) of each muscle at ``condition``,
    significant clusters shaded; one panel per muscle. Returns the Figure."""
    from .._numbers import fmt_p
    from ..viz.group import group_colors
    from ..viz.style import axes_row

    fig, axes = axes_row(ax, len(muscles), (3.8 * len(muscles) + 0.5, 3.2))
    for a, muscle in zip(axes, muscles):
        times, data = participant_timecourses(timecourses, participants, muscle=muscle,
                                              condition=condition, factor=factor)
        width = np.median(np.diff(times)) if len(times) > 1 else 0.0
        mids = times + width / 2
        colors = group_colors(sorted(data, key=lambda g: (g != "placebo", g)))
        for level, x in sorted(data.items(), key=lambda kv: (kv[0] != "placebo", kv[0])):
            mean = x.mean(0)
            sem = x.std(0, ddof=1) / np.sqrt(len(x)) if len(x) > 1 else 0 * mean
            a.plot(mids, mean, color=colors[level], label=f"{level} (n={len(x)})")
            a.fill_between(mids, mean - sem, mean + sem, color=colors[level], alpha=0.2,
                           lw=0)
        sub = clusters[(clusters["muscle"] == muscle) & clusters["significant"]] \
            if len(clusters) else clusters
        for _, c in sub.iterrows():  # clusters, or single bins (binwise_test: FDR)
            a.axvspan(c["start_s"], c["end_s"], color="0.8", zorder=0)
            if "p_fdr" not in c:
                a.text((c["start_s"] + c["end_s"]) / 2, 1.0, fmt_p(c['p'], prefix=True),
                       ha="center", va="bottom", transform=a.get_xaxis_transform(),
                       fontsize=7)
        a.axvline(0, color="k", lw=0.6)
        a.set_title(f"{muscle} × {condition}", fontsize=9, pad=12)
        a.set_xlabel("time from onset (s), bin centres")
        a.set_ylabel(ylabel)
    axes[0].legend(fontsize=7, frameon=False)
    return fig
