"""``emgkit run``: a whole study — parallel, resumable, failure-isolated, with provenance.

Safety rules (see :mod:`emgkit.study.outdir`): the output folder must not hold any input and is
marked as emgkit's; one run at a time holds its lock; per participant, outputs are
assembled in a staging folder and moved to ``OUT/sub-<label>/`` when complete, with a
``done.json`` manifest (file hashes and the resume key) written last. A rerun skips a
participant only when its resume key — the hashes of the recording and its sidecars/event
log, the participants-table row, the resolved config, the emgkit version and ``--no-reports``
— is unchanged and every file of the manifest is intact. ``OUT/run.json`` records versions,
the platform, the command line, the resolved config, input hashes, times and each
participant's status; it never stays ``running`` (``interrupted`` after Ctrl-C).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import platform
import sys
import time
import traceback
from pathlib import Path

import pandas as pd

from .. import _interrupts
from .._files import sha256, write_text, write_tsv
from ..config import Config, load_config, require_channels
from ..epochs.sidecar import write_sidecars
from ..epochs.tables import read_trials
from ..errors import ConfigError, EmgkitError, Interrupted
from .derivative import describe_results, write_participants_sidecar, write_table_sidecars
from .executors import blas_threads, run_tasks
from .inputs import glob_escape, participant_inputs
from .outdir import OutputFolder, verify
from .plan import split_key
from .progress import Progress
from .review import analysis_digest

logger = logging.getLogger("emgkit")

#: packages whose versions can change results or reports
SCIENTIFIC = ("mne", "numpy", "scipy", "pandas", "statsmodels", "patsy", "matplotlib",
              "neurokit2", "bioread", "distributed")


def _now():
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def versions():
    """Versions of emgkit, Python and the scientific dependencies (None when absent)."""
    from importlib.metadata import PackageNotFoundError, version

    from .._version import __version__

    out = {"emgkit": __version__, "python": platform.python_version()}
    for pkg in SCIENTIFIC:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def _platform():
    return {"system": platform.system(), "release": platform.release(),
            "machine": platform.machine(), "platform": platform.platform()}


@dataclasses.dataclass(frozen=True)
class Task:
    """One participant's work, sent to a worker (picklable)."""

    key: str
    participant_id: str
    session: str | None
    folder: str
    recording: str
    config: Config
    out: str
    reports: bool
    row: dict
    overrides: tuple = ()
    #: the id as written in the participants table, for ``{participant_id}`` in an event-log
    #: path (None: ``participant_id``)
    spelled: str | None = None


