"""Find a study's participants and recordings: from a config's ``[study]`` section or an
EMG-BIDS folder (``sub-*/[ses-*/]emg/*_task-<task>_*emg.{edf,bdf}``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import ConfigError, ReadError


@dataclass
class StudyPlan:
    """What ``emgkit run`` will process.

    Attributes
    ----------
    participants : DataFrame
        ``participant_id``, ``group`` and covariates.
    recordings : dict
        Participant id -> recording path (the file may be missing: that participant fails).
    source : str
        Where the plan came from (config or BIDS root).
    """

    participants: pd.DataFrame
    recordings: dict
    source: str

    def __repr__(self):
        groups = self.participants["group"].value_counts().to_dict() \
            if "group" in self.participants else {}
        return (f"<StudyPlan | {len(self.recordings)} recordings | groups {groups} | "
                f"{self.source}>")


def read_participants(path):
    """Read a ``participants.tsv`` (participant_id as text)."""
    path = Path(path)
    if not path.is_file():
        raise ReadError(f"Participants table {path} does not exist; set [study] participants "
                        f"in the config.")
    table = pd.read_csv(path, sep="\t", dtype={"participant_id": str}, na_values=["n/a"])
    if "participant_id" not in table.columns:
        raise ReadError(f"{path} has no participant_id column; it has "
                        f"{', '.join(map(str, table.columns))}.")
    dup = table["participant_id"][table["participant_id"].duplicated()].tolist()
    if dup:
        raise ReadError(f"{path} lists participant(s) {dup} more than once.")
    return table


def plan_from_config(config):
    """Plan a run from ``[study] participants`` and ``recordings`` (a path pattern)."""
    st = config.study
    missing = [k for k in ("participants", "recordings") if k not in st]
    if missing:
        raise ConfigError(f"emgkit run needs [study] {' and '.join(missing)} in "
                          f"{config.path or 'the config'}, e.g. participants = "
                          f'"participants.tsv" and recordings = '
                          f'"{{participant_id}}/emg/{{participant_id}}_task-x_emg.bdf".')
    parts = read_participants(config.resolve(st["participants"]))
    recs = {pid: config.resolve(st["recordings"].replace("{participant_id}", pid))
            for pid in parts["participant_id"]}
    return StudyPlan(parts, recs, str(config.path))


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
    parts = read_participants(root / "participants.tsv")
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
    return StudyPlan(parts, recs, str(root))
