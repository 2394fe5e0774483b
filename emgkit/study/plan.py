"""Find a study's participants and recordings: from a config's ``[study]`` section or an
EMG-BIDS folder (``sub-*/[ses-*/]emg/*_task-<task>_*emg.{edf,bdf}``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .._files import read_tsv
from .._ids import MISSING, participant_label
from ..errors import ConfigError, OutputError, ReadError
from .outdir import subject_label


@dataclass
class StudyPlan:
    """What ``emgkit run`` will process.

    Attributes
    ----------
    participants : DataFrame
        ``participant_id`` (canonical, ``sub-<label>``: :mod:`emgkit._ids`), ``group`` and
        covariates.
    recordings : dict
        Recording key -> recording path (the file may be missing: that participant fails):
        the participant id ``sub-<label>``, or ``sub-X[_ses-Y][_acq-Z][_run-N]`` for a
        participant's several recordings (:func:`recording_key`).
    source : str
        Where the plan came from (config or BIDS root).
    folders : dict
        Recording key -> output folder name, the key itself with the participant label
        checked (:func:`folder_name`: a plain name that cannot leave the output folder).
    inputs : list of pathlib.Path
        Tables the plan was read from (participants table), for provenance and the
        output-folder checks.
    spelled : dict
        Participant id (``sub-<label>``) -> the id as written in the participants table,
        which ``{participant_id}`` in path patterns (an event log) stands for; default the id
        itself.
    bids : bool
        The plan reads an EMG-BIDS dataset (:func:`plan_from_bids`): events come from each
        recording's ``*_events.tsv``.
    """

    participants: pd.DataFrame
    recordings: dict
    source: str
    folders: dict = None
    inputs: list = None
    spelled: dict = None
    bids: bool = False

    def __post_init__(self):
        self.spelled = dict(self.spelled or {})
        if self.folders is None:
            self.folders = {key: folder_name(key) for key in self.recordings}
        self.inputs = list(self.inputs or [])
        seen = {}
        for key, folder in self.folders.items():
            if folder in seen:
                raise ReadError(f"Participants {seen[folder]!r} and {key!r} both map to the "
                                f"output folder {folder}; give each participant one id.")
            seen[folder] = key

    def __repr__(self):
        groups = self.participants["group"].value_counts().to_dict() \
            if "group" in self.participants else {}
        return (f"<StudyPlan | {len(self.recordings)} recordings | groups {groups} | "
                f"{self.source}>")


#: BIDS entities that tell several recordings of one participant apart, in file-name
#: order: (key in file names, entity name in mne-bids and column of the trial tables)
KEY_ENTITIES = (("ses", "session"), ("acq", "acquisition"), ("run", "run"))
_KEY_PART = re.compile(r"_(ses|acq|run)-")


def recording_key(participant_id, *, session=None, acquisition=None, run=None):
    """The key of one recording of a participant: ``sub-<label>`` plus ``_ses-<label>``,
    ``_acq-<label>``, ``_run-<index>`` for the entities given (labels without prefix)."""
    given = {"session": session, "acquisition": acquisition, "run": run}
    return str(participant_id) + "".join(
        f"_{short}-{given[name]}" for short, name in KEY_ENTITIES
        if given[name] not in (None, ""))


def split_key(key):
    """``(participant_id, entities)`` of a recording key (:func:`recording_key`):
    ``"sub-01_ses-2_run-1"`` -> ``("sub-01", {"session": "ses-2", "run": "run-1"})``; the
    entities as BIDS key-value text, the form the trial tables' columns hold.

    Raises
    ------
    OutputError
        An entity label that is not a BIDS label (letters and digits).
    """
    key = str(key)
    first = _KEY_PART.search(key)
    if first is None:
        return key, {}
    pid, rest = key[:first.start()], key[first.start():]
    parts = re.findall(r"_(ses|acq|run)-([^_]*)", rest)
    names = dict(KEY_ENTITIES)
    if "".join(f"_{k}-{v}" for k, v in parts) != rest or \
            not all(re.fullmatch(r"[A-Za-z0-9]+", v) for _, v in parts):
        raise OutputError(f"Recording {key!r}: {rest.lstrip('_')!r} is not BIDS entities "
                          f"(ses-/acq-/run- with letters and digits); fix the label.")
    return pid, {names[k]: f"{k}-{v}" for k, v in parts}


def folder_name(key, *, where=""):
    """Output folder of a participant (``sub-<label>``) or of one of several recordings of
    a participant (``sub-<label>[_ses-<label>][_acq-<label>][_run-<index>]``); raises
    :class:`~emgkit.errors.OutputError` for ids that are not BIDS labels."""
    sub, entities = split_key(key)
    return subject_label(sub, where=where) + "".join(f"_{v}" for v in entities.values())


def read_participants(path):
    """Read a ``participants.tsv``.

    ``participant_id`` is read as text (``NA`` is an id, not a missing value; empty cells,
    ``n/a``, ``nan`` and ``None`` are missing) and must be a BIDS label with or without the
    ``sub-`` prefix; it is returned canonical, ``sub-<label>`` (:mod:`emgkit._ids`).

    Returns
    -------
    DataFrame
        The table, ``participant_id`` as ``sub-<label>``.

    Raises
    ------
    ReadError
        Missing or unreadable file, no ``participant_id`` column, no rows, or an id that is
        missing or listed twice (``01`` and ``sub-01`` are one id).
    OutputError
        An id that is not a BIDS label (``../x``, ``a/b``, ``sub 1``), naming the row.
    """
    return _participants(path)[0]


def _participants(path):
    """:func:`read_participants`, and a dict canonical id -> id as written."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a table" if path.is_dir() else "does not exist"
        raise ReadError(f"Participants table {path} {what}; set [study] participants in the "
                        f"config to a participants.tsv file.")
    table = read_tsv(path, what="Participants table", sep="\t", ids=False)
    if "participant_id" not in table.columns:
        raise ReadError(f"{path} has no participant_id column; it has "
                        f"{', '.join(map(str, table.columns))}.")
    if table.empty:
        raise ReadError(f"Participants table {path} lists no participants; add one row per "
                        f"participant.")
    spelled, lines = {}, {}
    for row, pid in enumerate(table["participant_id"], start=2):
        if pd.isna(pid) or str(pid).strip().lower() in MISSING:
            raise ReadError(f"{path}, line {row}: participant_id is empty "
                            f"({'empty cell' if pd.isna(pid) else repr(pid)}); name the "
                            f"participant, e.g. 'sub-01' or '01'.")
        label = participant_label(pid, where=f"{path}, line {row}", error=OutputError)
        if label in lines:
            raise ReadError(f"{path}, line {row}: participant {pid!r} is listed twice (also "
                            f"{spelled[label]!r} on line {lines[label]}; '01' and 'sub-01' "
                            f"are one participant); keep one row per participant.")
        spelled[label], lines[label] = str(pid).strip(), row
    table["participant_id"] = list(spelled)
    return table, spelled


