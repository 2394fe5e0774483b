"""Power over a grid of designs: seeds, parallel workers and the power table."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats

from .._check import check_number, check_option
from ..errors import ConfigError
from ..study.executors import map_ordered
from .simulate import simulate_power

#: simulated studies per task: design points are cut into chunks with their own seed
#: streams, so the results do not depend on the number of workers
CHUNK = 100


def _chunk(args):
    model, at, n, k, sims, seed, alpha, adjust, equivalence = args
    out = simulate_power(model, at, n, k, sims, np.random.default_rng(seed), alpha=alpha,
                         adjust=adjust, equivalence=equivalence)
    keys = ("reject", "estimate", "se", "df", "singular", "converged") \
        + (("equivalent",) if equivalence is not None else ())
    return {key: out[key] for key in keys}


def wilson(successes, n, level=0.95):
    """Wilson score interval of a binomial proportion (the Monte-Carlo band of a power)."""
    z = stats.norm.ppf(0.5 + level / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def _check_settings(simulations, seed, alpha, target_power, equivalence):
    """The numbers of :func:`power_analysis`, checked before anything is simulated."""
    if isinstance(simulations, bool) or not isinstance(simulations, (int, np.integer)) \
            or simulations < 1:
        raise ConfigError(f"simulations={simulations!r}: give a whole number of at least 1.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed={seed!r}: give a whole number >= 0.")
    for name, value in (("alpha", alpha), ("target_power", target_power)):
        check_number(name, value, low=0, high=1, low_inclusive=False, high_inclusive=False)
    if equivalence is not None:
        delta, scale = equivalence
        check_number("equivalence", delta, low=0, low_inclusive=False)
        check_option("equivalence scale", scale, ("sd", "raw"))


def power_analysis(models, at, n_per_group, trials_per_cell, *, simulations=1000, seed=0,
                   alpha=0.05, adjust="holm", target_power=0.8, equivalence=None, jobs=1,
                   scheduler=None, progress=None):
    """Power of the contrast at ``at`` for every model × design point.

    Parameters
    ----------
    models : dict
        Label (e.g. a muscle) -> :class:`~emgkit.power.model.PowerModel`.
    at : str | None
        Condition of the tested contrast row.
    n_per_group, trials_per_cell : sequence of int
        The design grid: participants per group level, kept trials per cell.
    simulations : int
        Simulated studies per design point.
    seed : int
        Seed of the whole analysis: each model × design point gets its own stream
        (``numpy.random.SeedSequence(seed).spawn``), cut into chunks of ``CHUNK`` studies
        with streams of their own, so results do not depend on ``jobs``.
    alpha : float
        Test level (after ``adjust``).
    adjust : str
        Multiplicity correction over the contrast family ("holm", as the analysis).
    target_power : float
        Power for the minimal detectable effect column.
    equivalence : (float, "raw" | "sd") | None
        Equivalence bound and its scale (SD units: × sqrt(σ² + τ²) of each model): adds
        ``equiv_delta`` and ``power_equiv`` (probability that the equivalence test at the
        row succeeds, e.g. under no effect).
    jobs : int
        Worker processes.
    scheduler : str | None
        Dask scheduler address, or "local" for a local Dask cluster (instead of ``jobs``).
    progress : callable | None
        Called with (done, total) after each design point.

    Returns
    -------
    DataFrame
        One row per model × design: ``muscle`` (the model label), ``contrast``, ``at``,
        ``n_per_group``, ``trials_per_cell``, ``power``, ``ci_low``, ``ci_high`` (95 %
        Wilson band), ``simulations``, ``effect`` (the planted contrast) and ``effect_sd``
        (in SD units, sqrt(σ² + τ²)), ``mean_estimate``, ``mean_se``, ``mean_df``, ``mde``
        (effect detectable with ``target_power``: (t₁₋α/2m + t_power) × mean SE,
        Bonferroni over the m family rows — conservative for Holm),
        ``mde_sd`` (in SD units), ``singular_rate``, ``converged_rate``.

    Raises
    ------
    ConfigError
        A non-finite or out-of-range setting (e.g. a negative equivalence bound, which
        would report a power of 0, or a negative seed).
    """
    _check_settings(simulations, seed, alpha, target_power, equivalence)
    points = list(itertools.product(models.items(), n_per_group, trials_per_cell))
    streams = np.random.SeedSequence(seed).spawn(len(points))
    sizes = [CHUNK] * (simulations // CHUNK) + ([simulations % CHUNK] if simulations % CHUNK
                                                 else [])
    tasks, owner = [], []
    for i, (((_, model), n, k), stream) in enumerate(zip(points, streams)):
        for size, s in zip(sizes, stream.spawn(len(sizes))):
            bound = None
            if equivalence is not None:
                delta, scale = equivalence
                bound = float(delta) * (model.effect_sd if scale == "sd" else 1.0)
            tasks.append((model, at, int(n), int(k), int(size), s, alpha, adjust, bound))
            owner.append(i)
    parts = [[] for _ in points]
    for i, res in zip(owner, map_ordered(_chunk, tasks, jobs=jobs, scheduler=scheduler)):
        parts[i].append(res)
        if progress and len(parts[i]) == len(sizes):
            progress(i + 1, len(points))
    results = [{key: np.concatenate([c[key] for c in chunks]) for key in chunks[0]}
               for chunks in parts]
    rows = []
    for ((label, model), n, k), out in zip(points, results):
        row_k = model.row_index(at)
        treat, cond = model.rows[row_k]
        hits = int(out["reject"].sum())
        lo, hi = wilson(hits, simulations)
        m = len(model.rows) if adjust != "none" else 1
        df = float(np.mean(out["df"]))
        se = float(np.mean(out["se"]))
        mde = (stats.t.ppf(1 - alpha / (2 * m), df) + stats.t.ppf(target_power, df)) * se
        rows.append(dict(muscle=label, contrast=f"{treat} - {model.groups[0]}",
                         at=cond if cond is not None else "", n_per_group=int(n),
                         trials_per_cell=int(k), power=hits / simulations, ci_low=lo,
                         ci_high=hi, simulations=int(simulations), effect=model.effect(at),
                         effect_sd=model.effect(at) / model.effect_sd,
                         mean_estimate=float(np.mean(out["estimate"])), mean_se=se,
                         mean_df=df, mde=mde, mde_sd=mde / model.effect_sd,
                         singular_rate=float(np.mean(out["singular"])),
                         converged_rate=float(np.mean(out["converged"]))))
        if equivalence is not None:
            delta, scale = equivalence
            rows[-1]["equiv_delta"] = float(delta) * (model.effect_sd if scale == "sd" else 1)
            rows[-1]["power_equiv"] = float(np.mean(out["equivalent"]))
    table = pd.DataFrame(rows)
    table.attrs.update(alpha=alpha, adjust=adjust, target_power=target_power, seed=seed)
    return table
