"""Group-level figures: grand averages by group, marginal means, baselines by group.

Every function takes ``ax=None``, returns the Figure and never calls ``plt.show()``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._files import as_table
from .._ids import normalise_ids
from ..errors import ConfigError
from .style import UNITS, Figure, no_change_line

#: group colours from the Okabe–Ito palette (:data:`emgkit.viz.style.PALETTE`): blue and
#: orange first, told apart with any colour vision
_GROUP_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]


def group_colors(groups):
    """Stable group -> colour mapping (placebo first, in blue)."""
    order = sorted(groups, key=lambda g: (g != "placebo", str(g)))
    return {g: _GROUP_COLORS[i % len(_GROUP_COLORS)] for i, g in enumerate(order)}


def _kept(df):
    if "rejected" not in df.columns:
        return df
    return df[~df["rejected"].astype(str).str.lower().isin(["true", "1"])]


def _merged(table, participants, columns, what):
    """``table`` (or its path) with ``columns`` of the participants table (or its path) merged
    on ``participant_id`` (``01`` and ``sub-01`` are one participant; the participants
    table's columns replace the table's own of the same name)."""
    table = as_table(table, param="table", what=what)
    participants = as_table(participants, param="participants", what="Participants table")
    ids = [normalise_ids(df.assign(participant_id=df["participant_id"].astype(str)))
           for df in (table, participants)]
    overlap = [c for c in columns if c != "participant_id" and c in ids[0].columns]
    return ids[0].drop(columns=overlap).merge(ids[1][columns], on="participant_id"), participants


def plot_group_timecourses(timecourses, participants, *, mode="ratio", ax=None):
    """Grand-average time course per group, one panel per muscle × condition.

    Participants' mean per bin (kept trials) are averaged per group; bands are ± SEM
    across participants.

    Parameters
    ----------
    timecourses : DataFrame | path-like
        Stacked ``timecourses.tsv`` of many participants, or its path.
    participants : DataFrame | path-like
        ``participant_id`` and ``group``, or the path of ``participants.tsv``.
    mode : str
        Baseline mode (for the axis label).
    ax : array of Axes | None

    Returns
    -------
    matplotlib.figure.Figure
    """
    tc, participants = _merged(timecourses, participants, ["participant_id", "group"],
                               "Time-course table")
    tc = _kept(tc)
    muscles = list(pd.unique(tc["muscle"]))
    conds = list(pd.unique(tc["condition"]))
    if ax is None:
        fig = Figure(figsize=(2.6 * max(len(conds), 1) + 1, 2.2 * max(len(muscles), 1) + 0.6),
                     layout="constrained")
        axes = fig.subplots(max(len(muscles), 1), max(len(conds), 1), squeeze=False,
                            sharex=True, sharey="row")
    else:
        axes = np.atleast_2d(ax)
        fig = axes.flat[0].figure
        for row in axes:  # one y scale per muscle: response sizes compare across conditions
            for a in row[1:]:
                a.sharey(row[0])
    colors = group_colors(pd.unique(participants["group"]))
    per = (tc.groupby(["group", "participant_id", "muscle", "condition", "time_s"],
                      observed=True)["value"].mean().reset_index())
    agg = per.groupby(["group", "muscle", "condition", "time_s"], observed=True)["value"]
    stats_ = agg.agg(["mean", "std", "count"]).reset_index()
    stats_["sem"] = stats_["std"] / np.sqrt(stats_["count"])
    if "time_end_s" in tc:  # bins are [time_s, time_end_s): plot each at its centre
        half = float(np.nanmedian(tc["time_end_s"] - tc["time_s"])) / 2
    else:
        starts = np.unique(tc["time_s"])
        half = float(np.median(np.diff(starts))) / 2 if len(starts) > 1 else 0.0
    for i, muscle in enumerate(muscles):
        for j, cond in enumerate(conds):
            a = axes[i, j]
            for g, color in colors.items():
                s = stats_[(stats_.group == g) & (stats_.muscle == muscle)
                           & (stats_.condition == cond)]
                if s.empty:
                    continue
                t = s["time_s"].to_numpy() + half  # bin centres, as in timecourse.pdf
                n = int(s["count"].max())
                a.plot(t, s["mean"], color=color, marker="o", ms=2.5, label=f"{g} (n={n})")
                a.fill_between(t, s["mean"] - s["sem"].fillna(0), s["mean"] + s["sem"].fillna(0),
                               color=color, alpha=0.2, linewidth=0)
            a.axvline(0, color="k", lw=0.5)
            no_change_line(a, mode)
            if i == 0:
                a.set_title(cond)
            if j == 0:
                a.set_ylabel(f"{muscle}\n{UNITS.get(mode, mode)}")
            if i == len(muscles) - 1:
                a.set_xlabel("time from onset (s), bin centres")
    handles, _ = axes[0, 0].get_legend_handles_labels()
    if handles:
        axes[0, 0].legend(fontsize=7, frameon=False)
    return fig


def plot_emmeans(emmeans, *, factor="group", x="condition", ax=None, ylabel="score"):
    """Estimated marginal means ± 95 % CI: ``x`` levels on the x axis, one colour per
    ``factor`` level, one panel per muscle (when the table has a ``muscle`` column)."""
    em = emmeans.copy()
    if x not in em.columns:
        x = next((c for c in em.columns if c not in (factor, "muscle", "emmean", "se", "df",
                                                     "ci_low", "ci_high")), None)
    keys = [c for c in ("muscle", factor, x) if c and c in em.columns]
    other = [c for c in em.columns if c not in keys + ["emmean", "se", "df", "ci_low",
                                                        "ci_high"]]
    if other:  # further factors (e.g. order): shown averaged over their levels
        em = em.groupby(keys, sort=False, observed=True)[["emmean", "ci_low", "ci_high"]] \
            .mean().reset_index()
    panels = list(pd.unique(em["muscle"])) if "muscle" in em.columns else [None]
    if ax is None:
        fig = Figure(figsize=(3.6 * len(panels) + 0.5, 3.4), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(panels), squeeze=False)).ravel()
    else:
        axes = np.atleast_1d(ax).ravel()
        fig = axes[0].figure
    levels = list(pd.unique(em[factor])) if factor in em.columns else [None]
    colors = group_colors(levels) if factor in em.columns else {None: "k"}
    for a, panel in zip(axes, panels):
        sub = em if panel is None else em[em["muscle"] == panel]
        xs = list(pd.unique(sub[x])) if x else [""]
        for k, lv in enumerate(levels):
            s = sub if lv is None else sub[sub[factor] == lv]
            if x:
                s = s.set_index(x).reindex(xs)
            pos = np.arange(len(xs)) + (k - (len(levels) - 1) / 2) * 0.15
            mean = s["emmean"].to_numpy(float)
            err = [mean - s["ci_low"].to_numpy(float), s["ci_high"].to_numpy(float) - mean]
            a.errorbar(pos, mean, yerr=err,
                       fmt="o", color=colors[lv], capsize=3, label=lv)
        a.set_xticks(range(len(xs)), xs, fontsize=8)
        a.set_title(panel or "")
        a.set_ylabel(f"estimated marginal mean ({ylabel})")
        no_change_line(a, ylabel)  # ylabel is the baseline mode in emgkit's reports
    if levels != [None]:
        axes[0].legend(fontsize=7, frameon=False)
    return fig


def plot_baselines(trials, participants, ax=None):
    """Raw baseline level (µV) per participant by group, one panel per muscle.

    Ratio or z-scored scores remove tonic differences between groups; this plot shows them.

    Parameters
    ----------
    trials : DataFrame | path-like
        Trial table of many participants (``baseline`` in µV), or its path.
    participants : DataFrame | path-like
        ``participant_id`` and ``group``, or the path of ``participants.tsv``.
    ax : array of Axes | None
        One axis per muscle; None makes a figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    t, participants = _merged(trials, participants, ["participant_id", "group"], "Trial table")
    t = _kept(t)
    per = t.groupby(["muscle", "group", "participant_id"], observed=True, sort=False)[
        "baseline"].mean()
    per = per.reset_index()
    muscles = list(pd.unique(per["muscle"]))
    if ax is None:
        fig = Figure(figsize=(3.2 * max(len(muscles), 1) + 0.5, 3.2), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, max(len(muscles), 1), squeeze=False)).ravel()
    else:
        axes = np.atleast_1d(ax).ravel()
        fig = axes[0].figure
    colors = group_colors(pd.unique(participants["group"]))
    rng = np.random.default_rng(0)
    for a, muscle in zip(axes, muscles):
        s = per[per["muscle"] == muscle]
        for k, g in enumerate(colors):
            v = s.loc[s["group"] == g, "baseline"].to_numpy()
            a.scatter(k + rng.uniform(-0.12, 0.12, len(v)), v, color=colors[g], s=16)
            if len(v):
                a.hlines(v.mean(), k - 0.25, k + 0.25, color="k")
        a.set_xticks(range(len(colors)), list(colors), fontsize=8)
        a.set_title(muscle)
        a.set_ylabel("baseline level (µV)")
    return fig


