"""What a power analysis will cost, measured before it starts: one simulated study of the
largest design is timed and its peak memory traced, then scaled to the whole grid."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

from .simulate import simulate_power


def cost_estimate(models, at, n_per_group, trials_per_cell, simulations, *, jobs=1,
                  adjust="holm", repeats=3):
    """Estimate the run time and memory of :func:`emgkit.power.run.power_analysis`.

    One simulated study of the largest design (most participants and trials) is run
    ``repeats`` times; the fastest time is taken as the cost of every study (an upper bound
    for the smaller designs) and the traced peak allocation as the memory of one worker.

    Parameters
    ----------
    models : dict
        Label -> :class:`~emgkit.power.model.PowerModel`.
    at : str | None
        The tested row (as :func:`~emgkit.power.run.power_analysis`).
    n_per_group, trials_per_cell : sequence of int
        The design grid.
    simulations : int
        Simulated studies per design point.
    jobs : int
        Worker processes (the time is divided among them).
    adjust : str
        Multiplicity correction (as the analysis).
    repeats : int
        Timed runs of the probe study.

    Returns
    -------
    dict
        ``studies`` (simulated studies in all), ``seconds`` (estimated wall time, s) and
        ``peak_bytes`` (estimated peak memory of one worker's simulation, bytes).
    """
    model = next(iter(models.values()))
    n, k = max(n_per_group), max(trials_per_cell)
    rng = np.random.default_rng(0)
    best = np.inf
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        simulate_power(model, at, n, k, 1, rng, adjust=adjust)
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()  # slows Python down: a separate run for the memory
    try:
        simulate_power(model, at, n, k, 1, rng, adjust=adjust)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    studies = len(models) * len(n_per_group) * len(trials_per_cell) * int(simulations)
    return {"studies": studies, "seconds": best * studies / max(1, int(jobs)),
            "peak_bytes": int(peak)}


def describe(cost):
    """One line for the terminal: ``4,000 simulated studies, about 12 s …``."""
    seconds = cost["seconds"]
    if seconds < 90:
        when = f"{seconds:.0f} s"
    elif seconds < 5400:
        when = f"{seconds / 60:.0f} min"
    else:
        when = f"{seconds / 3600:.1f} h"
    mb = cost["peak_bytes"] / 2**20
    return (f"{cost['studies']:,} simulated studies: about {when} in all, peak memory "
            f"about {mb:.{1 if mb < 10 else 0}f} MB per worker (measured on the largest "
            f"design)")
