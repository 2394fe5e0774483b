"""A lab's recordings as an EMG-BIDS 1.11 dataset (``emgkit bids convert``), through mne-bids.

From the study config (``[study]`` participants table and recordings pattern, ``[channels]``
muscle -> channel map, ``[events]`` mapping) to::

    OUT/dataset_description.json, README, participants.tsv/json (group and covariates)
    OUT/sub-01/emg/sub-01_task-<task>_emg.bdf   the file as recorded (EDF/BDF copied), or
                                                BrainVision/.acq/text converted to 24-bit
                                                BDF (source named in sub-01_scans.tsv)
    OUT/sub-01/emg/sub-01_task-<task>_emg.json  EMGPlacementScheme, EMGReference,
                                                PowerLineFrequency, SoftwareFilters …
    OUT/sub-01/emg/sub-01_task-<task>_channels.tsv  target_muscle ("corrugator supercilii")
                                                and group (emgkit's muscle; a bipolar pair
                                                is its two rows, anode first)
    OUT/sub-01/emg/sub-01_task-<task>_events.tsv    trial_type = the condition of each
                                                mapped event (value = the trigger code);
                                                codes the mapping leaves out are not written

The source is only read; the dataset is written into a staging folder beside OUT and moved
into place when complete, so OUT is either absent or whole. ``emgkit run --bids OUT`` with a
config without ``[channels]`` reads the muscles back from ``target_muscle``/``group``
(:func:`emgkit.io.bids.bids_channel_map`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .._files import sidecar_of, write_tsv
from ..config import Config, load_config
from ..errors import ConfigError, OutputError, ReadError
from ..io.bids import TARGET_MUSCLES, sidecar_mains
from ..io.raw import read_raw
from ..pipeline import open_recording
from .bids_formats import (
    MANUFACTURERS,
    bids_format,
    converted_raw,
    hardware_filters,
    record_source,
    unit_text,
)
from .outdir import guard_output
from .plan import plan_from_config, plan_from_recordings, split_key

logger = logging.getLogger("emgkit")

#: BIDS version the written dataset follows (EMG-BIDS is part of BIDS since 1.11.0)
BIDS_VERSION = "1.11.0"
#: mne-bids warnings that say nothing about the data emgkit writes (no electrode positions
#: are known, so no ``*_electrodes.tsv``/``*_coordsystem.json``: both are optional)
_EXPECTED_WARNINGS = ("No electrode location info found",)


def _task_label(task, recordings):
    """The BIDS task label: ``task``, else the ``task-<label>`` of the recordings' names."""
    import re

    if task is None:
        found = {m.group(1) for p in recordings
                 for m in [re.search(r"_task-([A-Za-z0-9]+)", Path(p).name)] if m}
        if len(found) != 1:
            raise ConfigError(f"The recordings' names give {'no' if not found else 'several'} "
                              f"task label{'s ' + str(sorted(found)) if found else ''}; pass "
                              f"--task LABEL (letters and digits, e.g. mimicry).")
        task = found.pop()
    if not re.fullmatch(r"[A-Za-z0-9]+", str(task)):
        raise ConfigError(f"--task {task!r} is not a BIDS label; use letters and digits only, "
                          f"e.g. mimicry.")
    return str(task)


def target_muscle(muscle):
    """The anatomical ``target_muscle`` text for an emgkit muscle name (``corrugator`` ->
    ``corrugator supercilii``; ``zyg_left`` -> ``zygomaticus major (left)``)."""
    from ..config.guess import parse_label

    if muscle in TARGET_MUSCLES:
        return TARGET_MUSCLES[muscle]
    parts = parse_label(muscle)
    if parts is None or parts.muscle not in TARGET_MUSCLES:
        return muscle.replace("_", " ")
    return TARGET_MUSCLES[parts.muscle] + (f" ({parts.side})" if parts.side else "")


def _channel_rows(resolved, labels):
    """Channel label -> (emgkit muscle, role) for the channels the muscles use."""
    rows = {}
    for muscle, (anode, cathode) in resolved.items():
        pair = [(anode, "anode" if cathode else "signal")] + \
            ([(cathode, "cathode")] if cathode else [])
        for label, role in pair:
            if label in rows:
                raise ConfigError(f"Channel {label} is used by muscles {rows[label][0]} and "
                                  f"{muscle}; an EMG-BIDS channels table gives each channel "
                                  f"one target muscle. Record each muscle on its own "
                                  f"channels, or convert without one of them.")
            rows[label] = (muscle, role)
    order = {label: k for k, label in enumerate(labels)}
    for muscle, (anode, cathode) in resolved.items():  # the pair is read back in file order
        if cathode and order[anode] > order[cathode]:
            raise ConfigError(f"Muscle {muscle}: the anode {anode} comes after the cathode "
                              f"{cathode} in the file; emgkit reads a pair back from "
                              f"channels.tsv in the file's order, so this derivation cannot "
                              f"be recorded. Map it as {cathode}-{anode} (the sign of the "
                              f"signal does not change an envelope).")
    return rows


