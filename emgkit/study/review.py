"""Manual review: trial × muscle overrides and excluded participants.

``[study] overrides = "overrides.tsv"`` names a table with ``participant_id, trial, muscle,
action, reason, reviewer``: ``action = exclude`` rejects the trial × muscle (reason
``manual``), ``include`` keeps one the automatic rules rejected; ``trial`` or ``muscle`` may be
``*`` for all. ``[study] exclude_participants = ["sub-03"]`` leaves whole participants out.
Participants are named with or without ``sub-`` in either place (:mod:`emgkit._ids`).

The table is strict, so that a review never silently does nothing or too much: ``trial`` is
a positive whole number of a trial the recording has (or ``*``), ``muscle`` a configured
muscle (or ``*``), ``action`` ``exclude`` or ``include``; an empty cell, ``nan``, ``None`` or
``n/a`` is an error (write ``*`` for all), as are a participant who is not in the
participants table or is excluded, and two rows that exclude and include the same trial ×
muscle (rows apply in any order with the same result). These are refused before anything
is processed; a row that matches no trial × muscle of the recording (trial 99 of 24) fails
that participant when its trials are known. Each error names the file, line, column and
value.

Each participant's override rows are part of its resume key; neither setting changes the
analysis digest that decides whether a results folder belongs to the config, so editing them
reruns only what they touch.
"""

from __future__ import annotations

import numpy as np

from .._files import read_tsv
from .._ids import MISSING, participant_label
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


def _cell(row, column, where):
    """The text of one cell; an error for a missing value (empty, nan, None, n/a)."""
    text = str(row.get(column, "")).strip()
    if text.lower() in MISSING:
        what = "all trials" if column == "trial" else "all muscles" if column == "muscle" \
            else "exclude or include"
        fix = f"write * for {what}" if column in ("trial", "muscle") else f"write {what}"
        raise ConfigError(f"{where}: {column} is empty ({text!r}); {fix}, or delete the "
                          f"row.")
    return text


def _trial(text, where):
    """``*`` -> None, a positive whole number -> int; anything else is an error."""
    if text == "*":
        return None
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{where}: trial {text!r} is not a trial number; write a positive "
                          f"whole number (1, 2, ...) as in trials.tsv, or * for all trials.")
    return int(text)


def _overlap(a, b):
    return all(a[k] is None or b[k] is None or a[k] == b[k] for k in ("trial", "muscle"))


def _recording_of(written, where):
    """``(participant, rest)`` of an id cell: ``"sub-01_ses-post"`` -> ``("sub-01",
    "_ses-post")``; ``("sub-01", "")`` for a participant id alone."""
    from ..errors import OutputError
    from .plan import split_key

    try:
        raw, entities = split_key(written)
    except OutputError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if not entities:
        return written, ""
    return raw, written[len(raw):]


def recording_id(key):
    """A recording key (:func:`emgkit.study.plan.recording_key`) with its participant
    written ``sub-<label>``: ``"01_ses-post"`` -> ``"sub-01_ses-post"``."""
    raw, rest = _recording_of(str(key), f"recording {key!r}")
    return participant_label(raw) + rest