def plot_trait_scatter(means, participants, trait, correlations=None, ax=None, ylabel="score"):
    """Participants' mean response per muscle × condition against a trait score.

    Parameters
    ----------
    means : DataFrame
        ``participant_id``, ``muscle``, ``condition``, ``score`` (per participant mean).
    participants : DataFrame | path-like
        ``participant_id``, ``group`` and the ``trait`` column, or the path of
        ``participants.tsv``.
    trait : str
    correlations : DataFrame | None
        Output of :func:`emgkit.stats.trait_correlations` (r and CI shown in the titles).
    ax : array of Axes | None
        One axis per muscle × condition (rows muscles); None makes a figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    participants = as_table(participants, param="participants", what="Participants table")
    cols = ["participant_id", "group", trait] if "group" in participants else \
        ["participant_id", trait]
    d, _ = _merged(means, participants, cols, "Means table")
    muscles, conds = list(pd.unique(d["muscle"])), list(pd.unique(d["condition"]))
    if ax is None:
        fig = Figure(figsize=(3.0 * len(conds) + 0.5, 2.8 * len(muscles)),
                     layout="constrained")
        axes = fig.subplots(len(muscles), len(conds), squeeze=False)
    else:
        axes = np.asarray(ax).reshape(len(muscles), len(conds))
        fig = axes[0, 0].figure
    colors = group_colors(pd.unique(d["group"])) if "group" in d else {None: "C0"}
    for i, muscle in enumerate(muscles):
        for j, cond in enumerate(conds):
            a = axes[i, j]
            s = d[(d["muscle"] == muscle) & (d["condition"] == cond)]
            for g, color in colors.items():
                sel = s if g is None else s[s["group"] == g]
                a.scatter(sel[trait], sel["score"], s=14, color=color, label=g)
            ok = s[[trait, "score"]].dropna()
            if len(ok) >= 3 and ok[trait].std() > 0:
                slope, icpt = np.polyfit(ok[trait], ok["score"], 1)
                xs = np.linspace(ok[trait].min(), ok[trait].max(), 2)
                a.plot(xs, icpt + slope * xs, color="k", lw=1)
            title = f"{muscle} · {cond}"
            if correlations is not None:
                c = correlations[(correlations["trait"] == trait)
                                 & (correlations["muscle"] == muscle)
                                 & (correlations["condition"] == cond)]
                if len(c) and np.isfinite(c["r"].iloc[0]):
                    r = c.iloc[0]
                    title += f"\nr = {r['r']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
            a.set_title(title, fontsize=8)
            a.tick_params(labelsize=7)
            if i == len(muscles) - 1:
                a.set_xlabel(trait, fontsize=8)
            if j == 0:
                a.set_ylabel(f"mean {ylabel}", fontsize=8)
    if len(colors) > 1:
        axes[0, 0].legend(fontsize=7)
    return fig


def plot_model_diagnostics(table, ax=None, *, outcome="score", unit=None):
    """A fitted mixed model's diagnostics: conditional residuals against fitted values, a
    normal Q-Q plot of the residuals, and one of the participants' random intercepts.

    Parameters
    ----------
    table : DataFrame | path-like
        ``residuals.tsv`` of a model (:meth:`emgkit.stats.MixedResult.diagnostics_table`):
        ``participant_id``, ``fitted``, ``residual``, ``random_intercept``.
    ax : array of three Axes | None
    outcome : str
        The outcome's name (x axis: "fitted <outcome>").
    unit : str | None
        The outcome's unit for every axis label (e.g. "ratio"); None: the outcome's name.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from scipy import stats

    from .style import PALETTE, new_figure

    table = as_table(table, param="table", what="Residuals table")
    if ax is None:
        fig = new_figure((10, 3.4), layout="constrained")
        axes = fig.subplots(1, 3)
    else:
        axes = np.atleast_1d(ax).ravel()
        if len(axes) < 3:
            raise ConfigError(f"ax: 3 axes are needed (residuals, their Q-Q plot, the random "
                              f"intercepts' Q-Q plot), got {len(axes)}.")
        fig = axes[0].figure
    fitted = table["fitted"].to_numpy(float)
    resid = table["residual"].to_numpy(float)
    dot = {"s": 6, "alpha": 0.5, "color": PALETTE[3], "lw": 0}
    axes[0].scatter(fitted, resid, **dot)
    axes[0].axhline(0, color="k", lw=0.7)
    unit = unit or outcome
    axes[0].set(xlabel=f"fitted {outcome} ({unit})", ylabel=f"residual ({unit})",
                title="Residuals vs fitted")
    panels = ((axes[1], resid, "residual", "Normal Q-Q of residuals"),
              (axes[2], table.drop_duplicates("participant_id")["random_intercept"]
               .to_numpy(float), "random intercept", "Normal Q-Q of random intercepts"))
    for a, v, what, title in panels:
        v = v[np.isfinite(v)]
        if v.size < 2:
            a.text(0.5, 0.5, "fewer than 2 values", ha="center", transform=a.transAxes)
        else:
            osm = stats.probplot(v, dist="norm", fit=False)[0]
            a.scatter(osm, np.sort(v), **(dot | {"s": 6 if v.size > 50 else 14}))
            lim = np.array([osm.min(), osm.max()])
            a.plot(lim, lim * v.std(ddof=1) + v.mean(), color="k", lw=0.7)
        a.set(xlabel="normal quantile", ylabel=f"{what} ({unit})", title=title)
    return fig
