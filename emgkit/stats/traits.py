"""Correlate participants' mean responses with trait scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .._ids import normalise_ids
from ..errors import ModelError
from .design import as_table, participants_table


def participant_means(table, *, outcome="score", by=("condition", "muscle"),
                      groups="participant_id", drop_rejected=True):
    """Mean ``outcome`` per participant × ``by`` cell (kept trials only by default)."""
    df = table
    if drop_rejected and "rejected" in df.columns:
        df = df[~df["rejected"].astype(str).str.lower().isin(["true", "1"])]
    by = [b for b in by if b in df.columns]
    return df.groupby([groups] + by, observed=True)[outcome].mean().reset_index()


def trait_correlations(table, participants, traits, *, outcome="score",
                       by=("condition", "muscle"), method="pearson", level=0.95,
                       groups="participant_id"):
    """Correlate each participant's mean response per cell with trait scores.

    Parameters
    ----------
    table : DataFrame | path-like
        Trial table (many participants), or its path.
    participants : DataFrame | path-like
        ``participant_id`` and the trait columns, or the path of ``participants.tsv``
        (``01`` and ``sub-01`` are one participant).
    traits : list of str
        Trait columns to correlate.
    outcome : str
        Column averaged per participant and cell.
    by : sequence of str
        Cell columns (those present are used).
    method : "pearson" | "spearman"
        Pearson r with the exact Fisher-z interval (scipy), or Spearman's rho with the
        Fisher-z interval using the Bonett–Wright standard error sqrt((1 + rho²/2)/(n - 3)).
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``trait``, ``method``, ``n``, ``r``, ``ci_low``, ``ci_high``,
        ``p``.
    """
    if method not in ("pearson", "spearman"):
        raise ModelError(f"method={method!r} is not allowed; use 'pearson' or 'spearman'.")
    table = as_table(table, param="table", what="Trial table")
    participants = participants_table(participants)
    if groups == "participant_id":  # 01 and sub-01 are one participant
        table, participants = (normalise_ids(df.assign(participant_id=df[groups].astype(str)))
                               if groups in df.columns else df
                               for df in (table, participants))
    missing = [t for t in traits if t not in participants.columns]
    if missing:
        raise ModelError(f"Trait column(s) {', '.join(missing)} not in the participants table "
                         f"({', '.join(map(str, participants.columns))}).")
    means = participant_means(table, outcome=outcome, by=by, groups=groups)
    part = participants.copy()
    part[groups] = part[groups].astype(str)
    means[groups] = means[groups].astype(str)
    merged = means.merge(part[[groups] + list(traits)], on=groups, how="inner")
    cells = [b for b in by if b in means.columns]
    rows = []
    z = stats.norm.ppf(0.5 + level / 2)
    for key, g in (merged.groupby(cells, observed=True) if cells else [((), merged)]):
        key = key if isinstance(key, tuple) else (key,)
        for trait in traits:
            ok = g[[outcome, trait]].dropna()
            n = len(ok)
            row = dict(zip(cells, key), trait=trait, method=method, n=n, r=np.nan,
                       ci_low=np.nan, ci_high=np.nan, p=np.nan)
            if n >= 4 and ok[outcome].std() > 0 and ok[trait].std() > 0:
                if method == "pearson":
                    res = stats.pearsonr(ok[trait], ok[outcome])
                    ci = res.confidence_interval(level)
                    row.update(r=res.statistic, ci_low=ci.low, ci_high=ci.high, p=res.pvalue)
                else:
                    res = stats.spearmanr(ok[trait], ok[outcome])
                    rho = float(res.statistic)
                    se = np.sqrt((1 + rho ** 2 / 2) / (n - 3))
                    zr = np.arctanh(np.clip(rho, -0.999999, 0.999999))
                    row.update(r=rho, ci_low=np.tanh(zr - z * se), ci_high=np.tanh(zr + z * se),
                               p=float(res.pvalue))
            rows.append(row)
    return pd.DataFrame(rows)


def within_between(table, column, *, groups="participant_id"):
    """Split a trial-level predictor into its participant mean and the deviation from it.

    Adds ``<column>_between`` (the participant's mean) and ``<column>_within`` (trial value
    minus that mean), so a mixed model can estimate the within-participant association
    (e.g. ``rating ~ score_within + score_between``) separately from differences between
    participants.

    Returns
    -------
    DataFrame
        A copy of ``table`` with the two columns.
    """
    if column not in table.columns:
        raise ModelError(f"Column {column!r} is not in the table ({', '.join(table.columns)}).")
    out = table.copy()
    mean = out.groupby(groups, observed=True)[column].transform("mean")
    out[f"{column}_between"] = mean
    out[f"{column}_within"] = out[column] - mean
    return out
