"""Fit linear mixed models by REML and make them trustworthy.

:func:`fit_model` minimises the profiled REML criterion (:mod:`emgkit.stats.reml`, the one
lme4 optimises) with its exact gradient from several starts (lme4's, smaller and larger
relative scales, a moment estimate, a previous fit), moves boundary solutions inside while
the criterion still falls there, and finishes with Newton steps (on the free parameters of a
singular fit too). statsmodels
``MixedLM`` fits (whose default ``fit()`` can stop short of the optimum) serve only as
further start values. All inference (SEs, Satterthwaite df, Type III tests, marginal means,
contrasts) is computed at that optimum.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from ..config.formula import (
    Formula,
    Num,
    Op,
    Random,
    Var,
    deparse,
    r_name,
    summands,
    variables,
)
from ..config.random_terms import RandomTerm, re_formula_term
from ..errors import ModelError
from .design import as_table, prepare_data
from .formula import design_matrix, model_formula
from .lmm import fit_general
from .reml import CrossedReml, RemlCriterion, newton_refine
from .result import MixedResult
from .satterthwaite import Satterthwaite

logger = logging.getLogger("emgkit")

#: lme4's ``isSingular`` tolerance on the relative Cholesky factor's diagonal
SINGULAR_TOL = 1e-4

#: crossed intercepts with more levels than this go to the sparse engine (CrossedReml keeps
#: a dense n × levels design)
DENSE_CROSSED_MAX = 300

#: statsmodels optimizers tried (lbfgs, statsmodels' default, is slow with random slopes)
OPTIMIZERS = ("bfgs", "lbfgs", "powell", "nm", "cg")
SLOPE_OPTIMIZERS = ("bfgs", "nm", "powell", "cg")


def _check_rank(X, names, formula):
    rank = np.linalg.matrix_rank(X)
    if rank < X.shape[1]:
        # find the columns that add nothing (collinear with earlier ones)
        bad, cols = [], []
        for k in range(X.shape[1]):
            cols.append(k)
            if np.linalg.matrix_rank(X[:, cols]) < len(cols):
                bad.append(names[k])
                cols.pop()
        raise ModelError(f"The model {formula!r} is not identifiable: the column(s) "
                         f"{', '.join(bad)} are collinear with the others (e.g. a cell of the "
                         f"design without data, or a covariate constant within a factor). "
                         f"Simplify the formula or check the table.")


def _check_between_counts(data, factors, groups, label=""):
    """A between-participant factor needs ≥ 2 participants per level (an error) and should
    have ≥ 5 (a warning): with fewer, its test rests on a variance it cannot estimate.

    Returns
    -------
    dict
        Factor -> {level: participants} for the factors with a level under 5.
    """
    out = {}
    for f in factors:
        per = data.groupby(groups, observed=True)[f].nunique()
        if (per > 1).any():
            continue  # within-participant
        counts = data.groupby(f, observed=True)[groups].nunique()
        few = counts[counts < 2]
        if len(few):
            raise ModelError(f"The between-participant factor {f!r} has "
                             + ", ".join(f"{n} participant in {lv!r}" for lv, n in few.items())
                             + f"; a group comparison needs at least 2 participants per "
                             f"level (counts: {counts.to_dict()}). Add participants or drop "
                             f"{f!r} from the formula.")
        small = counts[counts < 5]
        if len(small):
            out[f] = {str(k): int(v) for k, v in counts.items()}
            logger.warning("%sThe between-participant factor %r has fewer than 5 participants "
                           "in %s (counts: %s); its test and contrasts have little power and "
                           "lean on the random-intercept variance.", label, f,
                           ", ".join(repr(v) for v in small.index), counts.to_dict())
    return out


def _check_pooled_muscles(table, mf, text, used):
    """Refuse a table with several muscles whose formula has no ``muscle`` term: one model
    would pool corrugator and zygomaticus as if they were repetitions of one measure.

    Raises
    ------
    ModelError
        Naming the muscles and both ways out: ``muscle`` in the formula, or one model per
        muscle with :func:`~emgkit.stats.fit_models` (what ``emgkit run``/``stats`` do).
    """
    if "muscle" not in table.columns or "muscle" in used:
        return
    muscles = sorted(map(str, pd.unique(table["muscle"].dropna())))
    if len(muscles) < 2:
        return
    rhs = Op("*", mf.fixed, Var("muscle"))
    for term in summands(mf.formula.rhs):
        if isinstance(term, Random):
            rhs = Op("+", rhs, term)
    with_muscle = deparse(Formula(mf.formula.outcome, rhs))
    raise ModelError(f"The table has {len(muscles)} muscles ({', '.join(muscles)}) but the "
                     f"formula {text!r} has no muscle term: one model would pool them. Add "
                     f"muscle to the formula: fit_model(table, {with_muscle!r}); or fit one "
                     f"model per muscle, as emgkit run does: fit_models(table, {text!r}, "
                     f"by='muscle'); or select one muscle: table[table.muscle == "
                     f"{muscles[0]!r}].")


def reml_optimum(crit, start=None):
    """emgkit's optimiser: the profiled REML criterion minimised from several starts
    (:meth:`~emgkit.stats.reml.RemlCriterion.optimise`: lme4's identity start, smaller and
    larger relative scales, a moment estimate, and ``start`` if given), with boundary
    solutions moved inside while the criterion still falls there, and a Newton polish of the
    best on its free parameters. A criterion with its own global search overrides
    ``optimise`` (e.g. :class:`~emgkit.stats.cells.CellReml`'s 1-D search).

    Parameters
    ----------
    crit : RemlCriterion | CrossedReml
    start : ndarray | None
        A relative covariance ``G/σ²`` tried first (e.g. the previous fit's in a loop).

    Returns
    -------
    dict
        ``G``, ``s2``, ``loglik``, ``converged``, ``start`` (the start that won) and
        ``logliks`` (start -> REML log-likelihood reached), as
        :meth:`~emgkit.stats.reml.RemlCriterion.optimise`.
    """
    starts = crit.default_starts()
    if start is not None:
        starts = {"given": np.asarray(start, float), **starts}
    return crit.optimise(starts)



def _statsmodels_starts(y, X, grp, Z, optimizers):
    """statsmodels ``MixedLM`` REML fits with each optimizer (start values)."""
    # the model module alone: statsmodels.api would import every model statsmodels has
    from statsmodels.regression.mixed_linear_model import MixedLM

    attempts = []
    model = MixedLM(y, X, grp, exog_re=Z)
    for method in optimizers:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                res = model.fit(reml=True, method=method)
            except (np.linalg.LinAlgError, ValueError) as exc:
                attempts.append(dict(optimizer=method, loglik=np.nan, converged=False,
                                     message=str(exc)))
                continue
        attempts.append(dict(optimizer=method, loglik=float(res.llf),
                             converged=bool(res.converged),
                             message="; ".join(sorted({str(w.message)[:120] for w in caught})),
                             G=np.atleast_2d(np.asarray(res.cov_re)), scale=float(res.scale)))
    return attempts


def fit_model(table, formula, *, participants=None, groups=None, re_formula=None,
              crossed=None, levels=None, drop_rejected=True, dropna=False, optimizers=None,
              equivalence=None, reference=None, label=None, start=None):
    """Fit a linear mixed model by REML.

    Parameters
    ----------
    table : DataFrame | path-like
        Trial, time-bin or cell table (e.g. ``trials.tsv`` of one or many participants), or
        its path (a results folder: its trials, as :func:`emgkit.read_trials`). A table with
        several muscles needs ``muscle`` in the formula; for one model per muscle use
        :func:`~emgkit.stats.fit_models` with ``by="muscle"``.
    formula : str
        An lme4/R formula, parsed by emgkit's grammar and never evaluated
        (:func:`emgkit.config.formula.parse_formula`): ``"score ~ group * condition"``,
        ``"score ~ group * emotion * muscle + trait"``, with random terms
        ``"score ~ group * condition + (1 | participant_id) + (1 | stimulus_id)"`` or
        ``"score ~ group * condition + (1 + condition | participant_id)"``. Column names
        may be anything (backticks for non-syntactic ones, ``Informed.liking`` as is);
        transforms ``log()``, ``scale()``, ``center()``, ``C()``/``factor()``, ``poly(x,
        k)``. Categorical predictors use treatment coding with the reference level first
        (``placebo``, ``neutral`` and ``corrugator`` by default, otherwise alphabetical;
        see ``levels``). Without random terms, a random intercept per ``groups`` (and the
        ``re_formula``/``crossed`` keywords, a shorthand) is used.
    participants : DataFrame | path-like | None
        ``participant_id``, ``group`` and covariates, or the path of ``participants.tsv``
        (read as :func:`emgkit._files.read_tsv`: ``01`` and ``sub-01`` are one participant);
        merged on ``groups``.
    groups : str | None
        Participant column; a random intercept per participant is always included. None:
        ``participant_id``, or with random terms in the formula, the one grouped by
        ``participant_id`` (else the first).
    re_formula : str | None
        Random slopes per ``groups``: ``"~ condition"`` is lme4's ``(1 + condition |
        groups)``, ``"~ 0 + day"`` is ``(0 + day | groups)`` (no random intercept); None =
        intercept only. Not combined with random terms in the formula.
    crossed : str | list of str | None
        Column(s) with a crossed random intercept, e.g. ``"stimulus_id"`` (lme4:
        ``(1 | participant_id) + (1 | stimulus_id)``); with ``re_formula`` too.
    levels : dict | None
        Column -> ordered levels (first = reference).
    drop_rejected : bool
        Drop rows whose ``rejected`` column is true.
    dropna : bool
        Drop rows with missing model values instead of raising.
    optimizers : sequence of str | None
        statsmodels optimizers whose fits serve as further start values (the best REML
        log-likelihood wins). None: only when emgkit's optimiser (L-BFGS-B with the exact
        gradient of the profiled REML criterion, from lme4's start) does not converge, then
        :data:`OPTIMIZERS` (intercept only) or :data:`SLOPE_OPTIMIZERS`.

    equivalence : (float, "raw" | "sd") | None
        Smallest effect of interest: the contrasts get equivalence tests against ±delta (in
        the outcome's units or in SD units, see :meth:`MixedResult.contrasts`).
    reference : str | None
        The level every other level of a within-participant factor is compared with in
        the reported contrasts (``"neutral"``: emmeans ``trt.vs.ctrl``), or ``"pairwise"``
        (emmeans ``pairwise``: earlier minus later level) or ``"revpairwise"`` (later minus
        earlier)
        for all pairs; None: the factor's first level when it is ``neutral`` (or another of
        :data:`~emgkit.stats.design.REFERENCE_LEVELS`), else all pairs (see
        :meth:`MixedResult.contrast_plan`).
    label : str | None
        Names the model in warnings (e.g. ``"muscle = zygomaticus"`` for one of a split).
    start : ndarray | MixedResult | None
        A further start for the optimiser, tried before lme4's: a relative covariance
        ``G/σ²`` of the random effects (q × q, or the crossed model's diagonal) or a previous
        fit of the same random-effects structure (power and multiverse loops). The fit
        records the start that won in ``fit["start"]``.

    Returns
    -------
    MixedResult

    Raises
    ------
    ModelError
        Bad table (missing columns, NaNs, unknown participants), several muscles without a
        ``muscle`` term, a term with one level, a grouping with one level or as many levels
        as rows, or a design that is not identifiable; a
        :class:`~emgkit.errors.FormulaError` for a formula outside the grammar (naming the
        token).

    Notes
    -----
    Random terms are any lme4 writes: ``(x | g)``, uncorrelated ``(x || g)`` (expanded as
    lme4 does into ``(1 | g) + (0 + x | g)``), ``(0 + x | g)``, nesting ``(1 | a/b)`` (=
    ``(1 | a) + (1 | b:a)``), interactions ``(1 | a:b)``, several terms on one grouping,
    slopes together with crossed terms. One correlated term on ``groups`` and (small)
    crossed intercepts use the specialised exact criteria of :mod:`emgkit.stats.reml`;
    everything else, and crossed designs with more than :data:`DENSE_CROSSED_MAX` levels,
    lme4's sparse penalised least squares (:mod:`emgkit.stats.lmm`, Satterthwaite df as
    lmerTest computes them; ``fit["engine"] == "sparse"``).
    """
    mf = model_formula(formula)
    text = formula if isinstance(formula, str) else deparse(mf.formula)
    groups, terms = _random_structure(mf, groups, re_formula, crossed)
    legacy = _legacy_structure(terms, groups)
    slopes, crossed = legacy if legacy is not None else (None, [])
    extra = list(dict.fromkeys(
        [v for t in terms for v in (variables(t.slopes) if t.slopes is not None else [])]
        + [c for t in terms for c in t.grouping if c != groups]))
    table = as_table(table, param="table", what="Trial table")
    _check_pooled_muscles(table, mf, text, set(mf.predictors) | set(extra) | {groups})
    data, factors = prepare_data(table, mf, participants=participants, groups=groups,
                                 levels=levels, drop_rejected=drop_rejected, dropna=dropna,
                                 extra=extra)
    tag = f"{label}: " if label else ""
    small_groups = _check_between_counts(data, factors, groups, tag)
    _check_reference(reference, data, factors, groups, tag)
    outcome, preds = mf.outcome, mf.predictors
    X, dinfo = mf.matrix(data, factors)
    _check_rank(X, dinfo.column_names, text)
    if slopes is not None:
        Z, zinfo = design_matrix(Op("+", Num(1), slopes), data, factors)
        z_names = zinfo.column_names
    else:
        Z, z_names = np.ones((len(data), 1)), ["(Intercept)"]
    y = data[outcome].to_numpy(float)
    grp = data[groups].to_numpy()
    if len(y) <= X.shape[1]:
        raise ModelError(f"{len(y)} rows cannot estimate {X.shape[1]} fixed effects.")
    if legacy is None or (crossed and sum(data[c].nunique() for c in [groups] + crossed)
                          > DENSE_CROSSED_MAX):
        return fit_general(data, factors, mf, text, terms, groups, X, dinfo, y,
                           start=start, tag=tag, small_groups=small_groups,
                           equivalence=equivalence, reference=reference)

    for c in crossed:
        data[c] = data[c].astype(str)
        if data[c].nunique() < 2:
            raise ModelError(f"The crossed random factor {c!r} has one level only.")
    if crossed:
        crit = CrossedReml(y, X, [grp] + [data[c].to_numpy() for c in crossed])
    else:
        crit = RemlCriterion(y, X, Z, grp)
    # emgkit's multi-start optimiser with the exact gradient; statsmodels' fits serve as
    # further starts when asked for, or when this does not converge
    if start is not None and hasattr(start, "G"):
        start = np.asarray(start.G) / start.s2
    opt = reml_optimum(crit, start)
    G, s2, ok, loglik = opt["G"], opt["s2"], opt["converged"], opt["loglik"]
    won = opt["start"]
    attempts, how = [], "L-BFGS-B on the profiled REML criterion (exact gradient, multi-start)"
    if optimizers is not None or not (ok and np.isfinite(loglik)):
        if optimizers is None:
            optimizers = OPTIMIZERS if Z.shape[1] == 1 else SLOPE_OPTIMIZERS
        attempts = _statsmodels_starts(y, X, grp, Z, optimizers)
        finite = [a for a in attempts if np.isfinite(a["loglik"])]
        if finite:
            best = max(finite, key=lambda a: a["loglik"])
            if crossed:  # statsmodels fits the participant intercept only
                G0 = np.diag(np.repeat([best["G"][0, 0]] + [0.1 * best["scale"]] *
                                       len(crossed), crit.sizes))
            else:
                G0 = best["G"]
            G1, s21, ok1, ll1 = crit.polish(G0, best["scale"])
            if not crossed and not np.isfinite(ll1) and best["loglik"] > -np.inf:
                G1, s21, ok1, ll1 = best["G"], best["scale"], False, best["loglik"]
            if np.isfinite(ll1) and (not np.isfinite(loglik) or ll1 > loglik + 1e-10):
                G, s2, ok, loglik = G1, s21, ok1, ll1
                won = f"statsmodels {best['optimizer']}"
                how = f"statsmodels {best['optimizer']} start + profiled-REML refinement"
    if not np.isfinite(loglik):
        detail = "; ".join(f"{a['optimizer']}: {a['message']}" for a in attempts)
        raise ModelError(f"No optimizer could fit {text!r}"
                         + (f" + {' + '.join(f'(1 | {c})' for c in crossed)}" if crossed
                            else "") + (f": {detail}" if detail else "") + ".")
    theta, loglik = newton_refine(crit, crit.pack(G, s2))
    G, s2 = crit.unpack(theta)
    beta, C = crit.gls(theta)
    # lme4's isSingular: a bounded relative-covariance parameter below 1e-4
    singular = bool(np.any(crit.relative_factor_diagonal(theta) < SINGULAR_TOL))
    if singular:
        logger.warning("%s: the random-effects fit is singular (a variance of 0 or a "
                       "correlation of ±1, as lme4's isSingular); its variance components are "
                       "at the boundary and the fixed-effects inference leans on them; "
                       "consider a simpler random-effects structure.", tag + text)
    fit = dict(reml_loglik=float(loglik), n_obs=int(len(y)), singular=singular,
               small_groups=small_groups,
               n_groups=int(data[groups].nunique()),
               converged=bool(ok), optimizer=how + " + Newton", start=won,
               start_logliks=opt["logliks"],
               statsmodels_loglik={a["optimizer"]: a["loglik"] for a in attempts},
               statsmodels_converged={a["optimizer"]: a["converged"] for a in attempts},
               formula=text, re_formula="~ " + (deparse(slopes) if slopes is not None else "1"),
               groups=groups, crossed=crossed)
    return MixedResult(data=data, formula=str(mf), outcome=outcome, factors=factors,
                       covariates=[p for p in preds if p not in factors], groups=groups,
                       X=X, dinfo=dinfo, Z=Z, z_names=z_names, crit=crit, theta=theta,
                       beta=beta, C=C, G=G, s2=s2, fit=fit,
                       sat=Satterthwaite(crit, theta), crossed=crossed,
                       equivalence=tuple(equivalence) if equivalence else None,
                       model_formula=mf, slopes=slopes,
                       reference=None if reference is None else str(reference))


def _check_reference(reference, data, factors, groups, tag):
    """``reference`` must be ``"pairwise"``, ``"revpairwise"`` or a level of a
    within-participant factor."""
    if reference is None or reference in ("pairwise", "revpairwise"):
        return
    within = {f: lv for f, lv in factors.items()
              if (data.groupby(groups, observed=True)[f].nunique() > 1).any()}
    if not any(str(reference) in lv for lv in within.values()):
        have = "; ".join(f"{f}: {', '.join(lv)}" for f, lv in within.items()) or \
            "none: the model has no within-participant factor"
        raise ModelError(f"{tag}reference={reference!r} ([model] reference) is not a level of "
                         f"a within-participant factor ({have}); use one of those levels, "
                         f"\"pairwise\" / \"revpairwise\", or leave it out.")


def _random_structure(mf, groups, re_formula, crossed):
    """The participant column and the random terms (lme4's expansions applied), from the
    formula's random terms or the keywords (not both).

    Raises
    ------
    ModelError
        Random terms in the formula and keywords both given, or ``groups`` without a
        random term.
    """
    crossed = [crossed] if isinstance(crossed, str) else list(crossed or [])
    if not mf.random:
        groups = groups or "participant_id"
        term = (re_formula_term(re_formula, groups) if re_formula
                else RandomTerm(groups, None))
        return groups, [term] + [RandomTerm(c, None) for c in crossed]
    names = [r.group for r in mf.random]
    shown = " + ".join(str(r) for r in mf.random)
    if re_formula or crossed:
        raise ModelError(f"The formula has random terms ({shown}) and re_formula/crossed "
                         f"are given too; write every random term in the formula, e.g. "
                         f"'... + (1 + condition | participant_id) + (1 | stimulus_id)'.")
    if groups is None:  # a column: an interaction grouping a:b names no column
        plain = [r.group for r in mf.random if not r.columns]
        cols = [c for r in mf.random for c in r.grouping]
        groups = ("participant_id" if "participant_id" in cols
                  else plain[0] if plain else cols[0])
        if groups not in names:
            return groups, list(mf.random)
    if groups not in names:
        raise ModelError(f"groups={groups!r} has no random term in the formula (its groups: "
                         f"{', '.join(names)}); add (1 | {r_name(groups)}) or leave groups "
                         f"out.")
    return groups, list(mf.random)


def _legacy_structure(terms, groups):
    """(slopes, crossed) when the structure is one the specialised criteria fit (one
    correlated term with an intercept on ``groups``: :class:`RemlCriterion`; random
    intercepts of distinct columns: :class:`CrossedReml`), else None (the general sparse
    engine, :mod:`emgkit.stats.lmm`)."""
    if any(not t.intercept or t.columns for t in terms):
        return None
    if len({t.group for t in terms}) < len(terms):
        return None
    if len(terms) == 1 and terms[0].group == groups:
        return terms[0].slopes, []
    if all(t.slopes is None for t in terms) and groups in {t.group for t in terms}:
        return None, [t.group for t in terms if t.group != groups]
    return None
