"""Tidy long tables for analysts: one row per trial × muscle, or per trial × muscle × bin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._files import read_tsv
from ..errors import ReadError

#: documented columns of ``trials.tsv``
TRIAL_COLUMNS = ["participant_id", "trial", "condition", "muscle", "onset_s", "baseline",
                 "response", "score", "rejected", "reject_reason"]
#: documented columns of ``timecourses.tsv``
TIMECOURSE_COLUMNS = ["participant_id", "trial", "condition", "muscle", "time_s",
                      "time_end_s", "value", "rejected"]


def trials_table(participant_id, events, muscles, baseline, response, score, reasons, *,
                 latency=None, baseline_source=None):
    """Build the trial table.

    Parameters
    ----------
    participant_id : str
        Participant label.
    events : DataFrame
        Mapped events (``trial``, ``onset_s``, ``condition``, ``code``, extra columns).
    muscles : list of str
        Muscle names (columns of the arrays below).
    baseline, response : ndarray, shape (n_trials, n_muscles)
        Mean envelope (µV) over the baseline and the response window.
    score : ndarray, shape (n_trials, n_muscles)
        Mean baseline-corrected value over the response window (unit of the baseline mode).
    reasons : list of list of str
        Per trial, per muscle, the rejection reasons (empty: kept).
    latency : ndarray, shape (n_trials, n_muscles) | None
        Onset latency (s) per trial × muscle (NaN: no activation).
    baseline_source : ndarray of str, shape (n_trials,) | None
        Per trial, where its baseline came from (``[blocks]`` baselines).

    Returns
    -------
    DataFrame
        Columns ``participant_id, trial, condition, muscle, onset_s`` (s), ``baseline`` (µV),
        ``baseline_source`` (when given), ``response`` (µV), ``score``, ``latency_s`` (s, when
        given), ``rejected`` (bool), ``reject_reason`` (reasons joined by ``;``, empty when
        kept), then ``code`` and any extra event columns.
    """
    n_tr, n_mus = len(events), len(muscles)
    extra = [c for c in events.columns if c not in ("trial", "onset_s", "condition")]
    rows = {
        "participant_id": np.full(n_tr * n_mus, participant_id, dtype=object),
        "trial": np.repeat(events["trial"].to_numpy(), n_mus),
        "condition": np.repeat(events["condition"].to_numpy(), n_mus),
        "muscle": np.tile(np.asarray(muscles, dtype=object), n_tr),
        "onset_s": np.repeat(events["onset_s"].to_numpy(), n_mus),
        "baseline": np.asarray(baseline).ravel(),
    }
    if baseline_source is not None:
        rows["baseline_source"] = np.repeat(np.asarray(baseline_source, dtype=object), n_mus)
    rows["response"] = np.asarray(response).ravel()
    rows["score"] = np.asarray(score).ravel()
    if latency is not None:
        rows["latency_s"] = np.asarray(latency).ravel()
    flat = [";".join(sorted(r)) for per_trial in reasons for r in per_trial]
    rows["rejected"] = np.array([bool(r) for r in flat])
    rows["reject_reason"] = np.array(flat, dtype=object)
    for c in extra:
        rows[c] = np.repeat(events[c].to_numpy(), n_mus)
    return pd.DataFrame(rows)


def timecourses_table(trials, values, starts, width):
    """Build the time-course table from binned values.

    Parameters
    ----------
    trials : DataFrame
        The trial table (its row order is trial-major, muscle-minor).
    values : ndarray, shape (n_trials, n_muscles, n_bins)
        Mean baseline-corrected value per bin.
    starts : ndarray
        Bin start times (s).
    width : float
        Bin width (s).

    Returns
    -------
    DataFrame
        Columns ``participant_id, trial, condition, muscle, time_s`` (bin start, s),
        ``time_end_s`` (s), ``value``, ``rejected``.
    """
    n_bins = len(starts)
    rep = trials.loc[trials.index.repeat(n_bins),
                     ["participant_id", "trial", "condition", "muscle", "rejected"]]
    rep = rep.reset_index(drop=True)
    rep.insert(4, "time_s", np.tile(np.round(starts, 9), len(trials)))
    rep.insert(5, "time_end_s", np.tile(np.round(starts + width, 9), len(trials)))
    rep.insert(6, "value", np.asarray(values).reshape(-1))
    return rep[TIMECOURSE_COLUMNS]


#: text columns whose empty value means "none" (not missing)
_TEXT = ("reject_reason", "baseline_source")


def read_trials(path):
    """Read emgkit's trial (or time-course) tables back with the right types.

    Parameters
    ----------
    path : path-like
        A ``trials.tsv`` or ``timecourses.tsv``, or a results folder (``emgkit run --out``):
        then its ``group/trials.tsv`` when present, else every ``sub-*/trials.tsv`` stacked.

    Returns
    -------
    DataFrame
        The columns documented in :func:`trials_table` (or :func:`timecourses_table`):
        ``participant_id`` as text, ``sub-<label>`` (:mod:`emgkit._ids`), ``rejected`` as
        bool, ``reject_reason`` "" when kept, missing numbers (``n/a`` in the file) as NaN.

    Raises
    ------
    ReadError
        No table at ``path``, or a table without the trial columns.
    """
    path = Path(path)
    if path.is_dir():
        group = path / "group" / "trials.tsv"
        files = [group] if group.is_file() else sorted(
            f for f in path.glob("*/trials.tsv") if f.parent.name.startswith("sub-"))
        if not files:
            raise ReadError(f"{path}: no group/trials.tsv or sub-*/trials.tsv; run `emgkit run` "
                            f"or `emgkit process` first.")
        return pd.concat([read_trials(f) for f in files], ignore_index=True)
    table = read_tsv(path, what="Trial table")
    missing = [c for c in ("participant_id", "trial", "condition", "muscle", "rejected")
               if c not in table.columns]
    if missing:
        raise ReadError(f"{path}: not an emgkit trial table (no {', '.join(missing)} "
                        f"column); columns: {', '.join(map(str, table.columns))}.")
    rejected = table["rejected"].astype(str).str.strip().str.lower()
    bad = ~rejected.isin(["true", "false", "1", "0"])
    if bad.any():
        raise ReadError(f"{path}: column rejected holds {table['rejected'][bad].iloc[0]!r}; "
                        f"expected True or False.")
    table["rejected"] = rejected.isin(["true", "1"])
    for col in _TEXT:
        if col in table.columns:
            # no fillna on a float column (all-missing text): pandas >= 3 warns, 4 refuses
            table[col] = pd.Series(["" if pd.isna(v) else str(v) for v in table[col]],
                                   index=table.index, dtype=str)
    for col in ("condition", "muscle"):
        table[col] = table[col].astype(str)
    return table
