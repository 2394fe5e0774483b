"""``emgkit multiverse``: every specification of the grid through the study's group model.

Participants run in parallel (each read once, :mod:`.participant`); then each specification's
trial tables are combined and fitted with the same model and contrasts as ``emgkit run``
(:func:`emgkit.study.run.group_models`), so the primary specification's numbers are the
run's.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time

import numpy as np
import pandas as pd

from .._files import sha256, write_text, write_tsv
from ..errors import ConfigError, EmgkitError
from ..stats.design import formula_variables
from ..stats.split import captured_warnings
from .grid import AXES, build_grid

logger = logging.getLogger("emgkit")

#: rough costs on one core (s) behind :func:`estimate_seconds`: the group fit of one
#: specification, re-scoring one participant for one specification, and filtering plus
#: envelope of one participant for one distinct (band, smooth, envelope); set from the
#: README benchmark (24 specifications × 40 participants) and a 649-specification grid of
#: four participants (416 s); recordings much longer than a 10-minute session cost more
FIT_S, SCORE_S, ENVELOPE_S = 0.5, 0.02, 0.1
#: ``emgkit multiverse --max-specs`` default: a larger grid must be asked for
DEFAULT_MAX_SPECS = 200


def estimate_seconds(grid, n_participants, jobs=1):
    """Rough wall time (s) of a multiverse, announced before it starts.

    ``n_specifications × (FIT_S + n_participants × SCORE_S) + n_participants × n_envelopes
    × ENVELOPE_S``, divided by ``jobs`` (see :data:`FIT_S`); the measured time is written
    to ``multiverse.json`` beside it.

    Parameters
    ----------
    grid : Grid
        The specifications (:func:`emgkit.multiverse.grid.build_grid`).
    n_participants : int
        Recordings to process.
    jobs : int
        Worker processes.

    Returns
    -------
    float
        Seconds.
    """
    envelopes = {(p.l_freq, p.h_freq, p.smooth, p.envelope)
                 for p in (s.config.preprocess for s in grid.specifications)}
    core = (len(grid) * (FIT_S + n_participants * SCORE_S)
            + n_participants * len(envelopes) * ENVELOPE_S)
    return core / max(1, jobs)


def duration_text(seconds):
    """``"about 40 s"``, ``"about 7 min"``, ``"about 1.5 h"``."""
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"


def _now():
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _tasks(plan, config, specs):
    from ..study.review import reviewed_recordings

    items, excluded = reviewed_recordings(plan, config)
    return [(key, rec, config, tuple(specs), pid, overrides, ses, plan.spelled.get(pid))
            for key, pid, ses, rec, overrides in items], excluded


def fit_specification(task):
    """Worker function: ``task`` = (spec, trials, participants). Returns the contrast rows of
    every model (one per muscle unless the formula has ``muscle``) with the specification's
    id, ``n_participants`` and ``n_trials`` (kept)."""
    from ..study.run import group_models

    spec, trials, participants = task
    with captured_warnings() as caught:  # model cautions: once per study, not per fit
        _, _, split, models = group_models(trials, participants, spec.config)
    rows = []
    for level, res in models.items():  # run_multiverse checked the formula has group
        con = res.contrasts("group")
        sd = res.effect_sd()
        con["effect_ci_low"], con["effect_ci_high"] = con["ci_low"] / sd, con["ci_high"] / sd
        if split is not None:
            con.insert(0, split, level)
        sel = trials if split is None else trials[trials[split] == level]
        kept = sel[~sel["rejected"].astype(bool)]
        con["n_participants"] = kept["participant_id"].nunique()
        con["n_trials"] = len(kept)
        rows.append(con)
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "specification", spec.id)
    out.attrs["cautions"] = sorted(set(caught))
    return out


def run_multiverse(config_path, out_dir, *, jobs=1, scheduler=None, report=True,
                   progress=None, plan=None, max_specs=None, announce=None):
    """Run every specification of ``[multiverse]`` and write the results.

    Parameters
    ----------
    config_path : path-like
        ``study.toml`` with a ``[multiverse]`` section (:mod:`emgkit.multiverse.grid`).
    out_dir : path-like
        Output folder (checked as for ``emgkit run``: never one holding an input).
    jobs : int
        Worker processes.
    scheduler : str | None
        Dask scheduler address or ``"local"``.
    report : bool
        Write ``specification_curve.pdf``.
    progress : callable | None
        Called as ``progress(stage, done, total)``.
    plan : StudyPlan | None
        Participants and recordings (default: the config's ``[study]``).
    max_specs : int | None
        Refuse a grid of more specifications than this (``--max-specs``), before anything
        is processed or written; None: only the grid's own limit (1000).
    announce : callable | None
        Called as ``announce(n_specifications, n_participants, seconds)`` before anything
        is processed (``seconds``: :func:`estimate_seconds`).

    Returns
    -------
    dict
        The record written to ``multiverse.json``; ``specifications`` and ``summary`` tables
        are written as ``specifications.tsv`` and ``summary.tsv``.
    """
    from ..study.executors import map_ordered
    from ..study.outdir import OutputFolder
    from ..study.plan import plan_from_config
    from ..study.review import analysis_digest
    from ..study.run import all_inputs, plan_config, versions

    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"--jobs must be a positive integer, got {jobs!r}.")
    t0 = time.perf_counter()
    grid = build_grid(config_path)
    config = grid.config
    formula = config.model.get("formula", "score ~ group * condition")
    if "group" not in formula_variables(formula)[1]:  # refused before any processing
        raise ConfigError(f"[model] formula = {formula!r} has no 'group' term; the multiverse "
                          f"compares the groups' contrasts (e.g. 'score ~ group * condition').")
    plan = plan or plan_from_config(config)
    n_part = len(plan.recordings)
    estimate = estimate_seconds(grid, n_part, jobs)
    if max_specs is not None and len(grid) > max_specs:
        raise ConfigError(f"[multiverse] in {config.path} makes {len(grid)} specifications, "
                          f"more than --max-specs {max_specs} ({duration_text(estimate)} for "
                          f"{n_part} participants with --jobs {jobs}); shorten the lists or "
                          f"pass --max-specs {len(grid)}.")
    config = plan_config(plan, config)  # --bids: events from each *_events.tsv
    inputs = all_inputs(plan, config)  # globs every recording's folder: once
    OutputFolder.check(out_dir, inputs=inputs)  # refused before announcing
    if announce:
        announce(len(grid), n_part, estimate)
    out = OutputFolder.open(out_dir, inputs=inputs)
    record = dict(started=_now(), config_file=str(config.path),
                  config_sha256=sha256(config.path), analysis_digest=analysis_digest(config),
                  versions=versions(), jobs=jobs, scheduler=scheduler,
                  axes={k: [list(v) if isinstance(v, tuple) else v for v in vals]
                        for k, vals in grid.axes.items()},
                  n_specifications=len(grid), primary=grid.primary.id,
                  primary_added=grid.primary_added,
                  estimated_seconds=round(estimate, 1), participants={})
    with out.lock():
        tasks, excluded = _tasks(plan, config, grid.specifications)
        for pid in excluded:
            record["participants"][pid] = dict(status="excluded",
                                               message="manual: [study] exclude_participants")
        tables = {s.id: [] for s in grid.specifications}
        from .participant import run_participant

        for i, info in enumerate(map_ordered(run_participant, tasks, jobs=jobs,
                                             scheduler=scheduler), start=1):
            for sid, table in info.pop("trials").items():
                tables[sid].append(table)
            record["participants"][info["participant"]] = info
            if info["status"] == "failed":
                logger.error("%s failed: %s", info["participant"], info["message"])
            if progress:
                progress("participants", i, len(tasks))
        ok = [k for k, r in record["participants"].items() if r["status"] == "done"]
        if len(ok) < 2:
            raise EmgkitError(f"the multiverse needs at least two processed participants; "
                              f"{len(ok)} of {len(tasks)} were processed (see the messages "
                              f"above).")
        fit_tasks = [(s, pd.concat(tables.pop(s.id), ignore_index=True), plan.participants)
                     for s in grid.specifications]
        parts, cautions = [], {}
        for i, con in enumerate(map_ordered(fit_specification, fit_tasks, jobs=jobs,
                                            scheduler=scheduler), start=1):
            parts.append(con)
            for text in con.attrs.get("cautions", ()):
                cautions.setdefault(text, []).append(con["specification"].iloc[0])
            if progress:
                progress("specifications", i, len(fit_tasks))
        for text, ids in cautions.items():
            logger.warning("%s (%d of %d specifications)", text, len(ids), len(grid))
        record["model_cautions"] = {t: ids for t, ids in cautions.items()}
        specs = specifications_table(grid, parts)
        summary = summarise(specs)
        write_tsv(specs, out.root / "specifications.tsv", float_format="%.10g")
        write_tsv(summary, out.root / "summary.tsv", float_format="%.6g")
        if report:
            from .report import specification_curve

            specification_curve(specs, out.root / "specification_curve.pdf", grid=grid,
                                summary=summary)
        record.update(finished=_now(), seconds=round(time.perf_counter() - t0, 2),
                      status="failed" if len(ok) < len(tasks) else "ok",
                      summary={"done": len(ok), "failed": len(tasks) - len(ok),
                               "excluded": len(excluded)})
        write_text(json.dumps(record, indent=2, default=str) + "\n",
                   out.root / "multiverse.json")
    record["specifications"], record["summary_table"] = specs, summary
    return record


def specifications_table(grid, parts):
    """One row per specification × contrast: the axis values, the contrast's key columns
    (muscle, contrast, condition, …), its numbers and ``primary``."""
    specs = pd.concat(parts, ignore_index=True)
    axes = list(grid.axes)
    values = pd.DataFrame([{"specification": s.id, "primary": s.primary,
                            **{k: _show(s.values[k]) for k in axes}}
                           for s in grid.specifications])
    keys = contrast_keys(specs)
    specs = values.merge(specs, on="specification", how="right")
    front = ["specification"] + axes + keys
    rest = [c for c in specs.columns if c not in front and c != "primary"]
    return specs[front + rest + ["primary"]]


def _show(value):
    if isinstance(value, tuple):
        return "[" + ", ".join(f"{v:g}" for v in value) + "]"
    if value is None:
        return "none"
    return value


def contrast_keys(specs):
    """The columns that name a contrast row (muscle, contrast, condition, …): those between
    ``specification`` (and the axes) and ``estimate``."""
    cols = list(specs.columns)
    between = cols[cols.index("specification") + 1:cols.index("estimate")]
    return [c for c in between if c not in AXES]


def summarise(specs, alpha=0.05):
    """Per contrast: how the conclusion holds across specifications.

    Returns
    -------
    DataFrame
        The contrast's key columns, ``n_specifications``, the primary's ``estimate``,
        ``effect_size`` and ``p_adj``, ``median_estimate`` (outcome units: comparable only
        when the specifications share a baseline mode and standardisation),
        ``median_effect_size``, ``share_same_sign`` (share of specifications whose estimate
        has the primary's sign), ``share_p05`` (unadjusted p < ``alpha``),
        ``share_significant`` (``p_adj`` < ``alpha``, the correction of the group rows of
        ``contrasts.tsv``)
        and ``share_significant_same_sign``.
    """
    keys = contrast_keys(specs)
    rows = []
    for key, d in specs.groupby(keys, sort=False):
        prim = d[d["primary"]]
        if prim.empty:  # pragma: no cover - the grid always holds the primary
            continue
        prim = prim.iloc[0]
        sign = np.sign(prim["estimate"])
        same = np.sign(d["estimate"].to_numpy()) == sign
        sig = d["p_adj"].to_numpy() < alpha
        rows.append({**dict(zip(keys, np.atleast_1d(key))), "n_specifications": len(d),
                     "primary_estimate": prim["estimate"],
                     "primary_effect_size": prim["effect_size"],
                     "primary_p_adj": prim["p_adj"],
                     "median_estimate": float(np.median(d["estimate"])),
                     "median_effect_size": float(np.median(d["effect_size"])),
                     "share_same_sign": float(same.mean()),
                     "share_p05": float((d["p"].to_numpy() < alpha).mean()),
                     "share_significant": float(sig.mean()),
                     "share_significant_same_sign": float((sig & same).mean())})
    return pd.DataFrame(rows)


__all__ = ["DEFAULT_MAX_SPECS", "duration_text", "estimate_seconds", "fit_specification",
           "run_multiverse", "specifications_table", "summarise"]
