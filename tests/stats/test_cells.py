"""The fit from per-participant × cell sums equals the general fit on the trials."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emgkit.stats import fit_model
from emgkit.stats.cells import cell_sums, fit_cells


def _trials(seed, n_per_group=6, trials=5, tau=0.3, sigma=0.5, missing=0.1):
    rng = np.random.default_rng(seed)
    conds = ["happy", "angry", "sad", "neutral"]
    rows = []
    for i in range(2 * n_per_group):
        group = "placebo" if i % 2 == 0 else "naltrexone"
        u = rng.normal(0, tau)
        for c, cond in enumerate(conds):
            mu = 1.0 + 0.2 * c + (0.3 if group == "naltrexone" and cond == "happy" else 0)
            for k in range(trials):
                if rng.random() < missing:
                    continue  # rejected trials: unequal cell sizes
                rows.append(dict(participant_id=f"sub-{i:02d}", group=group, condition=cond,
                                 trial=k, score=mu + u + rng.normal(0, sigma)))
    return pd.DataFrame(rows)


def _cell_fit(trials, res):
    """Cell sums of the trials, with the general fit's design row per cell."""
    pid, p_idx = np.unique(trials["participant_id"], return_inverse=True)
    keys = trials["group"] + "|" + trials["condition"]
    cells, c_idx = np.unique(keys, return_inverse=True)
    count, total, sumsq = cell_sums(p_idx, c_idx, trials["score"].to_numpy())
    first = {k: i for i, k in reversed(list(enumerate(keys)))}
    Xc = res.X[[first[k] for k in cells]]  # the design row of each cell
    g, c = count.shape
    return fit_cells(np.repeat(np.arange(g), c), count.ravel(), total.ravel(), sumsq,
                     np.tile(Xc, (g, 1)))


@pytest.mark.parametrize("seed,tau", [(1, 0.3), (2, 0.6), (3, 0.05)])
def test_cell_sums_fit_equals_the_general_fit(seed, tau):
    trials = _trials(seed, tau=tau)
    res = fit_model(trials, "score ~ group * condition")
    cf = _cell_fit(trials, res)
    np.testing.assert_allclose(cf.beta, res.beta, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(cf.C, res.C, rtol=1e-8, atol=1e-12)
    assert cf.loglik == pytest.approx(res.fit["reml_loglik"], rel=1e-10)
    assert cf.tau2 == pytest.approx(res.G[0, 0], rel=1e-7, abs=1e-10)
    assert cf.s2 == pytest.approx(res.s2, rel=1e-8)
    assert cf.singular == res.fit["singular"]
    assert cf.singular == (tau < 0.1)  # the small-variance case sits on the boundary
    # contrasts: estimate, SE, Satterthwaite df and p as the general fit's
    con = res.contrasts("group")
    # naltrexone - placebo at happy, from the design's cell rows
    X = res.X
    tr = trials.reset_index(drop=True)
    a = X[((tr["group"] == "naltrexone") & (tr["condition"] == "happy")).to_numpy()][0]
    b = X[((tr["group"] == "placebo") & (tr["condition"] == "happy")).to_numpy()][0]
    out = cf.test(a - b)
    row = con[con["condition"] == "happy"].iloc[0]
    assert out["estimate"][0] == pytest.approx(row["estimate"], rel=1e-8)
    assert out["se"][0] == pytest.approx(row["se"], rel=1e-8)
    assert out["df"][0] == pytest.approx(row["df"], rel=1e-8)
    assert out["p"][0] == pytest.approx(row["p"], rel=1e-7)
