"""``emgkit run``: a whole study — parallel, resumable, failure-isolated, with provenance.

Per participant, outputs go to a temporary folder that replaces ``OUT/<id>/`` only when
complete (``done.json`` written last, holding the input's sha256 and the config digest), so
an interrupted run leaves nothing a rerun would trust. A rerun skips participants whose
recording and config are unchanged. ``OUT/run.json`` records versions, the resolved config,
input hashes, times and each participant's status.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import platform
import shutil
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd

from ._atomic import write_text, write_tsv
from .config import Config, load_config
from .errors import ConfigError, EmgkitError
from .report import sha256

logger = logging.getLogger("emgkit")


def _now():
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def versions():
    """Versions of emgkit, Python and the numerical dependencies."""
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    out = {"emgkit": __version__, "python": platform.python_version()}
    for pkg in ("mne", "numpy", "scipy", "pandas", "statsmodels", "matplotlib"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover
            out[pkg] = None
    return out


def process_participant(key, recording, config, out_dir, reports=True):
    """Process one participant into ``out_dir/key`` (atomically). Runs in a worker.

    Returns
    -------
    dict
        ``participant``, ``status`` ("done", "skipped", "failed"), ``sha256``, ``message``,
        ``seconds``.
    """
    t0 = time.perf_counter()
    out = Path(out_dir) / key
    info = dict(participant=key, recording=str(recording), status="failed", sha256=None,
                message="", seconds=0.0)
    try:
        from .pipeline import process_recording
        from .report import subject_report

        rec = Path(recording)
        if not rec.is_file():
            raise EmgkitError(f"Recording {rec} does not exist.")
        digest = sha256(rec)
        info["sha256"] = digest
        done = out / "done.json"
        if done.exists():
            prev = json.loads(done.read_text())
            if prev.get("sha256") == digest and prev.get("config") == config.digest():
                info.update(status="skipped", message="unchanged")
                return info
        sub = key.split("_")[0]
        check_bids_channels(rec, config)
        result = process_recording(rec, config, participant_id=sub, keep_continuous=reports)
        if "_ses-" in key:
            ses = key.split("_", 1)[1]
            result.trials.insert(1, "session", ses)
            result.timecourses.insert(1, "session", ses)
        tmp = Path(out_dir) / f".{key}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        result.write(tmp)
        if reports:
            subject_report(rec, config, tmp / "report.pdf", result=result)
        (tmp / "done.json").write_text(json.dumps(dict(sha256=digest, config=config.digest(),
                                                       recording=str(rec), finished=_now())))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
        info.update(status="done", message="")
    except Exception as exc:  # one participant's failure must not stop the study
        known = isinstance(exc, EmgkitError)
        info["message"] = f"{type(exc).__name__}: {exc}" + (
            "" if known else "\n" + traceback.format_exc(limit=3))
    finally:
        info["seconds"] = round(time.perf_counter() - t0, 3)
    return info


def check_bids_channels(recording, config):
    """When a BIDS ``*_channels.tsv`` sits next to the recording, refuse channels it marks
    ``bad`` (or lists with a non-EMG type) for a muscle, naming the channel and file."""
    rec = Path(recording)
    stem = rec.name.rsplit("_", 1)[0]
    tsv = rec.with_name(f"{stem}_channels.tsv")
    if not tsv.exists():
        return
    table = pd.read_csv(tsv, sep="\t", dtype=str, keep_default_na=False)
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


def _check_folder(out, config):
    run = out / "run.json"
    if run.exists():
        prev = json.loads(run.read_text())
        if prev.get("config_digest") not in (None, config.digest()):
            raise ConfigError(f"{out} holds results of another configuration "
                              f"({prev.get('config_digest')} ≠ {config.digest()}); use a new "
                              f"--out folder, or --force to discard them.")
    for stale in out.glob(".*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)


def _progress(total, enabled):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return None
    return tqdm(total=total, desc="participants", unit="rec")


def run_study(config, out_dir, *, plan=None, jobs=1, scheduler=None, reports=True,
              force=False, progress=None, group_step=True):
    """Run a whole study: every participant, then the group step.

    Parameters
    ----------
    config : Config | path-like
        The study config (``[study]`` gives participants and recordings unless ``plan``).
    out_dir : path-like
        Output folder.
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
        Discard results of another configuration in ``out_dir``.
    progress : bool | None
        Show a progress bar (default: when attached to a terminal).
    group_step : bool
        Fit the group model and write the group outputs after the participants.

    Returns
    -------
    dict
        The provenance record also written to ``out_dir/run.json``.
    """
    from .study import plan_from_config

    if not isinstance(config, Config):
        config = load_config(config)
    plan = plan or plan_from_config(config)
    if plan.source != str(config.path) and config.events.source not in ("annotations",):
        # EMG-BIDS: events come from each recording's *_events.tsv
        config = dataclasses.replace(config, events=dataclasses.replace(
            config.events, source="events.tsv"))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if force and (out / "run.json").exists():
        for child in out.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    _check_folder(out, config)
    record = dict(started=_now(), versions=versions(), config_digest=config.digest(),
                  config=config.to_dict(), config_file=str(config.path), source=plan.source,
                  jobs=jobs, scheduler=scheduler, participants={})
    write_text(json.dumps({**record, "status": "running"}, indent=2, default=str),
               out / "run.json")
    write_tsv(plan.participants, out / "participants.tsv")
    tasks = [(key, str(rec), config, str(out), reports)
             for key, rec in plan.recordings.items()]
    bar = _progress(len(tasks), progress if progress is not None else os.isatty(2))
    results = []

    def done(info):
        results.append(info)
        if bar is not None:
            bar.update(1)
        if info["status"] == "failed":
            logger.error("%s failed: %s", info["participant"], info["message"].splitlines()[0])

    if scheduler:
        results_iter = _run_dask(tasks, scheduler)
        for info in results_iter:
            done(info)
    elif jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(process_participant, *t) for t in tasks]
            for fut in as_completed(futures):
                done(fut.result())
    else:
        for t in tasks:
            done(process_participant(*t))
    if bar is not None:
        bar.close()
    results.sort(key=lambda r: r["participant"])
    record["participants"] = {r["participant"]: r for r in results}
    ok = [r["participant"] for r in results if r["status"] in ("done", "skipped")]
    record["group"] = _group(out, plan, config, ok, reports) if group_step else {
        "status": "not run"}
    record["finished"] = _now()
    n_failed = sum(r["status"] == "failed" for r in results)
    record["status"] = "failed" if n_failed or record["group"]["status"] == "failed" else "ok"
    record["summary"] = {s: sum(r["status"] == s for r in results)
                         for s in ("done", "skipped", "failed")}
    write_text(json.dumps(record, indent=2, default=str), out / "run.json")
    return record


def _run_dask(tasks, scheduler):
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_completed
    except ImportError:
        raise ConfigError("--scheduler needs Dask: pip install 'emgkit[dask]'.") from None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None, host="127.0.0.1")
        client = Client(cluster)
    else:
        cluster, client = None, Client(scheduler)
    try:
        futures = [client.submit(process_participant, *t, key=f"emgkit-{t[0]}-{time.time()}",
                                 pure=False) for t in tasks]
        for fut in dask_completed(futures):
            yield fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _group(out, plan, config, ok, reports):
    """Combine the successful participants' tables, fit the model, write the group PDF."""
    from .report import group_report
    from .stats.study import fit_models, write_models

    gdir = out / "group"
    info = dict(status="failed", participants=len(ok), message="")
    try:
        if not ok:
            raise EmgkitError("no participant was processed successfully.")
        shutil.rmtree(gdir, ignore_errors=True)
        gdir.mkdir()
        trials = pd.concat([pd.read_csv(out / k / "trials.tsv", sep="\t",
                                        dtype={"participant_id": str}, keep_default_na=False,
                                        na_values=["", "nan", "n/a"]) for k in ok],
                           ignore_index=True)
        tcs = pd.concat([pd.read_csv(out / k / "timecourses.tsv", sep="\t",
                                     dtype={"participant_id": str}) for k in ok],
                        ignore_index=True)
        write_tsv(trials, gdir / "trials.tsv")
        write_tsv(tcs, gdir / "timecourses.tsv")
        participants = _design_checks(trials, plan.participants, config, gdir)
        formula = config.model.get("formula", "score ~ group * condition")
        split, models = fit_models(trials, formula, participants=participants,
                                   re_formula=config.model.get("re_formula"),
                                   crossed=config.model.get("crossed"))
        write_models(split, models, gdir)
        info["formula"] = formula
        if reports:
            group_report(out, gdir / "group.pdf", participants=participants,
                         mode=config.epochs.baseline_mode, traits=config.report_traits)
        info["status"] = "done"
    except Exception as exc:
        info["message"] = f"{type(exc).__name__}: {exc}"
        logger.error("group step failed: %s", info["message"])
    return info


def _design_checks(trials, participants, config, gdir):
    """Block order balance and trait correlations; returns the participants table with a
    derived ``order`` column when ``[study] order = "derived"``."""
    from .order import derive_orders, order_balance
    from .stats.traits import trait_correlations

    participants = participants.copy()
    order = config.study.get("order")
    if order == "derived":
        skip = set(config.blocks.baseline.values())
        derived = derive_orders(trials, config.blocks.column, skip=skip)
        participants = participants.drop(columns=["order"], errors="ignore").merge(
            derived, on="participant_id", how="left")
        order = "order"
    if order:
        balance = order_balance(participants, order=order)
        write_tsv(balance["table"].assign(test_p=balance["p"], balanced=balance["balanced"]),
                  gdir / "order_balance.tsv")
    if config.report_traits:
        write_tsv(trait_correlations(trials, participants, list(config.report_traits)),
                  gdir / "traits.tsv")
    return participants
