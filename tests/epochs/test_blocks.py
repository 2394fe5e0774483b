"""Block baselines, per-trial ratings, block order and trait correlations, each checked
against the block-design simulator's truth."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from emgkit.config import config_from_dict, load_config
from emgkit.errors import ConfigError
from emgkit.pipeline import process_recording
from emgkit.sim.blocks import BlockSimParams, simulate_block_study
from emgkit.stats import fit_model, trait_correlations, within_between
from emgkit.study.order import derive_orders, order_balance


def _process_all(root, config):
    parts = pd.read_csv(root / "participants.tsv", sep="\t")
    trials = pd.concat([process_recording(
        root / pid / "emg" / f"{pid}_task-social_emg.edf", config, participant_id=pid,
        quality=False, keep_continuous=False).trials for pid in parts["participant_id"]],
        ignore_index=True)
    return trials, parts


@pytest.fixture(scope="module")
def block_study(tmp_path_factory):
    root = tmp_path_factory.mktemp("blocks")
    config = load_config(simulate_block_study(root, 15, seed=1))
    trials, parts = _process_all(root, config)
    return root, config, trials, parts


def test_block_baseline_keeps_the_sustained_block_effect(block_study):
    root, config, trials, _ = block_study
    corr = trials[trials["muscle"] == "corrugator"]
    rej = corr[corr["block"] == "rejection"]
    assert set(rej["baseline_source"]) == {"block:neutral_rejection"}
    # the block baseline is the matched neutral block's mean response (per participant)
    ref = corr[corr["block"] == "neutral_rejection"].groupby("participant_id")["response"].mean()
    np.testing.assert_allclose(rej.groupby("participant_id")["baseline"].first(), ref)
    pre = replace(config, blocks=replace(config.blocks, baseline={}))
    pre_trials, _ = _process_all(root, pre)
    pre_rej = pre_trials[(pre_trials["muscle"] == "corrugator")
                         & (pre_trials["block"] == "rejection")]
    # truth: the block raises the level by 30 % for the whole block, which the pre-stimulus
    # baseline removes and the matched block baseline keeps
    diff = rej["score"].mean() - pre_rej["score"].mean()
    assert diff == pytest.approx(np.log10(1 + BlockSimParams().block_effect), abs=0.03)
    # block vs its matched baseline, within participants: a clear positive effect
    per = rej.groupby("participant_id")["score"].mean()
    assert per.mean() > 0.1 and (per > 0).mean() > 0.9


def test_ratings_track_the_response_within_participants(block_study):
    _, _, trials, parts = block_study
    corr = trials[(trials["muscle"] == "corrugator") & (trials["block"] == "rejection")]
    corr = within_between(corr, "score")
    res = fit_model(corr, "rating ~ score_within", participants=parts)
    fe = res.fixed_effects().set_index("term")
    slope = fe.loc["score_within"]
    # truth: 1 rating point per trial-SD (0.08 log10) of the response = 12.5 per log10 unit,
    # attenuated a little by measurement noise in the scores
    truth = BlockSimParams().rating_slope / BlockSimParams().trial_sd
    assert slope["p"] < 1e-6 and 0.5 * truth < slope["estimate"] < 1.2 * truth
    assert slope["ci_low"] > 0


def test_planted_trait_correlation_is_recovered(block_study):
    root, _, trials, parts = block_study
    corr = trait_correlations(trials, parts, ["ego_resiliency"])
    row = corr[(corr["muscle"] == "corrugator") & (corr["condition"] == "rejection")].iloc[0]
    truth = pd.read_csv(root / "truth.tsv", sep="\t")
    sample_r = np.corrcoef(truth["z"], truth["u"])[0, 1]  # trait vs true response index
    assert row["n"] == 30
    assert row["ci_low"] <= BlockSimParams().trait_rho <= row["ci_high"]
    assert row["ci_low"] <= sample_r <= row["ci_high"] and row["ci_low"] > 0
    # no trait effect planted in the neutral blocks' own responses
    neutral = corr[(corr["muscle"] == "corrugator") & (corr["condition"] == "neutral")]
    assert neutral["ci_low"].iloc[0] < 0 < neutral["ci_high"].iloc[0]


def test_orders_derived_and_balance_checked(block_study, tmp_path, caplog):
    _, config, trials, parts = block_study
    derived = derive_orders(trials, "block", skip=set(config.blocks.baseline.values()))
    merged = derived.merge(parts, on="participant_id", suffixes=("", "_tsv"))
    assert (merged["order"] == merged["order_tsv"]).all()
    ok = order_balance(parts)
    assert ok["balanced"] and ok["p"] == pytest.approx(1.0)
    bad_root = tmp_path / "unbalanced"
    simulate_block_study(bad_root, 4, seed=2, balanced=False)
    bad = pd.read_csv(bad_root / "participants.tsv", sep="\t")
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        flagged = order_balance(bad)
    assert not flagged["balanced"] and flagged["p"] < 0.05
    assert "NOT balanced" in caplog.text and "add order to the model" in caplog.text


def test_order_as_covariate(block_study):
    _, _, trials, parts = block_study
    res = fit_model(trials[trials["muscle"] == "corrugator"],
                    "score ~ group * condition + order", participants=parts)
    assert "order" in set(res.anova()["term"])


def test_run_writes_order_table_trait_pages_and_methods(tmp_path):
    from pypdf import PdfReader

    from emgkit.report.methods import methods_text
    from emgkit.study.run import run_study

    toml = simulate_block_study(tmp_path / "s", 4, seed=3)
    info = run_study(toml, tmp_path / "out", reports=True, progress=False)
    assert info["group"]["status"] == "done", info["group"]
    group = tmp_path / "out" / "group"
    balance = pd.read_csv(group / "order_balance.tsv", sep="\t")
    assert balance["balanced"].all()
    traits = pd.read_csv(group / "traits.tsv", sep="\t")
    assert set(traits["trait"]) == {"ego_resiliency"} and len(traits) == 6
    text = "".join(p.extract_text() for p in PdfReader(group / "group.pdf").pages)
    assert "counterbalancing check" in text and "Mean response against ego_resiliency" in text
    para = methods_text(load_config(toml))
    assert "rejection against neutral_rejection" in para and "matched baseline block" in para


def test_block_config_errors():
    base = {"channels": {"m": "a"}, "events": {"source": "events.tsv",
                                               "conditions": {"x": "x"}}}
    with pytest.raises(ConfigError, match="blocks.baseline must be a table"):
        config_from_dict(base | {"blocks": {"baseline": ["a"]}})
    with pytest.raises(ConfigError, match="blocks.match='trial' is not allowed"):
        config_from_dict(base | {"blocks": {"match": "trial"}})
    with pytest.raises(ConfigError, match="Unknown config key 'blocks.pairs'"):
        config_from_dict(base | {"blocks": {"pairs": {}}})
    with pytest.raises(ConfigError, match="report.traits must be a list"):
        config_from_dict(base | {"report": {"traits": "ego"}})
