"""Exports of a results folder for other software: one row per participant (SPSS, JASP) or
the tidy trial table with the participant columns merged."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .._files import sidecar_of
from .._ids import normalise_ids
from ..epochs.tables import read_trials
from .results import checked_group, run_participants


def results_participants(root, participants=None, *, checked=None):
    """The participants table of a results folder: ``participants`` when given, else the
    run's own copy (:func:`emgkit.study.results.run_participants`), never today's version
    of the table the config names."""
    return run_participants(root, participants, checked=checked)


def results_inputs(root, participants=None):
    """The files outside a results folder that an output of a command reading it must never
    replace, for the output guard: the participants table given, and every input the run's
    ``run.json`` names (config, participants table and its JSON sidecar, recordings and
    their sidecars and event logs); the results folder itself is read as a whole. Never
    raises: what cannot be found is left for the reader to report."""
    out = [Path(participants), sidecar_of(participants)] if participants is not None else []
    try:
        rec = json.loads((Path(root) / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return out
    if not isinstance(rec, dict):
        return out
    # every input of the run is protected too, not only what this command reads: a
    # --force must never turn the study's config, table or a recording into an export
    try:
        table = Path(rec["config_file"]).parent / rec["config"]["study"]["participants"]
        out += [table, sidecar_of(table)]
    except (KeyError, TypeError):
        pass
    if isinstance(rec.get("config_file"), str):
        out.append(Path(rec["config_file"]))
    for kind in ("config", "participants"):
        files = (rec.get("inputs") or {}).get(kind) or {}
        out += [Path(f) for f in files if isinstance(f, str)]
    for info in (rec.get("participants") or {}).values():
        if isinstance(info, dict):
            out += [Path(f) for f in info.get("inputs") or [] if isinstance(f, str)]
            if isinstance(info.get("recording"), str):
                out.append(Path(info["recording"]))
    return list(dict.fromkeys(out))


def export_long(trials, participants):
    """The trial table (one row per trial × muscle) with the participant columns merged
    (``01`` and ``sub-01`` match; ids are written ``sub-<label>``)."""
    trials, participants = normalise_ids(trials), normalise_ids(participants)
    extra = [c for c in participants.columns if c != "participant_id" and c not in trials]
    return trials.merge(participants[["participant_id"] + extra], on="participant_id",
                        how="left")


def export_wide(trials, participants, *, value="score", muscles=None, conditions=None):
    """One row per participant: the participant columns, then per muscle × condition the
    mean ``value`` over kept trials (``<value>_<muscle>_<condition>``) and the number of kept
    trials (``n_<muscle>_<condition>``), in the given muscle and condition orders (default:
    the trial table's). Participants without kept trials in a cell get an empty mean and 0."""
    trials, participants = normalise_ids(trials), normalise_ids(participants)
    kept = trials[~trials["rejected"].astype(bool)]
    muscles = list(muscles) if muscles is not None else list(pd.unique(trials["muscle"]))
    conds = list(conditions) if conditions is not None else \
        list(pd.unique(trials["condition"]))
    g = kept.groupby(["participant_id", "muscle", "condition"], sort=False)[value]
    means, counts = g.mean(), g.size()
    ids = list(dict.fromkeys(list(participants["participant_id"])
                             + list(pd.unique(trials["participant_id"]))))
    out = pd.DataFrame({"participant_id": ids}).merge(participants, on="participant_id",
                                                      how="left")
    for m in muscles:
        for c in conds:
            key = [(p, m, c) for p in ids]
            out[f"{value}_{m}_{c}"] = [means.get(k) for k in key]
            out[f"n_{m}_{c}"] = [int(counts.get(k, 0)) for k in key]
    return out


def export_results(root, *, wide=True, participants=None):
    """:func:`export_wide` or :func:`export_long` of a results folder's trials."""
    root = Path(root)
    checked = checked_group(root)  # against its done.json, once
    path = checked[0] / "trials.tsv"
    trials = read_trials(path if path.is_file() else root)
    parts = results_participants(root, participants, checked=checked)
    if not wide:
        return export_long(trials, parts)
    from ..report.group import config_orders

    muscles, conds = config_orders(root / "run.json", trials)  # the config's order
    return export_wide(trials, parts, muscles=muscles, conditions=conds)
