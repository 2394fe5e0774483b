"""Tidy long tables for analysts: one row per trial × muscle, or per trial × muscle × bin."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: documented columns of ``trials.tsv``
TRIAL_COLUMNS = ["participant_id", "trial", "condition", "muscle", "onset_s", "baseline",
                 "response", "score", "rejected", "reject_reason"]
#: documented columns of ``timecourses.tsv``
TIMECOURSE_COLUMNS = ["participant_id", "trial", "condition", "muscle", "time_s",
                      "time_end_s", "value", "rejected"]


def trials_table(participant_id, events, muscles, baseline, response, score, reasons):
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

    Returns
    -------
    DataFrame
        Columns ``participant_id, trial, condition, muscle, onset_s`` (s), ``baseline`` (µV),
        ``response`` (µV), ``score``, ``rejected`` (bool), ``reject_reason`` (reasons joined by
        ``;``, empty when kept), then ``code`` and any extra event columns.
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
        "response": np.asarray(response).ravel(),
        "score": np.asarray(score).ravel(),
    }
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