def read_overrides(path, *, participants, muscles, excluded=(), recordings=()):
    """Read and check an overrides table.

    Parameters
    ----------
    path : path-like
        The table (TSV; see the module docstring for its columns and rules).
    participants : iterable of str
        The participants that can be reviewed (``01`` or ``sub-01``).
    muscles : list of str
        The configured muscles.
    excluded : iterable of str
        Participants ``[study] exclude_participants`` leaves out: rows naming them are
        errors (they would do nothing).
    recordings : iterable of str
        The recording keys of a study with several recordings per participant
        (``sub-01_ses-post``): a row whose ``participant_id`` is one of them concerns that
        recording alone (the review page marks so); a participant id concerns all of its
        recordings.

    Returns
    -------
    dict
        Participant id (``sub-<label>``), or recording key for a row naming one, -> list of
        row dicts (``trial`` int or None for all,
        ``muscle`` or None for all, ``action``, ``reason``, ``reviewer``, and ``where``, the
        file and line, which :func:`override_table` names when the row matches nothing).

    Raises
    ------
    ConfigError
        Naming the file, the line, the column and the bad value.
    """
    table = read_tsv(path, what="Overrides table", ids=False, text=True)
    missing = [c for c in ("participant_id", "trial", "muscle", "action") if c not in table]
    if missing:
        raise ConfigError(f"{path}: columns {', '.join(missing)} are missing; an overrides "
                          f"table has {', '.join(COLUMNS)}.")
    known = {participant_label(p) for p in participants}
    excluded = {participant_label(p) for p in excluded}
    keys = {recording_id(k) for k in recordings}
    out, owner = {}, {}
    for i, row in enumerate(table.to_dict("records"), start=2):  # line 1 is the header
        where = f"{path} line {i}"
        written = _cell(row, "participant_id", where)
        raw, rest = _recording_of(written, f"{where}, column participant_id") if keys \
            else (written, "")
        pid = participant_label(raw, where=f"{where}, column participant_id",
                                error=ConfigError)
        key = pid + rest
        if rest and key not in keys:
            raise ConfigError(f"{where}: {written!r} is not one of this study's recordings "
                              f"({', '.join(sorted(keys))}); fix the id or delete the row.")
        if pid in excluded:
            raise ConfigError(f"{where}: participant {written!r} is excluded by [study] "
                              f"exclude_participants, so this row would do nothing; delete "
                              f"it or stop excluding {pid}.")
        if pid not in known:
            raise ConfigError(f"{where}: participant {written!r} is not in the participants "
                              f"table; fix the id or delete the row.")
        trial = _trial(_cell(row, "trial", where), where)
        muscle = _cell(row, "muscle", where)
        if muscle == "*":
            muscle = None
        elif muscle not in muscles:
            raise ConfigError(f"{where}: muscle {muscle!r} is not one of "
                              f"{', '.join(muscles)} (or * for all).")
        action = _cell(row, "action", where).lower()
        if action not in ("exclude", "include"):
            raise ConfigError(f"{where}: action {row['action']!r} must be exclude or "
                              f"include.")
        new = {"trial": trial, "muscle": muscle, "action": action,
               "reason": str(row.get("reason", "")).strip(),
               "reviewer": str(row.get("reviewer", "")).strip(), "where": where}
        # a participant's rows meet those of each of its recordings
        near = [k for k in out if owner[k] == pid and (not rest or k in (pid, key))]
        for old in (r for k in near for r in out[k]):
            if old["action"] != action and _overlap(old, new):
                raise ConfigError(
                    f"{where}: {action}s trial {trial or '*'} × muscle {muscle or '*'} of "
                    f"{key}, which {old['where']} {old['action']}s; a trial × muscle is "
                    f"either excluded or included: delete one of the rows.")
        out.setdefault(key, []).append(new)
        owner[key] = pid
    return out


def apply_overrides(result, rows):
    """Apply one participant's override rows to its trial and time-course tables (in
    place); returns the number of trial × muscle rows changed."""
    override_table(result.timecourses, rows)
    return override_table(result.trials, rows)


def override_table(table, rows):
    """Apply override rows to one trial or time-course table (in place); returns the
    number of rows whose ``rejected`` flag changed.

    Raises
    ------
    ConfigError
        A row that matches no trial × muscle of the table (a trial the recording does not
        have), naming the row's file and line.
    """
    selections = []
    for r in rows:  # every row is checked before anything changes
        sel = np.ones(len(table), bool)
        if r["trial"] is not None:
            sel &= table["trial"].to_numpy() == r["trial"]
        if r["muscle"] is not None:
            sel &= table["muscle"].to_numpy() == r["muscle"]
        if not sel.any():
            have = table["trial"]
            span = f"trials {have.min()}–{have.max()}" if len(have) else "no trials"
            raise ConfigError(f"{r.get('where', 'overrides')}: trial {r['trial'] or '*'} × "
                              f"muscle {r['muscle'] or '*'} matches nothing in this "
                              f"participant's recording ({span}); fix the trial number or "
                              f"delete the row.")
        selections.append(sel)
    changed = 0
    for r, sel in zip(rows, selections):
        exclude = r["action"] == "exclude"
        changed += int((table.loc[sel, "rejected"] != exclude).sum())
        table.loc[sel, "rejected"] = exclude
        if "reject_reason" in table:
            table.loc[sel, "reject_reason"] = "manual" if exclude else ""
    return changed


