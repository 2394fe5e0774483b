"""Simulated studies of one design: draw per-participant × cell sums from a
:class:`~emgkit.power.model.PowerModel`, fit the analysis model to each and test the contrast.

A participant's intercept is drawn from N(0, τ²); each cell's trial mean from N(μ + u, σ²/k)
and its within-cell sum of squares from σ²·χ²(k − 1), independently — exactly the
distribution of the sums of ``k`` trials drawn from N(μ + u, σ²), so no trial is
materialised and a study costs one fit from sums (:func:`emgkit.stats.cells.fit_cells`).
"""

from __future__ import annotations

import numpy as np

from ..stats.cells import fit_cells
from ..stats.evidence import adjust_p


def draw_sums(model, n_per_group, trials_per_cell, rng):
    """One simulated study's sums: (participant, count, total) per cell row, sumsq per
    participant, and the cell rows' design."""
    n_g, n_c = model.means.shape
    n_part = n_g * n_per_group
    group = np.repeat(np.arange(n_g), n_per_group)
    k = int(trials_per_cell)
    u = rng.normal(0.0, np.sqrt(model.tau2), n_part)
    mu = model.means[group] + u[:, None]                        # (n_part, n_c)
    ybar = mu + rng.normal(0.0, np.sqrt(model.s2 / k), mu.shape)
    within = model.s2 * rng.chisquare(k - 1, mu.shape) if k > 1 else np.zeros(mu.shape)
    total = k * ybar
    sumsq = (within + k * ybar ** 2).sum(1)
    participant = np.repeat(np.arange(n_part), n_c)
    X = model.design[group].reshape(-1, model.design.shape[-1])
    return participant, np.full(n_part * n_c, float(k)), total.ravel(), sumsq, X


def simulate_power(model, at, n_per_group, trials_per_cell, n_sims, rng, *, alpha=0.05,
                   adjust="holm", equivalence=None):
    """Simulate ``n_sims`` studies of one design and test the contrast at ``at``.

    Parameters
    ----------
    model : PowerModel
    at : str | None
        Condition of the tested row (None: the model's only row).
    n_per_group, trials_per_cell : int
        Participants per level of the between factor; kept trials per participant × cell.
    n_sims : int
    rng : numpy.random.Generator
    alpha : float
        Level of the (adjusted) test.
    adjust : str
        Multiplicity correction over the contrast rows, as the analysis applies it
        (``statsmodels`` ``multipletests`` method, "holm" as ``emgkit stats``; "none").
    equivalence : float | None
        Equivalence bound (outcome units): also the equivalence test |effect| < bound of
        the row (:func:`emgkit.stats.evidence.equivalence_p`, unadjusted, as the contrasts'
        ``p_equiv``); ``equivalent`` then holds its outcomes.

    Returns
    -------
    dict of ndarray, length ``n_sims``
        ``reject`` (bool), ``estimate``, ``se``, ``df``, ``p`` (unadjusted), ``p_adj``,
        ``singular``, ``converged``.
    """
    k = model.row_index(at)
    out = {name: np.empty(n_sims) for name in ("estimate", "se", "df")}
    p_all = np.empty((n_sims, len(model.rows)))
    out["singular"] = np.zeros(n_sims, bool)
    out["converged"] = np.zeros(n_sims, bool)
    for s in range(n_sims):
        fit = fit_cells(*draw_sums(model, n_per_group, trials_per_cell, rng))
        res = fit.test(model.contrasts)
        p_all[s] = res["p"]
        for name in ("estimate", "se", "df"):
            out[name][s] = res[name][k]
        out["singular"][s] = fit.singular
        out["converged"][s] = fit.converged
    out["p"] = p_all[:, k]
    out["p_adj"] = adjust_p(p_all, adjust)[:, k]
    out["reject"] = out["p_adj"] < alpha
    if equivalence is not None:
        from ..stats.evidence import equivalence_p

        out["p_equiv"] = equivalence_p(out["estimate"], out["se"], out["df"], equivalence)
        out["equivalent"] = out["p_equiv"] < alpha
    return out
