"""Cluster-based permutation tests over time bins (MNE) against planted effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emgkit.stats.timecourse import cluster_test, plot_clusters

BINS = np.round(np.arange(-1.0, 6.0, 0.25), 2)


def _timecourses(seed, effect=0.5, n=12, window=(1.0, 3.0)):
    """Baseline-corrected time courses (about 1 before onset): participants differ in their
    response size over 0.5–3 s; naltrexone adds ``effect`` to corrugator × happy within
    ``window``; zygomaticus has no effect."""
    rng = np.random.default_rng(seed)
    rows, parts = [], []
    for i in range(2 * n):
        pid, group = f"sub-{i:02d}", ("placebo", "naltrexone")[i % 2]
        parts.append(dict(participant_id=pid, group=group))
        for muscle in ("corrugator", "zygomaticus"):
            u = rng.normal(0, 0.2)
            for trial in range(4):
                for t in BINS:
                    planted = (group == "naltrexone" and muscle == "corrugator"
                               and window[0] <= t < window[1])
                    rows.append(dict(participant_id=pid, trial=trial, condition="happy",
                                     muscle=muscle, time_s=t, time_end_s=t + 0.25,
                                     value=1 + u * (0.5 <= t < 3.0) + effect * planted
                                     + rng.normal(0, 0.3),
                                     rejected=False))
    return pd.DataFrame(rows), pd.DataFrame(parts)


def test_planted_effect_is_covered_by_a_cluster():
    tc, parts = _timecourses(1)
    res = cluster_test(tc, parts, muscle="corrugator", condition="happy",
                       n_permutations=500, seed=1)
    sig = res[res["significant"]]
    assert len(sig) == 1
    c = sig.iloc[0]
    assert c["start_s"] <= 1.25 and c["end_s"] >= 2.75   # covers the planted 1–3 s
    assert c["start_s"] >= 0.5 and c["end_s"] <= 3.5
    assert c["direction"] == "naltrexone > placebo"
    fig = plot_clusters(tc, parts, res, muscles=["corrugator", "zygomaticus"],
                        condition="happy")
    assert len(fig.axes) == 2


def test_null_muscle_has_no_cluster_in_95_percent_of_seeds():
    hits = 0
    seeds = range(40)
    for seed in seeds:
        tc, parts = _timecourses(100 + seed, n=8)
        res = cluster_test(tc, parts, muscle="zygomaticus", condition="happy",
                           n_permutations=200, seed=seed)
        hits += bool(res["significant"].any()) if len(res) else False
    assert hits / len(seeds) <= 0.075  # 5 % expected; MC slack for 40 seeds


def test_cluster_test_needs_two_groups():
    tc, parts = _timecourses(2, n=3)
    parts["group"] = ["a", "b", "c"] * 2
    with pytest.raises(Exception, match="two levels"):
        cluster_test(tc, parts, muscle="corrugator", condition="happy", n_permutations=50)


def test_timecourse_command(tmp_path):
    from emgkit.cli import main
    from emgkit.sim.study import simulate_study
    from emgkit.study.run import run_study

    study = tmp_path / "study"
    simulate_study(study, 6, seed=3, sfreq=1000.0)
    run_study(study / "study.toml", tmp_path / "out", reports=False)
    out = tmp_path / "tc"
    assert main(["timecourse", str(tmp_path / "out"), "--at", "condition=happy",
                 "--permutations", "100", "--muscles", "corrugator,depressor",
                 "--out", str(out)]) == 0
    table = pd.read_csv(out / "clusters.tsv", sep="\t")
    assert set(table["muscle"]) <= {"corrugator", "depressor"}
    assert (out / "timecourse.pdf").read_bytes()[:5] == b"%PDF-"
    assert main(["timecourse", str(tmp_path / "out"), "--at", "condition=happy", "--method",
                 "binwise", "--muscles", "corrugator", "--out", str(tmp_path / "bw")]) == 0
    bins = pd.read_csv(tmp_path / "bw" / "bins.tsv", sep="\t")
    assert {"p", "p_fdr", "significant", "estimate"} <= set(bins.columns)
    assert (bins["p_fdr"] >= bins["p"] - 1e-12).all() and len(bins) == 14
    assert main(["timecourse", str(tmp_path / "out"), "--at", "muscle=x", "--out",
                 str(tmp_path / "tc2")]) != 0


def test_binwise_models_find_the_planted_bins_and_equal_t_tests_when_not_singular():
    """Balanced data: each bin's estimate is the difference of the groups' participant
    means, and where the random intercept is estimated (df = n - 2) the p value is the
    two-sample t test's; FDR-significant bins are exactly the planted 1–3 s."""
    from scipy import stats

    from emgkit.stats.timecourse import binwise_test

    tc, parts = _timecourses(1)
    res = binwise_test(tc, parts, muscle="corrugator", condition="happy")
    assert len(res) == len(BINS) and (res["contrast"] == "naltrexone - placebo").all()
    means = tc[tc.muscle == "corrugator"].groupby(["participant_id", "time_s"])["value"] \
        .mean().unstack()
    group = parts.set_index("participant_id")["group"].reindex(means.index)
    full_rank = 0
    for _, row in res.iterrows():
        a = means.loc[group == "naltrexone", row["start_s"]]
        b = means.loc[group == "placebo", row["start_s"]]
        assert row["estimate"] == pytest.approx(a.mean() - b.mean(), abs=1e-10)
        if abs(row["df"] - 22) < 1e-3:
            full_rank += 1
            assert row["p"] == pytest.approx(stats.ttest_ind(a, b).pvalue, rel=1e-4)
    assert full_rank >= 10
    sig = res[res["significant"]]
    assert sig["start_s"].min() == 1.0 and sig["end_s"].max() == 3.0
    assert len(sig) >= 6 and (sig["estimate"] > 0).all()
    fig = plot_clusters(tc, parts, res, muscles=["corrugator"], condition="happy")
    assert len(fig.axes) == 1


def test_binwise_null_muscle_rarely_has_a_significant_bin():
    from emgkit.stats.timecourse import binwise_test

    hits, seeds = 0, range(24)
    for seed in seeds:
        tc, parts = _timecourses(300 + seed, n=6)
        tc = tc[(tc["time_s"] >= 0) & (tc["time_s"] < 3.5)]  # 14 bins
        res = binwise_test(tc, parts, muscle="zygomaticus", condition="happy")
        hits += bool(res["significant"].any())
    assert hits / len(seeds) <= 0.125  # FDR under the complete null = family-wise 5 %


def test_smallest_attainable_p_is_reported(caplog):
    """2 vs 2 participants: 3 distinct relabellings, so p >= 1/3 whatever the data; the
    test says so (warning and attrs) instead of reporting p = 0.33 as if it were data."""
    import logging

    from emgkit.stats.timecourse import attainable_p

    assert attainable_p(2, 2, 2000) == {"n_distinct": 3, "min_p": pytest.approx(1 / 3)}
    assert attainable_p(3, 2, 2000)["n_distinct"] == 10
    assert attainable_p(12, 12, 500)["min_p"] == pytest.approx(1 / 500)
    tc, parts = _timecourses(3, effect=2.0, n=2)
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        res = cluster_test(tc, parts, muscle="corrugator", condition="happy",
                           n_permutations=200, seed=0)
    assert "smallest attainable p is 0.333" in caplog.text
    assert res.attrs["n_distinct"] == 3 and res.attrs["min_p"] > 0.05
    assert (res["p"] > 0.2).all() and not res["significant"].any()  # MC around 1/3