def review_key(rows):
    """A participant's override rows as they enter its resume key: without ``where``, so
    moving rows within the file, or the file, reruns nobody."""
    return [{k: v for k, v in r.items() if k != "where"} for r in rows]


def excluded_participants(config, participants):
    """The ``[study] exclude_participants`` ids (``sub-<label>``, sorted), checked against the
    participants table (``01`` and ``sub-01`` match each other)."""
    ids = config.study.get("exclude_participants") or []
    known = {participant_label(p) for p in participants}
    out = []
    for pid in ids:
        label = participant_label(pid, where="[study] exclude_participants",
                                  error=ConfigError)
        if label not in known:
            raise ConfigError(f"[study] exclude_participants names {pid!r}, which is not in "
                              f"the participants table; fix the id or remove it.")
        if label in out:
            raise ConfigError(f"[study] exclude_participants names {label} twice ({pid!r}); "
                              f"list each participant once.")
        out.append(label)
    return sorted(out)


def reviewed_recordings(plan, config):
    """The recordings a run processes after manual review.

    Returns
    -------
    items : list of tuple
        ``(key, participant_id, session, recording, overrides)`` per recording not left out:
        ``participant_id`` is ``sub-<label>``, ``session`` ``ses-<label>`` or None,
        ``recording`` an absolute path string and ``overrides`` the participant's override
        rows (a tuple).
    excluded : list of str
        The ids ``[study] exclude_participants`` leaves out (sorted).
    """
    from pathlib import Path

    from .._ids import normalise_id
    from .plan import split_key

    excluded = excluded_participants(config, list(plan.participants["participant_id"]))
    recorded = {}
    for key, rec in plan.recordings.items():
        pid, entities = split_key(key)
        recorded.setdefault(normalise_id(pid), []).append((key, entities.get("session"), rec))
    several = [k for k in plan.recordings if split_key(k)[1]]
    overrides = overrides_of(config, list(recorded), excluded=excluded, recordings=several)
    items = []
    for pid, recs in recorded.items():
        if pid in excluded:
            continue
        for key, ses, rec in recs:
            rows = list(overrides.get(pid, ()))
            if split_key(key)[1]:  # rows naming this recording
                rows += overrides.get(recording_id(key), ())
            items.append((key, pid, ses, str(Path(rec).absolute()), tuple(rows)))
    return items, excluded


def overrides_of(config, participants, *, excluded=(), recordings=()):
    """The overrides of ``[study] overrides`` (empty without one); see
    :func:`read_overrides`."""
    path = config.study.get("overrides")
    if not path:
        return {}
    resolved = config.resolve(path)
    if not resolved.is_file():
        header = ", ".join(COLUMNS)
        raise ConfigError(f"[study] overrides = {path!r}: {resolved} not found. Create it "
                          f"with its header line ({header}, separated by tabs) "
                          f"before the first run, or run without the key first: `emgkit "
                          f"review OUT --serve` creates the table with the first mark.")
    return read_overrides(resolved, participants=participants, muscles=list(config.channels),
                          excluded=excluded, recordings=recordings)


__all__ = ["COLUMNS", "MANUAL_KEYS", "analysis_digest", "apply_overrides",
           "excluded_participants", "override_table", "overrides_of", "read_overrides",
           "recording_id", "review_key", "reviewed_recordings"]
