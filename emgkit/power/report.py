"""Power curves and the power PDF."""

from __future__ import annotations

import numpy as np

from .._numbers import fmt_num


def plot_power(table, ax=None, *, target=0.8):
    """Power against participants per group, one panel per muscle, one line per trials
    per cell, with 95 % Monte-Carlo bands and the target power dashed.

    Parameters
    ----------
    table : DataFrame
        :func:`emgkit.power.run.power_analysis` output.
    ax : Axes | array of Axes | None
    target : float

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..viz.style import PALETTE, axes_row

    signal = table[table["level"] == "signal"] if "level" in table else table.iloc[:0]
    table = table[table["level"] == "trial"] if "level" in table else table
    muscles = list(dict.fromkeys(table["muscle"]))
    fig, axes = axes_row(ax, len(muscles), (3.8 * len(muscles) + 0.5, 3.4))
    ks = sorted(table["trials_per_cell"].unique())
    colors = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(ks)}
    for a, muscle in zip(axes, muscles):
        sub = table[table["muscle"] == muscle]
        for k in ks:
            s = sub[sub["trials_per_cell"] == k].sort_values("n_per_group")
            a.plot(s["n_per_group"], s["power"], marker="o", ms=3, color=colors[k],
                   label=f"{k} trials/cell")
            a.fill_between(s["n_per_group"], s["ci_low"], s["ci_high"], color=colors[k],
                           alpha=0.2, lw=0)
            sg = signal[(signal["muscle"] == muscle) & (signal["trials_per_cell"] == k)]
            if len(sg):  # the same design through simulated recordings and the pipeline
                pw = sg["power"].to_numpy()
                a.errorbar(sg["n_per_group"].to_numpy(), pw,
                           yerr=np.vstack([pw - sg["ci_low"].to_numpy(),
                                           sg["ci_high"].to_numpy() - pw]),
                           fmt="s", ms=5, mfc="w", color=colors[k], capsize=2,
                           label=f"{k} trials/cell, recordings")
        a.axhline(target, color="0.4", ls="--", lw=0.8)
        a.set_ylim(-0.02, 1.02)  # a curve at 0 or 1 is drawn whole, not on the frame
        row = sub.iloc[0]
        at = f" at {row['at']}" if row["at"] else ""
        a.set_title(f"{muscle}: {row['contrast']}{at}\neffect {fmt_num(row['effect'])} "
                    f"({row['effect_sd']:.2f} SD)", fontsize=9)
        a.set_xlabel("participants per group")
        a.set_ylabel("power (share of simulated studies)")
    axes[0].legend(fontsize=7, frameon=False, loc="lower right")
    return fig


def singular_note(table, threshold=0.05):
    """A sentence naming the design points where more than ``threshold`` of the simulated
    fits were singular or did not converge ("" when none): their power rests on boundary
    fits, which the analysis of a real study of that size would meet too."""
    rows = []
    for _, r in table.iterrows():
        sing = np.nan_to_num(float(r.get("singular_rate", 0.0)), nan=0.0)
        conv = np.nan_to_num(float(r.get("converged_rate", 1.0)), nan=1.0)
        if sing > threshold or 1 - conv > threshold:
            rows.append(f"{r.get('muscle', '')} n = {int(r['n_per_group'])}/group × "
                        f"{int(r['trials_per_cell'])} trials: {sing:.0%} singular, "
                        f"{1 - conv:.0%} not converged")
    if not rows:
        return ""
    return ("Simulated fits that were singular (a variance estimated at 0) or did not "
            "converge: " + "; ".join(rows) + ". Power at these design points rests on "
            "boundary fits.")


def _values(v):
    """A list setting as "10, 20"."""
    return ", ".join(str(x) for x in v) if isinstance(v, (list, tuple)) else str(v)


def design_summary(settings, table):
    """The design a power analysis simulated, as ``key: value`` lines a reader can follow
    (empty settings left out), from the command's settings and the power table."""
    s = dict(settings or {})
    rows = []
    if s.get("pilot"):
        rows.append(("Pilot", f"{s['pilot']} (variances and effects estimated from it)"))
    elif s.get("config"):
        rows.append(("Model from", f"{s['config']} [power] section"))
    if s.get("formula"):
        rows.append(("Model", f"{s['formula']}, random intercept per participant"))
    at = f" at {s['at']}" if s.get("at") else ""
    tested = (f"{s.get('contrast', 'group')} contrast{at}, {s.get('adjust') or 'none'}-"
              f"adjusted over the contrast family, alpha = {s.get('alpha', 0.05):g}")
    rows.append(("Tested", tested))
    if s.get("effect") is not None:
        effect = f"{fmt_num(s['effect'])} (outcome units), set by --effect"
    elif s.get("effect_sd") is not None:
        effect = f"{fmt_num(s['effect_sd'])} SD, set by --effect-sd"
    else:
        eff = table.drop_duplicates("muscle") if "muscle" in table else table.iloc[:0]
        per = "; ".join(f"{r['muscle']} {fmt_num(r['effect'])} ({r['effect_sd']:.2f} SD)"
                        for _, r in eff.iterrows())
        effect = f"the pilot's estimates: {per}" if per else "the pilot's estimates"
    rows.append(("Effect", effect))
    trial = table[table["level"] == "trial"] if "level" in table else table
    if len(trial):
        ns = _values(sorted(trial["n_per_group"].unique()))
        ks = _values(sorted(trial["trials_per_cell"].unique()))
        designs = f"{ns} participants per group × {ks} kept trials per participant × condition"
        rows.append(("Designs", designs))
    sims = (f"{s.get('simulations', '?')} per design (seed {s.get('seed', '?')}); target "
            f"power {float(s.get('target_power', 0.8)):.0%}")
    rows.append(("Simulations", sims))
    if s.get("signal"):
        rec = (f"also {s['signal']} (participants × trials) through the whole pipeline, "
               f"{s.get('signal_simulations')} simulations each")
        rows.append(("Recordings", rec))
    if s.get("equivalence") is not None:
        bound = f"±{fmt_num(s['equivalence'])} ({s.get('equivalence_scale', 'sd')})"
        rows.append(("Equivalence", bound))
    if s.get("emgkit"):
        rows.append(("Software", f"emgkit {s['emgkit']}, Python {s.get('python', '?')}"))
    width = max(len(k) for k, _ in rows) + 2
    return "\n".join(f"  {k + ':':<{width}}{v}" for k, v in rows)