def _reference_text(resolved):
    pairs = [f"{m} = {a} - {c}" for m, (a, c) in resolved.items() if c]
    singles = [f"{m} = {a}" for m, (a, c) in resolved.items() if not c]
    text = []
    if pairs:
        text.append("Bipolar derivations of channels recorded against the amplifier's common "
                    "reference (channels.tsv group, anode first): " + "; ".join(pairs) + ".")
    if singles:
        text.append("Channels recorded bipolar: " + "; ".join(singles) + ".")
    return " ".join(text)


def _events_for_bids(events, shift):
    """mne events array (onset sample, 0, value) and ``{trial_type: value}``: the condition
    as trial_type, the trigger code as value when each condition has one integer code, else
    the condition's number."""
    onsets = events["onset_s"].to_numpy(float) - \
        events["condition"].map(lambda c: shift.get(c, 0.0)).to_numpy(float)
    conds = list(dict.fromkeys(events["condition"]))
    codes = events.groupby("condition", sort=False)["code"].unique()
    try:
        values = {c: int(codes[c][0]) for c in conds if len(codes[c]) == 1}
    except ValueError:
        values = {}
    if len(values) != len(conds) or len(set(values.values())) != len(conds) or \
            min(values.values(), default=1) < 1:
        values = {c: k + 1 for k, c in enumerate(conds)}
    return onsets, values


def convert_to_bids(source, config, out, *, task=None, line_freq=None, reference=None,
                    placement=None, name=None, recordings=None, verbose="error"):
    """Write a study's recordings as an EMG-BIDS dataset.

    Parameters
    ----------
    source : path-like
        Folder of the recordings: the relative paths of ``[study] participants`` and
        ``recordings`` are resolved against it (default: the config's folder).
    config : Config | path-like
        The study config: ``[study]`` (participants table with ``group``, recordings
        pattern), ``[channels]`` (muscle -> channel label or ``"anode-cathode"``) and
        ``[events]`` (the codes mapped to conditions; these become ``trial_type``).
    out : path-like
        The dataset root to write: new or an empty folder, outside ``source``.
    task : str | None
        BIDS task label; None takes the ``task-<label>`` of the recordings' file names.
    line_freq : float | None
        Mains frequency (Hz) for ``PowerLineFrequency``; None: the source's ``*_emg.json``,
        else ``[preprocess] notch``.
    reference : str | None
        ``EMGReference`` text; None describes the config's derivations.
    placement : str | None
        ``EMGPlacementSchemeDescription``; None names the target muscles.
    name : str | None
        ``Name`` in ``dataset_description.json`` (default: the source folder's name).
    recordings : path-like | None
        A recordings table (``participant_id``, ``recording`` relative to ``source``, and
        any of ``session``, ``acquisition``, ``run``) for participants with several
        recordings; each becomes ``sub-X[_ses-Y]_task-T[_acq-Z][_run-N]_emg.*``
        (:func:`emgkit.study.plan.plan_from_recordings`). None: one recording per
        participant from ``[study] recordings``.
    verbose : str
        MNE's verbosity.

    Returns
    -------
    pathlib.Path
        The dataset root.

    Raises
    ------
    OutputError
        ``out`` exists and is not an empty folder, or lies inside (or around) the source.
    ConfigError
        No ``[channels]``, no task label, no mains frequency, or a channel shared by two
        muscles.
    ReadError
        A recording that is missing or in a format emgkit does not read. EDF/BDF files are
        copied; BrainVision, BIOPAC ``.acq``, AcqKnowledge text exports and CSV/TSV are
        converted to 24-bit BDF (:mod:`emgkit.study.bids_formats`), the conversion named in
        ``dataset_description.json``, the README and the ``source_file``/``source_format``
        columns of ``sub-*_scans.tsv``.
    """
    from mne_bids import BIDSPath, write_raw_bids

    if not isinstance(config, Config):
        config = load_config(config)
    if not config.channels:
        raise ConfigError(f"emgkit bids convert needs [channels] in {config.path or 'the config'}"
                          f" (muscle = channel label or \"anode-cathode\"): it becomes "
                          f"target_muscle in *_channels.tsv.")
    src_root = Path(source if source is not None else config.path.parent).resolve()
    if not src_root.is_dir():
        raise ReadError(f"SOURCE {source} is not a folder; give the folder of the recordings.")
    rooted = dataclasses.replace(
        config, path=src_root / (config.path.name if config.path else "study.toml"))
    plan = plan_from_config(rooted) if recordings is None else \
        plan_from_recordings(rooted, recordings, src_root)
    recordings = dict(plan.recordings)
    for key, rec in recordings.items():
        if not Path(rec).is_file():
            raise ReadError(f"Recording {rec} of {key} does not exist; fix [study] recordings "
                            f"or the participants table.")
        bids_format(rec, config)  # a format emgkit reads, or a ReadError naming it
    task = _task_label(task, recordings.values())
    inputs = list(plan.inputs) + list(recordings.values()) + \
        ([config.path] if config.path else [])
    target = guard_output(out, kind="folder", inputs=inputs, reads=[src_root])
    if target.is_dir() and any(target.iterdir()):
        shown = ", ".join(sorted(p.name for p in target.iterdir())[:6])
        raise OutputError(f"--out {out} already holds files ({shown}); emgkit bids convert "
                          f"writes a new dataset only. Choose a new or empty folder.")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()  # the user's umask, as the dataset's final mode
    try:
        facts = []
        for key, rec in recordings.items():
            pid = split_key(key)[0]
            facts.append(_write_one(key, Path(rec), config, staging, task, line_freq,
                                    reference, placement, verbose, BIDSPath, write_raw_bids,
                                    path_id=plan.spelled.get(pid, pid)))
        _participants(plan, staging)
        _description(staging, name or src_root.name,
                     [f["_converted"] for f in facts if "_converted" in f])
        if target.is_dir():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("Wrote %d recordings as EMG-BIDS to %s", len(facts), target)
    return target


