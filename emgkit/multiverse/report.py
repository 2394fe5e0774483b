"""The specification curve: each contrast's effect size under every specification, sorted,
with the choices that made each one beneath (Simonsohn, Simmons & Nelson, 2020)."""

from __future__ import annotations

import numpy as np


def plot_specification_curve(rows, axes_names, ax=None, *, alpha=0.05):
    """One contrast across specifications.

    Parameters
    ----------
    rows : DataFrame
        The contrast's rows of ``specifications.tsv`` (``effect_size``, ``effect_ci_low``,
        ``effect_ci_high``, ``p_adj``, ``primary`` and the axis columns).
    axes_names : list of str
        The grid's axes (rows of the indicator panel).
    ax : array of two Axes | None
        Upper (curve) and lower (indicator) panels; None makes a figure.
    alpha : float
        Filled markers: ``p_adj`` < ``alpha``.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The curve is a ranked line with its 95 % CI as a band, so hundreds of specifications
    stay readable; specifications with ``p_adj < alpha`` are dots on the line (smaller as
    there are more), the primary one a diamond.
    """
    from matplotlib.ticker import MaxNLocator

    from ..viz.style import PALETTE, new_figure

    if ax is None:
        fig = new_figure((10, 6.5), layout="constrained")  # the choice labels not cut
        top, low = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1.3, 1]})
    else:
        top, low = np.ravel(ax)[:2]
        fig = top.figure
    d = rows.sort_values("effect_size", kind="stable").reset_index(drop=True)
    x = np.arange(1, len(d) + 1)  # ranks, 1 = the smallest effect size
    es = d["effect_size"].to_numpy(float)
    sig = d["p_adj"].to_numpy(float) < alpha
    prim = d["primary"].to_numpy(bool)
    line, hi_col = PALETTE[3], PALETTE[4]  # blue curve; vermillion primary
    size = float(np.clip(1500 / max(len(d), 1), 3, 16))  # dots shrink as specs grow
    top.fill_between(x, d["effect_ci_low"], d["effect_ci_high"], color=line, alpha=0.18,
                     lw=0, step="mid" if len(d) < 40 else None, label="95 % CI")
    top.plot(x, es, color=line, lw=1.0, label="effect size (ranked)")
    top.scatter(x[sig], es[sig], s=size, color="k", zorder=3, lw=0,
                label=f"p_adj < {alpha:g}")
    if prim.any():
        top.scatter(x[prim], es[prim], s=70, marker="D", facecolor="none",
                    edgecolor=hi_col, lw=1.5, zorder=4, label="primary (the config's)")
    top.axhline(0.0, color="0.3", lw=0.8)
    top.set_ylabel("effect size (SD units)\nwith 95 % CI")
    # above the panel: a band over the whole width leaves no empty corner inside it
    top.legend(fontsize=7, frameon=False, loc="lower left", bbox_to_anchor=(0.0, 1.0),
               ncol=4, borderaxespad=0.2)
    labels, pos, y = [], [], 0.0
    for name in axes_names:  # one indicator row per value of each axis
        for v in dict.fromkeys(rows[name].astype(str)):
            hit = d[name].astype(str).to_numpy() == v
            low.scatter(x[hit], np.full(hit.sum(), y), s=size * 2, marker="|",
                        lw=max(0.4, min(1.5, 150 / max(len(d), 1))),
                        color=np.where(prim[hit], hi_col, "0.25"))
            labels.append(f"{name} = {v}")
            pos.append(y)
            y -= 1
        y -= 0.5
    low.set_yticks(pos, labels, fontsize=7)
    low.set_ylim(y + 0.3, 0.7)
    low.set_xlabel("specification (rank by effect size)")
    low.set_xlim(0, len(d) + 1)
    low.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    for a in (top, low):
        a.spines[["top", "right"]].set_visible(False)
    return fig


def summary_sentence(s):
    """One line on how a contrast holds across specifications (a ``summary.tsv`` row)."""
    from .._numbers import fmt_p

    return (f"{s['n_specifications']} specifications: primary effect size "
            f"{s['primary_effect_size']:.2f} ({fmt_p(s['primary_p_adj'], prefix=True)}, "
            f"adjusted); median "
            f"{s['median_effect_size']:.2f}; same sign as the primary in "
            f"{s['share_same_sign']:.0%}; p < .05 in {s['share_p05']:.0%}, p_adj < .05 in "
            f"{s['share_significant']:.0%} ({s['share_significant_same_sign']:.0%} with the "
            f"primary's sign).")


#: the summary table's columns as the PDF prints them
_SHORT = {"n_specifications": "n", "primary_estimate": "primary_est",
          "primary_effect_size": "primary_es", "primary_p_adj": "primary_p_adj",
          "median_estimate": "median_est", "median_effect_size": "median_es",
          "share_same_sign": "same_sign", "share_p05": "p<.05", "share_significant": "sig",
          "share_significant_same_sign": "sig_same_sign"}
