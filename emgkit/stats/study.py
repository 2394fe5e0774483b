"""Fit one model per muscle (or per level of another column) and write combined tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .design import formula_variables
from .model import fit_model

TABLES = ("fixed_effects", "anova", "contrasts", "emmeans", "variance")


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

    Returns
    -------
    split : str | None
        The column split on.
    results : dict
        Level (None when not split) -> :class:`~emgkit.stats.MixedResult`.
    """
    split = split_column(table, formula, by)
    if split is None:
        return None, {None: fit_model(table, formula, participants=participants, **kwargs)}
    results = {}
    for level in pd.unique(table[split]):
        res = fit_model(table[table[split] == level], formula, participants=participants,
                        **kwargs)
        res.context[split] = level
        results[level] = res
    return split, results


def write_models(split, results, out_dir):
    """Write each model's outputs (in ``split-level/`` folders) and stacked tables.

    Returns
    -------
    pathlib.Path
        ``out_dir``.
    """
    from .._atomic import write_tsv
    from ..outdir import safe_part

    out = Path(out_dir)
    if split is None:
        results[None].write(out)
        return out
    stacks = {}
    for level, res in results.items():
        res.write(out / safe_part(f"{split}-{level}", what=f"Model folder for {split}"))
        tables = {"fixed_effects": res.fixed_effects(), "anova": res.anova(),
                  "emmeans": res.emmeans(), "variance": res.variance()}
        if "group" in res.factors:
            tables["contrasts"] = res.contrasts("group")
        for name, df in tables.items():
            stacks.setdefault(name, []).append(df.assign(**{split: level}))
    for name, parts in stacks.items():
        df = pd.concat(parts, ignore_index=True)
        write_tsv(df[[split] + [c for c in df.columns if c != split]], out / f"{name}.tsv")
    return out
