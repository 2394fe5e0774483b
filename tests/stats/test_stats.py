"""Group model: exact against lme4/lmerTest/emmeans, truth recovery, and bad input."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emgkit.errors import ModelError
from emgkit.sim.recording import simulate_scores
from emgkit.stats import fit_model, trait_correlations

# simulated fEMG score tables with lme4/lmerTest/emmeans fits (copied from the project's
# shared reference material so that a fresh clone runs these tests; see its README.md)
REF = Path(__file__).resolve().parents[1] / "data" / "mixed"
needs_ref = pytest.mark.skipif(not REF.exists(), reason="reference fits absent")
MODELS = {"cells_corrugator": "score ~ group * emotion + resilience_z",
          "trials": "score ~ group * emotion * muscle"}


@pytest.fixture(scope="module", params=list(MODELS))
def reference_fit(request):
    name = request.param
    data = pd.read_csv(REF / f"{name}.csv", dtype={"participant_id": str})
    res = fit_model(data, MODELS[name])
    ref = {k: pd.read_csv(REF / f"lme4_{name}_{k}.csv") for k in
           ("fixef", "anova3", "varcorr", "emmeans_contrasts", "fit")}
    return res, ref


@needs_ref
def test_fixed_effects_match_lmertest(reference_fit):
    res, ref = reference_fit
    fe = res.fixed_effects().merge(ref["fixef"], on="term", suffixes=("", "_r"))
    assert len(fe) == len(ref["fixef"])
    np.testing.assert_allclose(fe["estimate"], fe["estimate_r"], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(fe["se"], fe["se_r"], rtol=1e-4)
    np.testing.assert_allclose(fe["df"], fe["df_r"], rtol=1e-2)
    np.testing.assert_allclose(fe["t"], fe["t_r"], rtol=1e-4)
    np.testing.assert_allclose(fe["p"], fe["p_r"], rtol=1e-3, atol=1e-12)


@needs_ref
def test_fit_and_variance_components_match_lme4(reference_fit):
    res, ref = reference_fit
    assert res.fit["reml_loglik"] == pytest.approx(ref["fit"]["reml_loglik"][0], abs=1e-6)
    assert res.fit["n_obs"] == ref["fit"]["n_obs"][0]
    assert res.fit["n_groups"] == ref["fit"]["n_groups"][0]
    assert res.fit["converged"]
    vc = res.variance()
    np.testing.assert_allclose(vc["variance"], ref["varcorr"]["variance"], rtol=1e-5)
    np.testing.assert_allclose(vc["sd"], ref["varcorr"]["sd"], rtol=1e-5)


@needs_ref
def test_type3_anova_matches_lmertest(reference_fit):
    res, ref = reference_fit
    a = res.anova().merge(ref["anova3"], on="term", suffixes=("", "_r"))
    assert len(a) == len(ref["anova3"])
    assert (a["num_df"] == a["num_df_r"]).all()
    np.testing.assert_allclose(a["F"], a["F_r"], rtol=1e-4)
    np.testing.assert_allclose(a["den_df"], a["den_df_r"], rtol=1e-2)
    np.testing.assert_allclose(a["p"], a["p_r"], rtol=1e-2, atol=1e-12)


@needs_ref
def test_drug_contrasts_match_emmeans(reference_fit):
    res, ref = reference_fit
    r = ref["emmeans_contrasts"]
    by = [c for c in ("emotion", "muscle") if c in r.columns]
    c = res.contrasts("group").merge(r, on=["contrast"] + by)
    assert len(c) == len(r)
    np.testing.assert_allclose(c["estimate_x"], c["estimate_y"], rtol=1e-5)
    np.testing.assert_allclose(c["se"], c["SE"], rtol=1e-4)
    np.testing.assert_allclose(c["df_x"], c["df_y"], rtol=1e-2)
    np.testing.assert_allclose(c["t"], c["t.ratio"], rtol=1e-4)
    # Holm over the family, effect size in SD units of residual + random intercept
    assert (c["p_adj"] >= c["p"] - 1e-15).all()
    sd = np.sqrt(res.variance()["variance"].sum())
    np.testing.assert_allclose(c["effect_size"], c["estimate_x"] / sd)


@needs_ref
def test_statsmodels_default_is_not_trusted_blindly():
    """statsmodels' lbfgs returns an infinite REML loglik on this data; we keep the best."""
    data = pd.read_csv(REF / "trials.csv", dtype={"participant_id": str})
    res = fit_model(data, MODELS["trials"], optimizers=("bfgs", "lbfgs", "powell"))
    lls = res.fit["statsmodels_loglik"]
    assert set(lls) >= {"bfgs", "lbfgs", "powell"}
    assert res.fit["reml_loglik"] >= max(v for v in lls.values() if np.isfinite(v)) - 1e-9