_SHARES = ("share_same_sign", "share_p05", "share_significant", "share_significant_same_sign")
_SHORT_NOTE = ("n: specifications. primary_est, primary_es, primary_p_adj: the primary "
               "specification's estimate (outcome units), effect size (SD units) and Holm-"
               "adjusted p; median_est, median_es: their medians over the specifications. "
               "Shares of the specifications with the primary's sign (same_sign), with p < "
               ".05, with p_adj < .05 (sig), and with p_adj < .05 and the primary's sign "
               "(sig_same_sign). summary.tsv has the full names.")


def specification_curve(specs, out, *, grid, summary):
    """Write ``specification_curve.pdf``: the summary, then one page per contrast.

    Parameters
    ----------
    specs : DataFrame
        ``specifications.tsv``.
    out : path-like
    grid : Grid
        The multiverse grid (axes, primary).
    summary : DataFrame
        ``summary.tsv`` (:func:`emgkit.multiverse.run.summarise`).

    Returns
    -------
    pathlib.Path
    """
    from ..report.pages import atomic_pdf, figure_page, table_pages, text_page
    from .run import contrast_keys

    axes = list(grid.axes)
    keys = contrast_keys(specs)
    prim = grid.primary
    intro = [(None, f"{len(grid)} specifications of {grid.config.path}: every combination "
                    + ", ".join(f"{k} ({len(v)})" for k, v in grid.axes.items())
                    + (". The config's own settings were not in the grid and were added as "
                       f"{prim.id}." if grid.primary_added else ".")),
             ("Primary specification", f"{prim.id}: " + ", ".join(
                 f"{k} = {v}" for k, v in prim.values.items())),
             ("How to read it", "Each specification is the whole analysis (preprocessing, "
                                "scores, rejection, the study's mixed model and its Holm-"
                                "adjusted group contrasts) with one combination of the "
                                "choices. Estimates differ in units across baseline modes, so "
                                "curves show effect sizes (estimate / SD of the outcome: "
                                "residual + random-intercept variance) with their 95 % CIs; "
                                "black dots have p_adj < .05; the diamond is the primary "
                                "specification.")]
    if "standardise" in grid.axes:
        intro.append(("Standardised specifications", "z-scoring within participant × muscle "
                      "makes every participant's scores average zero over conditions: it "
                      "removes the groups' overall levels, and a drug effect in one condition "
                      "appears with the opposite sign in the others. Read those "
                      "specifications' contrasts as differences from the participant's own "
                      "mean (group/baselines.tsv of a standardised run gives the raw levels)."))
    # short headers, explained in the note, so the table fits one page at a readable size;
    # shares as percentages; numbers through the one formatter (shared decimals, "< .001")
    shown = summary.rename(columns=_SHORT)
    for c in _SHARES:
        if c in summary:
            shown[_SHORT[c]] = [f"{v:.0%}" if np.isfinite(v) else "–" for v in summary[c]]
    with atomic_pdf(out) as pdf:
        pdf.savefig(text_page("emgkit multiverse: specification curve", intro,
                              landscape=True))
        # the contrast's key columns (muscle, contrast, condition) on every page
        for fig in table_pages("How each contrast holds across specifications", shown,
                               repeat=len([k for k in keys if k in shown]), landscape=True,
                               note=_SHORT_NOTE):
            pdf.savefig(fig)
        for _, s in summary.iterrows():
            sel = np.ones(len(specs), bool)
            for k in keys:
                sel &= specs[k].astype(str).to_numpy() == str(s[k])
            title = " · ".join(str(s[k]) for k in keys)
            fig = figure_page(title, _two_panels, 1, 1, rows=specs[sel], axes_names=axes,
                              note=summary_sentence(s))
            pdf.savefig(fig)
    return out


def _two_panels(ax, rows, axes_names, note):
    """Split the page's one axes into the curve and the indicator panel (room on the left
    for the indicator labels; ``note`` above the curve)."""
    import textwrap

    a = np.ravel(ax)[0]
    fig = a.figure
    box = a.get_position()
    a.remove()
    shift = 1.2 / fig.get_figwidth()  # inches for "baseline_mode = logratio"
    box = type(box).from_bounds(box.x0 + shift, box.y0, box.width - shift, box.height)
    n_rows = sum(rows[n].nunique() for n in axes_names) + 0.5 * len(axes_names)
    frac = min(0.55, max(0.3, 0.045 * n_rows))
    low_h = box.height * frac
    lower = fig.add_axes([box.x0, box.y0, box.width, low_h - 0.02])
    upper = fig.add_axes([box.x0, box.y0 + low_h + 0.02, box.width,
                          box.height - low_h - 0.05], sharex=lower)
    upper.tick_params(labelbottom=False)
    upper.set_title(textwrap.fill(note, 150), fontsize=8, loc="left", pad=16)  # legend below
    return plot_specification_curve(rows, axes_names, ax=[upper, lower])
