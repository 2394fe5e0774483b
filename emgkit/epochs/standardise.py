"""Within-participant standardisation of trial scores (``[epochs] standardise``).

``"participant_muscle"`` replaces each trial's score by its z value among the participant's
kept trials of that muscle: ``(score - mean) / sd`` (SD with ``ddof = 1``). The
baseline-mode score is kept as ``score_raw``. In a between-group drug study this removes
every difference between the groups' overall response levels, tonic or phasic; only
differences *between conditions within* a participant remain, so report the raw levels
by group beside it (``group/baselines.tsv``).
"""

from __future__ import annotations

import logging

import numpy as np

#: the ``standardise`` options
STANDARDISE = ("none", "participant_muscle")

logger = logging.getLogger("emgkit")


def standardise_scores(trials, how="participant_muscle"):
    """z-score trial scores within participant × muscle, in place.

    Parameters
    ----------
    trials : DataFrame
        A trial table (``participant_id``, ``muscle``, ``score``, ``rejected``); when it has
        ``score_raw`` (standardised before), the z values are recomputed from it, so that a
        rejection changed later (manual review) is taken into account.
    how : "none" | "participant_muscle"
        ``"none"`` leaves the table as it is.

    Returns
    -------
    DataFrame
        The same table: ``score`` holds the z values (NaN where a participant × muscle has
        fewer than two kept trials or no spread) and ``score_raw`` the baseline-mode scores.
    """
    if how == "none" or trials.empty:
        return trials
    if "score_raw" not in trials:
        trials.insert(trials.columns.get_loc("score") + 1, "score_raw", trials["score"])
    raw = trials["score_raw"].to_numpy(float)
    kept = ~trials["rejected"].to_numpy(bool) & np.isfinite(raw)
    keys = [c for c in ("participant_id", "session", "acquisition", "run", "muscle")
            if c in trials]
    z = np.full(len(trials), np.nan)
    for key, idx in trials.groupby(keys, sort=False).indices.items():
        use = idx[kept[idx]]
        sd = raw[use].std(ddof=1) if use.size > 1 else np.nan
        if not sd > 0:
            why = "fewer than two" if use.size < 2 else "no spread among them"
            logger.warning("%s: %d kept trial(s), %s; its standardised scores are NaN.",
                           " × ".join(map(str, np.atleast_1d(key))), use.size, why)
            continue
        z[idx] = (raw[idx] - raw[use].mean()) / sd
    trials["score"] = z
    return trials


def levels_by_group(trials, participants, group="group"):
    """The unstandardised levels by group: what standardisation hides.

    Parameters
    ----------
    trials : DataFrame
        Trial table with ``baseline`` (µV), ``response`` (µV) and ``score_raw``.
    participants : DataFrame
        Participants table with ``participant_id`` and ``group``.

    Returns
    -------
    DataFrame
        Per group × muscle: ``n_participants`` and the mean and SD over participants of
        their mean baseline level (µV), response level (µV) and raw score, kept trials only.
    """
    import pandas as pd

    kept = trials[~trials["rejected"].astype(bool)]
    cols = [c for c in ("baseline", "response", "score_raw") if c in kept]
    per = kept.groupby(["participant_id", "muscle"], sort=False)[cols].mean().reset_index()
    if group in participants:
        g = participants[["participant_id", group]].astype({"participant_id": str})
        per = per.merge(g, on="participant_id", how="left")
    else:
        per[group] = "all"
    rows = []
    for (grp, muscle), d in per.groupby([group, "muscle"], sort=False):
        row = {group: grp, "muscle": muscle, "n_participants": len(d)}
        for c in cols:
            name = {"baseline": "baseline_uv", "response": "response_uv"}.get(c, c)
            row[f"{name}_mean"] = d[c].mean()
            row[f"{name}_sd"] = d[c].std(ddof=1) if len(d) > 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["STANDARDISE", "levels_by_group", "standardise_scores"]
