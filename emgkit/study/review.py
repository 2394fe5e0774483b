"""Manual review: trial × muscle overrides and excluded participants.

``[study] overrides = "overrides.tsv"`` names a table with ``participant_id, trial, muscle,
action, reason, reviewer``: ``action = exclude`` rejects the trial × muscle (reason
``manual``), ``include`` keeps one the automatic rules rejected; ``trial`` or ``muscle`` may be
``*`` for all. ``[study] exclude_participants = ["sub-03"]`` leaves whole participants out.
Each participant's override rows are part of its resume key; neither setting changes the
analysis digest that decides whether a results folder belongs to the config, so editing them
reruns only what they touch.
"""

from __future__ import annotations

import numpy as np

from .._files import read_tsv
from ..errors import ConfigError

COLUMNS = ("participant_id", "trial", "muscle", "action", "reason", "reviewer")
#: the [study] keys of manual review (left out of the analysis digest)
MANUAL_KEYS = ("overrides", "exclude_participants")


def analysis_digest(config):
    """sha256 (12 hex) of the config without the manual-review keys of ``[study]``."""
    import hashlib
    import json

    d = config.to_dict()
    d["study"] = {k: v for k, v in d.get("study", {}).items() if k not in MANUAL_KEYS}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


def _label(pid):
    pid = str(pid).strip()
    return pid if pid.startswith("sub-") else f"sub-{pid}"


def read_overrides(path, *, participants, muscles):
    """Read and check an overrides table.

    Returns
    -------
    dict
        Participant id (``sub-<label>``) -> list of row dicts (``trial`` int or None for all,
        ``muscle`` or None for all, ``action``, ``reason``, ``reviewer``).

    Raises
    ------
    ConfigError
        Naming the file, the line and the bad value.
    """
    table = read_tsv(path, what="Overrides table")
    missing = [c for c in ("participant_id", "trial", "muscle", "action") if c not in table]
    if missing:
        raise ConfigError(f"{path}: columns {', '.join(missing)} are missing; an overrides "
                          f"table has {', '.join(COLUMNS)}.")
    known = {_label(p) for p in participants}
    out = {}
    for i, row in enumerate(table.to_dict("records"), start=2):  # line 1 is the header
        where = f"{path} line {i}"
        pid = _label(row["participant_id"])
        if pid not in known:
            raise ConfigError(f"{where}: participant {row['participant_id']!r} is not in the "
                              f"participants table.")
        trial = str(row["trial"]).strip()
        if trial in ("*", "", "nan", "None"):
            trial = None
        else:
            try:
                trial = int(float(trial))
            except ValueError:
                raise ConfigError(f"{where}: trial {row['trial']!r} is not a trial number "
                                  f"(or * for all).") from None
        muscle = str(row["muscle"]).strip()
        if muscle in ("*", "", "nan", "None"):
            muscle = None
        elif muscle not in muscles:
            raise ConfigError(f"{where}: muscle {muscle!r} is not one of "
                              f"{', '.join(muscles)} (or * for all).")
        action = str(row["action"]).strip().lower()
        if action not in ("exclude", "include"):
            raise ConfigError(f"{where}: action {row['action']!r} must be exclude or "
                              f"include.")
        out.setdefault(pid, []).append(dict(
            trial=trial, muscle=muscle, action=action,
            reason=str(row.get("reason", "") or ""), reviewer=str(row.get("reviewer", "") or "")))
    return out


def apply_overrides(result, rows):
    """Apply one participant's override rows to its trial and time-course tables (in
    place); returns the number of trial × muscle rows changed."""
    override_table(result.timecourses, rows)
    return override_table(result.trials, rows)


def override_table(table, rows):
    """Apply override rows to one trial or time-course table (in place); returns the
    number of rows whose ``rejected`` flag changed."""
    changed = 0
    for r in rows:
        sel = np.ones(len(table), bool)
        if r["trial"] is not None:
            sel &= table["trial"].to_numpy() == r["trial"]
        if r["muscle"] is not None:
            sel &= table["muscle"].to_numpy() == r["muscle"]
        exclude = r["action"] == "exclude"
        changed += int((table.loc[sel, "rejected"] != exclude).sum())
        table.loc[sel, "rejected"] = exclude
        if "reject_reason" in table:
            table.loc[sel, "reject_reason"] = "manual" if exclude else ""
    return changed


def excluded_participants(config, participants):
    """The ``[study] exclude_participants`` ids (``sub-<label>``), checked against the
    participants table."""
    ids = config.study.get("exclude_participants") or []
    known = {_label(p) for p in participants}
    out = []
    for pid in ids:
        label = _label(pid)
        if label not in known:
            raise ConfigError(f"[study] exclude_participants names {pid!r}, which is not in "
                              f"the participants table.")
        out.append(label)
    return out


def reviewed_recordings(plan, config):
    """The recordings a run processes after manual review.

    Returns
    -------
    items : list of tuple
        ``(key, participant_id, session, recording, overrides)`` per recording not left out:
        ``session`` is ``ses-<label>`` or None, ``recording`` an absolute path string and
        ``overrides`` the participant's override rows (a tuple).
    excluded : list of str
        The ids ``[study] exclude_participants`` leaves out (sorted).
    """
    from pathlib import Path

    ids = list(plan.participants["participant_id"])
    excluded = set(excluded_participants(config, ids))
    overrides = overrides_of(config, ids)
    items = []
    for key, rec in plan.recordings.items():
        pid, _, ses = key.partition("_ses-")
        if pid not in excluded:
            items.append((key, pid, f"ses-{ses}" if ses else None, str(Path(rec).absolute()),
                          tuple(overrides.get(pid, ()))))
    return items, sorted(excluded)


def overrides_of(config, participants):
    """The overrides of ``[study] overrides`` (empty without one)."""
    path = config.study.get("overrides")
    if not path:
        return {}
    resolved = config.resolve(path)
    if not resolved.is_file():
        raise ConfigError(f"[study] overrides = {path!r}: {resolved} not found.")
    return read_overrides(resolved, participants=participants, muscles=list(config.channels))


__all__ = ["COLUMNS", "MANUAL_KEYS", "analysis_digest", "apply_overrides",
           "excluded_participants", "override_table", "overrides_of", "read_overrides",
           "reviewed_recordings"]
