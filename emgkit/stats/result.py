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
from .emm import (
    METHODS,
    adjust_p,
    emm_cells,
    enhanced_labels,
    family_rows,
    method_matrix,
    parse_specs,
)
from .evidence import equivalence_p, jzs_bf10
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
                f"{self._groups_text()} | REML logLik "
                f"{self.fit['reml_loglik']:.3f} | {state}>")

    def _groups_text(self):
        """``"12 participants"`` for the participant grouping, ``"30 levels of Subject"``
        for any other (a model of stimuli alone does not count participants)."""
        n = self.fit["n_groups"]
        if self.groups == "participant_id":
            return f"{n} participants"
        return f"{n} levels of {self.groups}"

    def _repr_html_(self):
        return (f"<p><code>{self.lme4_formula()}</code> — REML logLik "
                f"{self.fit['reml_loglik']:.3f}, n = {self.fit['n_obs']}, "
                f"{self._groups_text()}</p>" +
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

    def emmeans(self, specs=None, *, level=0.95):
        """Estimated marginal means, as ``emmeans(m, specs)``.

        Parameters
        ----------
        specs : str | list of str | None
            emmeans' specs: ``"~ group"`` (each group's mean, averaged with equal weights
            over the other factors' levels, emmeans' ``weights = "equal"``), ``"~ group |
            condition"`` (the groups within each condition), ``"~ group * condition"``,
            ``"~ muscle | group * condition"``, or a list of factor names; a method on the
            left (``"pairwise ~ group"``) is for :meth:`contrasts` and ignored here. None:
            every cell of the factors (``emmeans(m, ~ f1 * f2 * ...)``, the layout of
            ``emmeans.tsv``). Covariates are held at their mean.
        level : float
            Confidence level of the intervals.

        Returns
        -------
        DataFrame
            One column per factor of ``specs`` then per ``by`` factor (emmeans' row order:
            the first factor varies fastest, ``by`` groups last), then ``emmean`` (outcome
            units), ``se``, ``df`` (Satterthwaite), ``ci_low``, ``ci_high``; ``attrs["by"]``
            names the ``by`` factors.
        """
        grid, Xg = self._grid()
        if specs is None:
            cells, L, by = grid[list(self.factors)].astype(str), Xg, []
        else:
            _, left, by = parse_specs(specs, self.factors)
            cells, L = emm_cells(grid, Xg, self.factors, left, by)
        est = L @ self.beta
        se = np.sqrt(np.einsum("ip,pq,iq->i", L, self.C, L))
        df = np.array([self.sat.df(x, self.C) for x in L])
        _, _, lo, hi = _t_table(est, se, df, level)
        out = cells.reset_index(drop=True).assign(emmean=est, se=se, df=df, ci_low=lo,
                                                  ci_high=hi)
        out.attrs["by"] = list(by)
        return out

    def effect_sd(self):
        """SD used for standardised effects: sqrt(residual + random-intercept variance)."""
        return float(np.sqrt(self.s2 + self.G[0, 0]))

    def interacting(self, factor):
        """The other factors that share a model term with ``factor`` (its ``by`` factors)."""
        terms = self.dinfo.term_columns
        return [f for f in self.factors if f != factor
                and any(factor in t and f in t for t in terms)]

    def contrasts(self, factor="group", *, by=None, method=None, ref=None, adjust="holm",
                  family=None, level=0.95, equivalence=None):
        """Contrasts of marginal means, as emmeans' ``contrast(emmeans(m, specs), method)``.

        ``contrasts("group")`` is ``emmeans(m, trt.vs.ctrl ~ group | by)`` with ``by`` the
        factors that interact with ``group``; ``contrasts("~ condition | muscle",
        method="pairwise", adjust=None)`` is ``emmeans(m, pairwise ~ condition | muscle)``
        with emmeans' own p values. Each mean is averaged with equal weights over the
        factors not in the specs (covariates at their mean), so a factor that does not
        interact with ``factor`` (e.g. a session ``wave`` in ``score ~ group * condition +
        wave``) gives no extra rows.

        Parameters
        ----------
        factor : str | list of str
            The factor compared (default the between-subject ``group``), or emmeans specs
            (see :meth:`emmeans`): ``"~ group | condition"``, ``"~ group * condition"``,
            ``"pairwise ~ condition | muscle"`` (the method on the left).
        by : list of str | None
            Factors within whose levels the means are compared (emmeans' ``by``). None: the
            specs' ``|`` part, or for a factor name those that interact with it in the
            formula (:meth:`interacting`).
        method : str | None
            emmeans' contrast method: ``"trt.vs.ctrl"`` (each mean minus ``ref``; the
            default), ``"pairwise"`` (every earlier level minus every later one, e.g.
            "placebo - naltrexone"), ``"revpairwise"`` (later minus earlier, "naltrexone -
            placebo"), ``"consec"`` (each level minus the previous one), ``"poly"``
            (orthogonal polynomial trends, emmeans' integer coefficients). Rows come in
            emmeans' order and with its labels (combined levels joined by a space, e.g.
            "placebo neutral - naltrexone neutral").
        ref : str | int | None
            ``"trt.vs.ctrl"``'s reference: a level (label) or emmeans' 1-based index; None:
            the first.
        adjust : str | None
            Multiplicity correction, by emmeans' names: ``"holm"`` (the default, and what
            ``contrasts.tsv`` reports), ``"tukey"``, ``"dunnettx"``, ``"sidak"``, ``"mvt"``,
            ``"bonferroni"``, ``"BH"``/``"fdr"``, ``"BY"``, ``"hochberg"``, ``"hommel"``,
            ``"none"``; None: emmeans' default for the method (``tukey`` for
            ``pairwise``/``revpairwise``, ``dunnettx`` for ``trt.vs.ctrl``, ``mvt`` for
            ``consec``, ``none`` for ``poly``). As emmeans, a family of one row is not
            adjusted and Tukey's test becomes Sidak's outside pairwise comparisons.
        family : "all" | "by" | None
            Adjust over all rows (emmeans ``summary(..., by = NULL, adjust = ...)``: one
            family for the study's question) or within each ``by`` group (emmeans' own
            default). None: ``"all"`` for Holm and the other ``p.adjust`` methods and
            Sidak, ``"by"`` for ``tukey``, ``dunnettx`` and ``mvt`` (defined per family of
            means).
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
            "equivalence")``); for a between-participant factor compared level by level,
            ``bf10``: the JZS Bayes factor (Cauchy scale √2/2, as BayesFactor's ``ttestBF``)
            of a two-sample t test of the participants' mean scores in the row's cell (equal
            weights over the other factors; not adjusted for covariates). ``attrs`` record
            ``method``, ``adjust`` (the one applied: "none" when every family has one row),
            ``family``, ``by``.
        """
        key = ("contrasts", factor if isinstance(factor, str) else tuple(factor),
               None if by is None else tuple(by), method, ref, adjust, family, level,
               None if equivalence is None else tuple(equivalence))
        if key not in self._cache:  # the sentences, main result and tables ask again
            self._cache[key] = self._contrasts(factor, by=by, method=method, ref=ref,
                                               adjust=adjust, family=family, level=level,
                                               equivalence=equivalence)
        return self._cache[key].copy()

    def _contrasts(self, factor, *, by, method, ref, adjust, family, level, equivalence):
        """:meth:`contrasts`, computed (uncached)."""
        from ..errors import ModelError

        if isinstance(factor, str) and "~" in factor or isinstance(factor, (list, tuple)):
            spec_method, left, spec_by = parse_specs(factor, self.factors)
            method = method or spec_method
            by = spec_by if by is None else list(by)
        elif factor not in self.factors:
            raise ModelError(f"contrasts: {factor!r} is not a factor of the model "
                             f"({', '.join(self.factors) or 'none'}).")
        else:
            left = [factor]
            by = self.interacting(factor) if by is None else list(by)
        method = method or "trt.vs.ctrl"
        if method not in METHODS:
            raise ModelError(f"method={method!r} is not allowed; use one of "
                             f"{', '.join(METHODS)} (emmeans' names).")
        adjust = METHODS[method] if adjust is None else adjust
        per_family = adjust in ("tukey", "dunnettx", "mvt")
        family = ("by" if per_family else "all") if family is None else family
        if family not in ("all", "by"):
            raise ModelError(f"family={family!r} is not allowed; use 'all' or 'by'.")
        if family == "all" and per_family and by:
            raise ModelError(f"adjust={adjust!r} is defined within families of means; use "
                             f"family='by' (emmeans' default) or a p.adjust method such as "
                             f"'holm' over all rows.")
        unknown = [b for b in by if b not in self.factors or b in left]
        if unknown:
            raise ModelError(f"contrasts: by={unknown} are not other factors of the model "
                             f"({', '.join(f for f in self.factors if f not in left)}).")
        grid, Xg = self._grid()
        cells, Lc = emm_cells(grid, Xg, self.factors, left, by)
        labels = enhanced_labels(cells[left]).agg(" ".join, axis=1).to_numpy()
        keys = [tuple(r) for r in cells[by].itertuples(index=False)] if by else \
            [()] * len(cells)
        raw = cells[left].agg(" ".join, axis=1).to_numpy()
        rows, Ls, fam = [], [], []
        for k, idx in enumerate(family_rows(keys)):
            where = list(raw[idx])  # a ref given as a plain level, e.g. "1" for Diet1
            r = where.index(str(ref)) + 1 if isinstance(ref, str) and ref in where else ref
            names, K = method_matrix(method, list(labels[idx]), r)
            Ls.append(K @ Lc[idx])
            rows += [{"contrast": n, **dict(zip(by, keys[idx[0]]))} for n in names]
            fam += [k] * len(names)
        L = np.vstack(Ls)
        est = L @ self.beta
        V = L @ self.C @ L.T
        se = np.sqrt(np.diag(V))
        df = np.array([self.sat.df(x, self.C) for x in L])
        t, p, lo, hi = _t_table(est, se, df, level)
        fam = np.array(fam)
        groups = [np.arange(len(p))] if family == "all" else \
            [np.flatnonzero(fam == k) for k in sorted(set(fam))]
        n_means = len(labels) // max(len(set(keys)), 1)
        p_adj, applied = adjust_p(t, df, p, adjust or "none", groups, n_means=n_means,
                                  pairwise=method in ("pairwise", "revpairwise"),
                                  corr=V / np.outer(se, se))
        out = pd.DataFrame(rows, columns=["contrast"] + by).assign(
            estimate=est, se=se, df=df, t=t, p=p, p_adj=p_adj, ci_low=lo, ci_high=hi,
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
        if len(left) == 1 and method != "poly" and self._between(left[0]):
            out["bf10"] = [self._bf10(left[0], row, by) for _, row in out.iterrows()]
        out.attrs.update(method=method, adjust=applied, family=family, by=by)
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
        else all pairs, later level minus earlier (emmeans ``revpairwise``);
        ``reference = "pairwise"`` or ``"revpairwise"``: all pairs by that emmeans method
        (``pairwise``: earlier minus later level). Each factor is compared within the
        levels of the factors it interacts with (:meth:`interacting`); p values are
        Holm-adjusted over all rows of a factor (emmeans ``summary(contrast(emm, method),
        by = NULL, adjust = "holm")``), not by emmeans' per-method default.

        Returns
        -------
        list of dict
            ``factor``, ``method`` (emmeans' name: "trt.vs.ctrl", "pairwise" or
            "revpairwise"), ``ref`` (level or None), ``by`` (list of factors).
        """
        plan = []
        if "group" in self.factors and self._between("group"):
            plan.append({"factor": "group", "method": "trt.vs.ctrl",
                         "ref": self.factors["group"][0]})
        for f in self.within_factors():
            if f == "muscle":
                continue
            levels, ref = self.factors[f], self.reference
            if ref in ("pairwise", "revpairwise"):
                plan.append({"factor": f, "method": ref, "ref": None})
            elif ref in levels:
                plan.append({"factor": f, "method": "trt.vs.ctrl", "ref": ref})
            elif levels[0] in REFERENCE_LEVELS:
                plan.append({"factor": f, "method": "trt.vs.ctrl", "ref": levels[0]})
            else:
                plan.append({"factor": f, "method": "revpairwise", "ref": None})
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
        levels = [str(v) for v in self.factors[factor]]
        a, b = (x[len(factor):] if x not in levels and x.startswith(factor) else x
                for x in row["contrast"].split(" - "))
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

    def random_intercepts(self):
        """The participants' random intercepts (conditional modes, BLUPs; outcome units).

        Returns
        -------
        pandas.Series
            One value per participant, indexed by the participant column's values.
        """
        y = self.data[self.outcome].to_numpy(float)
        r = y - self.X @ self.beta
        crit, G, s2 = self.crit, self.G, self.s2
        if self.crossed:  # one block: the participant factor's levels come first
            b = np.linalg.solve(s2 * np.eye(crit.q) + G @ crit.ZtZ[0], G @ (crit.Z.T @ r))
            levels = np.unique(crit.factors[0])
            return pd.Series(b[:len(levels)], index=levels, name="random_intercept")
        levels = np.unique(crit.groups)
        out = np.empty(len(levels))
        for k, g in enumerate(levels):  # the intercept is Z's first column
            m = crit.groups == g
            Zi = crit.Z[m]
            M = s2 * np.eye(crit.q) + G @ (Zi.T @ Zi)
            out[k] = np.linalg.solve(M, G @ (Zi.T @ r[m]))[0]
        return pd.Series(out, index=levels, name="random_intercept")

    def diagnostics_table(self):
        """Per row of the model's data: participant, fitted value (Xβ̂ + Zb̂), conditional
        residual, and the participant's random intercept (what ``residuals.tsv`` holds and
        the group report's diagnostics page draws, as vector plots).

        Returns
        -------
        DataFrame
            ``participant_id``, ``fitted``, ``residual``, ``random_intercept`` (outcome
            units).
        """
        fitted, resid = self.residuals()
        pid = self.data[self.groups].to_numpy()
        ri = self.random_intercepts()
        return pd.DataFrame({"participant_id": pid, "fitted": fitted, "residual": resid,
                             "random_intercept": ri.reindex(pid).to_numpy(float)})

    def plot_diagnostics(self, ax=None):
        """Residuals vs fitted, a normal Q-Q plot of the conditional residuals and one of
        the participants' random intercepts
        (:func:`emgkit.viz.group.plot_model_diagnostics`).

        Parameters
        ----------
        ax : array of three Axes | None

        Returns
        -------
        matplotlib.figure.Figure
        """
        from ..viz.group import plot_model_diagnostics

        return plot_model_diagnostics(self.diagnostics_table(), ax=ax, outcome=self.outcome)

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
            what = {"trt.vs.ctrl": f"each level of {p['factor']} against {p['ref']} "
                                   f"(emmeans trt.vs.ctrl)",
                    "pairwise": f"all pairs of {p['factor']} levels, earlier minus later "
                                f"level (emmeans pairwise)",
                    "revpairwise": f"all pairs of {p['factor']} levels, later minus earlier "
                                   f"level (emmeans revpairwise)"}[p["method"]]
            by = f" within each level of {' × '.join(p['by'])}" if p["by"] else ""
            out.append(f"Estimated marginal means (equal weights over the other factors) "
                       f"compared {what}{by}; p values Holm-adjusted over these {p['factor']} "
                       f"contrasts (emmeans adjust = \"holm\", by = NULL), 95 % CIs "
                       f"unadjusted.")
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
        written["residuals"] = _atomic(out / "residuals.tsv", lambda p: self.diagnostics_table()
                                       .to_csv(p, sep="\t", index=False, float_format="%.10g",
                                               na_rep="n/a"))
        if figures:
            fig = self.plot_diagnostics()
            written["diagnostics"] = _atomic(out / "diagnostics.png",
                                             lambda p: fig.savefig(p, dpi=110, format="png"))
        return written


def _atomic(path, writer):
    with atomic_path(path) as tmp:
        writer(tmp)
    return path
