"""The fitted model's outputs: tidy tables, figures, sentences and R code."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from .._files import atomic_path
from .._numbers import fmt_num, fmt_nums, fmt_p
from ..config.formula import Formula, deparse, r_name
from .design import reference_grid
from .evidence import equivalence_p, jzs_bf10
from .reml import RemlCriterion
from .satterthwaite import Satterthwaite


def _t_table(est, se, df, level=0.95):
    est, se, df = (np.asarray(a, float) for a in (est, se, df))
    t = est / se
    p = 2 * stats.t.sf(np.abs(t), df)
    q = stats.t.ppf(0.5 + level / 2, df)
    return t, p, est - q * se, est + q * se


@dataclass(repr=False)
class MixedResult:
    """A REML-fitted linear mixed model with Satterthwaite inference.

    Build it with :func:`emgkit.stats.fit_model`. Every output is a tidy DataFrame:
    :meth:`fixed_effects`, :meth:`anova`, :meth:`emmeans`, :meth:`contrasts`,
    :meth:`variance`; :attr:`fit` holds the REML log-likelihood and convergence record.
    """

    data: pd.DataFrame
    formula: str
    outcome: str
    factors: dict
    covariates: list
    groups: str
    X: np.ndarray
    dinfo: object  # emgkit.stats.formula.Design
    Z: np.ndarray
    z_names: list
    crit: RemlCriterion
    theta: np.ndarray
    beta: np.ndarray
    C: np.ndarray
    G: np.ndarray
    s2: float
    fit: dict
    sat: Satterthwaite
    crossed: list = field(default_factory=list)
    context: dict = field(default_factory=dict)
    equivalence: tuple | None = None
    model_formula: object = None  # emgkit.stats.formula.ModelFormula
    slopes: object = None  # the random slopes' formula tree (None: intercept only)
    _cache: dict = field(default_factory=dict)

    # -- presentation ------------------------------------------------------------------
    def __repr__(self):
        state = "converged" if self.fit["converged"] else "NOT converged"
        if self.fit.get("singular"):
            state += ", SINGULAR fit"
        ctx = "".join(f" | {k} = {v}" for k, v in self.context.items())
        return (f"<MixedResult{ctx} | {self.lme4_formula()} | "
                f"n={self.fit['n_obs']}, "
                f"{self.fit['n_groups']} participants | REML logLik "
                f"{self.fit['reml_loglik']:.3f} | {state}>")

    def _repr_html_(self):
        return (f"<p><code>{self.lme4_formula()}</code> — REML logLik "
                f"{self.fit['reml_loglik']:.3f}, n = {self.fit['n_obs']}, "
                f"{self.fit['n_groups']} participants</p>" +
                self.fixed_effects().to_html(index=False, float_format=lambda v: f"{v:.4g}"))

    # -- tables ------------------------------------------------------------------------
    def fixed_effects(self, level=0.95):
        """Fixed effects with Satterthwaite df.

        Returns
        -------
        DataFrame
            ``term`` (R/lme4 naming, treatment coding), ``estimate``, ``se``, ``df``
            (Satterthwaite), ``t``, ``p`` (two-sided), ``ci_low``, ``ci_high``.
        """
        se = np.sqrt(np.diag(self.C))
        eye = np.eye(len(self.beta))
        df = np.array([self.sat.df(eye[k], self.C) for k in range(len(self.beta))])
        t, p, lo, hi = _t_table(self.beta, se, df, level)
        return pd.DataFrame(dict(term=list(self.dinfo.column_names),
                                 estimate=self.beta, se=se, df=df, t=t, p=p, ci_low=lo,
                                 ci_high=hi))

    def anova(self):
        """Type III F tests per term.

        Hypotheses are built with sum-to-zero (deviation) coding of every factor, so each
        main effect is averaged over the other factors' levels and covariates are tested at
        0 (as lmerTest's ``anova(type = 3)`` and SPSS do); denominator df by Satterthwaite's
        method for multi-df tests (lmerTest's ``contestMD``).

        Returns
        -------
        DataFrame
            ``term``, ``num_df``, ``den_df``, ``F``, ``p``.
        """
        if "anova" in self._cache:
            return self._cache["anova"].copy()
        Xs, sinfo = self.model_formula.matrix(self.data, self.factors, sum_coded=True)
        crit = self.crit.with_design(Xs)
        beta, C = crit.gls(self.theta)
        sat = Satterthwaite(crit, self.theta)
        rows = []
        for term, sl in sinfo.terms.items():
            L = np.eye(len(beta))[sl]
            F, q, ddf = sat.df_F(L, beta, C)
            rows.append(dict(term=term, num_df=q,
                             den_df=ddf, F=F, p=float(stats.f.sf(F, q, ddf))))
        out = pd.DataFrame(rows)
        self._cache["anova"] = out
        return out.copy()

    def _grid(self):
        grid = reference_grid(self.data, self.factors, self.covariates)
        Xg = self.dinfo.build(grid)
        return grid, Xg

    def emmeans(self, level=0.95):
        """Estimated marginal means for every cell of the factors (covariates at their mean).

        Returns
        -------
        DataFrame
            One column per factor, then ``emmean``, ``se``, ``df`` (Satterthwaite),
            ``ci_low``, ``ci_high``.
        """
        grid, Xg = self._grid()
        est = Xg @ self.beta
        se = np.sqrt(np.einsum("ip,pq,iq->i", Xg, self.C, Xg))
        df = np.array([self.sat.df(x, self.C) for x in Xg])
        _, _, lo, hi = _t_table(est, se, df, level)
        out = grid[list(self.factors)].astype(str)
        return out.assign(emmean=est, se=se, df=df, ci_low=lo, ci_high=hi)

    def effect_sd(self):
        """SD used for standardised effects: sqrt(residual + random-intercept variance)."""
        return float(np.sqrt(self.s2 + self.G[0, 0]))

    def interacting(self, factor):
        """The other factors that share a model term with ``factor`` (its ``by`` factors)."""
        terms = self.dinfo.term_columns
        return [f for f in self.factors if f != factor
                and any(factor in t and f in t for t in terms)]

    def contrasts(self, factor="group", *, by=None, method="trt.vs.ctrl", adjust="holm",
                  family="all", level=0.95, equivalence=None):
        """Contrasts of ``factor``'s marginal means, as emmeans computes them.

        ``emmeans(m, pairwise ~ factor | by)``: each level's marginal mean is averaged with
        equal weights over the factors not in ``by`` (covariates at their mean), so a factor
        that does not interact with ``factor`` (e.g. a session ``wave`` in
        ``score ~ group * condition + wave``) gives no extra rows.

        Parameters
        ----------
        factor : str
            The factor compared (default the between-subject ``group``).
        by : list of str | None
            Factors within whose levels ``factor`` is compared; None: those that interact
            with ``factor`` in the formula (:meth:`interacting`).
        method : "trt.vs.ctrl" | "pairwise"
            Each level minus the reference level, or all pairs.
        adjust : str
            Multiplicity correction (``statsmodels`` ``multipletests`` method: "holm",
            "bonferroni", "fdr_bh", or "none").
        family : "all" | "by"
            Adjust over all rows (emmeans ``summary(..., by = NULL, adjust = ...)``, the
            default: one family for the study's question) or within each ``by`` level
            (emmeans' own default).
        level : float
            Confidence level of the intervals; they are *not* adjusted (``p_adj`` is).
        equivalence : (float, "raw" | "sd") | None
            Smallest effect of interest for equivalence tests, in the outcome's units or in
            SD units (:meth:`effect_sd`); None: the one set at fitting (``[model]
            equivalence``), if any.

        Returns
        -------
        DataFrame
            ``contrast`` (e.g. "naltrexone - placebo"), one column per ``by`` factor,
            ``estimate``, ``se``, ``df`` (Satterthwaite), ``t``, ``p``, ``p_adj``,
            ``ci_low``, ``ci_high`` (unadjusted), ``effect_size`` (estimate / sqrt(residual +
            random-intercept variance)); with an equivalence bound, ``equiv_delta`` (outcome
            units) and ``p_equiv`` (unadjusted, as ``emmeans::test(..., delta, side =
            "equivalence")``); for a between-participant factor, ``bf10``: the JZS Bayes
            factor (Cauchy scale √2/2, as BayesFactor's ``ttestBF``) of a two-sample t test of
            the participants' mean scores in the row's cell (equal weights over the other
            factors; not adjusted for covariates). ``attrs`` record ``adjust``, ``family``,
            ``by``.
        """
        from ..errors import ModelError

        if factor not in self.factors:
            raise ModelError(f"contrasts: {factor!r} is not a factor of the model "
                             f"({', '.join(self.factors) or 'none'}).")
        if family not in ("all", "by"):
            raise ModelError(f"family={family!r} is not allowed; use 'all' or 'by'.")
        by = self.interacting(factor) if by is None else list(by)
        unknown = [b for b in by if b not in self.factors or b == factor]
        if unknown:
            raise ModelError(f"contrasts: by={unknown} are not other factors of the model "
                             f"({', '.join(f for f in self.factors if f != factor)}).")
        grid, Xg = self._grid()
        levels = self.factors[factor]
        if method == "trt.vs.ctrl":
            pairs = [(lv, levels[0]) for lv in levels[1:]]
        elif method == "pairwise":
            pairs = [(a, b) for i, b in enumerate(levels) for a in levels[i + 1:]]
        else:
            raise ModelError(f"method={method!r} is not allowed; use 'trt.vs.ctrl' or "
                             f"'pairwise'.")
        g = grid.astype({c: str for c in self.factors})
        rows, Ls, fam = [], [], []
        keys = g[by].drop_duplicates() if by else pd.DataFrame(index=[0])
        for k, (_, key) in enumerate(keys.iterrows()):
            mask = np.ones(len(g), bool)
            for b in by:
                mask &= g[b].to_numpy() == key[b]
            for a, b in pairs:  # marginal means: equal weights over the other factors
                la = Xg[mask & (g[factor].to_numpy() == a)].mean(axis=0)
                lb = Xg[mask & (g[factor].to_numpy() == b)].mean(axis=0)
                Ls.append(la - lb)
                rows.append({"contrast": f"{a} - {b}", **{c: key[c] for c in by}})
                fam.append(k)
        L = np.array(Ls)
        est = L @ self.beta
        se = np.sqrt(np.einsum("ip,pq,iq->i", L, self.C, L))
        df = np.array([self.sat.df(x, self.C) for x in L])
        t, p, lo, hi = _t_table(est, se, df, level)
        p_adj = p.copy()
        if adjust not in (None, "none"):
            groups = [np.arange(len(p))] if family == "all" else \
                [np.flatnonzero(np.array(fam) == k) for k in sorted(set(fam))]
            for idx in groups:
                p_adj[idx] = multipletests(p[idx], method=adjust)[1]
        out = pd.DataFrame(rows).assign(estimate=est, se=se, df=df, t=t, p=p, p_adj=p_adj,
                                        ci_low=lo, ci_high=hi,
                                        effect_size=est / self.effect_sd())
        equivalence = self.equivalence if equivalence is None else equivalence
        if equivalence:
            delta, scale = equivalence
            if scale not in ("raw", "sd") or not delta > 0:
                raise ModelError(f"equivalence={equivalence!r}: give (delta > 0, 'raw' or "
                                 f"'sd').")
            delta = float(delta) * (self.effect_sd() if scale == "sd" else 1.0)
            out["equiv_delta"] = delta
            out["p_equiv"] = equivalence_p(est, se, df, delta)
        if self._between(factor):
            out["bf10"] = [self._bf10(factor, row, by) for _, row in out.iterrows()]
        out.attrs.update(adjust=adjust or "none", family=family, by=by)
        return out

    @staticmethod
    def _evidence(r, alpha):
        """The Bayes factor and equivalence parts of a summary sentence."""
        out = ""
        bf = r.get("bf10", np.nan)
        if bf is not None and np.isfinite(bf):
            out += f", BF10 = {bf:.2f}"
        pe = r.get("p_equiv", np.nan)
        if pe is not None and np.isfinite(pe):
            pt = fmt_p(pe, prefix=True)
            verdict = "equivalent to no difference" if pe < alpha else "equivalence not shown"
            out += f"; {verdict} within ±{fmt_num(r['equiv_delta'])} ({pt}, unadjusted)"
        return out

    def _between(self, factor):
        """True when ``factor`` is constant within every participant."""
        return bool((self.data.groupby(self.groups, observed=True)[factor].nunique() <= 1)
                    .all())

    def _bf10(self, factor, row, by):
        d = self.data
        mask = np.ones(len(d), bool)
        for b in by:
            mask &= d[b].astype(str).to_numpy() == str(row[b])
        sub = d[mask]
        cells = [f for f in self.factors if f not in by and f != factor]
        cell = (sub.groupby([self.groups] + cells, observed=True)[self.outcome].mean()
                .groupby(level=0).mean())
        level = sub.groupby(self.groups, observed=True)[factor].first().astype(str)
        a, b = row["contrast"].split(" - ")
        xa = cell[level.reindex(cell.index) == a].to_numpy()
        xb = cell[level.reindex(cell.index) == b].to_numpy()
        if len(xa) < 2 or len(xb) < 2:
            return np.nan
        t = stats.ttest_ind(xa, xb, equal_var=True).statistic
        return jzs_bf10(float(t), len(xa), len(xb))

    def variance(self):
        """Variance components.

        Returns
        -------
        DataFrame
            ``group`` (participant column or "Residual"), ``term`` ("(Intercept)", slope
            names, or "cov(a, b)"), ``variance``, ``sd``.
        """
        names = [self.groups] + self.crossed if self.crossed else list(self.z_names)
        rows = self.crit.components(self.G, self.s2, self.groups, names)
        return pd.DataFrame(rows, columns=["group", "term", "variance", "sd"])

    # -- diagnostics -------------------------------------------------------------------
    def residuals(self):
        """Return (fitted, conditional residuals): fitted = Xβ̂ + Zb̂ (BLUPs)."""
        y = self.data[self.outcome].to_numpy(float)
        fitted = self.X @ self.beta
        fitted = fitted + self.crit.blups(self.G, self.s2, y - fitted)
        return fitted, y - fitted

    def plot_diagnostics(self, ax=None):
        """Residuals vs fitted and a normal QQ plot of the conditional residuals.

        Parameters
        ----------
        ax : array of two Axes | None

        Returns
        -------
        matplotlib.figure.Figure
        """
        from ..viz.style import new_figure

        if ax is None:
            fig = new_figure((9, 3.6), layout="constrained")
            ax = fig.subplots(1, 2)
        fig = ax[0].figure
        fitted, resid = self.residuals()
        ax[0].scatter(fitted, resid, s=4, alpha=0.4, color="#1f77b4")
        ax[0].axhline(0, color="k", lw=0.7)
        ax[0].set(xlabel=f"fitted {self.outcome}", ylabel="residual",
                  title="Residuals vs fitted")
        osm, osr = stats.probplot(resid, dist="norm", fit=False)
        ax[1].scatter(osm, np.sort(resid), s=4, alpha=0.4, color="#1f77b4")
        lim = np.array([osm.min(), osm.max()])
        ax[1].plot(lim, lim * resid.std(ddof=1) + resid.mean(), color="k", lw=0.7)
        ax[1].set(xlabel="normal quantile", ylabel="residual", title="Normal QQ")
        return fig

    # -- text ---------------------------------------------------------------------------
    def lme4_formula(self):
        """The equivalent lme4 formula (R syntax: backticks where R needs them)."""
        fixed = deparse(Formula(self.model_formula.formula.outcome, self.model_formula.fixed),
                        r=True)
        re = "1" if self.slopes is None else "1 + " + deparse(self.slopes, r=True)
        extra = "".join(f" + (1 | {r_name(c)})" for c in self.crossed)
        return f"{fixed} + ({re} | {r_name(self.groups)}){extra}"

    def r_code(self, data_file="model_data.tsv"):
        """R code (lme4 + lmerTest + emmeans) that fits the same model to ``data_file``
        (:meth:`write` puts the model's rows beside the script under that name)."""
        def col(name):
            return f"d[[{_r_string(name)}]]"

        lines = ["library(lme4)", "library(lmerTest)", "library(emmeans)",
                 (f"d <- read.delim({_r_string(data_file)}, na.strings = \"n/a\", "
                  f"check.names = FALSE)"),
                 f"{col(self.groups)} <- factor({col(self.groups)})",
                 *[f"{col(c)} <- factor({col(c)})" for c in self.crossed],
                 'if ("rejected" %in% names(d)) d <- d[!as.logical(d$rejected), ]']
        for f, lv in self.factors.items():
            lines.append(f"{col(f)} <- factor({col(f)}, levels = "
                         f"c({', '.join(_r_string(v) for v in lv)}))")
        lines += [f"m <- lmer({self.lme4_formula()}, data = d, REML = TRUE)", "summary(m)",
                  "anova(m, type = 3)  # Satterthwaite df", "VarCorr(m)"]
        if "group" in self.factors:
            by = self.interacting("group")
            spec = "trt.vs.ctrl ~ group" + (" | " + " * ".join(r_name(b) for b in by)
                                             if by else "")
            lines += [f"em <- emmeans(m, {spec})",
                      "# Holm over all rows, as emgkit's contrasts.tsv (family = 'all')",
                      "summary(em$contrasts, by = NULL, adjust = 'holm', infer = TRUE)"]
        return "\n".join(lines) + "\n"

    def summary_sentences(self, factor="group", alpha=0.05):
        """One APA-style sentence per contrast of ``factor`` (see :meth:`contrasts`); a
        singular fit is said first."""
        out = []
        if self.fit.get("singular"):
            out.append("Caution: the random-effects fit is singular (a variance of 0 or a "
                       "correlation of ±1); the tests below rest on a boundary estimate.")
        sizes = self.data.groupby(factor, observed=True)[self.groups].nunique()
        small = [f"{n} {lv}" for lv, n in sizes.items() if n < 5]
        if small:
            out.append(f"Caution: fewer than 5 participants per level of {factor} "
                       f"({', '.join(f'{n} in {lv}' for lv, n in sizes.items())}); the "
                       f"df and p values below are not trustworthy at this size.")
        tentative = bool(small) or bool(self.fit.get("singular"))
        con = self.contrasts(factor)
        for _, r in con.iterrows():
            a, b = r["contrast"].split(" - ")
            cell = []
            muscle = r.get("muscle", self.context.get("muscle"))
            stim = [r[c] for c in con.columns if c in ("emotion", "condition")]
            other = [f"{c} = {r[c]}" for c in con.attrs.get("by", [])
                     if c not in (factor, "muscle", "emotion", "condition")]
            what = f"{muscle} responses" if muscle is not None else f"{self.outcome}"
            if stim:
                what += f" to {stim[0]} faces"
            if other:
                what += f" ({', '.join(other)})"
            p = r["p_adj"]
            sig = p < alpha
            verb = ("increased" if r["estimate"] > 0 else "decreased") if sig else \
                "did not significantly change"
            if tentative and sig:  # the sentence itself says it, not only a warning
                verb = f"nominally {verb} (singular fit or < 5 per group: not evidence)"
            pt = fmt_p(p, prefix=True)
            adjusted = con.attrs.get("adjust") not in ("none", None)
            est, lo, hi = fmt_nums([r["estimate"], r["ci_low"], r["ci_high"]])
            cell.append(f"{a.capitalize()} (vs {b}) {verb} {what}, b = {est}, "
                        f"95 % CI [{lo}, {hi}]"
                        f"{' (unadjusted)' if adjusted else ''}, "
                        f"t({r['df']:.1f}) = {r['t']:.2f}, {pt}"
                        f"{' (Holm-adjusted)' if con.attrs.get('adjust') == 'holm' else ''}, "
                        f"d = {r['effect_size']:.2f}{self._evidence(r, alpha)}.")
            out.extend(cell)
        return out

    # -- output -------------------------------------------------------------------------
    def write(self, out_dir, *, figures=True):
        """Write every output table (TSV), ``fit.json``, ``model.R`` with the rows it fits
        (``model_data.tsv``: after merging participants and dropping rejected trials, so the
        script runs as written from its folder) and figures.

        Returns
        -------
        dict
            Name -> path.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        tables = {"fixed_effects": self.fixed_effects(), "anova": self.anova(),
                  "emmeans": self.emmeans(), "variance": self.variance()}
        if "group" in self.factors:
            tables["contrasts"] = self.contrasts("group")
        written = {}
        for name, df in tables.items():
            written[name] = _atomic(out / f"{name}.tsv",
                                    lambda p, df=df: df.to_csv(p, sep="\t", index=False,
                                                               float_format="%.10g",
                                                               na_rep="n/a"))
        fit = {k: v for k, v in self.fit.items()}
        fit["df_method"] = "Satterthwaite"
        fit["anova"] = "Type III, sum-to-zero coding, Satterthwaite denominator df"
        written["fit"] = _atomic(out / "fit.json", lambda p: p.write_text(
            json.dumps(fit, indent=2, default=float)))
        data = self.data.astype({c: str for c in self.factors})
        written["model_data"] = _atomic(out / "model_data.tsv", lambda p: data.to_csv(
            p, sep="\t", index=False, float_format="%.10g", na_rep="n/a"))
        written["R"] = _atomic(out / "model.R", lambda p: p.write_text(
            self.r_code("model_data.tsv")))
        if "group" in self.factors:
            written["summary"] = _atomic(out / "summary.txt", lambda p: p.write_text(
                "\n".join(self.summary_sentences()) + "\n"))
        if figures:
            fig = self.plot_diagnostics()
            written["diagnostics"] = _atomic(out / "diagnostics.png",
                                             lambda p: fig.savefig(p, dpi=110, format="png"))
        return written


def _r_string(text):
    """An R string literal (double quotes, escaped)."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _atomic(path, writer):
    with atomic_path(path) as tmp:
        writer(tmp)
    return path
