"""Fit one model per muscle (or per level of another column) and write combined tables."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from .design import as_table, formula_variables, participants_table
from .model import fit_model

TABLES = ("fixed_effects", "anova", "contrasts", "emmeans", "variance")

logger = logging.getLogger("emgkit")


@contextmanager
def captured_warnings():
    """Collect the ``emgkit`` logger's warnings (messages) instead of showing them: for
    code that fits many models and states each caution once."""
    caught = []

    class Keep(logging.Handler):
        def emit(self, record):
            caught.append(record.getMessage())

    handlers, propagate = logger.handlers[:], logger.propagate
    logger.handlers, logger.propagate = [Keep(logging.WARNING)], False
    try:
        yield caught
    finally:
        logger.handlers, logger.propagate = handlers, propagate


def split_column(table, formula, by=None):
    """The column to split on: ``by``, else ``muscle`` when the formula has no muscle term."""
    if by:
        return by
    _, preds = formula_variables(formula)
    if "muscle" in table.columns and "muscle" not in preds and table["muscle"].nunique() > 1:
        return "muscle"
    return None


def fit_models(table, formula, *, participants=None, by=None, **kwargs):
    """Fit ``formula`` to the whole table, or once per level of the split column.

    Parameters
    ----------
    table : DataFrame | path-like
        Trial (or cell) table, or its path (as :func:`~emgkit.stats.fit_model`).
    formula : str
        Model formula (:func:`~emgkit.stats.fit_model`).
    participants : DataFrame | path-like | None
        Participants table or its path.
    by : str | None
        Column to fit one model per level of; None: ``muscle`` when the table has several
        muscles and the formula no muscle term.
    **kwargs
        Passed to :func:`~emgkit.stats.fit_model`.

    Returns
    -------
    split : str | None
        The column split on.
    results : dict
        Level (None when not split) -> :class:`~emgkit.stats.MixedResult`.
    """
    table = as_table(table, param="table", what="Trial table")
    if participants is not None:
        participants = participants_table(participants)
    split = split_column(table, formula, by)
    if split is None:
        return None, {None: fit_model(table, formula, participants=participants, **kwargs)}
    results = {}
    for level in pd.unique(table[split]):
        res = fit_model(table[table[split] == level], formula, participants=participants,
                        label=f"{split} = {level}", **kwargs)
        res.context[split] = level
        results[level] = res
    return split, results


def write_models(split, results, out_dir, *, figures=True):
    """Write each model's outputs (in ``split-level/`` folders) and stacked tables
    (``figures``: also each model's ``diagnostics.png``).

    Returns
    -------
    pathlib.Path
        ``out_dir``.
    """
    from .._files import safe_part, write_tsv

    out = Path(out_dir)
    if split is None:
        results[None].write(out, figures=figures)
        return out
    stacks = {}
    for level, res in results.items():
        res.write(out / safe_part(f"{split}-{level}", what=f"Model folder for {split}"),
                  figures=figures)
        tables = {"fixed_effects": res.fixed_effects(), "anova": res.anova(),
                  "emmeans": res.emmeans(), "variance": res.variance()}
        con = res.reported_contrasts()
        if not con.empty:
            tables["contrasts"] = con
        for name, df in tables.items():
            stacks.setdefault(name, []).append(df.assign(**{split: level}))
    for name, parts in stacks.items():
        df = pd.concat(parts, ignore_index=True)
        write_tsv(df[[split] + [c for c in df.columns if c != split]], out / f"{name}.tsv")
    return out


def read_models(group_dir):
    """Read the model tables that :func:`write_models` (``emgkit run``, ``emgkit stats``)
    wrote.

    Parameters
    ----------
    group_dir : path-like
        The folder holding ``fixed_effects.tsv``, ``anova.tsv``, ``emmeans.tsv``,
        ``variance.tsv`` and, when the model compares something, ``contrasts.tsv`` (e.g. the
        ``group/`` folder of ``emgkit run --out``).

    Returns
    -------
    dict
        Table name -> DataFrame (missing values NaN), for the tables present; with
        ``"summary"`` -> the plain-language sentences of ``summary.txt`` files (a list).

    Raises
    ------
    ReadError
        The folder holds none of the tables.
    """
    from .._files import read_tsv
    from ..errors import ReadError

    folder = Path(group_dir)
    out = {name: read_tsv(folder / f"{name}.tsv", what="Model table")
           for name in TABLES if (folder / f"{name}.tsv").is_file()}
    if not out:
        raise ReadError(f"{folder}: no model tables ({', '.join(t + '.tsv' for t in TABLES)}); "
                        f"`emgkit run` or `emgkit stats` writes them.")
    out["summary"] = [line for p in sorted(folder.glob("**/summary.txt"))
                      for line in p.read_text().splitlines() if line.strip()]
    return out
