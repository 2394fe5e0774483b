"""Model data: merge tables, check and type them for a parsed formula, and the reference
grid for marginal means (the designs come from :mod:`emgkit.stats.formula`)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..errors import ModelError
from .formula import model_formula

#: preferred reference levels (R's treatment coding, other levels alphabetical)
REFERENCE_LEVELS = ("placebo", "neutral", "corrugator")


def formula_variables(formula):
    """Return (outcome, [fixed-effect columns]) of a model formula (parsed, never
    evaluated; see :func:`emgkit.stats.formula.model_formula`)."""
    mf = model_formula(formula)
    return mf.outcome, list(mf.predictors)


def participants_table(value):
    """The ``participants=`` argument of the model functions: a DataFrame or the path of a
    participants table (read by :func:`emgkit._files.read_tsv`: ids normalised, ``n/a``
    missing); anything else is a :class:`ModelError`."""
    from .._files import as_table as read_table

    return read_table(value, param="participants", what="Participants table",
                      error=ModelError)


def as_table(value, *, param, what):
    """A table given as a DataFrame or as a path (how analysts pass ``participants.tsv``).

    Parameters
    ----------
    value : DataFrame | str | os.PathLike
        The table, or the path of a ``.tsv`` (``.csv``) file; a trial table's path, or a
        results folder (``emgkit run --out``), is read by :func:`emgkit.read_trials`, any
        other file by :func:`emgkit._files.read_tsv` (``participant_id`` as text, ``01`` and
        ``sub-01`` one participant, ``n/a`` missing).
    param : str
        The parameter's name, for the error.
    what : str
        What the table is, named in read errors.

    Returns
    -------
    DataFrame

    Raises
    ------
    ModelError
        ``value`` is neither a DataFrame nor a path.
    ReadError
        The file does not exist or is not a table.
    """
    from .._files import as_table as read_table
    from ..epochs.tables import read_trials

    if isinstance(value, (str, os.PathLike)) and Path(value).is_dir():
        return read_trials(value)
    table = read_table(value, param=param, what=what, error=ModelError)
    if table is value:
        return table
    if {"participant_id", "trial", "condition", "muscle", "rejected"} <= set(table.columns):
        return read_trials(value)  # emgkit's own trial table, typed as it wrote it
    return table


def prepare_data(trials, formula, *, participants=None, groups="participant_id",
                 levels=None, drop_rejected=True, dropna=False, extra=()):
    """Merge, check and type the table a model is fitted to.

    Parameters
    ----------
    trials : DataFrame | path-like
        Trial (or bin, or cell) table with the outcome and within-subject factors, or its
        path (:func:`as_table`).
    formula : str | ModelFormula
        Model formula, e.g. ``"score ~ group * condition"``; columns in ``C()`` or
        ``factor()`` are factors even when numeric.
    participants : DataFrame | path-like | None
        ``participant_id``, ``group`` and covariates, or the path of ``participants.tsv``;
        merged on ``groups`` (``01`` and ``sub-01`` are one participant).
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
    mf = model_formula(formula)
    outcome, preds = mf.outcome, mf.predictors
    data = as_table(trials, param="table", what="Trial table").copy()
    if participants is not None:
        participants = participants_table(participants)
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
    if outcome == groups:
        raise ModelError(f"The outcome {outcome!r} is also the model's grouping (groups / a "
                         f"random term's | {outcome}); group by a participant or stimulus "
                         f"column, e.g. (1 | participant_id).")
    data[groups] = data[groups].astype(str)
    if not pd.api.types.is_numeric_dtype(data[outcome]) or pd.api.types.is_bool_dtype(
            data[outcome]):
        raise ModelError(f"The outcome {outcome!r} must be numeric, got {data[outcome].dtype}.")
    factors = {}
    levels = levels or {}
    for col in preds:
        # True/False is two labels, not a number (pandas counts bool as numeric)
        boolean = pd.api.types.is_bool_dtype(data[col])
        numeric = pd.api.types.is_numeric_dtype(data[col]) and not boolean
        if col in levels or col in mf.categorical or not numeric:
            if pd.api.types.is_float_dtype(data[col]):  # R's labels: 15 significant digits
                data[col] = data[col].map(_float_label)
            present = list(pd.unique(data[col].astype(str)))
            if numeric:  # C(dose): levels in numeric order
                present = list(dict.fromkeys(
                    _float_label(v) if isinstance(v, float) else str(v)
                    for v in sorted(pd.unique(pd.to_numeric(data[col])))))
            order = [_float_label(v) if isinstance(v, float) else str(v)
                     for v in levels.get(col, [])]
            unknown = [v for v in present if order and v not in order]
            if unknown:
                raise ModelError(f"levels for {col!r} do not include {unknown}.")
            if not order:
                order = present if numeric else sorted(present)
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


def _float_label(value):
    """A number's factor label as R's ``factor()`` makes it (``as.character``: 15
    significant digits), so that 100 Hz bins ``0.07`` and ``0.07000000000000001`` (one
    from ``k / 100``, one from ``np.arange``) are one level: ``"0.07"``, ``"1"``, ``"0.5"``."""
    return f"{value:.15g}" if isinstance(value, float) else str(value)


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
