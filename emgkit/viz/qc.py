"""Quality-control and single-recording figures for the per-subject report.

Every function takes ``ax=None`` (or an array of axes), returns the Figure and never calls
``plt.show()``; figures are built on :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FuncFormatter, NullFormatter

from .._numbers import fmt_num
from ..signal.filter import notch_frequencies
from .style import (
    UNITS,
    block_means,
    condition_colors,
    mark_outliers,
    min_max_trace,
    new_figure,
    robust_limits,
)

RAW, FILT = "#9e9e9e", "#1f4e79"

#: shading of bad stretches: hatched black/grey patterns, never a condition colour
BAD = {"flat": dict(facecolor="0.85", edgecolor="0.4", hatch="////", lw=0, alpha=0.6),
       "saturated": dict(facecolor="0.25", edgecolor="k", hatch="xxxx", lw=0, alpha=0.45),
       "cms": dict(facecolor="none", edgecolor="k", hatch="....", lw=0, alpha=0.6)}
BAD_LABEL = {"flat": "flat input", "saturated": "saturated input", "cms": "CMS out of range"}


def _legend_above(ax, ncol):
    """A legend in one row above the axes' right end (never on the trace)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=max(1, ncol),
                  fontsize=7, frameon=False, borderaxespad=0.1, handlelength=1.5,
                  columnspacing=1.2)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten(value, _pos=None):
    """A log axis' tick as 10 with a Unicode superscript exponent ("10⁻⁵", "10³"): one
    format for every decade, without mathtext."""
    if not value > 0:
        return ""
    exp = int(round(np.log10(value)))
    if not np.isclose(value, 10.0 ** exp):
        return f"{value:g}"
    return "10" + str(exp).translate(_SUPERSCRIPT)


def _rows(ax, n, figsize, ncols=1):
    if ax is not None:
        axes = np.atleast_1d(ax).ravel()
        return axes[0].figure, axes
    fig = new_figure(figsize, layout="constrained")
    return fig, np.atleast_1d(fig.subplots(n, ncols, squeeze=False)).ravel()


def plot_raw_excerpt(result, ax=None):
    """Raw (bipolar, before filtering) and filtered excerpt of each muscle, in µV.

    Two panels per muscle, each on its own scale: the raw signal (median removed), whose
    drift and offsets are often a hundred times the EMG, and the filtered EMG below it.
    Traces are reduced to their minimum and maximum per pixel column.
    """
    q = result.quality
    n = len(result.muscles)
    fig, axes = _rows(ax, 2 * n, (8, 2.6 * n))
    t = q["excerpt_times"]
    for m, muscle in enumerate(result.muscles):
        a_raw, a_filt = axes[2 * m], axes[2 * m + 1]
        raw = q["excerpt_raw"][m] - np.median(q["excerpt_raw"][m])
        a_raw.plot(*min_max_trace(t, raw), color=RAW, lw=0.5)
        a_filt.plot(*min_max_trace(t, q["excerpt_filtered"][m]), color=FILT, lw=0.5)
        a_raw.set_ylabel(f"{muscle}\nraw µV", color="0.35")
        a_filt.set_ylabel(f"{muscle}\nfiltered µV", color=FILT)
        for a in (a_raw, a_filt):
            a.set_xlim(t[0], t[-1])
        a_raw.tick_params(labelbottom=False)
    axes[0].set_title(f"Signal excerpt, {t[0]:.1f}–{t[-1]:.1f} s (grey: raw, median "
                      f"removed; blue: band-passed and notched)", fontsize=9, loc="left")
    axes[2 * n - 1].set_xlabel("time (s)")
    return fig


def plot_psd(result, ax=None):
    """Power spectra before and after filtering, mains frequency and harmonics marked."""
    q, pp = result.quality, result.config.preprocess
    fig, axes = _rows(ax, len(result.muscles), (8, 1.9 * len(result.muscles)))
    f = q["freqs"]
    processed = set(pp.processed or ())
    for m, (muscle, a) in enumerate(zip(result.muscles, axes)):
        a.semilogy(f[1:], q["psd_raw"][m][1:] + 1e-12, color=RAW, lw=0.8, label="raw")
        a.semilogy(f[1:], q["psd_filtered"][m][1:] + 1e-12, color=FILT, lw=0.8,
                   label="filtered")
        if muscle in processed:  # taken as it is: no band-pass, no notch to mark
            a.text(0.99, 0.95, "processed by the acquisition software: not filtered",
                   transform=a.transAxes, ha="right", va="top", fontsize=7, color="0.35")
            freqs, edges = (), ()
        else:
            freqs = notch_frequencies(result.sfreq, pp.notch, harmonics=pp.notch_harmonics,
                                      h_freq=pp.h_freq) if pp.notch else ()
            edges = (pp.l_freq, pp.h_freq)
        for h in freqs:
            a.axvline(h, color="#d62728", lw=0.5, ls=":")
        for edge in edges:
            if edge:
                a.axvline(edge, color="k", lw=0.6, ls="--")
        floor = max(np.median(q["psd_filtered"][m][1:]) * 1e-4, 1e-12)
        a.set_ylim(bottom=floor)
        a.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))  # no mathtext
        a.yaxis.set_minor_formatter(NullFormatter())
        a.set_ylabel(f"{muscle}\nµV²/Hz")
        if m == 0:
            a.set_title("Power spectrum (dotted red: notch frequencies; dashed: band edges)",
                        fontsize=9, loc="left")
            _legend_above(a, 2)
    axes[len(result.muscles) - 1].set_xlabel("frequency (Hz)")
    return fig


