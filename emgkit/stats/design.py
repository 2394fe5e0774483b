"""Model data and design matrices: merge tables, check them, build treatment- and
sum-coded designs from a formula (patsy), and the reference grid for marginal means."""

from __future__ import annotations

import ast
import re

import numpy as np
import pandas as pd
import patsy

from ..errors import ModelError

#: preferred reference levels (R's treatment coding, other levels alphabetical)
REFERENCE_LEVELS = ("placebo", "neutral", "corrugator")


#: names in formula code that are functions or patsy contrasts, not data columns
_NOT_COLUMNS = {"C", "Sum", "Treatment", "Poly", "Helmert", "Diff", "I", "Q", "np",
                "center", "standardize", "scale", "log", "exp", "sqrt"}


def code_variables(code):
    """Data columns a patsy factor's code uses: ``np.log(age)`` -> ["age"],
    ``C(group, Sum)`` -> ["group"]; called names and contrasts are not columns."""
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError:
        return re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    skip = set()
    for node in ast.walk(tree):  # the whole function expression (np.log) is not a column
        if id(node) in called:
            skip |= {id(n) for n in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Name) and id(node) not in skip
                and node.id not in _NOT_COLUMNS and node.id not in out):
            out.append(node.id)
    return out


def formula_variables(formula):
    """Return (outcome, [predictor variable names]) used by a model formula."""
    try:
        desc = patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as exc:
        raise ModelError(f"The formula {formula!r} cannot be parsed: {exc}.") from None
    if len(desc.lhs_termlist) != 1:
        raise ModelError(f"The formula {formula!r} needs exactly one outcome on the left "
                         f"of '~', e.g. 'score ~ group * condition'.")

    def names(terms):
        out = []
        for term in terms:
            for factor in term.factors:
                out += [n for n in code_variables(factor.code) if n not in out]
        return out

    return names(desc.lhs_termlist)[0], names(desc.rhs_termlist)


