"""Quality-control and single-recording figures for the per-subject report.

Every function takes ``ax=None`` (or an array of axes), returns the Figure and never calls
``plt.show()``; figures are built on :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

import numpy as np

from .style import UNITS, Figure, condition_colors

RAW, FILT = "#9e9e9e", "#1f4e79"


def _rows(ax, n, figsize, ncols=1):
    if ax is not None:
        axes = np.atleast_1d(ax).ravel()
        return axes[0].figure, axes
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, np.atleast_1d(fig.subplots(n, ncols, squeeze=False)).ravel()


def plot_raw_excerpt(result, ax=None):
    """Raw (bipolar, before filtering) and filtered excerpt per muscle, in µV."""
    q = result.quality
    fig, axes = _rows(ax, len(result.muscles), (8, 1.9 * len(result.muscles)))
    t = q["excerpt_times"]
    for m, (muscle, a) in enumerate(zip(result.muscles, axes)):
        raw = q["excerpt_raw"][m]
        a.plot(t, raw - np.median(raw), color=RAW, lw=0.5, label="raw (median removed)")
        a.plot(t, q["excerpt_filtered"][m], color=FILT, lw=0.5, label="filtered")
        a.set_ylabel(f"{muscle}\nµV")
        lim = max(np.percentile(np.abs(q["excerpt_filtered"][m]), 99.5) * 4,
                  np.percentile(np.abs(raw - np.median(raw)), 99)) * 1.1 + 1e-9
        a.set_ylim(-lim, lim)
        if m == 0:
            a.legend(loc="upper right", fontsize=7, ncol=2, frameon=False)
            a.set_title(f"Signal excerpt ({t[0]:.1f}–{t[-1]:.1f} s)")
    axes[len(result.muscles) - 1].set_xlabel("time (s)")
    return fig


def plot_psd(result, ax=None):
    """Power spectra before and after filtering, mains frequency and harmonics marked."""
    q, pp = result.quality, result.config.preprocess
    fig, axes = _rows(ax, len(result.muscles), (8, 1.9 * len(result.muscles)))
    f = q["freqs"]
    for m, (muscle, a) in enumerate(zip(result.muscles, axes)):
        a.semilogy(f[1:], q["psd_raw"][m][1:] + 1e-12, color=RAW, lw=0.8, label="raw")
        a.semilogy(f[1:], q["psd_filtered"][m][1:] + 1e-12, color=FILT, lw=0.8,
                   label="filtered")
        if pp.notch:
            for h in np.arange(pp.notch, f[-1], pp.notch):
                a.axvline(h, color="#d62728", lw=0.5, ls=":")
        for edge in (pp.l_freq, pp.h_freq):
            if edge:
                a.axvline(edge, color="k", lw=0.6, ls="--")
        floor = max(np.median(q["psd_filtered"][m][1:]) * 1e-4, 1e-12)
        a.set_ylim(bottom=floor)
        a.set_ylabel(f"{muscle}\nµV²/Hz")
        if m == 0:
            a.set_title("Power spectrum (dotted red: mains and harmonics; dashed: band)")
            a.legend(loc="upper right", fontsize=7, frameon=False)
    axes[len(result.muscles) - 1].set_xlabel("frequency (Hz)")
    return fig


def _pooled(x, n_out):
    """Max-pool a long trace to about ``n_out`` points (keeps spikes visible)."""
    k = max(1, len(x) // n_out)
    m = len(x) // k
    return x[:m * k].reshape(m, k).max(axis=1), k


def plot_session(result, ax=None):
    """The whole session's envelope per muscle with event markers and bad stretches."""
    if result.envelope is None:
        from ..errors import EmgkitError
        raise EmgkitError("The session plot needs the continuous envelope; process with "
                          "keep_continuous=True.")
    fig, axes = _rows(ax, len(result.muscles), (8, 1.7 * len(result.muscles)))
    colors = condition_colors(result.conditions)
    q = result.quality or {}
    for m, (muscle, a) in enumerate(zip(result.muscles, axes)):
        env, k = _pooled(result.envelope[m], 4000)
        t = np.arange(len(env)) * k / result.sfreq
        a.plot(t, env, color="k", lw=0.5)
        top = np.percentile(env, 99.5) * 1.3 + 1e-9
        a.set_ylim(0, top)
        for cond in result.conditions:
            on = result.events.loc[result.events["condition"] == cond, "onset_s"]
            a.vlines(on, 0, top, color=colors[cond], lw=0.8, alpha=0.8,
                     label=cond if m == 0 else None)
        for s0, s1, kind in q.get("bad_spans", {}).get(muscle, []):
            a.axvspan(s0, s1, color="#ff7f0e" if kind == "flat" else "#d62728", alpha=0.3)
        for s0, s1 in q.get("cms_spans", []):
            a.axvspan(s0, s1, color="#9467bd", alpha=0.2)
        a.set_ylabel(f"{muscle}\nµV")
    axes[0].set_title("Session envelope (lines: onsets; orange/red: flat/saturated; "
                      "purple: CMS out of range)", fontsize=9)
    axes[0].legend(loc="upper right", fontsize=7, ncol=len(result.conditions), frameon=False)
    axes[len(result.muscles) - 1].set_xlabel("time (s)")
    return fig


def plot_trial_images(result, ax=None):
    """Trial × time image of the baseline-corrected epochs per muscle (trials by condition);
    rejected trial × muscle rows are marked with a red tick at the right edge."""
    fig, axes = _rows(ax, 1, (4 * len(result.muscles), 3.6), ncols=len(result.muscles))
    order = result.events.sort_values(["condition", "trial"], kind="stable")
    rows = order.index.to_numpy()
    mode = result.config.epochs.baseline_mode
    for m, (muscle, a) in enumerate(zip(result.muscles, axes)):
        img = result.corrected[rows, m] if len(rows) else np.zeros((1, len(result.times)))
        finite = img[np.isfinite(img)]
        lo, hi = (np.percentile(finite, [2, 98]) if finite.size else (0, 1))
        im = a.imshow(img, aspect="auto", origin="lower", cmap="viridis", vmin=lo, vmax=hi,
                      extent=[result.times[0], result.times[-1], 0, max(len(rows), 1)],
                      interpolation="nearest")
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
        if rejected.any():
            a.plot(np.full(int(rejected.sum()), result.times[-1]), np.flatnonzero(rejected) + 0.5,
                   marker="<", ls="none", color="#d62728", ms=4, clip_on=False,
                   label=f"rejected ({int(rejected.sum())})")
            a.legend(fontsize=6, loc="upper left", frameon=False, labelcolor="w")
        a.set_title(muscle)
        a.set_xlabel("time from onset (s)")
        fig.colorbar(im, ax=a, label=UNITS.get(mode, mode), shrink=0.8)
    return fig


def plot_scores(result, ax=None):
    """Trial scores per condition and muscle; rejected trials drawn hollow."""
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
            a.scatter(x[~kept], c["score"][~kept], s=14, facecolors="none",
                      edgecolors=colors[cond])
            if kept.any():
                a.hlines(c["score"][kept].mean(), i - 0.3, i + 0.3, color="k", lw=1.2)
        a.set_xticks(range(len(result.conditions)), result.conditions, fontsize=8)
        a.set_title(muscle)
        a.set_ylabel(f"score ({UNITS.get(result.config.epochs.baseline_mode)})")
    return fig
