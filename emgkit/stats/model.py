"""Fit linear mixed models (statsmodels ``MixedLM``, REML) and make them trustworthy.

statsmodels' default ``fit()`` can stop short of the REML optimum (or return a bogus
infinite log-likelihood on the boundary), so :func:`fit_model` runs several optimizers,
keeps the best finite REML log-likelihood, and refines it on the profiled REML criterion
(:mod:`emgkit.stats.reml`, the criterion lme4 optimises). All inference (SEs,
Satterthwaite df, Type III tests, marginal means, contrasts) is computed at that optimum.
"""

from __future__ import annotations

import warnings

import numpy as np
import statsmodels.api as sm

from ..errors import ModelError
from .design import design, formula_variables, prepare_data
from .reml import CrossedReml, RemlCriterion, Satterthwaite
from .result import MixedResult

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


def fit_model(table, formula, *, participants=None, groups="participant_id", re_formula=None,
              crossed=None, levels=None, drop_rejected=True, dropna=False, optimizers=None):
    """Fit a linear mixed model by REML.

    Parameters
    ----------
    table : DataFrame
        Trial, time-bin or cell table (e.g. ``trials.tsv`` of one or many participants).
    formula : str
        Fixed effects, e.g. ``"score ~ group * condition"`` or
        ``"score ~ group * emotion * muscle + trait"``. Categorical predictors use
        treatment coding with the reference level first (``placebo``, ``neutral`` and
        ``corrugator`` by default, otherwise alphabetical; see ``levels``).
    participants : DataFrame | None
        ``participant_id``, ``group`` and covariates, merged on ``groups``.
    groups : str
        Participant column; a random intercept per participant is always included.
    re_formula : str | None
        Random slopes, e.g. ``"~ condition"`` (intercept included); None = intercept only.
    crossed : str | list of str | None
        Column(s) with a crossed random intercept, e.g. ``"stimulus_id"`` (lme4:
        ``(1 | participant_id) + (1 | stimulus_id)``). Not combined with ``re_formula``.
    levels : dict | None
        Column -> ordered levels (first = reference).
    drop_rejected : bool
        Drop rows whose ``rejected`` column is true.
    dropna : bool
        Drop rows with missing model values instead of raising.
    optimizers : sequence of str | None
        statsmodels optimizers to try; the best finite REML log-likelihood is kept and then
        refined. None: :data:`OPTIMIZERS` (intercept only) or :data:`SLOPE_OPTIMIZERS`.

    Returns
    -------
    MixedResult

    Raises
    ------
    ModelError
        Bad table (missing columns, NaNs, unknown participants), a term with one level, or
        a design that is not identifiable.
    """
    crossed = [crossed] if isinstance(crossed, str) else list(crossed or [])
    if crossed and re_formula:
        raise ModelError("Random slopes (re_formula) and crossed random intercepts cannot be "
                         "combined; choose one.")
    extra = (formula_variables("y " + re_formula)[1] if re_formula else []) + crossed
    data, factors = prepare_data(table, formula, participants=participants, groups=groups,
                                 levels=levels, drop_rejected=drop_rejected, dropna=dropna,
                                 extra=extra)
    outcome, preds = formula_variables(formula)
    rhs = formula.split("~", 1)[1]
    X, dinfo = design(rhs, data)
    _check_rank(X, dinfo.column_names, formula)
    if re_formula:
        Z, zinfo = design(re_formula.split("~", 1)[-1], data)
        z_names = zinfo.column_names
    else:
        Z, z_names = np.ones((len(data), 1)), ["Intercept"]
    y = data[outcome].to_numpy(float)
    grp = data[groups].to_numpy()
    if len(y) <= X.shape[1]:
        raise ModelError(f"{len(y)} rows cannot estimate {X.shape[1]} fixed effects.")

    if optimizers is None:
        optimizers = OPTIMIZERS if Z.shape[1] == 1 else SLOPE_OPTIMIZERS
    for c in crossed:
        data[c] = data[c].astype(str)
        if data[c].nunique() < 2:
            raise ModelError(f"The crossed random factor {c!r} has one level only.")
    attempts = []
    model = sm.MixedLM(y, X, grp, exog_re=Z)
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
    finite = [a for a in attempts if np.isfinite(a["loglik"])]
    if not finite:
        raise ModelError(f"No optimizer could fit {formula!r}: " +
                         "; ".join(f"{a['optimizer']}: {a['message']}" for a in attempts))
    best = max(finite, key=lambda a: a["loglik"])
    if crossed:
        # statsmodels fits the participant intercept (start values); the crossed model is
        # optimised on its REML criterion from there
        crit = CrossedReml(y, X, [grp] + [data[c].to_numpy() for c in crossed])
        start = np.diag(np.repeat([best["G"][0, 0]] + [0.1 * best["scale"]] * len(crossed),
                                  crit.sizes))
        G, s2, polished_ok, loglik = crit.polish(start, best["scale"])
        if not np.isfinite(loglik):
            raise ModelError(f"The crossed random-effects model {formula!r} + "
                             f"{' + '.join(f'(1 | {c})' for c in crossed)} could not be fitted.")
        best = dict(best, loglik=-np.inf)
    else:
        crit = RemlCriterion(y, X, Z, grp)
        G, s2, polished_ok, loglik = crit.polish(best["G"], best["scale"])
    theta = crit.pack(G, s2)
    if not np.isfinite(loglik) or loglik < best["loglik"] - 1e-8:
        G, s2, loglik = best["G"], best["scale"], best["loglik"]
        theta = crit.pack(G, s2)
        polished_ok = False
    beta, C = crit.gls(theta)
    fit = dict(reml_loglik=float(loglik), n_obs=int(len(y)),
               n_groups=int(data[groups].nunique()),
               converged=bool(polished_ok and best["converged"] or polished_ok),
               optimizer=f"{best['optimizer']} + profiled-REML refinement",
               statsmodels_loglik={a["optimizer"]: a["loglik"] for a in attempts},
               statsmodels_converged={a["optimizer"]: a["converged"] for a in attempts},
               formula=formula, re_formula=re_formula or "~ 1", groups=groups,
               crossed=crossed)
    return MixedResult(data=data, formula=formula, outcome=outcome, factors=factors,
                       covariates=[p for p in preds if p not in factors], groups=groups,
                       X=X, dinfo=dinfo, Z=Z, z_names=z_names, crit=crit, theta=theta,
                       beta=beta, C=C, G=G, s2=s2, fit=fit,
                       sat=Satterthwaite(crit, theta), crossed=crossed)
