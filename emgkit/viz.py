"""Plots. Each function takes ``ax=None``, returns the Figure and never calls ``plt.show()``;
figures are built on :class:`matplotlib.figure.Figure` (no global pyplot state)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

_PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
            "#666666"]
_FIXED = {"happy": "#e6ab02", "angry": "#d62728", "sad": "#1f77b4", "neutral": "#7f7f7f",
          "fear": "#9467bd", "disgust": "#2ca02c", "surprise": "#17becf"}

_UNITS = {"subtract": "Δ µV", "ratio": "ratio to baseline", "percent": "% change",
          "logratio": "log10 ratio", "zscore": "z (baseline SD)"}


def condition_colors(conditions):
    """Return a stable condition -> colour mapping (same colour on every page)."""
    out, k = {}, 0
    for c in conditions:
        if c.lower() in _FIXED:
            out[c] = _FIXED[c.lower()]
        else:
            out[c] = _PALETTE[k % len(_PALETTE)]
            k += 1
    return out


def _axes(ax, n, figsize):
    if ax is not None:
        axes = np.atleast_1d(ax).ravel()
        if len(axes) < n:
            from .errors import ConfigError
            raise ConfigError(f"ax: {n} axes are needed (one per muscle), got {len(axes)}.")
        return axes[0].figure, axes
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, np.atleast_1d(fig.subplots(1, n, sharex=True, squeeze=False)).ravel()


def plot_average(result, ax=None, *, kept_only=True):
    """Mean ± SEM baseline-corrected time course per condition, one panel per muscle.

    Parameters
    ----------
    result : ProcessedRecording
        A processed recording.
    ax : matplotlib Axes | array of Axes | None
        Axes to draw into (one per muscle); None makes a new Figure.
    kept_only : bool
        Leave out rejected trial × muscle combinations.

    Returns
    -------
    matplotlib.figure.Figure
    """
    muscles, conds = result.muscles, result.conditions
    fig, axes = _axes(ax, len(muscles), (4 * len(muscles), 3.2))
    colors = condition_colors(conds)
    mode = result.config.epochs.baseline_mode
    rejected = result.trials.pivot(index="trial", columns="muscle", values="rejected")
    for m, (muscle, a) in enumerate(zip(muscles, axes)):
        for cond in conds:
            trials = result.events.loc[result.events["condition"] == cond, "trial"].to_numpy()
            rows = np.flatnonzero(result.events["condition"].to_numpy() == cond)
            if kept_only:
                rows = rows[~rejected.loc[trials, muscle].to_numpy(bool)]
            data = result.corrected[rows, m]
            data = data[~np.isnan(data).all(axis=1)] if len(data) else data
            if len(data) == 0:
                a.plot([], [], color=colors[cond], ls=":", label=f"{cond}: no usable trials")
                continue
            mean = data.mean(axis=0)
            sem = data.std(axis=0, ddof=1) / np.sqrt(len(data)) if len(data) > 1 else 0 * mean
            a.plot(result.times, mean, color=colors[cond], label=f"{cond} (n={len(data)})")
            a.fill_between(result.times, mean - sem, mean + sem, color=colors[cond], alpha=0.2,
                           linewidth=0)
        a.axvline(0, color="k", lw=0.6)
        r0, r1 = result.config.epochs.response
        a.axvspan(r0, r1, color="0.9", zorder=0)
        a.set_title(muscle)
        a.set_xlabel("time from onset (s)")
        if m == 0:
            a.set_ylabel(_UNITS.get(mode, mode))
        if not a.lines[1:] or all(len(ln.get_xdata()) == 0 for ln in a.lines
                                  if ln.get_label() and not ln.get_label().startswith("_")):
            a.text(0.5, 0.5, "no usable trials", transform=a.transAxes, ha="center")
        a.legend(fontsize=7, frameon=False)
    return fig