def _write_one(key, rec, config, root, task, line_freq, reference, placement, verbose,
               BIDSPath, write_raw_bids, *, path_id):
    """One recording into the staging dataset (``path_id``: what ``{participant_id}``
    stands for in an event-log path); returns its ``*_emg.json`` dict."""
    sub, entities = split_key(key)
    label = sub[len("sub-"):]
    ses, acq, run = (entities.get(name, "").partition("-")[2] or None
                     for name in ("session", "acquisition", "run"))
    loaded, events = open_recording(rec, config, path_id, verbose=verbose)
    mains = line_freq or sidecar_mains(rec) or config.preprocess.notch
    if not mains:
        raise ConfigError(f"{rec}: no mains frequency is known ([preprocess] notch = 0 and no "
                          f"*_emg.json PowerLineFrequency); pass --line-freq 50 or 60.")
    fmt = bids_format(rec, config)
    convert = fmt != "copy"
    units, renamed = {}, {}
    if convert:
        raw, units, renamed = converted_raw(rec, config, loaded, verbose=verbose)
    else:
        raw = read_raw(rec, preload=False, verbose=verbose)
    raw.set_annotations(None)  # the events are written from emgkit's mapping below
    resolved = {m: tuple(renamed.get(x, x) if x else x for x in pair)
                for m, pair in loaded.resolved.items()}
    rows = _channel_rows(resolved, raw.ch_names)
    types = {ch: ("emg" if ch in rows else
                  "stim" if kind == "stim" else "misc")
             for ch, kind in zip(raw.ch_names, raw.get_channel_types())}
    raw.set_channel_types(types, verbose=verbose)
    raw.info["line_freq"] = float(mains)
    onsets, values = _events_for_bids(events, config.events.shift)
    samples = np.round(onsets * raw.info["sfreq"]).astype(int) + raw.first_samp
    ev = np.column_stack([samples, np.zeros_like(samples),
                          events["condition"].map(values).to_numpy(int)])
    path = BIDSPath(subject=label, session=ses, task=task, acquisition=acq, run=run,
                    datatype="emg", root=root)
    with warnings.catch_warnings():
        for message in _EXPECTED_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        write_raw_bids(raw, path, events=ev, event_id=values, emg_placement="Other",
                       overwrite=False, verbose=verbose,
                       **({"format": "BDF", "allow_preload": True,
                           "physical_range": "channelwise"} if convert else {}))
    base = path.copy().update(extension=None, suffix=None)
    emg_json = base.copy().update(suffix="emg", extension=".json").fpath
    side = json.loads(emg_json.read_text(encoding="utf-8"))
    if convert:  # mne-bids guesses the maker from the written .bdf: the source's instead
        side.pop("Manufacturer", None)
        if fmt in MANUFACTURERS:
            side = {"TaskName": side.pop("TaskName"), "Manufacturer": MANUFACTURERS[fmt],
                    **side}
    muscles = [target_muscle(m) for m in resolved]
    side.update({
        "EMGReference": reference or _reference_text(resolved),
        "EMGPlacementScheme": "Other",
        "EMGPlacementSchemeDescription": placement or (
            "Surface electrodes over " + ", ".join(muscles) + " (see channels.tsv "
            "target_muscle and group)."),
        "SoftwareFilters": "n/a",
        "HardwareFilters": hardware_filters(raw),
        "PowerLineFrequency": float(mains),
    })
    emg_json.write_text(json.dumps(side, indent=4) + "\n", encoding="utf-8")
    if convert:
        side["_converted"] = (f"{rec.name} ({fmt}) -> {path.basename}_emg.bdf (24-bit "
                              f"BDF, MNE-Python export)")
        record_source(path, rec, fmt)
    tsv = base.copy().update(suffix="channels", extension=".tsv").fpath
    table = pd.read_csv(tsv, sep="\t", dtype=str, keep_default_na=False)
    table["target_muscle"] = [target_muscle(rows[c][0]) if c in rows else "n/a"
                              for c in table["name"]]
    table["group"] = [rows[c][0] if c in rows else "n/a" for c in table["name"]]
    table["description"] = [f"{rows[c][0]}: {rows[c][1]}" if c in rows else d
                             for c, d in zip(table["name"], table["description"])]
    table["units"] = [unit_text(units[c]) if c in units and t == "MISC" else u
                      for c, t, u in zip(table["name"], table["type"], table["units"])]
    recorded = {new: old for old, new in renamed.items()}
    table["description"] = [f"{d} (recorded as {recorded[c]!r})" if c in recorded else d
                             for c, d in zip(table["name"], table["description"])]
    table.to_csv(tsv, sep="\t", index=False, lineterminator="\n")
    return side


