"""Outputs: where emgkit may write, and the only things it ever deletes.

Every command that writes checks each output it names with one guard, :func:`guard_output`
(directly, or through :meth:`OutputFolder.open`, :func:`check_file_target` and
:func:`simulation_folder`): an output never names or contains an input of the command, never
lies inside a results folder the command reads, never goes through a symbolic link, and never
replaces an existing file without ``--force``.

An output folder (``emgkit run --out``) is marked as emgkit's by a BIDS-derivatives
``dataset_description.json`` naming emgkit. emgkit refuses a folder that holds any of the
run's inputs, a symbolic link, or files of its own without that marker, and never deletes
anything it did not write: each result folder inside (``sub-<label>/``, ``group/``) carries a
``done.json`` manifest of the files emgkit wrote there with their sha256, and a folder is
replaced only when every file in it is listed there. Results are assembled in a staging folder
(marked by :data:`STAGING_MARK`; only marked ones are ever cleaned) and moved into place when
complete; one lock per folder keeps two runs apart, opened so that it cannot be redirected.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import socket
import stat
from contextlib import contextmanager
from pathlib import Path

from .._files import safe_part, sha256, write_text
from ..errors import OutputError

try:  # POSIX advisory locks; released by the kernel when the holder dies
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

logger = logging.getLogger("emgkit")

MARKER = "dataset_description.json"
DONE = "done.json"
LOCK = ".emgkit.lock"
STAGING = ".emgkit-tmp-"
#: the file emgkit writes into every staging folder it creates (only those are cleaned)
STAGING_MARK = ".emgkit-staging"
#: ``GeneratedBy`` name of a study written by ``emgkit simulate``
SIMULATED = "emgkit simulate"
#: the manifest of a simulated study: every file ``emgkit simulate`` wrote, with its sha256
SIMULATED_FILES = ".emgkit-simulated.json"
#: files ``emgkit run`` writes into a participant folder
PARTICIPANT_FILES = frozenset({"trials.tsv", "timecourses.tsv", "quality.tsv", "report.pdf",
                               "trials.json", "timecourses.json", "quality.json",
                               "envelopes.npz", DONE})


def subject_label(participant_id, *, where=""):
    """Return ``sub-<label>`` for a participant id written with or without the prefix
    (:func:`emgkit._ids.participant_label`, the one normaliser of participant ids).

    Raises
    ------
    OutputError
        When the label is not alphanumeric (BIDS label rule), e.g. ``../x``, ``a/b``,
        ``sub-01 a`` or an empty id; ``where`` names the table and row.
    """
    from .._ids import participant_label

    return participant_label(participant_id, where=where, error=OutputError)


def inside(path, root):
    """True when ``path`` (resolved) lies in ``root`` (resolved) or is ``root``."""
    path, root = Path(path).resolve(), Path(root).resolve()
    return path == root or root in path.parents


def _marker_text():
    from .._version import __version__

    return json.dumps({"Name": "emgkit outputs", "BIDSVersion": "1.11.0",
                       "DatasetType": "derivative",
                       "GeneratedBy": [{"Name": "emgkit", "Version": __version__}]}, indent=2)


def _is_emgkit_marker(path):
    try:
        meta = json.loads(Path(path).read_text(encoding="utf-8"))
        return meta.get("DatasetType") == "derivative" and any(
            g.get("Name") == "emgkit" for g in meta.get("GeneratedBy", []))
    except (OSError, ValueError, AttributeError, TypeError):
        return False


def read_done(folder):
    """The ``done.json`` of a result folder as a dict, or None when missing or unreadable."""
    try:
        done = json.loads((Path(folder) / DONE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return done if isinstance(done, dict) and isinstance(done.get("files"), dict) else None


def verify(folder):
    """Check a result folder against its manifest.

    Returns
    -------
    done : dict | None
        The manifest, when every file it lists is present with its recorded sha256.
    problem : str
        Why the folder cannot be trusted ("" when it can).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None, "no results yet"
    done = read_done(folder)
    if done is None:
        return None, f"{DONE} is missing or unreadable"
    for name, digest in done["files"].items():
        path = folder / name
        if not inside(path, folder) or not path.is_file():
            return None, f"{name} is missing"
        try:
            if sha256(path) != digest:
                return None, f"{name} was changed after it was written"
        except OSError as exc:
            return None, f"{name} cannot be read ({exc.strerror})"
    return done, ""


