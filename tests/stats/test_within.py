"""Within-participant designs are first-class: ``score ~ condition`` (per muscle) writes
contrasts against a reference condition (or pairwise) that recover the simulator's truth,
and the group report's first page states the design and the main result."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from emgkit.errors import ModelError
from emgkit.sim.recording import simulate_scores
from emgkit.stats import fit_model, fit_models, write_models

TRUTH = {("happy", "zygomaticus"): 0.4, ("angry", "corrugator"): 0.3}


@pytest.fixture(scope="module")
def within():
    trials, _ = simulate_scores(8, muscles=("corrugator", "zygomaticus"), n_trials=10,
                                condition_effects=TRUTH, seed=21)
    return trials


def test_within_contrasts_recover_the_planted_effect(within, tmp_path):
    split, models = fit_models(within, "score ~ condition")
    assert split == "muscle"
    assert {m.design() for m in models.values()} == {"within"}
    write_models(split, models, tmp_path)
    con = pd.read_csv(tmp_path / "contrasts.tsv", sep="\t")
    assert set(con["factor"]) == {"condition"} and "group" not in con
    assert len(con) == 2 * 3  # angry, happy, sad - neutral, per muscle
    # simultaneous (Bonferroni) intervals over the 6 rows each cover their truth
    q = stats.t.ppf(1 - 0.05 / 12, con["df"])
    for (_, row), qk in zip(con.iterrows(), q):
        true = TRUTH.get((row["contrast"].removesuffix(" - neutral"), row["muscle"]), 0.0)
        assert abs(row["estimate"] - true) <= qk * row["se"], row.to_dict()
    zyg = con[(con["muscle"] == "zygomaticus") & (con["contrast"] == "happy - neutral")].iloc[0]
    assert zyg["ci_low"] <= TRUTH[("happy", "zygomaticus")] <= zyg["ci_high"]  # the 95 % CI
    assert zyg["p_adj"] < 0.001 and zyg["estimate"] > 0.2
    fit = json.loads((tmp_path / "muscle-zygomaticus" / "fit.json").read_text())
    assert fit["design"] == "within" and fit["between"] == [] and fit["within"] == ["condition"]
    assert fit["contrasts"] == [{"factor": "condition", "method": "trt.vs.ctrl",
                                 "ref": "neutral", "by": []}]
    assert any(s.startswith("Happy (vs neutral) increased zygomaticus responses")
               for s in fit["main_result"])
    assert "within-participant design" in fit["methods"]
    assert "each level of condition against neutral" in fit["methods"]
    summary = (tmp_path / "muscle-zygomaticus" / "summary.txt").read_text()
    assert "Happy (vs neutral) increased zygomaticus responses" in summary


def test_reference_choices(within):
    zyg = within[within["muscle"] == "zygomaticus"]
    # emmeans' names: pairwise = earlier - later level, revpairwise = later - earlier
    pair = fit_model(zyg, "score ~ condition", reference="pairwise").reported_contrasts()
    assert len(pair) == 6 and {"neutral - angry", "happy - sad"} <= set(pair["contrast"])
    rev = fit_model(zyg, "score ~ condition", reference="revpairwise")
    assert {"angry - neutral", "sad - happy"} <= set(rev.reported_contrasts()["contrast"])
    assert "(emmeans revpairwise)" in rev.methods_sentences()[1]
    np.testing.assert_allclose(np.sort(pair["p_adj"]), np.sort(rev.reported_contrasts()["p_adj"]))
    sad = fit_model(zyg, "score ~ condition", reference="sad").reported_contrasts()
    assert sorted(sad["contrast"]) == ["angry - sad", "happy - sad", "neutral - sad"]
    # no neutral level and no reference: all pairs
    other = zyg[zyg["condition"] != "neutral"]
    assert len(fit_model(other, "score ~ condition").reported_contrasts()) == 3
    with pytest.raises(ModelError, match=r"reference='neutrl'.*condition: neutral, angry"):
        fit_model(zyg, "score ~ condition", reference="neutrl")
    # a mixed design compares the groups and, within each group, the conditions
    trials, _ = simulate_scores(4, muscles=("zygomaticus",), n_trials=4, seed=3)
    mixed = fit_model(trials, "score ~ group * condition", reference="neutral")
    assert mixed.design() == "mixed"
    con = mixed.reported_contrasts()
    assert list(pd.unique(con["factor"])) == ["group", "condition"]
    cond = con[con["factor"] == "condition"]
    assert len(cond) == 3 * 2 and set(cond["group"]) == {"placebo", "naltrexone"}
    # the group contrasts are unchanged by the within rows (their own Holm family)
    np.testing.assert_allclose(con.loc[con["factor"] == "group", "p_adj"],
                               mixed.contrasts("group")["p_adj"])


def test_within_study_report_states_design_and_contrast(study_factory, tmp_path):
    """``emgkit run`` on a simulated study with ``score ~ condition``: contrasts.tsv and a
    first report page naming the design and the happy-vs-neutral contrast."""
    from pypdf import PdfReader

    from emgkit.study.run import run_study

    study = tmp_path / "study"
    shutil.copytree(study_factory("bdf", 2048.0, n_subjects=3, seed=4), study)
    toml = study / "study.toml"
    toml.write_text(toml.read_text() + '\n[model]\nformula = "score ~ condition"\n'
                    'reference = "neutral"\n')
    out = tmp_path / "out"
    record = run_study(toml, out, progress=False)
    assert record["status"] == "ok", record
    con = pd.read_csv(out / "group" / "contrasts.tsv", sep="\t")
    assert set(con["factor"]) == {"condition"}
    assert {"happy - neutral"} <= set(con["contrast"])
    first = " ".join(PdfReader(out / "group" / "group.pdf").pages[0].extract_text().split())
    assert "Within-participant design" in first
    assert "within participants: condition" in first
    assert "Main result" in first and "Happy (vs neutral)" in first
    assert "each level of condition against neutral" in first


def test_stats_command_takes_a_reference(within, tmp_path, capsys):
    from emgkit.cli import main

    table = tmp_path / "trials.tsv"
    within.to_csv(table, sep="\t", index=False)
    out = tmp_path / "out"
    assert main(["stats", str(table), "--formula", "score ~ condition", "--reference", "sad",
                 "--out", str(out)]) == 0
    con = pd.read_csv(out / "contrasts.tsv", sep="\t")
    assert set(con["contrast"]) == {"angry - sad", "happy - sad", "neutral - sad"}
    assert "Happy (vs sad)" in capsys.readouterr().out