def _participants(plan, root):
    """participants.tsv/json from the study's participants table (group and covariates)."""
    on_disk = {p.name for p in root.glob("sub-*") if p.is_dir()}
    table = plan.participants[plan.participants["participant_id"].isin(on_disk)]
    write_tsv(table, root / "participants.tsv")
    described = {}
    for source_table in plan.inputs:
        side = sidecar_of(source_table)
        if side.is_file():
            try:
                described = json.loads(side.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise ReadError(f"{side} is not readable JSON ({exc}); fix or remove it.") \
                    from None
    meta = {"participant_id": {"Description": "Participant label (sub-<label>)."}}
    for col in table.columns[1:]:
        meta[col] = described.get(col) or {
            "Description": "Group (between-participant factor)." if col == "group" else
            f"{col}, from the study's participants table."}
    if "group" in table:
        levels = sorted(map(str, table["group"].dropna().unique()))
        meta["group"].setdefault("Levels", {lv: lv for lv in levels})
    (root / "participants.json").write_text(json.dumps(meta, indent=4) + "\n",
                                            encoding="utf-8")


def _description(root, name, converted=()):
    """dataset_description.json: BIDS 1.11.0, generated by emgkit through MNE-BIDS, with the
    format conversions (``converted``: one text per converted file) in its description."""
    from .._version import __version__

    path = root / "dataset_description.json"
    desc = json.loads(path.read_text(encoding="utf-8"))
    desc.update({"Name": name, "BIDSVersion": BIDS_VERSION, "DatasetType": "raw"})
    desc.pop("Authors", None)  # mne-bids' placeholders; a lab fills in its own
    ours = {"Name": "emgkit bids convert", "Version": __version__}
    if converted:
        ours["Description"] = "Converted to BDF: " + "; ".join(converted) + "."
    desc["GeneratedBy"] = [ours] + \
        [g for g in desc.get("GeneratedBy", []) if g.get("Name") != "emgkit bids convert"]
    path.write_text(json.dumps(desc, indent=4) + "\n", encoding="utf-8")
    if converted:  # the README says it too, before mne-bids' references
        readme = root / "README"
        text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
        note = ("Conversion\n----------\nEMG-BIDS stores EMG as EDF or BDF. These recordings "
                "were converted to 24-bit BDF by emgkit bids convert " + __version__ +
                " (MNE-Python export through MNE-BIDS; each channel scaled to its own "
                "physical range; events from emgkit's reading of the source, in "
                "*_events.tsv). Source file and format of each converted file are in the "
                "source_file and source_format columns of sub-*_scans.tsv:\n" +
                "".join(f"- {c}\n" for c in converted))
        readme.write_text(note + ("\n" + text if text else ""), encoding="utf-8")
