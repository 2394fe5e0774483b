"""What every emgkit plot shares: a Figure that displays itself in Jupyter, condition colours
that stay the same on every page, axis labels per baseline mode, and the axes helper.

Plots are built on :class:`Figure` (a :class:`matplotlib.figure.Figure`), never on pyplot's
global state, so batch code leaks no figures; the subclass adds ``_repr_png_`` so a returned
figure shows as an image in a notebook without the user importing pyplot.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure as _MplFigure

from ..errors import ConfigError


class Figure(_MplFigure):
    """A :class:`matplotlib.figure.Figure` that Jupyter shows as a PNG image."""

    def _repr_png_(self):
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100)
        return buf.getvalue()


_PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
            "#666666"]
_FIXED = {"happy": "#e6ab02", "angry": "#d62728", "sad": "#1f77b4", "neutral": "#7f7f7f",
          "fear": "#9467bd", "disgust": "#2ca02c", "surprise": "#17becf"}

#: the value meaning "no change from baseline" per baseline mode (a reference line)
NO_CHANGE = {"subtract": 0.0, "ratio": 1.0, "percent": 0.0, "logratio": 0.0, "zscore": 0.0}


def no_change_line(ax, mode):
    """Draw the "no change from baseline" reference line for ``mode`` (if known)."""
    if mode in NO_CHANGE:
        ax.axhline(NO_CHANGE[mode], color="0.45", lw=0.7, ls="--", zorder=0)


#: axis label per baseline mode
UNITS = {"subtract": "Δ µV", "ratio": "ratio to baseline", "percent": "% change",
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


def axes_row(ax, n, figsize):
    """Return (figure, n axes): the given ``ax`` (checked to hold ``n`` axes) or a new row."""
    if ax is not None:
        axes = np.atleast_1d(ax).ravel()
        if len(axes) < n:
            raise ConfigError(f"ax: {n} axes are needed (one per muscle), got {len(axes)}.")
        return axes[0].figure, axes
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, np.atleast_1d(fig.subplots(1, n, sharex=True, squeeze=False)).ravel()


def block_means(times, values, max_points=600):
    """Means over consecutive blocks of samples along the last axis, so that a trace has
    at most ``max_points`` points (a page cannot show more); returns (times, values) with
    each block's mean time (``max_points=None``: unchanged). NaNs propagate within a
    block."""
    n = len(times)
    k = max(1, -(-n // max_points)) if max_points else 1
    if k == 1:
        return times, values
    m = n // k
    head = values[..., :m * k].reshape(*values.shape[:-1], m, k).mean(-1)
    t = times[:m * k].reshape(m, k).mean(-1)
    if m * k < n:  # the last partial block
        head = np.concatenate([head, values[..., m * k:].mean(-1, keepdims=True)], axis=-1)
        t = np.append(t, times[m * k:].mean())
    return t, head


def min_max_trace(times, values, columns=1500):
    """A dense trace reduced to its minimum and maximum per column (``2 × columns``
    points): drawn as a line it covers the same pixels as all samples would."""
    n = len(times)
    k = max(1, n // columns)
    if k <= 2:
        return times, values
    m = n // k
    v = values[:m * k].reshape(m, k)
    lo_first = v.argmin(1) < v.argmax(1)  # keep the order in which they occur
    first = np.where(lo_first, v.min(1), v.max(1))
    second = np.where(lo_first, v.max(1), v.min(1))
    t = times[:m * k].reshape(m, k)
    return (np.column_stack([t[:, 0], t[:, -1]]).ravel(),
            np.column_stack([first, second]).ravel())
