"""Reading a results folder back: only what its ``done.json`` manifests vouch for.

Every command that reads the results of ``emgkit run`` (``export``, ``timecourse``,
``report --group`` (:func:`results_report`), ``unblind``) goes through :func:`group_folder` and
:func:`run_participants`: the group tables are used only while every file of
``OUT/group/done.json`` still has its recorded sha256 (a hand-edited ``trials.tsv`` is
refused, naming the file), and the participants table is the run's own copy,
``OUT/group/participants.tsv`` (covered by the same manifest), not whatever the config's
``[study] participants`` file says today — after groups are edited there, old scores
would otherwise appear under new labels.

A folder without ``run.json`` was assembled by hand (participant folders and, e.g., the
model tables of ``emgkit stats``); nothing vouches for it, so it is read as it is.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError, ReadError
from .outdir import verify

#: the run's copy of the participants table, inside ``OUT/group``
PARTICIPANTS = "participants.tsv"


def is_run_folder(root):
    """True when ``root`` is a results folder written by ``emgkit run`` (has ``run.json``)."""
    return (Path(root) / "run.json").is_file()


def group_folder(root):
    """``root/group`` after checking it against its manifest.

    Parameters
    ----------
    root : path-like
        A results folder of ``emgkit run``.

    Returns
    -------
    pathlib.Path
        The group folder. It may not exist (a run without its group step): the
        participant folders the run finished are then checked instead, as readers stack
        their tables. A folder without ``run.json`` is returned unchecked.

    Raises
    ------
    ReadError
        A file of ``group/`` (or of a participant folder) is missing or was changed after
        emgkit wrote it; the message names the file and what to do.
    """
    return checked_group(root)[0]


def _untrusted(folder, problem, root):
    return ReadError(f"{folder} does not match its done.json ({problem}): emgkit reads "
                     f"results back only as it wrote them. Rerun emgkit run with --out "
                     f"{root} to recompute it (unchanged results are reused), or analyse a "
                     f"copy of the table with emgkit stats.")


def checked_group(root):
    """(group folder, its ``done.json`` or None), checked as :func:`group_folder` says; a
    reader that also needs :func:`run_participants` passes it as ``checked=``, so the
    group's files are hashed once."""
    root = Path(root)
    gdir = root / "group"
    if not is_run_folder(root):
        return gdir, None
    if gdir.is_dir():
        done, problem = verify(gdir)
        if done is None:
            raise _untrusted(gdir, problem, root)
        return gdir, done
    for folder in sorted(root.glob("sub-*")):  # no group step: the participants' tables
        if folder.is_dir() and (folder / "trials.tsv").exists():
            done, problem = verify(folder)
            if done is None:
                raise _untrusted(folder, problem, root)
    return gdir, None



def run_participants(root, participants=None, *, checked=None):
    """The participants table a results folder was computed with.

    Parameters
    ----------
    root : path-like
        A results folder.
    participants : path-like | None
        A table chosen explicitly (``--participants``); used as given.
    checked : (Path, dict | None) | None
        The result of :func:`checked_group` for ``root`` when the caller has it.

    Returns
    -------
    DataFrame
        The run's own copy: ``group/participants.tsv``, checked with the group's manifest;
        without it (no group step, or an earlier emgkit version) the copy the run wrote
        as ``OUT/participants.tsv``. For a folder without ``run.json``, its
        ``participants.tsv``.

    Raises
    ------
    ReadError, ConfigError
        The group folder does not match its manifest, or there is no copy of the table.
    """
    from .plan import read_participants

    if participants is not None:
        return read_participants(participants)
    root = Path(root)
    gdir, done = checked_group(root) if checked is None else checked
    copy = gdir / PARTICIPANTS
    if done is not None and PARTICIPANTS in done["files"]:
        return read_participants(copy)
    if not (root / PARTICIPANTS).is_file():
        raise ConfigError(f"{root} holds no copy of the participants table it was computed "
                          f"with; pass --participants.")
    return read_participants(root / PARTICIPANTS)


def results_report(root, out, *, participants=None):
    """``emgkit report --group``: the group PDF of a results folder, from the group tables
    its ``done.json`` vouches for and the run's own participants table.

    Parameters
    ----------
    root : path-like
        Results folder (of ``emgkit run``, or assembled by hand without ``run.json``).
    out : path-like
        PDF to write (atomically).
    participants : path-like | None
        A participants table chosen explicitly (default: the run's copy).

    Returns
    -------
    pathlib.Path
        The PDF.
    """
    from ..report import group_report

    checked = checked_group(root)
    gdir = checked[0]
    if participants is None and is_run_folder(root):
        participants = run_participants(root, checked=checked)
    return group_report(root, out, participants=participants, group_dir=gdir)


__all__ = ["checked_group", "group_folder", "is_run_folder", "results_report",
           "run_participants"]
