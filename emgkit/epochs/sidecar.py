"""BIDS-style JSON sidecars of ``trials.tsv``, ``timecourses.tsv`` and ``quality.tsv``: every
column's long name, description, unit and levels, so a table read without emgkit is
self-explaining.

The sidecar describes the columns the table actually has (``session``, ``score_raw``,
``latency_s``, ``baseline_source`` and event columns appear only when present); the unit of
``score``/``value`` follows the baseline mode (:data:`SCORE_UNITS`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .._files import write_text

#: unit of a baseline-corrected value per ``[epochs] baseline_mode``
SCORE_UNITS = {"subtract": "µV", "ratio": "ratio", "percent": "%", "logratio": "log10(ratio)",
               "zscore": "z"}
_SCORE_TEXT = {"subtract": "response level minus baseline level",
               "ratio": "response level divided by baseline level",
               "percent": "100 × (response level - baseline level) / baseline level",
               "logratio": "log10 of response level / baseline level",
               "zscore": "(response level - baseline level) / baseline SD"}
#: every rejection reason that can appear in ``reject_reason``
REJECT_REASONS = {
    "flat": "an input channel stayed constant inside the epoch ([reject] flat)",
    "saturated": "an input channel stayed at its minimum or maximum inside the epoch",
    "baseline_outlier": "baseline level beyond [reject] threshold robust SDs (method robust)",
    "response_outlier": "response level beyond [reject] threshold robust SDs within its "
                        "condition (method robust)",
    "range_artifact": "envelope range in a 50-ms window above 3 SDs of the session "
                      "(method kunecke2014)",
    "bin_outlier": "more than half the bins beyond 3.5 SD (method dignath2019)",
    "outside_recording": "the epoch extends beyond the recording",
    "invalid_score": "the score is not a number (e.g. a zero baseline in a ratio mode)",
    "manual": "excluded in manual review ([study] overrides)",
}


def _col(long, text, units=None, levels=None):
    out = {"LongName": long, "Description": text}
    if units:
        out["Units"] = units
    if levels:
        out["Levels"] = levels
    return out


def _levels(table, col, text):
    if col not in table:
        return None
    return {str(v): text(v) for v in pd.unique(table[col].astype(str)) if str(v) != ""}


def column_descriptions(table, *, baseline_mode, standardise="none", channels=None):
    """Describe every column of a trial or time-course table, BIDS style.

    Parameters
    ----------
    table : DataFrame
        A ``trials.tsv`` (:func:`emgkit.epochs.tables.trials_table`) or ``timecourses.tsv``
        (:func:`emgkit.epochs.tables.timecourses_table`) table, one or many participants.
    baseline_mode : str
        ``[epochs] baseline_mode``: sets the unit of ``score``, ``score_raw`` and ``value``.
    standardise : str
        ``[epochs] standardise``; with ``"participant_muscle"`` ``score`` is a z value.
    channels : dict | None
        Muscle -> channel spec (``"EXG1-EXG2"``), shown in the muscle levels.

    Returns
    -------
    dict
        Column -> ``{"LongName", "Description", "Units"?, "Levels"?}``, in the table's
        column order; a column emgkit does not know (an events column) is described as
        copied from the events.
    """
    unit = SCORE_UNITS.get(baseline_mode, "")
    how = _SCORE_TEXT.get(baseline_mode, baseline_mode)
    channels = channels or {}
    z = standardise != "none"
    score_text = (f"Mean baseline-corrected envelope over the response window ({how}; "
                  f"baseline_mode {baseline_mode})")
    known = {
        "participant_id": _col("Participant", "Participant label (BIDS sub-<label>)."),
        "session": _col("Session", "Session label (BIDS ses-<label>)."),
        "acquisition": _col("Acquisition", "Acquisition label (BIDS acq-<label>) of the "
                                           "recording."),
        "run": _col("Run", "Run of the recording (BIDS run-<index>)."),
        "trial": _col("Trial", "Trial number: the event's position in the recording, from 1 "
                               "(one row per trial and muscle)."),
        "condition": _col("Condition", "Condition of the trial, from [events] conditions.",
                          levels=_levels(table, "condition", lambda v: f"condition {v}")),
        "muscle": _col("Muscle", "Muscle, as named in [channels].",
                       levels=_levels(table, "muscle", lambda v: (
                           f"channel {channels[v]}" if v in channels else f"muscle {v}"))),
        "onset_s": _col("Event onset", "Onset of the event from the start of the recording "
                                       "(after [events] shift).", "s"),
        "baseline": _col("Baseline level", "Mean envelope over the baseline window (or the "
                                           "matched baseline block with [blocks]).", "µV"),
        "baseline_source": _col("Baseline source", "Where the trial's baseline came from "
                                                   "([blocks]): the baseline block used."),
        "response": _col("Response level", "Mean envelope over the response window.", "µV"),
        "score": _col("Score", (f"Trial score z-scored within participant × muscle among the "
                                f"kept trials ([epochs] standardise = {standardise}); the "
                                f"baseline-mode score is score_raw." if z else
                                score_text + "."), "z" if z else unit),
        "score_raw": _col("Score before standardisation", score_text + ".", unit),
        "latency_s": _col("Onset latency", "Onset of muscle activation after the event "
                                           "([onsets]); n/a: no activation found.", "s"),
        "rejected": _col("Rejected", "Whether the trial × muscle is left out of the analyses.",
                         levels={"True": "rejected (see reject_reason)", "False": "kept"}),
        "reject_reason": _col("Rejection reasons", "Why the trial × muscle was rejected: "
                                                   "reasons joined by ';', empty when kept.",
                              levels=dict(REJECT_REASONS)),
        "code": _col("Event code", "Trigger code or annotation text mapped to the condition."),
        "time_s": _col("Bin start", "Start of the time bin relative to the event onset.", "s"),
        "time_end_s": _col("Bin end", "End of the time bin relative to the event onset.", "s"),
        "value": _col("Bin value", f"Mean baseline-corrected envelope over the bin ({how}; "
                                   f"baseline_mode {baseline_mode}; never standardised).", unit),
    }
    return {str(c): known.get(str(c)) or _col(
        str(c), f"Column {c} of the events (the same for every muscle of a trial).")
        for c in table.columns}


#: columns of ``quality.tsv`` (:func:`emgkit.signal.quality.recording_quality`), one row per muscle
QUALITY_COLUMNS = {
    "participant_id": _col("Participant", "Participant label (BIDS sub-<label>)."),
    "session": _col("Session", "Session label (BIDS ses-<label>)."),
    "muscle": _col("Muscle", "Muscle, as named in [channels]."),
    "snr_db": _col("Activity-to-floor ratio", "10·log10(P95 / P5) of the power of the "
                   "band-passed signal in consecutive windows (0.5 s): how far the active "
                   "stretches rise above the quietest ones (flat and saturated stretches left "
                   "out).", "dB"),
    "mains_ratio": _col("Mains share", "Share of the in-band power within ±1 Hz of the mains "
                        "frequency and its harmonics, before the notch filter (0 to 1)."),
    "flat_s": _col("Flat time", "Total time an input channel of the muscle stayed constant "
                   "([reject] flat).", "s"),
    "saturated_s": _col("Saturated time", "Total time an input channel of the muscle stayed "
                        "at its minimum or maximum.", "s"),
    "trials": _col("Trials", "Number of trials of the muscle."),
    "kept": _col("Kept trials", "Number of trials of the muscle not rejected."),
    "cms_out_s": _col("CMS out of range", "Total time the BioSemi CMS was out of range "
                      "(bit 20 of the Status channel; 0 for other systems).", "s"),
}


def quality_descriptions(table):
    """Describe every column of a ``quality.tsv`` table (:data:`QUALITY_COLUMNS`; a column
    emgkit does not know is named as such).

    Returns
    -------
    dict
        Column -> ``{"LongName", "Description", "Units"?}`` in the table's column order.
    """
    return {str(c): QUALITY_COLUMNS.get(str(c)) or _col(
        str(c), f"Signal-quality measure {c} of the muscle.") for c in table.columns}


def write_sidecar(table, path, **kwargs):
    """Write the JSON sidecar of ``table`` to ``path`` (atomically).

    Parameters
    ----------
    table : DataFrame
    path : path-like
        ``trials.json`` or ``timecourses.json`` beside the table.
    **kwargs
        ``baseline_mode``, ``standardise``, ``channels`` of :func:`column_descriptions`.

    Returns
    -------
    pathlib.Path
    """
    text = json.dumps(column_descriptions(table, **kwargs), indent=2, ensure_ascii=False)
    return write_text(text + "\n", path)


def write_sidecars(folder, trials, timecourses, config):
    """Write ``trials.json`` and ``timecourses.json`` into ``folder`` for the tables
    processed with ``config``.

    Returns
    -------
    dict
        ``{"trials.json": path, "timecourses.json": path}``.
    """
    kw = {"baseline_mode": config.epochs.baseline_mode,
          "standardise": config.epochs.standardise, "channels": dict(config.channels)}
    folder = Path(folder)
    return {f"{name}.json": write_sidecar(table, folder / f"{name}.json", **kw)
            for name, table in (("trials", trials), ("timecourses", timecourses))}


def write_quality_sidecar(table, path):
    """Write ``quality.json`` (:func:`quality_descriptions`) for ``table`` to ``path``.

    Returns
    -------
    pathlib.Path
    """
    text = json.dumps(quality_descriptions(table), indent=2, ensure_ascii=False)
    return write_text(text + "\n", path)


__all__ = ["QUALITY_COLUMNS", "REJECT_REASONS", "SCORE_UNITS", "column_descriptions",
           "quality_descriptions", "write_quality_sidecar", "write_sidecar", "write_sidecars"]