def _pooled(x, n_out):
    """Max-pool a trace to about ``n_out`` points (keeps spikes visible); returns the
    pooled trace and the pooling factor."""
    k = max(1, -(-len(x) // n_out))
    m = -(-len(x) // k)
    pad = np.full(m * k, np.nan)
    pad[:len(x)] = x
    return np.nanmax(pad.reshape(m, k), axis=1), k


def plot_session(result, ax=None, *, points=2000):
    """The whole session's envelope per muscle with event markers and bad stretches.

    Draws the quality pass's session envelope (maximum per 0.1 s, µV), max-pooled to at
    most ``points`` points; without quality measures, the continuous envelope kept with
    ``keep_continuous=True``.
    """
    q = result.quality or {}
    if "session_envelope" in q:
        env_all, step = q["session_envelope"], q["session_times"][1:2]
        step = float(step[0]) if len(step) else 1.0 / result.sfreq
    elif result.envelope is not None:
        env_all, step = result.envelope, 1.0 / result.sfreq
    else:
        from ..errors import EmgkitError
        raise EmgkitError("The session plot needs the quality measures or the continuous "
                          "envelope; process with quality=True (the default).")
    fig, axes = _rows(ax, len(result.muscles), (8, 1.7 * len(result.muscles)))
    colors = condition_colors(result.conditions)
    for m, (muscle, a) in enumerate(zip(result.muscles, axes)):
        env, k = _pooled(env_all[m], points)
        t = np.arange(len(env)) * k * step
        a.plot(t, env, color="k", lw=0.5)
        spans = [(s0, s1, k) for s0, s1, k in q.get("bad_spans", {}).get(muscle, [])]
        spans += [(s0, s1, "cms") for s0, s1 in q.get("cms_spans", [])]
        # the y scale from the good stretches: a flat or saturated stretch's artefact (shaded)
        # runs off the top instead of squashing the session
        good = np.isfinite(env)
        for s0, s1, _ in spans:
            good &= ~((t >= s0 - k * step) & (t <= s1))
        finite = env[good] if good.any() else env[np.isfinite(env)]
        top = (np.percentile(finite, 99.5) * 1.4 if finite.size else 1.0) + 1e-9
        a.set_ylim(0, top)
        a.set_xlim(0, result.duration or t[-1])
        if np.nanmax(env, initial=0.0) > top:
            a.text(0.995, 0.87, f"clipped at the top (maximum {fmt_num(np.nanmax(env))} µV)",
                   transform=a.transAxes, ha="right", va="top", fontsize=6.5,
                   bbox={"facecolor": "w", "edgecolor": "none", "pad": 1.0})
        for cond in result.conditions:  # onsets as ticks along the top edge
            on = result.events.loc[result.events["condition"] == cond, "onset_s"]
            a.vlines(on, 0.9, 1.0, transform=a.get_xaxis_transform(), color=colors[cond],
                     lw=0.8, label=cond if m == 0 else None)
        shown = set()
        for s0, s1, kind in spans:
            label = BAD_LABEL[kind] if kind not in shown else None
            shown.add(kind)
            # at least one pixel wide so a short drop-out is still seen on an hour's page
            wide = max(s1 - s0, (result.duration or t[-1]) / 1500)
            a.axvspan(s0, s0 + wide, label=label, **BAD[kind])
        a.set_ylabel(f"{muscle}\nµV")
        _legend_above(a, len(result.conditions) + len(shown))
    axes[0].set_title("Session envelope, maximum per bin (ticks at the top: stimulus "
                      "onsets)", fontsize=9, loc="left")
    axes[len(result.muscles) - 1].set_xlabel("time (s)")
    return fig


def plot_trial_images(result, ax=None):
    """Trial × time image of the baseline-corrected epochs per muscle (trials by condition);
    rejected trial × muscle rows are marked with a red ◀ inside the image's right edge."""
    fig, axes = _rows(ax, 1, (4 * len(result.muscles), 3.6), ncols=len(result.muscles))
    rank = {c: i for i, c in enumerate(result.conditions)}  # the config's order, top down
    order = result.events.sort_values(["condition", "trial"], kind="stable",
                                      key=lambda c: c.map(rank) if c.name == "condition"
                                      else c)
    rows = order.index.to_numpy()
    mode = result.config.epochs.baseline_mode
    for m, (muscle, a) in enumerate(zip(result.muscles, axes)):
        if len(rows):  # a page shows ~500 columns: block means, 64 trials at a time
            img = np.vstack([block_means(result.times, result.corrected_muscle(m, part), 500)[1]
                             for part in np.array_split(rows, -(-len(rows) // 64))])
        else:
            img = np.zeros((1, 1))
        finite = img[np.isfinite(img)]
        lo, hi = (np.percentile(finite, [2, 98]) if finite.size else (0, 1))
        # interpolation "none": a PDF embeds the ≤ 500 × trials pixels themselves, not a
        # 300 dpi resampling of them (a third less of the page's bytes and drawing time)
        im = a.imshow(img, aspect="auto", origin="upper", cmap="viridis", vmin=lo, vmax=hi,
                      extent=[result.times[0], result.times[-1], max(len(rows), 1), 0],
                      interpolation="none")
        bounds = np.cumsum(order["condition"].value_counts(sort=False)
                           .reindex(order["condition"].unique()).to_numpy())
        for b in bounds[:-1]:
            a.axhline(b, color="w", lw=0.8)
        centres = np.concatenate([[0], bounds[:-1]]) + np.diff(np.concatenate([[0], bounds])) / 2
        a.set_yticks(centres, order["condition"].unique(), fontsize=7)
        a.axvline(0, color="w", lw=0.6, ls="--")
        rejected = (result.trials[result.trials["muscle"] == muscle]
                    .set_index("trial")["rejected"].reindex(order["trial"]).fillna(False)
                    .to_numpy(bool))
        if rejected.any():  # marked inside the image's right edge: nothing leaves the axes
            inset = 0.025 * (result.times[-1] - result.times[0])
            a.plot(np.full(int(rejected.sum()), result.times[-1] - inset),
                   np.flatnonzero(rejected) + 0.5, marker="<", ls="none", color="#D55E00",
                   mec="w", mew=0.6, ms=6)
        a.set_title(f"{muscle} ({int(rejected.sum())} rejected: red ◀)" if rejected.any()
                    else muscle, fontsize=10)
        a.set_xlabel("time from onset (s)")
        _colorbar_image(fig.colorbar(im, ax=a, label=UNITS.get(mode, mode), shrink=0.8))
    return fig


def _colorbar_image(bar):
    """Draw a colour bar's gradient as one embedded 1 × 256 image instead of its mesh:
    matplotlib rasterises a long bar's 256 bands by rendering the whole page at 300 dpi
    (a tenth of the page's drawing), and drawn as vector bands they cost more still."""
    lo, hi = bar.norm.vmin, bar.norm.vmax
    if bar.solids is None or not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return bar
    bar.solids.set_visible(False)
    bar.solids.set_rasterized(False)  # no 300 dpi page render for a hidden mesh
    values = np.linspace(lo, hi, 256)[:, None]
    x0, x1 = bar.ax.get_xlim()
    bar.ax.imshow(values, cmap=bar.cmap, norm=bar.norm, aspect="auto", origin="lower",
                  extent=(x0, x1, lo, hi), interpolation="none", zorder=0)
    bar.ax.set_xlim(x0, x1)
    bar.ax.set_ylim(lo, hi)
    return bar


def plot_scores(result, ax=None):
    """Trial scores per condition and muscle; rejected trials drawn hollow.

    The y axis has robust limits (:func:`emgkit.viz.style.robust_limits`: each condition's
    median ± 4 robust SDs, or its range when narrower, united), so one extreme
    trial does not squash the others; a score beyond them is drawn as a triangle at the
    edge with its value printed beside it."""
    fig, axes = _rows(ax, 1, (4 * len(result.muscles), 3.2), ncols=len(result.muscles))
    colors = condition_colors(result.conditions)
    rng = np.random.default_rng(0)
    for muscle, a in zip(result.muscles, axes):
        t = result.trials[result.trials["muscle"] == muscle]
        for i, cond in enumerate(result.conditions):
            c = t[t["condition"] == cond]
            x = i + rng.uniform(-0.15, 0.15, len(c))
            kept = ~c["rejected"].to_numpy(bool)
            a.scatter(x[kept], c["score"][kept], s=14, color=colors[cond])
            if not kept.all():  # most conditions have no rejected trial: no empty artist
                a.scatter(x[~kept], c["score"][~kept], s=14, facecolors="none",
                          edgecolors=colors[cond])
            if kept.any():
                a.hlines(c["score"][kept].mean(), i - 0.3, i + 0.3, color="k", lw=1.2)
        lim = robust_limits(t["score"], t["condition"])
        a.set_ylim(*lim)
        for i, cond in enumerate(result.conditions):
            c = t[t["condition"] == cond]
            y = c["score"].to_numpy(float)
            x = np.full(len(y), float(i))
            kept = ~c["rejected"].to_numpy(bool)
            for keep in (True, False):
                sel = kept == keep
                mark_outliers(a, x[sel], y[sel], lim, color=colors[cond], filled=keep, size=26,
                              label=True)
        a.set_xticks(range(len(result.conditions)), result.conditions, fontsize=8)
        a.set_title(muscle)
        a.set_ylabel(f"score ({UNITS.get(result.config.epochs.baseline_mode)})")
    return fig