def test_recovers_known_drug_effect():
    truth = {("happy", "corrugator"): 0.4, ("happy", "depressor"): 0.2}
    base = {("angry", "corrugator"): 0.3, ("happy", "zygomaticus"): 0.6}
    trials, parts = simulate_scores(14, drug_effects=truth, condition_effects=base, seed=11)
    res = fit_model(trials.drop(columns="group"), "score ~ group * condition * muscle",
                    participants=parts)
    # simultaneous (Bonferroni) intervals over the 12 cells: each must cover its truth
    con = res.contrasts("group", level=1 - 0.05 / 12)
    for _, row in con.iterrows():
        true = truth.get((row["condition"], row["muscle"]), 0.0)
        assert row["ci_low"] <= true <= row["ci_high"], row.to_dict()
    con = res.contrasts("group")
    hc = con[(con.condition == "happy") & (con.muscle == "corrugator")].iloc[0]
    assert hc["estimate"] > 0 and hc["p"] < 0.05
    # the between-subject df reflects participants (28), not trials (3360)
    assert 20 < hc["df"] < 200
    assert res.anova().set_index("term").loc["group", "den_df"] == pytest.approx(26, rel=0.05)
    em = res.emmeans()
    cell = em[(em.group == "placebo") & (em.condition == "happy") & (em.muscle == "zygomaticus")]
    assert cell["ci_low"].iloc[0] < 0.6 < cell["ci_high"].iloc[0]
    sentence = [s for s in res.summary_sentences() if "corrugator responses to happy" in s][0]
    assert sentence.startswith("Naltrexone (vs placebo) increased corrugator responses to "
                               "happy faces, b = ")


def test_trait_correlation_recovers_planted_effect():
    trials, parts = simulate_scores(20, trait_effect=0.15, subject_sd=0.05, n_trials=8,
                                    muscles=("corrugator",), seed=4)
    cor = trait_correlations(trials, parts.drop(columns="group"), ["trait"])
    assert (cor["r"] > 0.5).all() and (cor["ci_low"] > 0).all()
    # Spearman with Fisher-z CI too
    sp = trait_correlations(trials, parts, ["trait"], method="spearman")
    assert (sp["ci_low"] < sp["r"]).all() and (sp["r"] < sp["ci_high"]).all()
    res = fit_model(trials, "score ~ group * condition + trait")
    fe = res.fixed_effects().set_index("term")
    assert fe.loc["trait", "ci_low"] < 0.15 < fe.loc["trait", "ci_high"]


@pytest.mark.slow  # 60-80 s until the refinement is fixed (statistics issue)
def test_random_slopes_fit():
    trials, parts = simulate_scores(8, muscles=("corrugator",), seed=2,
                                    condition_effects={("happy", "corrugator"): -0.3})
    res = fit_model(trials, "score ~ group * condition", re_formula="~ condition")
    vc = res.variance()
    assert len(vc) == 4 + 6 + 1 and res.fit["converged"]
    assert "(1 + condition | participant_id)" in res.lme4_formula()