def _digest(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def resume_key(task, hashes):
    """The key a participant's results are reused under (hex sha256) and its parts.

    ``hashes`` maps each input file (:func:`participant_inputs`) to its sha256; inputs
    enter by file name and content, so a study folder that was moved or copied
    elsewhere is still recognised.
    """
    from .._version import __version__

    parts = dict(inputs={Path(p).name: h for p, h in hashes.items()},
                 participant=task.row, config=analysis_digest(task.config),
                 emgkit=__version__, reports=task.reports, session=task.session)
    if task.overrides:  # manual review rows of this participant
        from .review import review_key

        parts["overrides"] = review_key(task.overrides)
    return _digest(parts), parts


def process_participant(task):
    """Process one participant into ``OUT/<task.folder>`` (atomically). Runs in a worker.

    Returns
    -------
    dict
        ``participant``, ``folder``, ``recording``, ``status`` ("done", "skipped",
        "failed"), ``sha256`` (recording), ``inputs`` (path -> sha256), ``emgkit`` (version
        that produced the results), ``message``, ``seconds``.
    """
    from .._version import __version__

    t0 = time.perf_counter()
    info = dict(participant=task.key, folder=task.folder, recording=task.recording,
                status="failed", sha256=None, inputs={}, emgkit=None, message="",
                seconds=0.0)
    out = OutputFolder(task.out)
    staging = hashing = None
    try:
        rec = Path(task.recording)
        if not rec.is_file():
            raise EmgkitError(f"Recording {rec} does not exist.")
        inputs = participant_inputs(rec, task.config, task.spelled or task.participant_id)
        done, problem = verify(out.path(task.folder))
        if done is None:  # nothing to reuse: the inputs are hashed while they are processed
            hashing = _background(_hashes, inputs)
        else:  # the key decides whether the earlier results are reused
            key, parts = _keyed(task, info, _hashes(inputs), rec)
        if done is not None and done.get("key") == key:
            info.update(status="skipped", message="unchanged",
                        emgkit=done.get("generated_by", {}).get("version"))
            if done.get("events_ignored"):
                info["events_ignored"] = done["events_ignored"]
            return info
        if (out.path(task.folder)).exists():
            out.check_owned(task.folder)  # refuse before computing, not after
            if done is None:
                logger.warning("%s: earlier results are not trusted (%s); recomputing.",
                               task.key, problem)
        result = _process(task, rec)
        if hashing is not None:
            key, parts = _keyed(task, info, hashing.result(), rec)
            hashing = None
        automatic = result.trials.copy()  # the automatic decisions, kept for emgkit review
        if task.overrides:
            from .review import apply_overrides

            info["overrides_changed"] = apply_overrides(result, task.overrides)
            if task.config.epochs.standardise != "none":  # z among the trials now kept
                from ..epochs.standardise import standardise_scores

                standardise_scores(result.trials, task.config.epochs.standardise)
        staging = out.staging(task.folder)
        result.write(staging, automatic=automatic)
        if task.reports:
            from ..report.subject import subject_report

            subject_report(rec, task.config, staging / "report.pdf", result=result,
                           recording_sha256=info["sha256"])
        mapping = result.events.attrs.get("mapping", {})
        ignored = events_ignored(result.events)
        _interrupts.check()  # a signal swallowed while drawing: never publish after it
        out.publish(staging, task.folder, key=key, key_parts=parts, recording=str(rec),
                    participant_id=task.participant_id, session=task.session,
                    finished=_now(), event_mapping=mapping, events_ignored=ignored)
        staging = None
        info.update(status="done", emgkit=__version__)
        if mapping:
            info["event_mapping"] = mapping
        if ignored:
            info["events_ignored"] = ignored
    except Exception as exc:  # one participant's failure must not stop the study
        if _interrupts.received() is not None:  # an interrupt that surfaced as an error
            raise KeyboardInterrupt from exc
        known = isinstance(exc, EmgkitError)
        info["message"] = f"{type(exc).__name__}: {exc}" + (
            "" if known else "\n" + traceback.format_exc(limit=3))
    finally:
        if hashing is not None:  # failed while processing: its inputs are still recorded
            with contextlib.suppress(OSError):
                _keyed(task, info, hashing.result(), rec)
        if staging is not None:
            import shutil

            shutil.rmtree(staging, ignore_errors=True)
        info["seconds"] = round(time.perf_counter() - t0, 3)
    return info


def _hashes(files):
    """Path -> sha256 of each file."""
    return {str(p): sha256(p) for p in files}


def _keyed(task, info, hashes, rec):
    """The resume key and its parts of ``hashes``; the inputs are recorded in ``info``."""
    key, parts = resume_key(task, hashes)
    info.update(sha256=parts["inputs"][rec.name], inputs=hashes)
    return key, parts


class _background:
    """``func(*args)`` in a thread (hashlib and file reads release the GIL, so it overlaps
    the processing of the same recording); :meth:`result` waits for it."""

    def __init__(self, func, *args):
        import threading

        self._value, self._error = None, None

        def run():
            try:
                self._value = func(*args)
            except BaseException as exc:  # re-raised by result()
                self._error = exc

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def result(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def events_ignored(events):
    """What event finding left out of a recording's events (for ``run.json``).

    Returns
    -------
    dict
        ``short_codes`` (trigger codes held shorter than ``[events] min_duration``: count,
        duration, codes) and ``merged`` (events merged into an earlier one with the same
        code closer than ``[events] min_interval``), each only when it happened.
    """
    return {k: events.attrs[k] for k in ("short_codes", "merged") if events.attrs.get(k)}


def _process(task, rec):
    from ..pipeline import process_recording

    check_bids_channels(rec, task.config)
    result = process_recording(rec, task.config, participant_id=task.participant_id,
                               path_id=task.spelled)
    for k, (column, value) in enumerate(split_key(task.key)[1].items()):
        # session, acquisition, run: which of the participant's recordings a row is from
        result.trials.insert(1 + k, column, value)
        result.timecourses.insert(1 + k, column, value)
    return result


def entities_first(table):
    """``table`` with the recording columns (``session``, ``acquisition``, ``run``) right
    after ``participant_id``: tables of recordings with different entities concatenate
    with the missing columns appended at the end."""
    from .plan import KEY_ENTITIES

    ents = [name for _, name in KEY_ENTITIES if name in table]
    if not ents or "participant_id" not in table:
        return table
    rest = [c for c in table.columns if c not in ents and c != "participant_id"]
    return table[["participant_id", *ents, *rest]]


def check_bids_channels(recording, config):
    """When a BIDS ``*_channels.tsv`` sits next to the recording, refuse channels it marks
    ``bad`` (or lists with a non-EMG type) for a muscle, naming the channel and file."""
    rec = Path(recording)
    stem = rec.name.rsplit("_", 1)[0]
    tsv = rec.with_name(f"{stem}_channels.tsv")
    if not tsv.exists():
        return
    try:
        table = pd.read_csv(tsv, sep="\t", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise EmgkitError(f"{tsv} cannot be read as TSV: {exc}.") from None
    if "name" not in table.columns:
        raise EmgkitError(f"{tsv} has no 'name' column.")
    info = {r["name"].lower(): r for _, r in table.iterrows()}
    for muscle, spec in config.channels.items():
        for label in [spec] + spec.split("-"):
            row = info.get(label.strip().lower())
            if row is None:
                continue
            if row.get("status", "good").lower() == "bad":
                raise EmgkitError(f"{tsv}: channel {row['name']} (muscle {muscle}) is marked "
                                  f"bad ({row.get('status_description', 'no reason given')}).")
            if row.get("type", "EMG").upper() not in ("EMG", "MISC", "N/A", ""):
                raise EmgkitError(f"{tsv}: channel {row['name']} for muscle {muscle} has type "
                                  f"{row['type']}, not EMG; fix [channels] or the sidecar.")


def _check_previous(out, config):
    """Refuse a folder holding results of another configuration (unreadable ``run.json``:
    warn; the participants' own resume keys still decide what is reused)."""
    run = out.root / "run.json"
    if not run.exists():
        return
    try:
        prev = json.loads(run.read_text(encoding="utf-8"))
        digest = prev.get("analysis_digest")
        current = analysis_digest(config)
        if digest is None:  # a run.json of an earlier version: the whole config's digest
            digest, current = prev.get("config_digest"), config.digest()
    except (OSError, ValueError, AttributeError):
        logger.warning("%s is unreadable; it will be rewritten (participants' results are "
                       "reused only when their own done.json matches).", run)
        return
    if digest not in (None, current):
        raise ConfigError(f"{out.root} holds results of another configuration "
                          f"({digest} ≠ {current}); use a new --out folder, or "
                          f"--force to recompute them with this one.")


def _row(participants, pid):
    """A participants-table row as JSON-safe data (NaN -> None)."""
    row = participants[participants["participant_id"].astype(str) == pid]
    if row.empty:
        return {}
    return {k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v)
            for k, v in row.iloc[0].items()}


def _tasks(plan, config, out, reports):
    """The participants' tasks, and the ids ``[study] exclude_participants`` leaves out."""
    from .review import reviewed_recordings

    items, excluded = reviewed_recordings(plan, config)
    tasks = [Task(key=key, participant_id=pid, session=ses, folder=plan.folders[key],
                  recording=rec, config=config, out=str(out.root), reports=reports,
                  row=_row(plan.participants, pid), overrides=overrides,
                  spelled=plan.spelled.get(pid))
             for key, pid, ses, rec, overrides in items]
    return tasks, excluded


def all_inputs(plan, config):
    """Every input file of a run, for the output-folder checks and provenance: the plan's
    tables, the config, and per recording its inputs plus every ``<stem>_*`` sibling."""
    files = list(plan.inputs) + ([config.path] if config.path else [])
    if config.study.get("overrides"):
        files.append(config.resolve(config.study["overrides"]))
    for key, rec in plan.recordings.items():
        rec = Path(rec)
        files.append(rec)
        if rec.parent.is_dir():
            stem = rec.name.rsplit("_", 1)[0] if "_" in rec.stem else rec.stem
            files += [p for p in rec.parent.glob(f"{glob_escape(stem)}_*") if p.is_file()]
            pid = split_key(key)[0]
            files += participant_inputs(rec, config, plan.spelled.get(pid, pid))
    return list(dict.fromkeys(Path(f) for f in files))


def plan_config(plan, config):
    """The config as a plan runs it: for an EMG-BIDS dataset (``--bids``) events come from
    each recording's ``*_events.tsv`` unless the config reads annotations; without
    ``[channels]`` the muscles come from the recordings' ``*_channels.tsv``
    (:func:`emgkit.config.require_channels`)."""
    present = [rec for rec in plan.recordings.values() if Path(rec).is_file()]
    config = require_channels(config, present, where=plan.source)
    if plan.bids and config.events.source not in ("annotations",):
        return dataclasses.replace(config, events=dataclasses.replace(
            config.events, source="events.tsv"))
    return config


def run_study(config, out_dir, *, plan=None, jobs=1, scheduler=None, reports=True,
              force=False, progress=None, group_step=True, command=None):
    """Run a whole study: every participant, then the group step.

    Parameters
    ----------
    config : Config | path-like
        The study config (``[study]`` gives participants and recordings unless ``plan``).
    out_dir : path-like
        Output folder: new, empty, or written by emgkit before; never one that holds an
        input (see :mod:`emgkit.study.outdir`).
    plan : StudyPlan | None
        Participants and recordings (e.g. from :func:`emgkit.study.plan_from_bids`).
    jobs : int
        Worker processes on this machine.
    scheduler : str | None
        Address of a Dask distributed scheduler (``tcp://host:port``) or ``"local"`` for a
        local Dask cluster; per-participant work then runs on Dask.
    reports : bool
        Write per-participant and group PDF reports.
    force : bool
        Recompute a folder that holds results of another configuration (only files emgkit
        wrote are ever replaced).
    progress : bool | None
        True/None: a progress bar on a terminal, else one line per finished participant
        on stderr (elapsed time, ETA, failures with their message); False: nothing (failures
        are logged).
    group_step : bool
        Fit the group model and write the group outputs after the participants.
    command : list of str | None
        The command line, recorded in ``run.json`` (default ``sys.argv``).

    Returns
    -------
    dict
        The provenance record also written to ``out_dir/run.json``.

    Raises
    ------
    OutputError
        The output folder is unsafe or in use by another run.
    Interrupted
        Ctrl-C or SIGTERM; ``run.json`` says ``interrupted`` and finished participants are
        kept for a rerun.
    """
    from .plan import plan_from_config

    if not isinstance(config, Config):
        config = load_config(config)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"--jobs must be a positive integer, got {jobs!r}.")
    plan = plan or plan_from_config(config)
    config = plan_config(plan, config)
    inputs = all_inputs(plan, config)
    out = OutputFolder.open(out_dir, inputs=inputs)
    with out.lock(), _interrupts.handling():
        from .blind import blinding_record, check_after_unblinding

        after = check_after_unblinding(out.root, config, force)  # the specific refusal first
        if not force:
            _check_previous(out, config)
        out.clean_staging()
        record = dict(started=_now(), status="running", versions=versions(),
                      platform=_platform(), command=list(sys.argv if command is None
                                                         else command),
                      flags=dict(jobs=jobs, scheduler=scheduler, reports=reports, force=force,
                                 group_step=group_step),
                      config_digest=config.digest(), analysis_digest=analysis_digest(config),
                      config=config.to_dict(),
                      config_file=str(config.path), source=plan.source,
                      inputs={"config": _hash(config.path),
                              "participants": {str(p): sha256(p) for p in plan.inputs}},
                      participants={})
        if after:
            record["after_unblinding"] = after
        blinding = next(filter(None, map(blinding_record, plan.inputs)), None)
        if blinding:  # codes, key hash, group sizes and whether they tell codes apart
            record["blinding"] = blinding
        write_text(json.dumps(record, indent=2, default=str), out.root / "run.json")
        try:
            _run(record, plan, config, out, jobs, scheduler, reports, progress, group_step)
        except BaseException as exc:
            if not isinstance(exc, KeyboardInterrupt) and _interrupts.received() is None:
                _failed(record, out, exc)
                raise
            record.update(status="interrupted", finished=_now(), signal=_interrupts.name())
            write_text(json.dumps(record, indent=2, default=str), out.root / "run.json")
            out.clean_staging()
            n = sum(r["status"] in ("done", "skipped") for r in record["participants"].values())
            raise Interrupted(f"run interrupted; {n} finished participant(s) are kept in "
                              f"{out.root} and a rerun resumes from there.") from None
    return record


def _failed(record, out, exc):
    record.update(status="failed", finished=_now(), message=f"{type(exc).__name__}: {exc}")
    write_text(json.dumps(record, indent=2, default=str), out.root / "run.json")
    out.clean_staging()


def _hash(path):
    return {str(path): sha256(path)} if path and Path(path).is_file() else {}


def _run(record, plan, config, out, jobs, scheduler, reports, progress, group_step):
    write_tsv(plan.participants, out.root / "participants.tsv")
    describe_results(out.root, plan)  # a BIDS derivative dataset (dataset_description, …)
    tasks, excluded = _tasks(plan, config, out, reports)
    for pid in excluded:
        record["participants"][pid] = dict(participant=pid, status="excluded",
                                           message="manual: [study] exclude_participants")
    manual = {t.key: len(t.overrides) for t in tasks if t.overrides}
    if excluded or manual:
        path = config.study.get("overrides")
        record["manual_review"] = dict(
            excluded=excluded, override_rows=manual,
            overrides=str(config.resolve(path)) if path else None,
            overrides_sha256=sha256(config.resolve(path)) if path else None)
    bar = Progress(len(tasks), Progress.mode_for(progress))

    def done(info):
        record["participants"][info["participant"]] = info
        bar.update(info)

    try:
        run_tasks(tasks, process_participant, done, jobs=jobs, scheduler=scheduler)
    finally:
        bar.close()
    results = sorted(record["participants"].values(), key=lambda r: r["participant"])
    record["participants"] = {r["participant"]: r for r in results}
    ok = [r for r in results if r["status"] in ("done", "skipped")]
    _interrupts.check()
    trials = {r["participant"]: read_trials(out.path(r["folder"], "trials.tsv")) for r in ok}
    coverage = condition_coverage(config, trials, results)
    if coverage:
        record["conditions"] = coverage
    if coverage.get("never_seen"):
        record["group"] = {"status": "not run", "message": coverage["message"]}
    else:
        record["group"] = _group(out, plan, config, ok, reports, trials) if group_step else {
            "status": "not run"}
    record["finished"] = _now()
    n_failed = sum(r["status"] == "failed" for r in results)
    record["status"] = "failed" if (n_failed or record["group"]["status"] == "failed"
                                    or coverage.get("never_seen")) else "ok"
    record["summary"] = {s: sum(r["status"] == s for r in results)
                         for s in ("done", "skipped", "failed", "excluded")}
    mappings = {r["participant"]: r["event_mapping"] for r in results if r.get("event_mapping")}
    if mappings:  # codes seen but not mapped, or mapped but never seen, per participant
        record["event_mapping"] = mappings
    ignored = {r["participant"]: r["events_ignored"] for r in results
               if r.get("events_ignored")}
    if ignored:  # glitches and merged duplicates, per participant
        record["events_ignored"] = ignored
    _interrupts.check()  # never "ok" after a signal, even one a library swallowed
    write_text(json.dumps(record, indent=2, default=str), out.root / "run.json")


def condition_coverage(config, trials, results=()):
    """Check the event mapping across the study: which configured conditions occur where.

    Parameters
    ----------
    config : Config
    trials : dict
        Participant -> trial table of each successfully processed participant.
    results : iterable of dict
        The participants' run records (their ``event_mapping``: codes seen but not mapped).

    Returns
    -------
    dict
        Empty when every configured condition occurs in every participant. Else
        ``never_seen`` (conditions in no participant: the run fails before the group step),
        ``missing`` (condition -> participants without it), ``codes_seen`` (code -> count of
        codes that were not mapped, over the study) and ``message``.
    """
    configured = list(dict.fromkeys(config.events.conditions.values()))
    if not trials:
        return {}
    present = {pid: set(t["condition"].astype(str)) for pid, t in trials.items()}
    wanted = configured or sorted(set().union(*present.values()))
    never = [c for c in wanted if not any(c in p for p in present.values())]
    missing = {c: sorted(pid for pid, p in present.items() if c not in p)
               for c in wanted if c not in never}
    missing = {c: pids for c, pids in missing.items() if pids}
    if not never and not missing:
        return {}
    seen = {}
    for r in results:
        for code, n in (r.get("event_mapping") or {}).get("unmapped", {}).items():
            seen[code] = seen.get(code, 0) + int(n)
    out = {}
    parts = []
    if never:
        codes = ", ".join(f"{c!r} ×{n}" for c, n in sorted(seen.items())) or "none"
        parts.append(f"condition(s) {', '.join(map(repr, never))} of [events.conditions] "
                     f"occur in no recording (codes seen but not mapped: {codes}); fix the "
                     f"codes in [events.conditions] (see emgkit inspect RECORDING)")
        out["never_seen"] = never
    if missing:
        parts.append("missing in some participants: " + "; ".join(
            f"{c} in {', '.join(p)}" for c, p in missing.items()))
        out["missing"] = missing
    out["codes_seen"] = seen
    out["message"] = "; ".join(parts) + "."
    logger.warning("event mapping across the study: %s", out["message"])
    return out


def _group(out, plan, config, ok, reports, trials):
    """Combine the successful participants' tables (``trials``: participant -> trial table,
    already read), fit the model, write the group PDF; all into a staging folder published
    as ``OUT/group``."""
    import shutil

    info = dict(status="failed", participants=len(ok), message="")
    staging = None
    try:
        if not ok:
            raise EmgkitError("no participant was processed successfully.")
        staging = out.staging("group")
        trials = entities_first(pd.concat(list(trials.values()), ignore_index=True))
        tcs = entities_first(pd.concat(
            [read_trials(out.path(r["folder"], "timecourses.tsv")) for r in ok],
            ignore_index=True))
        write_tsv(trials, staging / "trials.tsv")
        write_tsv(tcs, staging / "timecourses.tsv")
        write_sidecars(staging, trials, tcs, config)
        # the run's own copy, read back by export, timecourse, report --group
        write_tsv(plan.participants, staging / "participants.tsv")
        info["formula"] = fit_group(trials, plan.participants, config, staging, out.root,
                                    reports=reports)
        write_participants_sidecar(staging / "participants.tsv", plan.participants,
                                   plan.inputs[0] if plan.inputs else None)
        write_table_sidecars(staging)  # every group table described, column by column
        _interrupts.check()
        out.publish(staging, "group", participants=[r["participant"] for r in ok],
                    finished=_now())
        staging = None
        info["status"] = "done"
    except Exception as exc:
        if _interrupts.received() is not None:  # an interrupt that surfaced as an error
            raise KeyboardInterrupt from exc
        info["message"] = f"{type(exc).__name__}: {exc}"
        logger.error("group step failed: %s", info["message"])
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return info


def fit_group(trials, participants, config, gdir, root, *, reports=True, blinded=None):
    """The group step's analysis into folder ``gdir``: design checks, the config's model
    (one per muscle unless the formula has ``muscle``) and, with ``reports``, the group PDF
    (``root``: the results folder; ``blinded`` as :func:`emgkit.report.group_report`).

    Returns
    -------
    str
        The formula fitted.
    """
    from ..stats.split import write_models

    with blas_threads(1):  # small matrices: more BLAS threads only spin
        participants, formula, split, models = group_models(trials, participants, config,
                                                            gdir)
        # no diagnostics.png: the group PDF draws the diagnostics as vector plots from
        # each model's residuals.tsv (emgkit stats, which has no PDF, still writes it)
        write_models(split, models, gdir, figures=False)
        if reports:
            from ..report import group_report

            group_report(root, gdir / "group.pdf", participants=participants,
                         mode=config.epochs.baseline_mode, traits=config.report_traits,
                         group_dir=gdir, blinded=blinded)
    return formula


def group_models(trials, participants, config, gdir=None):
    """The config's group model fitted to a trial table (``emgkit run``'s group step;
    the multiverse fits each specification with it).

    Parameters
    ----------
    trials, participants : DataFrame
    config : Config
    gdir : path-like | None
        Folder for the design-check tables (order balance, trait correlations, levels by
        group); None writes nothing.

    Returns
    -------
    participants : DataFrame
        With a derived ``order`` column when ``[study] order = "derived"``.
    formula : str
    split : str | None
        The column split on (see :func:`emgkit.stats.split.fit_models`).
    models : dict
        Level -> :class:`~emgkit.stats.MixedResult`.
    """
    from ..stats.split import fit_models

    participants = _design_checks(trials, participants, config, gdir)
    formula = config.model.get("formula", "score ~ group * condition")
    eq = config.model.get("equivalence")
    split, models = fit_models(trials, formula, participants=participants,
                               equivalence=(eq, config.model.get("equivalence_scale", "sd"))
                               if eq else None,
                               re_formula=config.model.get("re_formula"),
                               crossed=config.model.get("crossed"),
                               reference=config.model.get("reference"))
    return participants, formula, split, models


def _design_checks(trials, participants, config, gdir):
    """Block order balance and trait correlations; returns the participants table with a
    derived ``order`` column when ``[study] order = "derived"``."""
    from ..stats.traits import trait_correlations
    from .order import derive_orders, order_balance

    participants = participants.copy()
    order = config.study.get("order")
    if order == "derived":
        skip = set(config.blocks.baseline.values())
        derived = derive_orders(trials, config.blocks.column, skip=skip)
        participants = participants.drop(columns=["order"], errors="ignore").merge(
            derived, on="participant_id", how="left")
        order = "order"
    if gdir is None:
        return participants
    if order:
        balance = order_balance(participants, order=order)
        write_tsv(balance["table"].assign(test_p=balance["p"], balanced=balance["balanced"]),
                  gdir / "order_balance.tsv")
    if config.epochs.standardise != "none":
        from ..epochs.standardise import levels_by_group

        write_tsv(levels_by_group(trials, participants), gdir / "baselines.tsv")
    if config.report_traits:
        write_tsv(trait_correlations(trials, participants, list(config.report_traits)),
                  gdir / "traits.tsv")
    return participants