def plan_from_config(config):
    """Plan a run from ``[study] participants`` and ``recordings`` (a path pattern)."""
    st = config.study
    missing = [k for k in ("participants", "recordings") if k not in st]
    if missing:
        raise ConfigError(f"emgkit run needs [study] {' and '.join(missing)} in "
                          f"{config.path or 'the config'}, e.g. participants = "
                          f'"participants.tsv" and recordings = '
                          f'"{{participant_id}}/emg/{{participant_id}}_task-x_emg.bdf".')
    table = config.resolve(st["participants"])
    parts, spelled = _participants(table)
    # the pattern names the user's files: the id as written in the table
    recs = {pid: config.resolve(st["recordings"].replace("{participant_id}", written))
            for pid, written in spelled.items()}
    return StudyPlan(parts, recs, str(config.path), inputs=[table], spelled=spelled)


def plan_from_recordings(config, table, source):
    """Plan from ``[study] participants`` and a recordings table that gives each recording
    its BIDS entities (several sessions, acquisitions or runs of one participant).

    Parameters
    ----------
    config : Config
        Its ``[study] participants`` gives the participants (``[study] recordings`` is
        not used).
    table : path-like
        Tab-separated (``.csv``: comma-separated): ``participant_id``, ``recording`` (the
        file, relative to ``source``) and any of ``session``, ``acquisition`` (labels:
        letters and digits) and ``run`` (an index: digits); empty or ``n/a`` = absent.
    source : path-like
        The folder the recordings' paths are relative to.

    Returns
    -------
    StudyPlan
        Keys ``sub-X[_ses-Y][_acq-Z][_run-N]`` (:func:`recording_key`).

    Raises
    ------
    ReadError
        A missing table or column, a participant not in the participants table, an
        entity that is not a BIDS label, or two rows with the same participant and
        entities.
    """
    if "participants" not in config.study:
        raise ConfigError(f"emgkit bids convert --recordings needs [study] participants in "
                          f"{config.path or 'the config'} (participants.tsv with group).")
    parts_path = config.resolve(config.study["participants"])
    parts, spelled = _participants(parts_path)
    table = Path(table)
    if not table.is_file():
        raise ReadError(f"Recordings table {table} does not exist.")
    rows = read_tsv(table, what="Recordings table", sep="," if table.suffix == ".csv"
                    else "\t", text=True)
    missing = [c for c in ("participant_id", "recording") if c not in rows]
    if missing:
        raise ReadError(f"Recordings table {table} has no {' or '.join(missing)} column; give "
                        f"participant_id, recording and any of session, acquisition, run.")
    recs = {}
    for line, row in enumerate(rows.to_dict("records"), start=2):
        where = f"{table}, line {line}"
        pid = participant_label(row["participant_id"], where=where, error=ReadError)
        if pid not in spelled:
            raise ReadError(f"{where}: participant {row['participant_id']!r} is not in "
                            f"{parts_path}; add it there or remove the row.")
        ents = {}
        for name in ("session", "acquisition", "run"):
            value = str(row.get(name, "")).strip()
            if value.lower() in MISSING or value == "":
                continue
            rule = r"[0-9]+" if name == "run" else r"[A-Za-z0-9]+"
            if not re.fullmatch(rule, value):
                raise ReadError(f"{where}: {name} {value!r} is not a BIDS "
                                f"{'index (digits)' if name == 'run' else 'label'}; use "
                                f"{'1, 2, …' if name == 'run' else 'letters and digits'}.")
            ents[name] = value
        key = recording_key(pid, **ents)
        if key in recs:
            raise ReadError(f"{where}: a second recording for {key} ({row['recording']}); "
                            f"give each of a participant's recordings its own session, "
                            f"acquisition or run.")
        recs[key] = Path(source) / str(row["recording"]).strip()
    return StudyPlan(parts, recs, str(table), inputs=[parts_path, table], spelled=spelled)


