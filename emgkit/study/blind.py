"""Blinded analysis: neutral group codes, a separate key, and a verifiable unblinding.

``emgkit blind`` (run by someone outside the analysis) replaces the group labels of a
participants table by random codes A, B, ... and keeps the key apart; the coded table carries a
BIDS sidecar (``coded.json``) saying its column is blinded, so reports say "blinded (code A)".
``emgkit unblind`` refits the group step with the real labels into ``OUT/unblinded/`` and
writes ``unblinding.json``: the time, the config's and the key's hashes and the hash of every
result file as it stood before unblinding — so anyone can check the analysis was fixed first.
"""

from __future__ import annotations

import json
import secrets
import string
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .._files import blinded_codes, read_tsv, sha256, sidecar_of, write_text, write_tsv
from ..errors import ConfigError

RECORD = "unblinding.json"


def blind_table(participants, out, key, *, column="group", seed=None):
    """Write a coded copy of a participants table and its key.

    Parameters
    ----------
    participants : path-like
        The participants table (TSV).
    out : path-like
        The coded table to write (with a ``.json`` sidecar).
    key : path-like
        The key to write (keep it away from the analysts).
    column : str
        The column to code.
    seed : int | None
        Seed of the code assignment (None: a random one, recorded in the key).

    Returns
    -------
    dict
        The key.
    """
    src, out, key = Path(participants), Path(out), Path(key)
    for target, what in ((out, "--out"), (key, "--key"), (sidecar_of(out), "the sidecar")):
        if target.exists():
            raise ConfigError(f"{what} {target} exists; blinding never overwrites a file "
                              f"(choose a new name).")
        if target.resolve() == src.resolve():
            raise ConfigError(f"{what} {target} is the participants table itself.")
    table = read_tsv(src, what="Participants table")
    if column not in table:
        raise ConfigError(f"{src} has no column {column!r} (columns: "
                          f"{', '.join(map(str, table.columns))}).")
    levels = sorted(table[column].dropna().astype(str).unique())
    if len(levels) < 2:
        raise ConfigError(f"{src}: column {column!r} has {len(levels)} level(s); blinding "
                          f"needs at least two groups.")
    if len(levels) > len(string.ascii_uppercase):
        raise ConfigError(f"{src}: column {column!r} has {len(levels)} levels; at most 26.")
    seed = secrets.randbits(63) if seed is None else int(seed)
    order = np.random.default_rng(seed).permutation(len(levels))
    codes = {string.ascii_uppercase[k]: levels[i] for k, i in enumerate(order)}
    to_code = {real: code for code, real in codes.items()}
    coded = table.copy()
    coded[column] = coded[column].map(lambda v: to_code.get(str(v), v))
    write_tsv(coded, out)
    record = dict(column=column, codes=codes, seed=seed,
                  created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  participants=src.name, participants_sha256=sha256(src),
                  coded_sha256=sha256(out))
    write_text(json.dumps(record, indent=2) + "\n", key)
    side = {column: {"Description": "Blinded group codes written by emgkit blind; the key "
                                    "is kept separately.",
                     "Levels": {c: "blinded code" for c in codes}},
            "emgkit_blinded": dict(column=column, codes=sorted(codes),
                                   key_sha256=sha256(key))}
    write_text(json.dumps(side, indent=2) + "\n", sidecar_of(out))
    return record


def read_key(key):
    """Read and check a key written by :func:`blind_table`."""
    try:
        record = json.loads(Path(key).read_text(encoding="utf-8"))
        codes = record["codes"]
        if not isinstance(record["column"], str):
            raise TypeError("'column' must be a column name")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{key} is not an emgkit blinding key ({type(exc).__name__}: "
                          f"{exc}).") from None
    if not isinstance(codes, dict) or not codes:
        raise ConfigError(f"{key}: 'codes' must map codes to group labels.")
    return record


def result_hashes(root, *, skip=("unblinded", RECORD, "run.json")):
    """sha256 of every result file under a results folder (relative path -> hash): not the
    unblinded outputs, the record, ``run.json`` or the ``done.json`` manifests (rewritten
    with times on every run; the files they list are hashed themselves)."""
    root = Path(root)
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if (path.is_file() and rel.parts[0] not in skip and rel.name != "done.json"
                and not any(part.startswith(".") for part in rel.parts)):
            out[rel.as_posix()] = sha256(path)
    return out


