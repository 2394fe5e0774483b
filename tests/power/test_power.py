"""Power by simulation: the null rejection rate, agreement with an R lme4/lmerTest/emmeans
simulation loop, reproducibility, and the command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emgkit.power.model import factorial_model
from emgkit.power.run import power_analysis, wilson
from emgkit.power.simulate import adjust_p, simulate_power

DATA = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "power"
CONDS = ["neutral", "angry", "happy", "sad"]
#: the model of scripts/power_reference.R
MODEL = factorial_model(["placebo", "naltrexone"], CONDS,
                        [[1.0, 1.3, 1.1, 1.2], [1.05, 1.35, 1.45, 1.2]], tau=0.3, sigma=0.5)


def test_null_rejection_rate_is_alpha():
    """With the effect set to 0, an unadjusted test rejects in 5 % of 2,000 studies."""
    null = MODEL.with_effect("happy", effect=0.0)
    assert null.effect("happy") == pytest.approx(0.0, abs=1e-12)
    out = simulate_power(null, "happy", 10, 6, 2000, np.random.default_rng(7), adjust="none")
    assert 0.035 <= out["reject"].mean() <= 0.065
    # the estimate is unbiased and its SE right: the t statistics have unit spread
    t = out["estimate"] / out["se"]
    assert abs(t.mean()) < 0.1 and 0.93 < t.std() < 1.07


def test_holm_keeps_the_familywise_rate():
    """Every contrast null: Holm over the four conditions rejects the happy row far less
    often than alpha, and any row in at most ~alpha of the studies."""
    means = np.array([[1.0, 1.3, 1.1, 1.2]] * 2)
    null = factorial_model(["placebo", "naltrexone"], CONDS, means, 0.3, 0.5)
    out = simulate_power(null, "happy", 10, 6, 1000, np.random.default_rng(3))
    assert out["reject"].mean() < 0.035


def test_holm_adjustment_equals_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.random.default_rng(0).uniform(size=(40, 6)) ** 3
    for method in ("holm", "bonferroni", "fdr_bh"):
        want = np.vstack([multipletests(row, method=method)[1] for row in p])
        np.testing.assert_allclose(adjust_p(p, method), want, rtol=1e-12)


def test_power_equals_an_r_lmer_simulation_loop():
    """At one design point (10 per group, 6 trials per cell, effect 0.35 at happy) the power
    equals that of R's lmer + emmeans (Satterthwaite, Holm over the four rows) loop of
    ``scripts/power_reference.R`` within Monte-Carlo error."""
    ref = pd.read_csv(DATA / "reference_n10_k6.tsv", sep="\t").iloc[0]
    n = 2000
    out = simulate_power(MODEL, "happy", 10, 6, n, np.random.default_rng(11))
    for ours, theirs in ((out["reject"].mean(), ref["power_holm"]),
                         ((out["p"] < 0.05).mean(), ref["power_unadjusted"])):
        se = np.sqrt(ours * (1 - ours) / n + theirs * (1 - theirs) / ref["simulations"])
        assert abs(ours - theirs) < 3.5 * se, (ours, theirs, se)
    assert out["estimate"].mean() == pytest.approx(ref["mean_estimate"], abs=0.02)
    assert ref["mean_estimate"] == pytest.approx(MODEL.effect("happy"), abs=0.02)


def test_power_table_is_reproducible_and_monotone():
    kw = dict(simulations=200, seed=5)
    one = power_analysis({"corrugator": MODEL}, "happy", [5, 20], [6], jobs=1, **kw)
    two = power_analysis({"corrugator": MODEL}, "happy", [5, 20], [6], jobs=2, **kw)
    pd.testing.assert_frame_equal(one, two)  # seeds per design point, not per worker
    assert one["power"].iloc[1] > one["power"].iloc[0]
    assert list(one.columns[:10]) == ["muscle", "contrast", "at", "n_per_group",
                                      "trials_per_cell", "power", "ci_low", "ci_high",
                                      "simulations", "effect"]
    assert (one["ci_low"] <= one["power"]).all() and (one["power"] <= one["ci_high"]).all()
    assert one["contrast"].iloc[0] == "naltrexone - placebo" and one["at"].iloc[0] == "happy"
    # the minimal detectable effect shrinks with n and is in outcome and SD units
    assert one["mde"].iloc[1] < one["mde"].iloc[0]
    np.testing.assert_allclose(one["mde_sd"], one["mde"] / MODEL.effect_sd)


def test_wilson_band():
    lo, hi = wilson(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)
    lo, hi = wilson(0, 100)
    assert lo == pytest.approx(0.0, abs=1e-12) and 0 < hi < 0.05


def test_effect_settings():
    m = MODEL.with_effect("happy", effect_sd=0.5)
    assert m.effect("happy") == pytest.approx(0.5 * MODEL.effect_sd)
    # other rows keep their size
    assert m.effect("angry") == pytest.approx(MODEL.effect("angry"))
    with pytest.raises(Exception, match="condition has the levels"):
        MODEL.row_index("bored")


def test_power_on_a_local_dask_cluster_equals_in_process():
    pytest.importorskip("distributed")
    kw = dict(simulations=150, seed=9)
    here = power_analysis({"m": MODEL}, "happy", [6], [4], jobs=1, **kw)
    dask = power_analysis({"m": MODEL}, "happy", [6], [4], scheduler="local", **kw)
    pd.testing.assert_frame_equal(here, dask)


def test_equivalence_power():
    """Under no effect, the equivalence test succeeds often with a wide bound and large
    samples, rarely with a narrow bound; it is emgkit's p_equiv of each study's contrast."""
    from emgkit.stats.evidence import equivalence_p

    null = MODEL.with_effect("happy", effect=0.0)
    wide = power_analysis({"m": null}, "happy", [40], [15], simulations=200, seed=2,
                          equivalence=(0.5, "sd"))
    narrow = power_analysis({"m": null}, "happy", [40], [15], simulations=200, seed=2,
                            equivalence=(0.02, "sd"))
    assert wide["power_equiv"].iloc[0] > 0.8 and narrow["power_equiv"].iloc[0] < 0.1
    assert wide["equiv_delta"].iloc[0] == pytest.approx(0.5 * MODEL.effect_sd)
    out = simulate_power(null, "happy", 10, 6, 50, np.random.default_rng(1), equivalence=0.3)
    np.testing.assert_allclose(out["p_equiv"], equivalence_p(out["estimate"], out["se"],
                                                             out["df"], 0.3))
