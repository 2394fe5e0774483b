"""Session/block order and counterbalancing across groups."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ModelError

logger = logging.getLogger("emgkit")


def derive_orders(trials, column="block", skip=()):
    """Each participant's block order from the trial table (first appearance by onset).

    Returns
    -------
    DataFrame
        ``participant_id`` and ``order`` (e.g. ``"rejection>acceptance"``).
    """
    if column not in trials.columns:
        raise ModelError(f"Cannot derive the block order: the trial table has no {column!r} "
                         f"column; give the order in participants.tsv ([study] order).")
    rows = []
    for pid, g in trials.sort_values(["participant_id", "onset_s"]).groupby(
            "participant_id", sort=False):
        seen = pd.unique(g[column].astype(str))
        rows.append(dict(participant_id=pid,
                         order=">".join(b for b in seen if b not in set(skip))))
    return pd.DataFrame(rows)


def order_balance(participants, *, order="order", group="group", alpha=0.10):
    """How evenly the orders are spread over the groups.

    A design is counted as balanced when every group has every order and, within each
    group, the order counts differ by at most one (what a Latin square allows), and the
    order × group contingency test is not significant at ``alpha``. Unbalanced designs are
    warned about (orders then confound group effects; add ``order`` to the model).

    Parameters
    ----------
    participants : DataFrame
        One row per participant with the ``order`` and ``group`` columns.

    Returns
    -------
    dict
        ``table`` (DataFrame: group × order counts), ``chi2``, ``p`` (Fisher's exact test
        for 2 × 2 tables, else chi-square), ``balanced`` (bool) and ``message``.
    """
    for col in (order, group):
        if col not in participants.columns:
            raise ModelError(f"The participants table has no {col!r} column; columns: "
                             f"{', '.join(map(str, participants.columns))}.")
    table = pd.crosstab(participants[group], participants[order])
    counts = table.to_numpy()
    chi2, p = np.nan, 1.0
    if counts.shape[0] > 1 and counts.shape[1] > 1:
        if counts.shape == (2, 2):
            p = float(stats.fisher_exact(counts).pvalue)
        else:
            res = stats.chi2_contingency(counts)
            chi2, p = float(res.statistic), float(res.pvalue)
    spread = (counts.max(axis=1) - counts.min(axis=1)).max() if counts.size else 0
    balanced = bool((counts > 0).all() and spread <= 1 and p >= alpha)
    shown = "; ".join(f"{g}: " + ", ".join(f"{o} ×{n}" for o, n in row.items())
                      for g, row in table.iterrows())
    verdict = "balanced" if balanced else ("NOT balanced: order is confounded with group, "
                                           "add order to the model")
    message = f"order balance across groups ({shown}); test p = {p:.3g}; {verdict}"
    if not balanced:
        logger.warning("%s", message)
    out = table.reset_index()
    out.columns.name = None
    return dict(table=out, chi2=chi2, p=p, balanced=balanced, message=message)
