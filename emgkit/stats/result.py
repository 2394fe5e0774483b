"""The fitted model's outputs: tidy tables, figures, sentences and R code."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .._files import atomic_path
from .._numbers import fmt_num, fmt_nums, fmt_p
from ..config.formula import Formula, deparse, r_name
from .design import REFERENCE_LEVELS, reference_grid
from .evidence import adjust_p, equivalence_p, jzs_bf10
from .reml import RemlCriterion
from .satterthwaite import Satterthwaite
from .type3 import type3_contrasts


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
    reference: str | None = None  # [model] reference of the within-participant contrasts
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
        """Type III F tests per term, as lmerTest's ``anova(m, type = 3)``.

        Each term's hypothesis is lmerTest's Type III matrix (SAS's Type III estimable
        functions, :func:`emgkit.stats.type3.type3_contrasts`): a main effect is averaged
        over the levels of the factors it interacts with, and tested where the covariates
        it interacts with are 0 (as lmerTest and SPSS do); a model with one term gets
        lmerTest's Type I matrix. Denominator df by Satterthwaite's method, for multi-df
        tests pooled over the rows of that matrix (lmerTest's ``contestMD``): the basis
        matters for the df, and this is lmerTest's.

        Returns
        -------
        DataFrame
            ``term``, ``num_df``, ``den_df``, ``F``, ``p``.
        """
        if "anova" in self._cache:
            return self._cache["anova"].copy()
        hyp = type3_contrasts(self.dinfo, self.X, self.data)
        rows = []
        for term, L in hyp.items():
            F, q, ddf = self.sat.df_F(L, self.beta, self.C)
            rows.append({"term": term, "num_df": q, "den_df": ddf, "F": F,
                         "p": float(stats.f.sf(F, q, ddf))})
        out = pd.DataFrame(rows, columns=["term", "num_df", "den_df", "F", "p"])
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

    def contrasts(self, factor="group", *, by=None, method="trt.vs.ctrl", ref=None,
                  adjust="holm", family="all", level=0.95, equivalence=None):
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
            Each level minus the reference level, or all pairs (later minus earlier level,
            emmeans' ``revpairwise``).
        ref : str | None
            The reference level of ``"trt.vs.ctrl"``; None: the factor's first level.
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
        key = ("contrasts", factor, None if by is None else tuple(by), method, ref, adjust,
               family, level, None if equivalence is None else tuple(equivalence))
        if key not in self._cache:  # the sentences, main result and tables ask again
            self._cache[key] = self._contrasts(factor, by=by, method=method, ref=ref,
                                               adjust=adjust, family=family, level=level,
                                               equivalence=equivalence)
        return self._cache[key].copy()

    def _contrasts(self, factor, *, by, method, ref, adjust, family, level, equivalence):
        """:meth:`contrasts`, computed (uncached)."""
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
            ref = levels[0] if ref is None else str(ref)
            if ref not in levels:
                raise ModelError(f"contrasts: ref={ref!r} is not a level of {factor!r} "
                                 f"({', '.join(levels)}).")
            pairs = [(lv, ref) for lv in levels if lv != ref]
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
                p_adj[idx] = adjust_p(p[idx], adjust)[0]
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

    # -- the contrasts a model reports ----------------------------------------------------
    def between_factors(self):
        """The factors constant within every participant (e.g. ``group``)."""
        return [f for f in self.factors if self._between(f)]

    def within_factors(self):
        """The factors that vary within participants (e.g. ``condition``, ``muscle``)."""
        return [f for f in self.factors if not self._between(f)]

    def design(self):
        """``"between"``, ``"within"``, ``"mixed"`` (both kinds of factor) or ``"none"`` (no
        factor: covariates or intercept only)."""
        between, within = bool(self.between_factors()), bool(self.within_factors())
        return {(True, True): "mixed", (True, False): "between",
                (False, True): "within"}.get((between, within), "none")

    def contrast_plan(self):
        """The contrasts the model reports (``contrasts.tsv``, the summary, the report).

        The between-participant ``group`` factor: each group against the reference group
        (the first level, e.g. ``placebo``). Every within-participant factor but ``muscle``:
        each level against the reference set at fitting (``[model] reference``, emmeans
        ``trt.vs.ctrl``) when the factor has that level, else against its first level when
        that is one of :data:`~emgkit.stats.design.REFERENCE_LEVELS` (e.g. ``neutral``),
        else all pairs; ``reference = "pairwise"``: all pairs.
        Each factor is compared within the levels of the factors it interacts with
        (:meth:`interacting`).

        Returns
        -------
        list of dict
            ``factor``, ``method`` ("trt.vs.ctrl" | "pairwise"), ``ref`` (level or None),
            ``by`` (list of factors).
        """
        plan = []
        if "group" in self.factors and self._between("group"):
            plan.append({"factor": "group", "method": "trt.vs.ctrl",
                         "ref": self.factors["group"][0]})
        for f in self.within_factors():
            if f == "muscle":
                continue
            levels, ref = self.factors[f], self.reference
            if ref != "pairwise" and ref in levels:
                plan.append({"factor": f, "method": "trt.vs.ctrl", "ref": ref})
            elif ref != "pairwise" and levels[0] in REFERENCE_LEVELS:
                plan.append({"factor": f, "method": "trt.vs.ctrl", "ref": levels[0]})
            else:
                plan.append({"factor": f, "method": "pairwise", "ref": None})
        for item in plan:
            item["by"] = self.interacting(item["factor"])
        return plan

    def reported_contrasts(self, level=0.95):
        """Every contrast of :meth:`contrast_plan` in one table (``contrasts.tsv``).

        Holm-adjusted over the rows of each factor (the group contrasts are one family, the
        contrasts of each within-participant factor another); intervals unadjusted.

        Returns
        -------
        DataFrame
            ``factor`` (the factor compared), then the columns of :meth:`contrasts` (the
            ``by`` columns of every factor; n/a where a factor has none); empty when the
            model has nothing to compare.
        """
        key = ("reported_contrasts", level)
        if key not in self._cache:
            parts = [self.contrasts(p["factor"], by=p["by"], method=p["method"], ref=p["ref"],
                                    level=level).assign(factor=p["factor"])
                     for p in self.contrast_plan()]
            out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
            by = [c for c in self.factors if c in out.columns]
            self._cache[key] = out[["factor", "contrast"] + by + [
                c for c in out.columns if c not in ["factor", "contrast"] + by]] \
                if parts else out
        return self._cache[key].copy()

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
        (:meth:`write` puts the model's rows beside the script under that name) and
        rebuilds ``anova.tsv``, ``emmeans.tsv`` and ``contrasts.tsv`` (see
        :func:`emgkit.stats.rcode.r_code`)."""
        from .rcode import r_code

        return r_code(self, data_file)

    def summary_sentences(self, factor=None, alpha=0.05):
        """One APA-style sentence per contrast (see :meth:`contrasts`); a singular fit or
        fewer than 5 participants per group is said first, and in each significant sentence.

        Parameters
        ----------
        factor : str | None
            The factor compared; None: every factor of :meth:`contrast_plan` (the group
            contrasts first).
        alpha : float
            Threshold for the Holm-adjusted p.
        """
        plan = self.contrast_plan()
        if factor is not None:
            plan = [p for p in plan if p["factor"] == factor] or [
                {"factor": factor, "method": "trt.vs.ctrl", "ref": None, "by": None}]
        out = []
        if self.fit.get("singular"):
            out.append("Caution: the random-effects fit is singular (a variance of 0 or a "
                       "correlation of ±1); the tests below rest on a boundary estimate.")
        why = ["singular fit"] if self.fit.get("singular") else []
        small = False
        for f in dict.fromkeys([p["factor"] for p in plan if self._between(p["factor"])]):
            sizes = self.data.groupby(f, observed=True)[self.groups].nunique()
            if (sizes < 5).any():
                small = True
                why.append("< 5 per group")
                out.append(f"Caution: fewer than 5 participants per level of {f} "
                           f"({', '.join(f'{n} in {lv}' for lv, n in sizes.items())}); the "
                           f"df and p values below are not trustworthy at this size.")
        if plan and not small and self.data[self.groups].nunique() < 5:
            why.append("< 5 participants")
            out.append(f"Caution: only {self.data[self.groups].nunique()} participants; the "
                       f"df and p values below are not trustworthy at this size.")
        tentative = " or ".join(dict.fromkeys(why))
        for p in plan:
            con = self.contrasts(p["factor"], by=p["by"], method=p["method"], ref=p["ref"])
            out += [self._sentence(r, con, p["factor"], tentative, alpha)
                    for _, r in con.iterrows()]
        return out

    def _sentence(self, r, con, factor, tentative, alpha):
        """One contrast row in words; ``tentative``: why a significant row is no evidence
        ("" when it is)."""
        a, b = r["contrast"].split(" - ")
        muscle = r.get("muscle", self.context.get("muscle"))
        stim = [r[c] for c in con.columns if c in ("emotion", "condition") and c != factor]
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
            verb = f"nominally {verb} ({tentative}: not evidence)"
        pt = fmt_p(p, prefix=True)
        adjusted = con.attrs.get("adjust") not in ("none", None)
        est, lo, hi = fmt_nums([r["estimate"], r["ci_low"], r["ci_high"]])
        return (f"{a[:1].upper() + a[1:]} (vs {b}) {verb} {what}, b = {est}, "
                f"95 % CI [{lo}, {hi}]"
                f"{' (unadjusted)' if adjusted else ''}, "
                f"t({r['df']:.1f}) = {r['t']:.2f}, {pt}"
                f"{' (Holm-adjusted)' if con.attrs.get('adjust') == 'holm' else ''}, "
                f"d = {r['effect_size']:.2f}{self._evidence(r, alpha)}.")

    def main_result(self, alpha=0.05):
        """The sentences of the study's main question: the group contrasts when the model
        has a between-participant group, else the within-participant contrasts (with the
        cautions of :meth:`summary_sentences`)."""
        plan = self.contrast_plan()
        if not plan:
            return []
        return self.summary_sentences(plan[0]["factor"] if plan[0]["factor"] == "group"
                                      else None, alpha)

    def methods_sentences(self):
        """The model and its contrasts in words, for a methods section."""
        design = {"between": "a between-participant design",
                  "within": "a within-participant design",
                  "mixed": "a mixed design (between- and within-participant factors)",
                  "none": "a model without factors"}[self.design()]
        out = [(f"Scores were analysed as {design} with a linear mixed model fitted by REML "
                f"(lme4 formula {self.lme4_formula()}; treatment coding); tests and intervals "
                f"use Satterthwaite df; Type III F tests use lmerTest's hypothesis "
                f"matrices.")]
        for p in self.contrast_plan():
            what = (f"each level of {p['factor']} against {p['ref']}"
                    if p["method"] == "trt.vs.ctrl" else f"all pairs of {p['factor']} levels")
            by = f" within each level of {' × '.join(p['by'])}" if p["by"] else ""
            out.append(f"Estimated marginal means (equal weights over the other factors) "
                       f"compared {what}{by}; p values Holm-adjusted over these {p['factor']} "
                       f"contrasts, 95 % CIs unadjusted.")
        return out

    # -- output -------------------------------------------------------------------------
    def write(self, out_dir, *, figures=True):
        """Write every output table (TSV), ``fit.json``, ``model.R`` with the rows it fits
        (``model_data.tsv``: after merging participants and dropping rejected trials, so the
        script runs as written from its folder) and figures.

        ``contrasts.tsv`` holds :meth:`reported_contrasts` (group and within-participant
        contrasts, a ``factor`` column says which) and ``summary.txt`` their sentences;
        ``fit.json`` adds the ``design``, its ``between``/``within`` factors, the
        ``contrasts`` plan, a ``methods`` paragraph and the ``main_result`` sentences (the
        group report's first page). ``Rscript model.R``, run in this folder, prints the
        data frames ``anova_table``, ``emm_table`` and ``contrast_table`` and writes them
        as ``model_R_anova.tsv``, ``model_R_emmeans.tsv`` and ``model_R_contrasts.tsv``:
        the numbers of ``anova.tsv``, ``emmeans.tsv`` and ``contrasts.tsv`` to ~1e-4
        (Satterthwaite df pinned for emmeans; ``bf10`` and ``p_equiv`` are not recomputed).

        Returns
        -------
        dict
            Name -> path.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        tables = {"fixed_effects": self.fixed_effects(), "anova": self.anova(),
                  "emmeans": self.emmeans(), "variance": self.variance()}
        con = self.reported_contrasts()
        if not con.empty:
            tables["contrasts"] = con
        written = {}
        for name, df in tables.items():
            written[name] = _atomic(out / f"{name}.tsv",
                                    lambda p, df=df: df.to_csv(p, sep="\t", index=False,
                                                               float_format="%.10g",
                                                               na_rep="n/a"))
        fit = {k: v for k, v in self.fit.items()}
        fit["df_method"] = "Satterthwaite"
        fit["anova"] = ("Type III (lmerTest's hypothesis matrices), Satterthwaite denominator "
                        "df")
        fit["design"] = self.design()
        fit["between"], fit["within"] = self.between_factors(), self.within_factors()
        fit["contrasts"] = self.contrast_plan()
        fit["methods"] = " ".join(self.methods_sentences())
        fit["main_result"] = self.main_result()
        written["fit"] = _atomic(out / "fit.json", lambda p: p.write_text(
            json.dumps(fit, indent=2, default=float)))
        data = self.data.astype({c: str for c in self.factors})
        written["model_data"] = _atomic(out / "model_data.tsv", lambda p: data.to_csv(
            p, sep="\t", index=False, float_format="%.10g", na_rep="n/a"))
        written["R"] = _atomic(out / "model.R", lambda p: p.write_text(
            self.r_code("model_data.tsv")))
        if not con.empty:
            written["summary"] = _atomic(out / "summary.txt", lambda p: p.write_text(
                "\n".join(self.summary_sentences()) + "\n"))
        if figures:
            fig = self.plot_diagnostics()
            written["diagnostics"] = _atomic(out / "diagnostics.png",
                                             lambda p: fig.savefig(p, dpi=110, format="png"))
        return written


def _atomic(path, writer):
    with atomic_path(path) as tmp:
        writer(tmp)
    return path