def check_after_unblinding(root, config, force):
    """Refuse to rerun a study folder that was unblinded with another configuration
    (``--force`` goes on, and the run records it). Returns the note for ``run.json``."""
    path = Path(root) / RECORD
    if not path.is_file():
        return None
    try:
        before = json.loads(path.read_text(encoding="utf-8")).get("config_digest")
    except (OSError, ValueError, AttributeError):
        before = None
    if before == config.digest():
        return None
    if not force:
        raise ConfigError(f"{root} was unblinded ({path.name}) with configuration {before}; "
                          f"rerunning it with another one ({config.digest()}) would change the "
                          f"analysis after unblinding. Use a new --out folder, or --force "
                          f"(recorded in run.json).")
    return dict(unblinded_config=before, config=config.digest(),
                note="configuration changed after unblinding (--force)")


def verify_record(root):
    """Check an unblinding record against the results folder.

    Returns
    -------
    list of str
        Problems (empty when every file recorded is unchanged and none was added).
    """
    root = Path(root)
    try:
        record = json.loads((root / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{root / RECORD} unreadable: {exc}"]
    now = result_hashes(root)
    before = record.get("results_before", {})
    problems = [f"changed after unblinding: {p}" for p in before if now.get(p) != before[p]
                and p in now]
    problems += [f"missing: {p}" for p in before if p not in now]
    problems += [f"added after unblinding: {p}" for p in now if p not in before]
    return problems


def unblind(out_dir, key, *, force=False):
    """Refit the group step of a blinded run with the real labels into ``OUT/unblinded/``.

    The run's config (``run.json``) must be unchanged, the key must belong to the run's coded
    participants table. Writes ``OUT/unblinding.json`` (see :func:`verify_record`).

    Returns
    -------
    pathlib.Path
        The unblinded folder.
    """
    from .._version import __version__
    from ..config import load_config
    from ..epochs.tables import read_trials
    from .outdir import OutputFolder
    from .results import group_folder
    from .run import _now, fit_group

    root = Path(out_dir)
    try:
        run = json.loads((root / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{root} is not an emgkit run folder (run.json: {exc}).") from None
    config = load_config(run["config_file"])
    if config.digest() != run.get("config_digest"):
        raise ConfigError(f"The config {run['config_file']} changed since the run "
                          f"({run.get('config_digest')} -> {config.digest()}); unblind the "
                          f"results of the config they were computed with.")
    table = config.resolve(config.study.get("participants", "participants.tsv"))
    info = blinded_codes(table)
    if info is None:
        raise ConfigError(f"{table} is not a table coded by emgkit blind (no blinded sidecar "
                          f"{sidecar_of(table).name}).")
    record = read_key(key)
    if record.get("coded_sha256") != sha256(table):
        raise ConfigError(f"The key {key} does not belong to {table} (its hash differs); use "
                          f"the key written with this coded table.")
    column = record["column"]
    if (root / RECORD).exists() and not force:
        raise ConfigError(f"{root} was already unblinded ({RECORD}); --force to redo it.")
    before = result_hashes(root)
    coded = read_tsv(table, what="Participants table")
    participants = coded.copy()
    participants[column] = coded[column].map(lambda v: record["codes"].get(str(v), v))
    gdir = group_folder(root)  # refit only from the tables the run wrote
    trials = read_trials(gdir / "trials.tsv")
    out = OutputFolder.open(root, inputs=[run["config_file"], table])
    with out.lock():
        staging = out.staging("unblinded")
        write_tsv(participants, staging / "participants.tsv")
        for name in ("trials.tsv", "timecourses.tsv"):
            (staging / name).write_bytes((gdir / name).read_bytes())
        fit_group(trials, participants, config, staging, root,
                  reports=run.get("flags", {}).get("reports", True), blinded=False)
        path = out.publish(staging, "unblinded", finished=_now())
        record_out = dict(unblinded=_now(), emgkit=__version__,
                          config_file=run["config_file"], config_digest=config.digest(),
                          config_sha256=sha256(run["config_file"]),
                          coded_table=str(table), coded_sha256=sha256(table),
                          key_sha256=sha256(key), column=column, codes=record["codes"],
                          results_before=before,
                          unblinded_files=result_hashes(path, skip=()))
        write_text(json.dumps(record_out, indent=2) + "\n", root / RECORD)
    return path
