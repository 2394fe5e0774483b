"""Output folders: where emgkit may write, and the only things it ever deletes.

An output folder (``emgkit run --out``) is marked as emgkit's by a BIDS-derivatives
``dataset_description.json`` naming emgkit. emgkit refuses a folder that holds any of the
run's inputs, or files of its own without that marker, and never deletes anything it did not
write: each result folder inside (``sub-<label>/``, ``group/``) carries a ``done.json``
manifest of the files emgkit wrote there with their sha256, and a folder is replaced only
when every file in it is listed there. Results are assembled in a staging folder and moved
into place when complete; one lock per folder keeps two runs apart.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import socket
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
#: files ``emgkit run`` writes into a participant folder
PARTICIPANT_FILES = frozenset({"trials.tsv", "timecourses.tsv", "quality.tsv", "report.pdf",
                               "trials.json", "timecourses.json", DONE})
_LABEL = re.compile(r"^[A-Za-z0-9]+$")


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

    return json.dumps({"Name": "emgkit outputs", "BIDSVersion": "1.9.0",
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


def check_file_target(path, *, inputs=()):
    """Refuse writing a single output file (a PDF) over an input or onto a folder."""
    target = Path(path).resolve()
    if target.is_dir():
        raise OutputError(f"--out {path} is a folder; give the file to write, e.g. "
                          f"{Path(path) / 'report.pdf'}.")
    for item in inputs:
        if Path(item).resolve() == target:
            raise OutputError(f"--out {path} is an input of this command; emgkit never "
                              f"overwrites its inputs. Choose another file name.")
    return target


class OutputFolder:
    """An output folder of ``emgkit run`` (see the module docstring for the rules).

    Use :meth:`open` to check and mark it; :meth:`lock` around a run.
    """

    def __init__(self, root):
        self.root = Path(root).resolve()

    def __repr__(self):
        return f"<OutputFolder | {self.root}>"

    @classmethod
    def open(cls, path, *, inputs=()):
        """Check ``path`` as an output folder, create it and write its marker.

        Parameters
        ----------
        path : path-like
            The ``--out`` folder.
        inputs : iterable of path-like
            Every input file of the run (recordings, sidecars, tables, config).

        Raises
        ------
        OutputError
            When ``path`` is a file, holds an input, holds files but no emgkit marker, or
            cannot be written.
        """
        root = Path(path).resolve()
        if root.exists() and not root.is_dir():
            raise OutputError(f"--out {path} is a file, not a folder; give a folder path.")
        for item in inputs:
            if inside(item, root):
                raise OutputError(f"--out {path} contains the input {item}; emgkit never "
                                  f"writes where its inputs are. Use a separate folder, e.g. "
                                  f"{root / 'derivatives' / 'emgkit'}.")
        marker = root / MARKER
        if root.is_dir() and any(root.iterdir()):
            if not marker.exists():
                shown = ", ".join(sorted(p.name for p in root.iterdir())[:6])
                raise OutputError(f"--out {path} already holds files that emgkit did not "
                                  f"write ({shown} …) and no emgkit {MARKER}; choose an empty "
                                  f"or new folder (emgkit never overwrites foreign files).")
            if not _is_emgkit_marker(marker):
                raise OutputError(f"--out {path}: {MARKER} does not name emgkit as the "
                                  f"program that generated the folder; choose another folder.")
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
        """A fresh, empty staging folder for result ``name`` (moved in by :meth:`publish`)."""
        tmp = self.root / f"{STAGING}{safe_part(name, what='Output name')}-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
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
        """Remove staging folders left by interrupted runs (only emgkit's own names)."""
        for tmp in self.root.glob(f"{STAGING}*"):
            if tmp.is_dir() and not tmp.is_symlink():
                shutil.rmtree(tmp, ignore_errors=True)

    @contextmanager
    def lock(self):
        """Hold the folder's lock for a run; a second run is refused with a clear message.

        The lock is a POSIX advisory lock on ``.emgkit.lock``: the kernel releases it when
        the holding process ends, however it ends, so a killed run never blocks the next.
        """
        path = self.root / LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
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