def prepare_data(trials, formula, *, participants=None, groups="participant_id",
                 levels=None, drop_rejected=True, dropna=False, extra=()):
    """Merge, check and type the table a model is fitted to.

    Parameters
    ----------
    trials : DataFrame
        Trial (or bin, or cell) table with the outcome and within-subject factors.
    formula : str
        Fixed-effects formula, e.g. ``"score ~ group * condition"``.
    participants : DataFrame | None
        ``participant_id``, ``group`` and covariates; merged on ``groups``.
    groups : str
        Column identifying participants (random-effects grouping).
    levels : dict | None
        Column -> ordered levels; the first is the reference level.
    drop_rejected : bool
        Drop rows with ``rejected`` true (when the column exists).
    dropna : bool
        Drop rows with missing values in model columns instead of raising.
    extra : iterable of str
        Further columns needed (e.g. random-slope variables).

    Returns
    -------
    data : DataFrame
        Model data; categorical columns as ordered :class:`pandas.Categorical`.
    factors : dict
        Categorical column -> list of levels (reference first).

    Raises
    ------
    ModelError
        Missing columns, missing values, participants absent from the participants table,
        or a factor with a single level.
    """
    outcome, preds = formula_variables(formula)
    data = trials.copy()
    if participants is not None:
        if groups not in participants.columns:
            raise ModelError(f"The participants table has no {groups!r} column; it has "
                             f"{', '.join(map(str, participants.columns))}.")
        if groups not in data.columns:
            raise ModelError(f"The trial table has no {groups!r} column.")
        data[groups] = data[groups].astype(str)
        part = participants.copy()
        part[groups] = part[groups].astype(str)
        if groups == "participant_id":  # 01 and sub-01 are one participant
            from .._ids import normalise_ids

            data, part = normalise_ids(data), normalise_ids(part)
        if part[groups].duplicated().any():
            dup = part.loc[part[groups].duplicated(), groups].tolist()
            raise ModelError(f"The participants table lists {dup} more than once.")
        missing = sorted(set(data[groups]) - set(part[groups]))
        if missing:
            raise ModelError(f"Participant(s) {', '.join(missing)} are in the trial table but "
                             f"not in the participants table; add them or drop their trials.")
        overlap = [c for c in part.columns if c != groups and c in data.columns]
        data = data.drop(columns=overlap).merge(part, on=groups, how="left")
    if drop_rejected and "rejected" in data.columns:
        rej = data["rejected"].astype(str).str.lower().isin(["true", "1"])
        data = data[~rej]
    needed = [outcome] + preds + [c for c in extra if c] + [groups]
    absent = [c for c in dict.fromkeys(needed) if c not in data.columns]
    if absent:
        raise ModelError(f"Column(s) {', '.join(absent)} needed by the model are missing; the "
                         f"table has {', '.join(map(str, data.columns))}.")
    data = data[list(dict.fromkeys(needed))].copy()
    nan = data.isna().sum()
    if nan.any():
        if not dropna:
            bad = ", ".join(f"{c} ({n} rows)" for c, n in nan.items() if n)
            raise ModelError(f"Missing values in model column(s): {bad}; drop those rows "
                             f"(dropna=True / --dropna) or fill them in.")
        data = data.dropna()
    if len(data) == 0:
        raise ModelError("No rows left to fit the model.")
    data[groups] = data[groups].astype(str)
    if not np.issubdtype(data[outcome].dtype, np.number):
        raise ModelError(f"The outcome {outcome!r} must be numeric, got {data[outcome].dtype}.")
    factors = {}
    levels = levels or {}
    for col in preds:
        if col in levels or not pd.api.types.is_numeric_dtype(data[col]):
            present = list(pd.unique(data[col].astype(str)))
            order = [str(v) for v in levels.get(col, [])]
            unknown = [v for v in present if order and v not in order]
            if unknown:
                raise ModelError(f"levels for {col!r} do not include {unknown}.")
            if not order:
                order = sorted(present)
                ref = [r for r in REFERENCE_LEVELS if r in order]
                if ref:
                    order = [ref[0]] + [v for v in order if v != ref[0]]
            order = [v for v in order if v in present]
            if len(order) < 2:
                raise ModelError(f"The term {col!r} has one level only ({order[0]!r}); a "
                                 f"model cannot estimate its effect. Remove it from the "
                                 f"formula or add data with other levels.")
            data[col] = pd.Categorical(data[col].astype(str), categories=order)
            factors[col] = order
    if data[groups].nunique() < 2:
        raise ModelError(f"Only one participant ({data[groups].iloc[0]}) in the data; a mixed "
                         f"model needs several.")
    return data.reset_index(drop=True), factors


def r_term_name(name):
    """patsy column name -> R (lme4) coefficient name, e.g. ``group[T.a]`` -> ``groupa``."""
    if name == "Intercept":
        return "(Intercept)"
    return re.sub(r"\[T\.([^\]]*)\]", r"\1", name)


def sum_coded_formula(rhs, factors):
    """Rewrite a right-hand side so that every categorical factor uses sum coding."""
    out = rhs
    for col in sorted(factors, key=len, reverse=True):
        out = re.sub(rf"(?<![\w.(]){re.escape(col)}(?![\w.])", f"C({col}, Sum)", out)
    return out


def design(formula_rhs, data):
    """Build a design matrix; returns (ndarray, patsy DesignInfo)."""
    try:
        mat = patsy.dmatrix(formula_rhs, data, return_type="dataframe", NA_action="raise")
    except patsy.PatsyError as exc:
        raise ModelError(f"Cannot build the design for {formula_rhs!r}: {exc}.") from None
    return mat.to_numpy(float), mat.design_info


def reference_grid(data, factors, covariates):
    """All combinations of factor levels, covariates at their mean (as emmeans does)."""
    if factors:
        idx = pd.MultiIndex.from_product([factors[f] for f in factors], names=list(factors))
        grid = idx.to_frame(index=False)
    else:
        grid = pd.DataFrame(index=[0])
    for f in factors:
        grid[f] = pd.Categorical(grid[f], categories=factors[f])
    for c in covariates:
        grid[c] = float(data[c].mean())
    return grid