@pytest.mark.slow  # 60 s until the refinement is fixed (statistics issue)
def test_crossed_stimulus_random_effect_matches_statsmodels_vc():
    import warnings

    import statsmodels.formula.api as smf

    trials, _ = simulate_scores(8, muscles=("corrugator",), n_trials=8, n_stimuli=8,
                                stimulus_sd=0.3, subject_sd=0.2, seed=3)
    res = fit_model(trials, "score ~ group * condition", crossed="stimulus_id")
    assert res.lme4_formula().endswith("+ (1 | participant_id) + (1 | stimulus_id)")
    assert res.fit["n_groups"] == 16 and res.fit["crossed"] == ["stimulus_id"]
    # statsmodels' variance-component formulation of the same model, same data
    d = trials.assign(one=1, group=pd.Categorical(trials.group, ["placebo", "naltrexone"]),
                      condition=pd.Categorical(trials.condition,
                                               ["neutral", "angry", "happy", "sad"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = smf.mixedlm("score ~ group * condition", d, groups="one", re_formula="0",
                          vc_formula={"p": "0 + C(participant_id)",
                                      "s": "0 + C(stimulus_id)"}).fit(reml=True)
    assert res.fit["reml_loglik"] >= ref.llf - 1e-6
    assert res.fit["reml_loglik"] == pytest.approx(ref.llf, abs=1e-4)
    vc = res.variance().set_index("group")["variance"]
    np.testing.assert_allclose([vc["participant_id"], vc["stimulus_id"], vc["Residual"]],
                               [*ref.vcomp, ref.scale], rtol=1e-3)
    np.testing.assert_allclose(res.beta, ref.fe_params.to_numpy(), rtol=1e-4, atol=1e-6)
    # the stimulus variance is real: the model without it fits much worse
    assert res.fit["reml_loglik"] > fit_model(trials, "score ~ group * condition").fit[
        "reml_loglik"] + 20
    # the condition effect is tested against stimuli (32 stimuli, 4 conditions), not trials
    assert res.anova().set_index("term").loc["condition", "den_df"] < 40
    # the keywords combine as the formula's terms (the sparse engine fits slopes + crossed)
    both = fit_model(trials, "score ~ group * condition", crossed="stimulus_id",
                     re_formula="~ condition")
    assert both.lme4_formula().endswith("(1 + condition | participant_id) + (1 | stimulus_id)")
    assert both.fit["engine"] == "sparse" and both.fit["reml_loglik"] > res.fit["reml_loglik"]


def test_bad_input_is_a_clear_error():
    trials, parts = simulate_scores(3, muscles=("corrugator",), seed=1)
    with pytest.raises(ModelError, match=r"Column\(s\) emotion needed by the model are missing"):
        fit_model(trials, "score ~ group * emotion")
    with pytest.raises(ModelError, match=r"The term 'group' has one level only \('placebo'\)"):
        fit_model(trials[trials.group == "placebo"], "score ~ group * condition")
    bad = trials.copy()
    bad.loc[3, "score"] = np.nan
    with pytest.raises(ModelError, match=r"Missing values in model column\(s\): score \(1 rows\)"):
        fit_model(bad, "score ~ group * condition")
    assert fit_model(bad, "score ~ group * condition", dropna=True).fit["n_obs"] == len(bad) - 1
    with pytest.raises(ModelError, match=r"Participant\(s\) sub-06 are in the trial table but "
                                         r"not in the participants table"):
        fit_model(trials.drop(columns="group"), "score ~ group * condition",
                  participants=parts[parts.participant_id != "sub-06"])
    empty_cell = trials[~((trials.group == "naltrexone") & (trials.condition == "sad"))]
    with pytest.raises(ModelError, match=r"not identifiable.*groupnaltrexone:conditionsad"):
        fit_model(empty_cell, "score ~ group * condition")
    with pytest.raises(ModelError, match="cannot be parsed"):
        fit_model(trials, "score ~ group *")
    with pytest.raises(ModelError, match="'emotion' is not a factor"):
        fit_model(trials, "score ~ group * condition").contrasts("emotion")


def test_writes_outputs(tmp_path):
    trials, parts = simulate_scores(5, muscles=("corrugator",), seed=3)
    res = fit_model(trials, "score ~ group * condition")
    files = res.write(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {
        "fixed_effects.tsv", "anova.tsv", "contrasts.tsv", "emmeans.tsv", "variance.tsv",
        "fit.json", "model.R", "model_data.tsv", "summary.txt", "diagnostics.png",
        "residuals.tsv"}
    assert files["fit"].exists()
    fit = json.loads((tmp_path / "fit.json").read_text())
    assert {"reml_loglik", "n_obs", "n_groups", "converged", "optimizer"} <= set(fit)
    assert fit["design"] == "mixed" and fit["between"] == ["group"]
    assert [c["factor"] for c in fit["contrasts"]] == ["group", "condition"]
    con = pd.read_csv(tmp_path / "contrasts.tsv", sep="\t")
    assert list(con.columns) == ["factor", "contrast", "group", "condition", "estimate", "se",
                                 "df", "t", "p", "p_adj", "ci_low", "ci_high", "effect_size",
                                 "bf10"]
    # the group contrasts within each condition, then each condition vs neutral per group
    assert list(con["factor"]) == ["group"] * 4 + ["condition"] * 6
    assert list(pd.read_csv(tmp_path / "anova.tsv", sep="\t").columns) == [
        "term", "num_df", "den_df", "F", "p"]
    assert "lmer(score ~ group * condition + (1 | participant_id)" in res.r_code()
    fig = res.plot_diagnostics()
    assert [a.get_title() for a in fig.axes] == [
        "Residuals vs fitted", "Normal Q-Q of residuals", "Normal Q-Q of random intercepts"]
    resid = pd.read_csv(tmp_path / "residuals.tsv", sep="\t")
    assert list(resid.columns) == ["participant_id", "fitted", "residual", "random_intercept"]
    # fitted + residual is the outcome; one random intercept per participant, and for a
    # random-intercept model each equals the participant's mean of fitted − Xβ̂
    assert np.allclose(resid["fitted"] + resid["residual"], res.data["score"])
    blup = resid.groupby("participant_id")["random_intercept"].nunique()
    assert (blup == 1).all() and len(blup) == res.fit["n_groups"]
    xb = res.X @ res.beta
    assert np.allclose((resid["fitted"] - xb).groupby(resid["participant_id"]).mean(),
                       resid.groupby("participant_id")["random_intercept"].first())


def test_stats_cli_fits_per_muscle(tmp_path, capsys):
    from emgkit.cli import main

    trials, parts = simulate_scores(4, seed=5, n_trials=4)
    trials.drop(columns=["group", "trait"]).to_csv(tmp_path / "trials.tsv", sep="\t",
                                                   index=False)
    parts.to_csv(tmp_path / "participants.tsv", sep="\t", index=False)
    code = main(["stats", str(tmp_path / "trials.tsv"), "--participants",
                 str(tmp_path / "participants.tsv"), "--formula", "score ~ group * condition",
                 "--out", str(tmp_path / "out")])
    assert code == 0
    con = pd.read_csv(tmp_path / "out" / "contrasts.tsv", sep="\t")
    assert set(con["muscle"]) == {"corrugator", "zygomaticus", "depressor"}
    assert (tmp_path / "out" / "muscle-corrugator" / "fit.json").exists()
    assert "Naltrexone (vs placebo)" in capsys.readouterr().out
    code = main(["stats", str(tmp_path / "trials.tsv"), "--formula",
                 "score ~ group * condition", "--out", str(tmp_path / "o2")])
    assert code == 2
    assert "Column(s) group needed by the model are missing" in capsys.readouterr().err


@pytest.mark.slow
def test_false_positive_rate_of_drug_terms():
    """Under no drug effect, the group terms reject at ~5 % (200 simulated small studies)."""
    from benchmarks.stats_false_positives import false_positive_rate

    rates = false_positive_rate(n_studies=200, seed=0)
    for term, rate in rates.items():
        if "naive" not in term:
            assert 0.03 <= rate <= 0.07, (term, rate)
    # a Wald z test that ignores the between-subject df is anti-conservative
    assert rates["group (naive z, trial df)"] > rates["group"]


def test_group_levels_need_participants(caplog):
    """One participant in a group refuses the group inference; fewer than 5 warns."""
    import logging

    from emgkit.errors import ModelError

    trials, parts = simulate_scores(3, muscles=("corrugator",), seed=5)
    one = parts.copy()
    one.loc[one["group"] == "naltrexone", "group"] = ["naltrexone", "placebo", "placebo"]
    with pytest.raises(ModelError, match="1 participant in 'naltrexone'.*at least 2"):
        fit_model(trials.drop(columns="group"), "score ~ group * condition", participants=one)
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        res = fit_model(trials.drop(columns="group"), "score ~ group * condition",
                        participants=parts, label="muscle = corrugator")
    assert "muscle = corrugator: The between-participant factor 'group' has fewer than 5" \
        in caplog.text
    assert res.fit["small_groups"] == {"group": parts["group"].value_counts().to_dict()}


def test_function_calls_in_formulas():
    """``log(age)`` uses the column ``age``; ``C(group)`` is the factor ``group`` (its
    contrasts stay per condition)."""
    trials, parts = simulate_scores(6, muscles=("corrugator",), seed=3)
    parts["age"] = np.linspace(20, 40, len(parts))
    parts["log_age"] = np.log(parts["age"])
    t = trials.drop(columns="group")
    a = fit_model(t, "score ~ group * condition + log(age)", participants=parts)
    b = fit_model(t, "score ~ group * condition + log_age", participants=parts)
    assert a.covariates == ["age"]
    np.testing.assert_allclose(a.beta, b.beta, rtol=1e-8)
    np.testing.assert_allclose(a.contrasts("group")["p_adj"], b.contrasts("group")["p_adj"],
                               rtol=1e-6)
    c = fit_model(t, "score ~ C(group) * condition", participants=parts)
    d = fit_model(t, "score ~ group * condition", participants=parts)
    assert c.interacting("group") == ["condition"]
    np.testing.assert_allclose(c.contrasts("group")["estimate"], d.contrasts("group")["estimate"],
                               rtol=1e-8)


def test_small_groups_change_the_summary_sentence():
    """2 vs 2 participants: a 'significant' contrast is reported as nominal, with the
    reason in the sentence itself (issue: "increased … t(52.0), p < .001")."""
    trials, parts = simulate_scores(2, muscles=("corrugator",), n_trials=20,
                                    drug_effects={("happy", "corrugator"): 3.0}, seed=5)
    res = fit_model(trials, "score ~ group * condition", participants=parts)
    text = res.summary_sentences()
    assert any("fewer than 5 participants per level of group" in s for s in text)
    happy = [s for s in text if "happy" in s][0]
    assert "nominally increased" in happy and "not evidence" in happy
    big, parts = simulate_scores(8, muscles=("corrugator",), n_trials=20,
                                 drug_effects={("happy", "corrugator"): 3.0}, seed=5)
    happy = [s for s in fit_model(big, "score ~ group * condition",
                                  participants=parts).summary_sentences() if "happy" in s][0]
    assert "nominally" not in happy and " increased " in happy


def test_true_false_group_column_is_two_labels(tmp_path):
    """A participants table whose group column reads True/False (pandas parses it as bool,
    which it counts as numeric) used to end in a PatsyError; it is a two-level factor."""
    trials, parts = simulate_scores(3, muscles=("corrugator",), seed=1)
    ref = fit_model(trials.drop(columns="group"), "score ~ group * condition",
                    participants=parts.assign(group=parts["group"].map(
                        {"placebo": "False", "naltrexone": "True"})))
    path = tmp_path / "participants.tsv"
    parts.assign(group=parts["group"] == "naltrexone").to_csv(path, sep="\t", index=False)
    table = pd.read_csv(path, sep="\t")
    assert table["group"].dtype == bool
    res = fit_model(trials.drop(columns="group"), "score ~ group * condition",
                    participants=table)
    assert res.factors["group"] == ["False", "True"]
    pd.testing.assert_frame_equal(res.contrasts("group"), ref.contrasts("group"))
    assert set(res.emmeans()["group"]) == {"False", "True"}


def test_random_intercepts_match_statsmodels():
    """The participants' random intercepts (BLUPs) drawn on the diagnostics page equal
    statsmodels' random_effects of the same REML fit (random intercept; intercept + slope)."""
    import warnings

    import statsmodels.formula.api as smf

    trials, _ = simulate_scores(6, muscles=("corrugator",), n_trials=6, seed=11)
    trials = trials.assign(x=(trials.condition == "happy").astype(float))
    d = trials.assign(group=pd.Categorical(trials.group, ["placebo", "naltrexone"]),
                      condition=pd.Categorical(trials.condition,
                                               ["neutral", "angry", "happy", "sad"]))
    for re_formula in ("1", "~ x"):
        res = fit_model(trials, "score ~ group * condition",
                        re_formula=None if re_formula == "1" else re_formula)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = smf.mixedlm("score ~ group * condition", d, groups="participant_id",
                              re_formula=re_formula).fit(reml=True)
        assert res.fit["reml_loglik"] == pytest.approx(ref.llf, abs=1e-3)
        ours = res.random_intercepts()
        theirs = pd.Series({k: float(v.iloc[0]) for k, v in ref.random_effects.items()})
        np.testing.assert_allclose(ours.reindex(theirs.index), theirs, rtol=2e-3, atol=1e-4)
