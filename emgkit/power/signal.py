"""Signal-level power: simulated studies as raw recordings through the whole pipeline.

For one design point, each simulated study draws every participant's trial scores from the
per-muscle models (random intercept + residual), plants them as envelope gains in BioSemi
recordings (:func:`emgkit.sim.scores.recording_from_scores`), processes each recording with
the study's config (filter, envelope, epochs, baseline, rejection), fits the analysis model to
the trial table and tests the contrast — power including measurement noise and trial loss.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..study.executors import map_ordered
from .run import wilson


def _study_config(config):
    """The study config with events read from the simulated Status channel."""
    if config.blocks.baseline:
        raise ConfigError("Signal-level power does not simulate [blocks] baselines; remove "
                          "[blocks] from the config for --signal.")
    if config.preprocess.processed:
        raise ConfigError("Signal-level power simulates raw EMG; preprocess.processed "
                          f"({', '.join(config.preprocess.processed)}) names envelope channels."
                          " Remove it for --signal.")
    return config


def _electrodes(config, muscles, signals, rng):
    """Electrode rows and labels for the config's channels: a bipolar pair gets the signal
    on the anode plus a common signal on both (removed by the derivation)."""
    rows, names = [], []
    for m, muscle in enumerate(muscles):
        spec = config.channels[muscle]
        parts = spec.split("-", 1) if "-" in spec else [spec]
        if len(parts) == 2:
            common = rng.standard_normal(signals.shape[1]) * 2.0
            rows += [signals[m] + common, common]
            names += parts
        else:
            rows.append(signals[m])
            names.append(parts[0])
    return np.vstack(rows), names


def simulate_signal_study(models, n_per_group, trials_per_cell, config, formula, seed,
                          workdir, *, sfreq=2048.0):
    """One simulated study through the pipeline; returns its trial table, participants
    table and the per-muscle fits (``emgkit.stats.split.fit_models``)."""
    from ..io.write import write_edf
    from ..pipeline import process_recording
    from ..sim.scores import recording_from_scores, score_gain
    from ..stats.split import fit_models

    rng = np.random.default_rng(seed)
    muscles = list(models)
    first = models[muscles[0]]
    groups, conds = first.groups, first.conditions
    codes = {c: k + 1 for k, c in enumerate(conds)}
    ep = config.epochs
    events = replace(config.events, source="stim", stim_channel="Status", mask=0xFFFF,
                     idle=None, conditions={str(v): c for c, v in codes.items()}, shift={},
                     min_interval=0.0)
    cfg = replace(config, channels={m: config.channels[m] for m in muscles}, events=events)
    tables, parts = [], []
    for i in range(len(groups) * n_per_group):
        g = i // n_per_group
        pid = f"sub-{i + 1:03d}"
        order = rng.permutation(np.repeat(np.arange(len(conds)), trials_per_cell))
        scores = np.empty((len(order), len(muscles)))
        for m, muscle in enumerate(muscles):
            mod = models[muscle]
            u = rng.normal(0.0, np.sqrt(mod.tau2))
            scores[:, m] = mod.means[g, order] + u + rng.normal(0.0, np.sqrt(mod.s2),
                                                                len(order))
        gains = score_gain(scores, ep.baseline_mode)
        signals, status, _ = recording_from_scores(
            gains, [conds[k] for k in order], codes, sfreq, window=ep.response,
            tmin=ep.tmin, tmax=ep.tmax, seed=rng)
        data, names = _electrodes(config, muscles, signals, rng)
        path = Path(workdir) / f"{pid}_emg.bdf"
        write_edf(path, data, names, sfreq, fmt="bdf", stim=status, stim_name="Status")
        res = process_recording(path, cfg, participant_id=pid, quality=False,
                                excerpts=False)
        path.unlink()
        tables.append(res.trials)
        parts.append(dict(participant_id=pid, group=groups[g]))
    trials = pd.concat(tables, ignore_index=True)
    participants = pd.DataFrame(parts)
    _, fits = fit_models(trials, formula, participants=participants)
    return trials, participants, fits


def _signal_task(args):
    import logging

    models, at, n, k, config, formula, seed, sfreq, alpha = args
    logging.getLogger("emgkit").setLevel(logging.ERROR)  # per-study warnings: not news
    work = tempfile.mkdtemp(prefix="emgkit-power-")
    try:
        trials, _, fits = simulate_signal_study(models, n, k, config, formula, seed, work,
                                                sfreq=sfreq)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = {}
    for muscle, model in models.items():
        res = fits.get(muscle)
        treat, cond = model.rows[model.row_index(at)]
        con = res.contrasts(model.factor)
        row = con[(con["contrast"] == f"{treat} - {model.groups[0]}")
                  & ((con[model.by] == cond) if cond is not None and model.by in con
                     else True)].iloc[0]
        kept = trials[trials["muscle"] == muscle]
        out[muscle] = dict(reject=bool(row["p_adj"] < alpha), estimate=float(row["estimate"]),
                           se=float(row["se"]), df=float(row["df"]),
                           kept=float((~kept["rejected"]).mean()))
    return out


def signal_power(models, at, points, simulations, config, formula, *, seed=0, alpha=0.05,
                 sfreq=2048.0, jobs=1, scheduler=None, progress=None):
    """Power at design ``points`` [(n_per_group, trials_per_cell), ...] from simulated
    recordings processed by the pipeline.

    Returns
    -------
    DataFrame
        Per muscle × point: ``level`` ("signal"), ``muscle``, ``contrast``, ``at``,
        ``n_per_group``, ``trials_per_cell``, ``power``, ``ci_low``, ``ci_high``,
        ``simulations``, ``effect``, ``mean_estimate``, ``mean_se``, ``mean_df``,
        ``kept_rate`` (share of trial × muscle rows the pipeline kept).
    """
    config = _study_config(config)
    unknown = [m for m in models if m not in config.channels]
    if unknown:
        raise ConfigError(f"--signal: the pilot's muscles {unknown} are not in the config's "
                          f"[channels] ({', '.join(config.channels)}).")
    streams = np.random.SeedSequence([seed, 1]).spawn(len(points))
    tasks, owner = [], []
    for p, ((n, k), stream) in enumerate(zip(points, streams)):
        for s in stream.spawn(simulations):
            tasks.append((models, at, int(n), int(k), config, formula, s, sfreq, alpha))
            owner.append(p)
    results = [[] for _ in points]
    done = map_ordered(_signal_task, tasks, jobs=jobs, scheduler=scheduler)
    for k, (p, res) in enumerate(zip(owner, done), 1):
        results[p].append(res)
        if progress:
            progress(k, len(tasks))
    rows = []
    for (n, k), res in zip(points, results):
        for muscle, model in models.items():
            r = [x[muscle] for x in res]
            hits = sum(x["reject"] for x in r)
            lo, hi = wilson(hits, len(r))
            treat, cond = model.rows[model.row_index(at)]
            rows.append(dict(level="signal", muscle=muscle,
                             contrast=f"{treat} - {model.groups[0]}", at=cond or "",
                             n_per_group=int(n), trials_per_cell=int(k),
                             power=hits / len(r), ci_low=lo, ci_high=hi,
                             simulations=len(r), effect=model.effect(at),
                             mean_estimate=float(np.mean([x["estimate"] for x in r])),
                             mean_se=float(np.mean([x["se"] for x in r])),
                             mean_df=float(np.mean([x["df"] for x in r])),
                             kept_rate=float(np.mean([x["kept"] for x in r]))))
    return pd.DataFrame(rows)
