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
        Participant id (``sub-<label>``; ``sub-X_ses-Y`` for several BIDS sessions) ->
        recording path (the file may be missing: that participant fails).
    source : str
        Where the plan came from (config or BIDS root).
    folders : dict
        Participant id -> output folder name, ``sub-<label>[_ses-<label>]`` (validated: a
        plain name that cannot leave the output folder).
    inputs : list of pathlib.Path
        Tables the plan was read from (participants table), for provenance and the
        output-folder checks.
    spelled : dict
        Participant id (``sub-<label>``) -> the id as written in the participants table,
        which ``{participant_id}`` in path patterns (an event log) stands for; default the id
        itself.
    """

    participants: pd.DataFrame
    recordings: dict
    source: str
    folders: dict = None
    inputs: list = None
    spelled: dict = None

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


def folder_name(key, *, where=""):
    """Output folder of a participant (``sub-<label>``) or participant session
    (``sub-<label>_ses-<label>``); raises :class:`~emgkit.errors.OutputError` for ids that
    are not BIDS labels."""
    sub, _, ses = str(key).partition("_ses-")
    folder = subject_label(sub, where=where)
    if ses:
        if not re.fullmatch(r"[A-Za-z0-9]+", ses):
            raise OutputError(f"Session label {ses!r} of {key!r} is not a BIDS label.")
        folder += f"_ses-{ses}"
    return folder


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


def plan_from_bids(root, task=None):
    """Plan a run from an EMG-BIDS dataset.

    Finds ``sub-*/[ses-*/]emg/*_emg.edf|bdf`` (restricted to ``task`` when given); groups
    and covariates come from ``participants.tsv``. Several sessions of one participant are
    processed as ``sub-X_ses-Y``.
    """
    root = Path(root)
    if not root.is_dir():
        raise ReadError(f"BIDS root {root} is not a folder.")
    files = sorted(p for p in root.glob("sub-*/**/emg/*_emg.*")
                   if p.suffix.lower() in (".edf", ".bdf"))
    if task:
        files = [p for p in files if f"_task-{task}_" in p.name]
    if not files:
        raise ReadError(f"No EMG recordings (sub-*/[ses-*/]emg/*_emg.edf|bdf"
                        f"{f' with task-{task}' if task else ''}) under {root}.")
    table = root / "participants.tsv"
    parts = read_participants(table)
    recs = {}
    for p in files:
        sub = re.search(r"(sub-[A-Za-z0-9]+)", p.name).group(1)
        ses = re.search(r"_(ses-[A-Za-z0-9]+)", p.name)
        key = sub if ses is None else f"{sub}_{ses.group(1)}"
        if key in recs:
            raise ReadError(f"{root}: more than one recording for {key} ({recs[key].name}, "
                            f"{p.name}); pass --task to choose.")
        recs[key] = p
    known = set(parts["participant_id"])
    unknown = sorted(k.split("_")[0] for k in recs if k.split("_")[0] not in known)
    if unknown:
        raise ReadError(f"{root}/participants.tsv lacks {', '.join(unknown)}.")
    return StudyPlan(parts, recs, str(root), inputs=[table])