def _foreign(folder, known):
    """Files under ``folder`` that emgkit did not write there (by manifest, or by name
    when the manifest is unreadable)."""
    done = read_done(folder)
    listed = set(done["files"]) | {DONE} if done else None
    out = []
    for path in sorted(Path(folder).rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            out.append(rel)
        elif path.is_file() and (rel not in listed if listed is not None else
                                 rel not in known):
            out.append(rel)
    return out


def _resolve(path, *, what):
    """``path`` made absolute with every symbolic link resolved; a loop is an OutputError."""
    try:
        return Path(os.path.abspath(path)).resolve()
    except (RuntimeError, OSError) as exc:  # Python < 3.13 raises RuntimeError on a loop
        raise OutputError(f"{what} {path} cannot be resolved ({exc}): a symbolic link loop "
                          f"or an unreadable folder on the way; give a plain path.") from None


def _resolved(path):
    """``path`` resolved, or None when it cannot be (a loop: nothing can be read there)."""
    try:
        return _resolve(path, what="")
    except OutputError:
        return None


def _same(a, b):
    """True when resolved paths ``a`` and ``b`` are one file (also through a hard link)."""
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _check_components(path, what):
    """Walk the components of ``path`` as given (the user's words) without following links:
    a symbolic link, or a file used as a folder, is an :class:`OutputError`. Relative paths
    are checked from the working folder down; links directly under the file-system root
    (``/tmp -> /private/tmp`` on macOS) are the system's and followed."""
    given = Path(path)
    parts = given.parts[1:] if given.is_absolute() else given.parts
    current = Path(given.anchor) if given.is_absolute() else Path()
    for k, part in enumerate(parts):
        current = current / part
        if part == ".":
            continue
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            return  # nothing below exists: no link, no file on the way
        except OSError as exc:  # ENOTDIR, ELOOP, EACCES
            raise OutputError(f"{what} {path}: {current} cannot be used ({exc.strerror}); "
                              f"give a path through folders only.") from None
        if stat.S_ISLNK(st.st_mode) and not (given.is_absolute() and k == 0):
            try:
                to = f" (to {os.readlink(current)})"
            except OSError:
                to = ""
            raise OutputError(f"{what} {path}: {current} is a symbolic link{to}; emgkit never "
                              f"writes through a link, which could lead out of the folder you "
                              f"named. Give the real path.")
        if k < len(parts) - 1 and not stat.S_ISDIR(st.st_mode) \
                and not stat.S_ISLNK(st.st_mode):
            raise OutputError(f"{what} {path}: {current} is a file, not a folder; give a path "
                              f"in a folder.")


def _links_inside(folder):
    """Symbolic links anywhere under ``folder`` (not followed), relative, sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            if full.is_symlink():
                found.append(full.relative_to(folder).as_posix())
    return sorted(found)


def guard_output(path, *, kind, inputs=(), reads=(), force=False, what="--out"):
    """Check one output of a command before anything is written: emgkit's output guard.

    Every command that writes (``run``, ``process``, ``stats``, ``report``, ``export``,
    ``simulate``, ``power``, ``multiverse``, ``timecourse``, ``blind``, ``unblind``,
    ``init``) calls this for each output it names, directly or through
    :meth:`OutputFolder.open`, :func:`check_file_target` or :func:`simulation_folder`. The
    rules:

    - the output never names an input, and an output folder never contains one (a hard link
      to an input counts as the input);
    - it never lies inside a folder the command reads as a whole (a results folder for
      ``export``, ``report --group``, ``timecourse``), nor contains one;
    - the output as given is no symbolic link and its path goes through none (a loop is an
      error, not a traceback); an existing output folder holds no symbolic link (checked by
      :meth:`OutputFolder.check` and :func:`simulation_folder` once the folder is known to be
      emgkit's);
    - an existing file is replaced only with ``force`` (and never when it is a folder, a
      link, a device or a FIFO).

    Parameters
    ----------
    path : path-like
        The output as the user gave it.
    kind : {"file", "folder"}
        A single file, or a folder emgkit writes into.
    inputs : iterable of path-like
        Every file (or folder) the command reads.
    reads : iterable of path-like
        Folders the command reads as a whole: the output may lie neither inside one nor
        around one.
    force : bool
        For a file: replace an existing regular file (``--force``).
    what : str
        The output's name in messages (``--out``, ``--key``).

    Returns
    -------
    pathlib.Path
        The output, absolute and resolved.

    Raises
    ------
    OutputError
        When a rule is broken; the message names the output, the input involved and what
        to do.
    """
    if str(path).strip() == "":
        raise OutputError(f"{what} is empty; give a {kind} path.")
    _check_components(path, what)
    target = _resolve(path, what=what)
    noun = "file" if kind == "file" else "folder"
    for item in inputs:
        res = _resolved(item)
        if res is None:
            continue
        if _same(res, target):
            raise OutputError(f"{what} {path} is the input {item} of this command; emgkit "
                              f"never overwrites its inputs. Choose another {noun}.")
        if kind == "folder" and target in res.parents:
            raise OutputError(f"{what} {path} contains the input {item}; emgkit never "
                              f"writes where its inputs are. Use a separate folder, e.g. "
                              f"{_elsewhere(target / 'derivatives' / 'emgkit', reads)}.")
    for folder in reads:
        res = _resolved(folder)
        if res is None:
            continue
        if target == res or res in target.parents:
            raise OutputError(f"{what} {path} lies inside {folder}, which this command "
                              f"reads; emgkit writes nothing into a folder it reads. "
                              f"Choose a {noun} outside it, e.g. {res.parent / target.name}.")
        if kind == "folder" and target in res.parents:
            raise OutputError(f"{what} {path} contains {folder}, which this command reads; "
                              f"choose a separate folder.")
    above = target.parent
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise OutputError(f"{what} {path}: {above} is a file, not a folder; give a path in a "
                          f"folder.")
    if kind == "file":
        if target.is_dir():
            raise OutputError(f"{what} {path} is a folder; give the file to write, e.g. "
                              f"{Path(path) / 'report.pdf'}.")
        if target.exists():
            if not target.is_file():
                raise OutputError(f"{what} {path} exists and is not a regular file (a device "
                                  f"or FIFO); choose another file name.")
            if not force:
                raise OutputError(f"{what} {path} exists; emgkit replaces a file it cannot "
                                  f"tell it wrote only with --force. Choose a new name or add "
                                  f"--force.")
    elif target.exists() and not target.is_dir():
        raise OutputError(f"{what} {path} is a file, not a folder; give a folder path.")
    return target


def _refuse_links_inside(root, path, what="--out"):
    """The last rule of :func:`guard_output` for a folder emgkit may write into (checked once
    it is known to be emgkit's, so a foreign tree is never walked): no symbolic link inside."""
    links = _links_inside(root) if root.is_dir() else []
    if links:
        shown = ", ".join(links[:5]) + (" …" if len(links) > 5 else "")
        raise OutputError(f"{what} {path} holds symbolic links ({shown}); emgkit never "
                          f"writes through a link. Remove them or choose another folder.")


def _elsewhere(suggestion, reads):
    """``suggestion`` for an output folder, or, when it lies inside one of the folders
    ``reads`` (which :func:`guard_output` would refuse too), a sibling of that folder."""
    for folder in reads:
        res = _resolved(folder)
        if res is not None and (suggestion == res or res in suggestion.parents):
            return res.parent / f"{res.name}-emgkit"
    return suggestion


def check_file_target(path, *, inputs=(), reads=(), force=False, what="--out"):
    """Check a single output file (a PDF, a TSV, a config) with :func:`guard_output`.

    Returns
    -------
    pathlib.Path
        The file, absolute and resolved.
    """
    return guard_output(path, kind="file", inputs=inputs, reads=reads, force=force, what=what)


def recording_inputs(recording, config=None, participant_id=None):
    """Every file a command reads with one recording: the recording, its ``<stem>_*``
    siblings (events, channels, ``*_emg.json``), the config and the event log the config
    names (what :func:`guard_output` must protect for ``process`` and ``report``).

    Returns
    -------
    list of pathlib.Path
    """
    from ..config import Config, load_config
    from ..pipeline import participant_from_path
    from .inputs import glob_escape, participant_inputs

    rec = Path(recording)
    files = [rec]
    stem = rec.name.rsplit("_", 1)[0] if "_" in rec.stem else rec.stem
    if rec.parent.is_dir():
        files += [p for p in rec.parent.glob(f"{glob_escape(stem)}_*") if p.is_file()]
    if config is not None:
        cfg = config if isinstance(config, Config) else load_config(config)
        files += [Path(cfg.path)] if cfg.path else []
        if rec.is_file():
            files += participant_inputs(rec, cfg, participant_id or participant_from_path(rec))
    return list(dict.fromkeys(files))


def simulation_folder(path):
    """Check ``emgkit simulate``'s output folder with :func:`guard_output`: new, empty, or a
    study emgkit simulated that holds nothing else, every file as simulated (its manifest
    :data:`SIMULATED_FILES` lists them with their sha256).

    Returns
    -------
    pathlib.Path
        The folder, absolute and resolved.

    Raises
    ------
    OutputError
        The folder holds files emgkit did not simulate there, or files changed since.
    """
    root = guard_output(path, kind="folder")
    if not root.is_dir() or not any(root.iterdir()):
        return root
    try:
        meta = json.loads((root / "dataset_description.json").read_text(encoding="utf-8"))
        ours = any(g.get("Name") == SIMULATED for g in meta.get("GeneratedBy", []))
        listed = json.loads((root / SIMULATED_FILES).read_text(encoding="utf-8"))["files"]
        listed = listed if isinstance(listed, dict) else {}
    except (OSError, ValueError, AttributeError, TypeError, KeyError):
        ours, listed = False, {}
    if not ours:
        shown = ", ".join(sorted(p.name for p in root.iterdir())[:6])
        raise OutputError(f"--out {path} already holds files ({shown} …) and is not a study "
                          f"emgkit simulated; choose an empty or new folder (emgkit never "
                          f"overwrites foreign files).")
    _refuse_links_inside(root, path)
    other = []
    for file in sorted(p for p in root.rglob("*") if p.is_file() and p.name != SIMULATED_FILES):
        rel = file.relative_to(root).as_posix()
        if rel not in listed:
            other.append(f"{rel} (not simulated)")
        elif sha256(file) != listed[rel]:
            other.append(f"{rel} (changed since)")
    if other:
        shown = ", ".join(other[:4]) + (" …" if len(other) > 4 else "")
        raise OutputError(f"--out {path} is a simulated study that holds other work: "
                          f"{shown}; emgkit simulates only into a new or empty folder or its "
                          f"own untouched study. Choose a new folder.")
    return root


def _is_staging(path):
    """A staging folder emgkit made: a real folder (no link) holding :data:`STAGING_MARK`,
    or an earlier result set aside by :meth:`OutputFolder.publish` (every file in its
    ``done.json``); an empty folder (nothing to lose) counts too."""
    path = Path(path)
    if path.is_symlink() or not path.is_dir() or _links_inside(path):
        return False
    if not any(path.iterdir()):
        return True  # made and interrupted before its marker: nothing to lose
    mark = path / STAGING_MARK
    if mark.is_file() and not mark.is_symlink():
        return True
    return (path.name.startswith(f"{STAGING}old-") and read_done(path) is not None
            and not _foreign(path, PARTICIPANT_FILES))


def _open_lock(path):
    """Open (or create) the lock file ``path`` without following a link; check it is a
    regular file with one link before anything is written to it.

    Returns
    -------
    int
        The open file descriptor (read/write).
    """
    flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) \
        | getattr(os, "O_NONBLOCK", 0)
    try:
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            fd = os.open(path, flags)
    except OSError as exc:  # ELOOP: a symbolic link there
        raise OutputError(f"The lock {path} cannot be opened safely ({exc.strerror}; a "
                          f"symbolic link?): emgkit never follows a link there. Remove it "
                          f"and run again.") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        what = "not a regular file" if not stat.S_ISREG(st.st_mode) else \
            f"a file with {st.st_nlink} hard links"
        raise OutputError(f"The lock {path} is {what}; emgkit writes its lock only into a "
                          f"file of its own. Remove it and run again.")
    return fd


class OutputFolder:
    """An output folder of ``emgkit run`` (see the module docstring for the rules).

    Use :meth:`open` to check and mark it; :meth:`lock` around a run.
    """

    def __init__(self, root):
        self.root = Path(root).resolve()

    def __repr__(self):
        return f"<OutputFolder | {self.root}>"

    @staticmethod
    def check(path, *, inputs=(), reads=()):
        """The checks of :meth:`open` without creating anything (to refuse an output before
        a long computation); returns the folder, absolute and resolved."""
        root = guard_output(path, kind="folder", inputs=inputs, reads=reads)
        marker = root / MARKER
        if root.is_dir() and any(root.iterdir()):
            if not marker.is_file():
                shown = ", ".join(sorted(p.name for p in root.iterdir())[:6])
                raise OutputError(f"--out {path} already holds files that emgkit did not "
                                  f"write ({shown} …) and no emgkit {MARKER}; choose an empty "
                                  f"or new folder (emgkit never overwrites foreign files).")
            if not _is_emgkit_marker(marker):
                raise OutputError(f"--out {path}: {MARKER} does not name emgkit as the "
                                  f"program that generated the folder; choose another folder.")
            _refuse_links_inside(root, path)
        return root

    @classmethod
    def open(cls, path, *, inputs=(), reads=()):
        """Check ``path`` as an output folder (:func:`guard_output`), create it and write its
        marker.

        Parameters
        ----------
        path : path-like
            The ``--out`` folder.
        inputs : iterable of path-like
            Every input file of the command (recordings, sidecars, tables, config).
        reads : iterable of path-like
            Folders the command reads as a whole (a results folder).

        Raises
        ------
        OutputError
            When ``path`` is a file or a symbolic link, holds an input or a link, holds files
            but no emgkit marker, or cannot be written.
        """
        root = cls.check(path, inputs=inputs, reads=reads)
        marker = root / MARKER
        try:
            root.mkdir(parents=True, exist_ok=True)
            if not marker.exists():
                write_text(_marker_text(), marker)
        except OSError as exc:
            raise OutputError(f"--out {path} cannot be written ({exc.strerror}); choose a "
                              f"folder you can write to.") from None
        return cls(root)

    def path(self, *parts):
        """``root/part/...`` after checking each part is a plain name inside the folder."""
        out = self.root
        for part in parts:
            out = out / safe_part(part, what="Output name")
        if not inside(out, self.root):  # pragma: no cover - safe_part forbids it
            raise OutputError(f"{out} lies outside {self.root}.")
        return out

    def staging(self, name):
        """A fresh, empty staging folder for result ``name`` (moved in by :meth:`publish`),
        carrying the :data:`STAGING_MARK` file that lets :meth:`clean_staging` remove it."""
        tmp = self.root / f"{STAGING}{safe_part(name, what='Output name')}-{os.getpid()}"
        if tmp.exists() or tmp.is_symlink():
            if not _is_staging(tmp):
                raise OutputError(f"{tmp} exists and is not a staging folder emgkit made; move "
                                  f"it away or choose another --out.")
            shutil.rmtree(tmp)
        tmp.mkdir()
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        try:  # the marker's presence is what counts: created at once, then filled
            fd = os.open(tmp / STAGING_MARK, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | getattr(os, "O_NOFOLLOW", 0), 0o644)
            try:
                os.write(fd, f"staging folder of emgkit: pid {os.getpid()} on "
                             f"{socket.gethostname()}, started {now}\n".encode())
            finally:
                os.close(fd)
        except BaseException:
            if not (tmp / STAGING_MARK).exists():
                os.rmdir(tmp)  # still empty
            raise
        return tmp

    def publish(self, staging, name, **record):
        """Write ``done.json`` (manifest + ``record``) into ``staging`` and move it to
        ``root/name``, replacing an earlier result only when emgkit wrote all of it.

        Returns
        -------
        pathlib.Path
            The result folder.
        """
        from .._version import __version__

        staging = Path(staging)
        mark = staging / STAGING_MARK
        if mark.is_file() and not mark.is_symlink():
            mark.unlink()  # the result folder holds results only
        files = {p.relative_to(staging).as_posix(): sha256(p)
                 for p in sorted(staging.rglob("*")) if p.is_file() and p.name != DONE}
        done = dict(record, files=files, generated_by={"name": "emgkit",
                                                       "version": __version__})
        write_text(json.dumps(done, indent=2, default=str), staging / DONE)
        dest = self.path(name)
        old = None
        if dest.exists() or dest.is_symlink():
            self.check_owned(name)
            old = self.root / f"{STAGING}old-{name}-{os.getpid()}"
            if old.exists() or old.is_symlink():
                self._remove_staging(old)
            os.replace(dest, old)
        os.replace(staging, dest)
        if old is not None:
            shutil.rmtree(old)
        return dest

    def check_owned(self, name, known=PARTICIPANT_FILES):
        """Raise :class:`OutputError` unless emgkit wrote every file of ``root/name``."""
        dest = self.path(name)
        if dest.is_symlink() or not dest.is_dir():
            raise OutputError(f"{dest} is not a folder emgkit wrote; move it away or choose "
                              f"another --out.")
        foreign = _foreign(dest, known)
        if foreign:
            shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
            raise OutputError(f"{dest} holds files emgkit did not write ({shown}); emgkit "
                              f"will not replace it. Move those files away or use another "
                              f"--out.")

    def remove(self, name, known=PARTICIPANT_FILES):
        """Delete result folder ``root/name`` if emgkit wrote all of it (else raise)."""
        dest = self.path(name)
        if dest.exists() or dest.is_symlink():
            self.check_owned(name, known)
            shutil.rmtree(dest)

    def clean_staging(self):
        """Remove staging folders left by interrupted runs: only folders emgkit made (they
        carry :data:`STAGING_MARK`) and earlier results being replaced (every file listed in
        their ``done.json``); never a link, never anything else named ``.emgkit-tmp-*``."""
        for tmp in sorted(self.root.glob(f"{STAGING}*")):
            if _is_staging(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                logger.warning("left %s alone: it is not a staging folder emgkit made", tmp)

    def _remove_staging(self, tmp):
        if not _is_staging(tmp):
            raise OutputError(f"{tmp} exists and is not a staging folder emgkit made; move "
                              f"it away or choose another --out.")
        shutil.rmtree(tmp)

    @contextmanager
    def lock(self):
        """Hold the folder's lock for a run; a second run is refused with a clear message.

        The lock is a POSIX advisory lock on ``.emgkit.lock``: the kernel releases it when
        the holding process ends, however it ends, so a killed run never blocks the next.
        The file is opened without following a link and must be a regular file with one
        link, so the lock cannot be redirected to truncate another file.
        """
        fd = _open_lock(self.root / LOCK)
        held = False
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
                    raise OutputError(f"--out {self.root} is in use by another emgkit run "
                                      f"({holder or 'unknown process'}); wait for it to "
                                      f"finish or choose another folder.") from None
            held = True
            previous = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
            if previous:
                logger.info("taking over the lock of an earlier run that ended without "
                            "releasing it (%s)", previous)
            os.ftruncate(fd, 0)
            now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, started {now}"
                      .encode(), 0)
            yield self
        finally:
            try:
                if held:
                    os.ftruncate(fd, 0)
            finally:
                os.close(fd)  # closing releases the flock