def plan_from_bids(root, task=None):
    """Plan a run from an EMG-BIDS dataset.

    Finds the ``*_emg.edf|bdf`` files under ``root`` through mne-bids (``BIDSPath``
    entities; restricted to ``task`` when given); groups and covariates come from
    ``participants.tsv``. Each recording is processed on its own, keyed
    ``sub-X[_ses-Y][_acq-Z][_run-N]`` (:func:`recording_key`): its trials carry
    ``session``, ``acquisition`` and ``run`` columns for the entities the dataset uses,
    as several sessions always have. Without mne-bids installed the same files are found
    by their names.

    Raises
    ------
    ReadError
        No recordings, two recordings with the same entities (e.g. two tasks: pass
        ``task``), or participants missing from ``participants.tsv``.
    """
    root = Path(root)
    if not root.is_dir():
        raise ReadError(f"BIDS root {root} is not a folder.")
    found = _emg_recordings(root, task)
    if not found:
        raise ReadError(f"No EMG recordings (sub-*/[ses-*/]emg/*_emg.edf|bdf"
                        f"{f' with task-{task}' if task else ''}) under {root}.")
    table = root / "participants.tsv"
    parts = read_participants(table)
    recs = {}
    for path, entities in found:
        key = recording_key(f"sub-{entities['subject']}", session=entities.get("session"),
                            acquisition=entities.get("acquisition"), run=entities.get("run"))
        if key in recs:
            raise ReadError(f"{root}: more than one recording for {key} ({recs[key].name}, "
                            f"{path.name}); pass --task to choose.")
        recs[key] = path
    known = set(parts["participant_id"])
    unknown = sorted({split_key(k)[0] for k in recs} - known)
    if unknown:
        raise ReadError(f"{root}/participants.tsv lacks {', '.join(unknown)}.")
    return StudyPlan(parts, recs, str(root), inputs=[table], bids=True)


def _emg_recordings(root, task):
    """``(path, entities)`` of every EMG recording under ``root`` (sorted by path):
    ``subject``, ``session``, ``acquisition``, ``run`` (labels, None when absent)."""
    try:
        from mne_bids import find_matching_paths
    except ImportError:  # the [bids] extra is not installed: the same files by name
        files = sorted(p for p in root.glob("sub-*/**/emg/*_emg.*")
                       if p.suffix.lower() in (".edf", ".bdf")
                       and (not task or f"_task-{task}_" in p.name))
        out = []
        for p in files:
            ents = dict(re.findall(r"(?:^|_)([a-z]+)-([A-Za-z0-9]+)", p.name))
            out.append((p, {"subject": ents.get("sub"), "session": ents.get("ses"),
                            "acquisition": ents.get("acq"), "run": ents.get("run")}))
        return out
    paths = find_matching_paths(root, tasks=task, datatypes="emg", suffixes="emg",
                                extensions=[".edf", ".bdf", ".EDF", ".BDF"])
    # the raw data only: not sourcedata/ or derivatives/ copies that carry BIDS names
    paths = [p for p in paths
             if Path(p.fpath).relative_to(root).parts[0].startswith("sub-")]
    return sorted(((Path(p.fpath), {"subject": p.subject, "session": p.session,
                                    "acquisition": p.acquisition,
                                    "run": None if p.run is None else str(p.run)})
                   for p in paths), key=lambda item: str(item[0]))
