"""Plots of one processed recording's responses. Each function takes ``ax=None``, returns the
Figure and never calls ``plt.show()`` (see :mod:`emgkit.viz.style`)."""

from __future__ import annotations

import numpy as np

from .style import UNITS, axes_row, block_means, condition_colors, no_change_line


def plot_average(result, ax=None, *, kept_only=True, points=600):
    """Mean ± SEM baseline-corrected time course per condition, one panel per muscle.

    Parameters
    ----------
    result : ProcessedRecording
        A processed recording.
    ax : matplotlib Axes | array of Axes | None
        Axes to draw into (one per muscle); None makes a new Figure.
    kept_only : bool
        Leave out rejected trial × muscle combinations.
    points : int
        At most this many points per curve: the mean and SEM are averaged over
        consecutive samples (at 2048 Hz and 7 s epochs, over 12 ms); None draws every
        sample.

    Returns
    -------
    matplotlib.figure.Figure
    """
    muscles, conds = result.muscles, result.conditions
    fig, axes = axes_row(ax, len(muscles), (4 * len(muscles), 3.2))
    colors = condition_colors(conds)
    mode = result.config.epochs.baseline_mode
    rejected = result.trials.pivot(index="trial", columns="muscle", values="rejected")
    for m, (muscle, a) in enumerate(zip(muscles, axes)):
        for cond in conds:
            trials = result.events.loc[result.events["condition"] == cond, "trial"].to_numpy()
            rows = np.flatnonzero(result.events["condition"].to_numpy() == cond)
            if kept_only:
                rows = rows[~rejected.loc[trials, muscle].to_numpy(bool)]
            data = result.corrected_muscle(m, rows)
            data = data[~np.isnan(data).all(axis=1)] if len(data) else data
            if len(data) == 0:
                a.plot([], [], color=colors[cond], ls=":", label=f"{cond}: no usable trials")
                continue
            mean = data.mean(axis=0)
            sem = data.std(axis=0, ddof=1) / np.sqrt(len(data)) if len(data) > 1 else 0 * mean
            t, (mean, sem) = block_means(result.times, np.vstack([mean, sem]), points)
            a.plot(t, mean, color=colors[cond], label=f"{cond} (n={len(data)})")
            a.fill_between(t, mean - sem, mean + sem, color=colors[cond], alpha=0.2,
                           linewidth=0)
        a.axvline(0, color="k", lw=0.6)
        no_change_line(a, mode)
        r0, r1 = result.config.epochs.response
        a.axvspan(r0, r1, color="0.9", zorder=0)
        a.set_title(muscle)
        a.set_xlabel("time from onset (s)")
        if m == 0:
            a.set_ylabel(UNITS.get(mode, mode))
        if not a.lines[1:] or all(len(ln.get_xdata()) == 0 for ln in a.lines
                                  if ln.get_label() and not ln.get_label().startswith("_")):
            a.text(0.5, 0.5, "no usable trials", transform=a.transAxes, ha="center")
        # below the axes, never on the curves
        a.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16),
                 ncol=2, handlelength=1.5, columnspacing=1.0)
    return fig
