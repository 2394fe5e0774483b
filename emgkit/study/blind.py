"""Blinded analysis: neutral group codes, a separate key, and a verifiable unblinding.

``emgkit blind`` (run by someone outside the analysis) replaces the group labels of a
participants table by codes A, B, ... assigned from the operating system's secure random
source (no seed, no clock: the key cannot be rebuilt by brute force) and keeps the key apart;
the coded table carries a BIDS sidecar (``coded.json``) saying its column is blinded, with the
key's sha256 and the group sizes per code (a warning when they tell codes apart), so reports
say "blinded (code A)". ``emgkit unblind`` checks the key against that hash (an edited key,
with swapped or missing codes, is refused), checks that every code of the table is in the key
and that the group step's files still match their ``done.json``, refits the group step with
the real labels into ``OUT/unblinded/`` and writes ``unblinding.json``: the time, the
config's and the key's hashes and the hash of every result file as it stood before
unblinding — so anyone can check the analysis was fixed first.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import secrets
import string
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .._files import (
    blinded_codes,
    read_regular,
    read_tsv,
    sha256,
    sidecar_of,
    write_text,
    write_tsv,
)
from ..errors import ConfigError, ReadError

logger = logging.getLogger("emgkit")

RECORD = "unblinding.json"
#: the largest key or sidecar emgkit reads (bytes); a real one is well under 10 kB
MAX_KEY_BYTES = 1 << 20


def assign_codes(levels):
    """Map the codes A, B, ... to ``levels`` in an order drawn from the operating system's
    secure random source (:mod:`secrets`): no seed, no clock, nothing a brute force over
    seeds or file times can recover.

    Parameters
    ----------
    levels : sequence of str
        The group labels (at most 26).

    Returns
    -------
    dict
        Code -> label.
    """
    order = list(levels)
    secrets.SystemRandom().shuffle(order)
    return {string.ascii_uppercase[k]: label for k, label in enumerate(order)}


def size_check(sizes):
    """Which codes the group sizes give away.

    A code whose group size no other code shares can be told apart by anyone who knows how
    many participants each group has (from a recruitment log, a registration, the
    allocation ratio): the blinding then holds only for the codes whose sizes are equal.

    Parameters
    ----------
    sizes : dict
        Code -> number of participants.

    Returns
    -------
    list of str
        The identifiable codes (empty when every size is shared by another code).
    """
    counts = list(sizes.values())
    return sorted(c for c, n in sizes.items() if counts.count(n) == 1)


def blind_table(participants, out, key, *, column="group", accept_unequal=False):
    """Write a coded copy of a participants table and its key.

    The codes are assigned by :func:`assign_codes` (the OS's secure random source; there is
    no seed, so a key can never be regenerated: keep the key file). The key also holds a
    random secret, so its sha256 (recorded in the coded table's sidecar and checked by
    :func:`unblind`) cannot be matched by trying every assignment and time.

    Parameters
    ----------
    participants : path-like
        The participants table (TSV).
    out : path-like
        The coded table to write (with a ``.json`` sidecar).
    key : path-like
        The key to write (keep it away from the analysts). Never the coded table or its
        sidecar.
    column : str
        The column to code.
    accept_unequal : bool
        Group sizes that differ identify codes (see :func:`size_check`): emgkit logs a
        warning and records it in the sidecar and key. True records that the blinder
        accepts it, without the warning (the sizes are visible in the coded table either
        way; equalise the groups, e.g. by recruiting to equal sizes, for blinding that holds
        against anyone who knows them).

    Returns
    -------
    dict
        The key.
    """
    from .outdir import check_file_target

    src, out, key = Path(participants), Path(out), Path(key)
    for target, what in ((out, "--out"), (key, "--key")):
        if not target.name or target.name in (".", "..") or target.is_dir():
            raise ConfigError(f"{what} {target} is a folder; give the file to write, e.g. "
                              f"{target / ('coded.tsv' if what == '--out' else 'key.json')}.")
    targets = ((out, "--out"), (key, "--key"), (sidecar_of(out), "the sidecar of --out"))
    for target, what in targets:
        if target.exists():
            raise ConfigError(f"{what} {target} exists; blinding never overwrites a file "
                              f"(choose a new name).")
        check_file_target(target, inputs=[src, sidecar_of(src)], what=what)
    for (a, what_a), (b, what_b) in itertools.combinations(targets, 2):
        if Path(os.path.abspath(a)) == Path(os.path.abspath(b)):
            raise ConfigError(f"{what_b} {b} is also {what_a}; the key and the coded table "
                              f"(with its sidecar {sidecar_of(out).name}) are three separate "
                              f"files. Choose another --key.")
    if out.suffix.lower() == ".json":
        raise ConfigError(f"--out {out}: the coded table is a TSV and its sidecar is "
                          f"{sidecar_of(out).name}; give a name ending in .tsv.")
    table = read_tsv(src, what="Participants table", ids=False)  # the ids as written
    for target in (out, key):
        target.parent.mkdir(parents=True, exist_ok=True)
    if column not in table:
        raise ConfigError(f"{src} has no column {column!r} (columns: "
                          f"{', '.join(map(str, table.columns))}).")
    values = table[column].dropna().astype(str)
    levels = sorted(values.unique())
    if len(levels) < 2:
        raise ConfigError(f"{src}: column {column!r} has {len(levels)} level(s); blinding "
                          f"needs at least two groups.")
    if len(levels) > len(string.ascii_uppercase):
        raise ConfigError(f"{src}: column {column!r} has {len(levels)} levels; at most 26.")
    codes = assign_codes(levels)
    to_code = {real: code for code, real in codes.items()}
    sizes = {code: int((values == real).sum()) for code, real in sorted(codes.items())}
    identifiable = size_check(sizes)
    unequal = ({"sizes": sizes, "identifiable": identifiable,
                "accepted": bool(accept_unequal)} if identifiable else None)
    if identifiable and not accept_unequal:
        shown = ", ".join(f"{c}: {n}" for c, n in sizes.items())
        logger.warning("%s: the group sizes differ (%s), so anyone who knows how many "
                       "participants each group has can tell code(s) %s apart; the blinding "
                       "does not hold for them. The coded table is written and the "
                       "risk recorded in its sidecar; add placeholder rows to even the sizes, "
                       "or pass --accept-unequal (accept_unequal=True) to record that you "
                       "accept it and silence this warning.", src, shown,
                       ", ".join(identifiable))
    coded = table.copy()
    coded[column] = coded[column].map(lambda v: to_code.get(str(v), v))
    write_tsv(coded, out)
    record = {"column": column, "codes": codes,
              "secret": secrets.token_hex(32),  # makes the key's hash unguessable
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "participants": src.name, "participants_sha256": sha256(src),
              "coded_sha256": sha256(out), "group_sizes": sizes, "unequal_sizes": unequal}
    write_text(json.dumps(record, indent=2) + "\n", key)
    side = {column: {"Description": "Blinded group codes written by emgkit blind; the key "
                                    "is kept separately.",
                     "Levels": {c: "blinded code" for c in codes}},
            "emgkit_blinded": {"column": column, "codes": sorted(codes),
                               "key_sha256": sha256(key), "group_sizes": sizes,
                               "unequal_sizes": unequal}}
    write_text(json.dumps(side, indent=2) + "\n", sidecar_of(out))
    return record


def blinding_record(table):
    """The ``emgkit_blinded`` entry of a coded table's sidecar (column, codes, key hash,
    group sizes and whether they identify codes), or None for a table that is not coded."""
    if blinded_codes(table) is None:
        return None
    try:
        info = json.loads(read_regular(sidecar_of(table), what="Sidecar",
                                       max_bytes=MAX_KEY_BYTES))["emgkit_blinded"]
    except (ReadError, ValueError, KeyError, TypeError):
        return None
    return info if isinstance(info, dict) else None


def read_key(key):
    """Read and check a key written by :func:`blind_table`.

    The key must be a regular file of at most :data:`MAX_KEY_BYTES` (a FIFO or a device is
    refused without waiting or reading it), a JSON object with the column, and codes that map
    distinct codes to distinct group labels.

    Returns
    -------
    record : dict
        The key.
    digest : str
        sha256 of the bytes read (the key's hash, as the sidecar records it).
    """
    import hashlib

    data = read_regular(key, what="--key", max_bytes=MAX_KEY_BYTES)
    try:
        record = json.loads(data.decode("utf-8"))
        codes = record["codes"]
        if not isinstance(record["column"], str):
            raise TypeError("'column' must be a column name")
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"--key {key} is not an emgkit blinding key "
                          f"({type(exc).__name__}: {exc}).") from None
    if (not isinstance(codes, dict) or not codes
            or not all(isinstance(v, str) for v in codes.values())):
        raise ConfigError(f"--key {key}: 'codes' must map codes to group labels.")
    if len(set(codes.values())) != len(codes):
        raise ConfigError(f"--key {key} gives two codes the same group label ({codes}); it "
                          f"is not the key emgkit blind wrote.")
    return record, hashlib.sha256(data).hexdigest()


def check_key(record, digest, key, table, coded):
    """Check a key against the coded table it must belong to.

    Parameters
    ----------
    record, digest : dict, str
        From :func:`read_key`.
    key, table : path-like
        The key and the coded participants table (named in messages).
    coded : DataFrame
        The coded table.

    Raises
    ------
    ConfigError
        The key's hash differs from the one the table's sidecar recorded (an edited key:
        swapped or missing codes), the key was written for another table, or a code of the
        table is not in the key (the model would be fitted with a still-coded level).
    """
    info = blinding_record(table) or {}
    column, codes = record["column"], record["codes"]
    expected = info.get("key_sha256")
    if not expected:
        raise ConfigError(f"The sidecar {sidecar_of(table)} records no key hash, so the key "
                          f"{key} cannot be checked; blind the participants table again with "
                          f"this emgkit version and rerun.")
    if digest != expected:
        raise ConfigError(f"The key {key} is not the one written with {table}: its sha256 "
                          f"{digest[:12]}… differs from the {expected[:12]}… recorded in "
                          f"{sidecar_of(table).name} (an edited key, e.g. with swapped or "
                          f"missing codes, is refused). Use the key emgkit blind wrote.")
    if record.get("coded_sha256") != sha256(table):
        raise ConfigError(f"The key {key} does not belong to {table} (its hash differs); use "
                          f"the key written with this coded table.")
    if column != info.get("column") or column not in coded:
        raise ConfigError(f"The key {key} codes column {column!r}, but {table} has "
                          f"{info.get('column')!r} blinded.")
    present = set(coded[column].dropna().astype(str))
    missing = sorted(present - set(codes))
    if missing or sorted(codes) != sorted(info.get("codes", codes)):
        raise ConfigError(f"{table}: code(s) {', '.join(missing) or '(sidecar)'} of column "
                          f"{column!r} are not in the key {key} (codes "
                          f"{', '.join(sorted(codes))}); unblinding would fit a still-coded "
                          f"level. Use the key written with this table.")


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

    The run's config (``run.json``, which must name it) must be unchanged; the key must be
    a small regular file whose sha256 the coded table's sidecar recorded, holding every code
    of the table (see :func:`check_key`); ``OUT/group`` must match its ``done.json`` (a
    hand-edited ``trials.tsv`` is refused). Writes ``OUT/unblinding.json`` (see
    :func:`verify_record`).

    Parameters
    ----------
    out_dir : path-like
        Results folder of a blinded ``emgkit run``.
    key : path-like
        The key written by :func:`blind_table`.
    force : bool
        Redo an earlier unblinding.

    Returns
    -------
    pathlib.Path
        The unblinded folder.

    Raises
    ------
    ConfigError
        Any of the checks above fails (the message names the file and what to do).
    ReadError
        The key is missing, not a regular file, or too large.
    """
    from .._version import __version__
    from ..config import load_config
    from ..epochs.tables import read_trials
    from .outdir import OutputFolder, guard_output
    from .results import group_folder
    from .run import _now, fit_group

    root = Path(out_dir)
    try:
        run = json.loads(read_regular(root / "run.json", what="run.json",
                                      max_bytes=64 << 20).decode("utf-8"))
    except (ReadError, ValueError) as exc:
        raise ConfigError(f"{root} is not an emgkit run folder (run.json: {exc}).") from None
    config_file = run.get("config_file") if isinstance(run, dict) else None
    if not isinstance(config_file, str) or not config_file:
        raise ConfigError(f"{root / 'run.json'} names no config_file, so the configuration "
                          f"the results were computed with is unknown; unblind a folder "
                          f"written by emgkit run (rerun the study with the coded table if "
                          f"run.json was edited or lost).")
    config = load_config(config_file)
    if config.digest() != run.get("config_digest"):
        raise ConfigError(f"The config {config_file} changed since the run "
                          f"({run.get('config_digest')} -> {config.digest()}); unblind the "
                          f"results of the config they were computed with.")
    table = config.resolve(config.study.get("participants", "participants.tsv"))
    info = blinded_codes(table)
    if info is None:
        raise ConfigError(f"{table} is not a table coded by emgkit blind (no blinded sidecar "
                          f"{sidecar_of(table).name}).")
    record, key_digest = read_key(key)
    coded = read_tsv(table, what="Participants table")
    check_key(record, key_digest, key, table, coded)
    column = record["column"]
    if (root / RECORD).exists() and not force:
        raise ConfigError(f"{root} was already unblinded ({RECORD}); --force to redo it.")
    gdir = group_folder(root)  # refit only from the tables the run wrote (done.json)
    before = result_hashes(root)
    participants = coded.copy()
    participants[column] = [v if pd.isna(v) else record["codes"][str(v)]
                            for v in coded[column]]  # check_key: every code is in the key
    trials = read_trials(gdir / "trials.tsv")
    inputs = [config_file, table, sidecar_of(table), key]
    out = OutputFolder.open(root, inputs=inputs[:3])  # the key may live in OUT, not where
    guard_output(root / "unblinded", kind="folder", inputs=inputs, what="OUT/unblinded")
    guard_output(root / RECORD, kind="file", inputs=inputs, force=True, what=f"OUT/{RECORD}")
    with out.lock():
        staging = out.staging("unblinded")
        write_tsv(participants, staging / "participants.tsv")
        for name in ("trials.tsv", "timecourses.tsv", "trials.json", "timecourses.json"):
            if (gdir / name).exists():  # results written before the sidecars have none
                (staging / name).write_bytes((gdir / name).read_bytes())
        fit_group(trials, participants, config, staging, root,
                  reports=run.get("flags", {}).get("reports", True), blinded=False)
        path = out.publish(staging, "unblinded", finished=_now())
        record_out = {"unblinded": _now(), "emgkit": __version__,
                      "config_file": config_file, "config_digest": config.digest(),
                      "config_sha256": sha256(config_file),
                      "coded_table": str(table), "coded_sha256": sha256(table),
                      "key_sha256": key_digest, "column": column, "codes": record["codes"],
                      "unequal_sizes": record.get("unequal_sizes"),
                      "results_before": before,
                      "unblinded_files": result_hashes(path, skip=())}
        write_text(json.dumps(record_out, indent=2) + "\n", root / RECORD)
    return path