#: the power table's columns, under the table
_POWER_NOTE = ("level: trial or signal (simulated recordings). power with its 95 % Monte-Carlo "
               "interval (ci_low, ci_high); effect: the planted contrast (outcome units; "
               "effect_sd: in SD units); mean_estimate, mean_se, mean_df: over the simulated "
               "studies; mde: the effect detectable with the target power (mde_sd: in SD "
               "units); singular_rate, converged_rate (kept_rate): shares of the simulated "
               "fits (of the trials kept).")


def power_report(table, out, *, settings=None):
    """Write the power PDF: curves, the table and the design (atomically)."""
    from ..report.pages import atomic_pdf, figure_page, short_table_pages, text_page

    attrs = table.attrs
    text = [("Design", design_summary(settings, table)),
            ("How", "Each simulated study draws participants (random intercepts), trials per "
                    "cell and residuals from the pilot model with the tested contrast set "
                    "as stated, fits the same random-intercept mixed model by REML (from "
                    "per-participant × cell sums), and tests the contrast with Satterthwaite "
                    f"df, {attrs.get('adjust', 'holm')}-adjusted over the contrast family, at "
                    f"alpha = {attrs.get('alpha', 0.05)}. Bands: 95 % Wilson intervals of the "
                    f"Monte-Carlo estimate. mde: the effect detectable with "
                    f"{attrs.get('target_power', 0.8):.0%} power, (t(1 - alpha/2m) + "
                    f"t(power)) × mean SE (Bonferroni over the m family rows: conservative "
                    f"for Holm).")]
    warn = singular_note(table)
    if warn:
        text.append(("Caution", warn))
    n = table["muscle"].nunique()
    wanted = ["level", "muscle", "n_per_group", "trials_per_cell", "power", "ci_low",
              "ci_high", "effect", "effect_sd", "mean_estimate", "mean_se", "mean_df", "mde",
              "mde_sd", "singular_rate", "converged_rate", "kept_rate"]
    shown = table[[c for c in wanted if c in table]].round(4)
    with atomic_pdf(out) as pdf:
        pdf.savefig(text_page("emgkit power analysis", text, landscape=True))
        pdf.savefig(figure_page("Power by design (95 % Monte-Carlo bands; dashed: target)",
                                plot_power, 1, n, target=attrs.get("target_power", 0.8),
                                table=table))
        for fig in short_table_pages("Power table", shown, note=_POWER_NOTE, repeat=2):
            pdf.savefig(fig)
    return out
