"""The Python API as analysts write it in a notebook: lme4 random terms in the formula,
tables passed as paths, ``01`` for ``sub-01``, and no silent pooling of muscles."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import emgkit
from emgkit.errors import ModelError, ReadError
from emgkit.sim.recording import simulate_scores
from emgkit.stats import fit_model, fit_models, trait_correlations


@pytest.fixture(autouse=True)
def _quiet():
    """Small simulated samples warn (few per group, singular fits); not what is tested."""
    logger = logging.getLogger("emgkit")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.fixture(scope="module")
def study():
    """Three muscles, four conditions, 2 × 6 participants; ``participant_id`` ``sub-XX``."""
    trials, parts = simulate_scores(6, n_trials=6, seed=11)
    return trials, parts


def _write(df, path):
    df.to_csv(path, sep="\t", index=False, na_rep="n/a")
    return path


def _same_fit(a, b):
    fa, fb = a.fixed_effects(), b.fixed_effects()
    assert list(fa["term"]) == list(fb["term"])
    np.testing.assert_allclose(fa["estimate"], fb["estimate"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fa["se"], fb["se"], rtol=1e-6)


def test_lme4_random_term_as_written(study):
    trials, _ = study
    t = trials.drop(columns="group")
    a = fit_model(t, "score ~ condition*muscle + (1|participant_id)")
    b = fit_model(t, "score ~ condition * muscle")  # the implicit participant intercept
    _same_fit(a, b)
    assert a.fit["groups"] == "participant_id" and a.fit["n_groups"] == 12
    # the participant column written with another name
    c = fit_model(t.rename(columns={"participant_id": "subject"}),
                  "score ~ condition*muscle + (1|subject)")
    _same_fit(a, c)


def test_lme4_double_bar_is_expanded_as_lme4_does(study):
    """``(condition || participant_id)`` is lme4's ``(1 | participant_id) + (0 + condition |
    participant_id)`` (the condition columns stay correlated with each other)."""
    trials, _ = study
    a = fit_model(trials, "score ~ condition*muscle + (condition||participant_id)")
    b = fit_model(trials, "score ~ condition*muscle + (1 | participant_id) + "
                          "(0 + condition | participant_id)")
    assert a.lme4_formula().endswith("(1 | participant_id) + (0 + condition | participant_id)")
    assert a.fit["reml_loglik"] == pytest.approx(b.fit["reml_loglik"], rel=1e-10)


def test_several_muscles_without_a_muscle_term_are_refused(study):
    trials, _ = study
    t = trials.drop(columns="group")
    with pytest.raises(ModelError) as err:
        fit_model(t, "score ~ condition + (1|participant_id)")
    msg = str(err.value)
    assert "3 muscles (corrugator, depressor, zygomaticus)" in msg
    # both ways out, spelled so they can be pasted
    assert "'score ~ condition * muscle + (1 | participant_id)'" in msg
    assert "fit_models(table, 'score ~ condition + (1|participant_id)', by='muscle')" in msg
    # the suggested formula and call both run
    fit_model(t, "score ~ condition * muscle + (1 | participant_id)")
    split, res = fit_models(t, "score ~ condition + (1|participant_id)", by="muscle")
    assert split == "muscle" and set(res) == {"corrugator", "zygomaticus", "depressor"}
    # one muscle is not pooling; muscle as a random factor is a stated choice
    one = t[t.muscle == "zygomaticus"]
    _same_fit(fit_model(one, "score ~ condition"), res["zygomaticus"])
    fit_model(t, "score ~ condition + (1 | participant_id) + (1 | muscle)")


def test_participants_as_path(study, tmp_path):
    trials, parts = study
    t = trials.drop(columns="group")
    ref = fit_model(t[t.muscle == "corrugator"], "score ~ group * condition", participants=parts)
    # 01 in participants.tsv, sub-01 in the trials (BIDS allows both)
    written = parts.assign(participant_id=parts.participant_id.str.removeprefix("sub-"))
    path = _write(written, tmp_path / "participants.tsv")
    for given in (path, str(path)):
        res = fit_model(t[t.muscle == "corrugator"], "score ~ group * condition",
                        participants=given)
        _same_fit(ref, res)
    split, res = fit_models(t, "score ~ group * condition", participants=str(path))
    assert split == "muscle"
    _same_fit(ref, res["corrugator"])
    with pytest.raises(ReadError, match="Participants table .*nope.tsv does not exist"):
        fit_model(t, "score ~ group * condition * muscle", participants=tmp_path / "nope.tsv")
    with pytest.raises(ModelError, match="participants must be a DataFrame or the path"):
        fit_model(t, "score ~ group * condition * muscle", participants=[1, 2])


def test_trials_as_path(study, tmp_path):
    trials, _ = study
    one = trials[trials.muscle == "corrugator"]
    path = _write(one, tmp_path / "scores.tsv")
    _same_fit(fit_model(one, "score ~ group * condition"),
              fit_model(str(path), "score ~ group * condition"))


def test_trials_and_results_folder_as_paths(tmp_path):
    """A real run's ``trials.tsv`` and its results folder, as a notebook would pass them."""
    root = tmp_path / "study"
    emgkit.simulate_study(root, 4, seed=3, sfreq=512.0)
    out = tmp_path / "results"
    emgkit.run_study(root / "study.toml", out, reports=False)
    table = emgkit.read_trials(out)
    formula = "score ~ group * condition + (1 | participant_id)"
    ref = fit_models(table, formula, participants=root / "participants.tsv")[1]
    for given in (out, out / "group" / "trials.tsv"):
        split, res = fit_models(given, formula, participants=root / "participants.tsv")
        assert split == "muscle"
        for muscle in ref:
            _same_fit(ref[muscle], res[muscle])
    with pytest.raises(ModelError, match="no muscle term"):
        fit_model(out, formula, participants=root / "participants.tsv")


def test_dotted_column_names(study):
    trials, parts = study
    t = trials[trials.muscle == "corrugator"].merge(
        parts[["participant_id", "trait"]].rename(columns={"trait": "Informed.liking"}))
    res = fit_model(t, "score ~ condition + Informed.liking + (1|participant_id)")
    assert "Informed.liking" in set(res.fixed_effects()["term"])


def test_trait_correlations_with_paths_and_short_ids(study, tmp_path):
    trials, parts = study
    ref = trait_correlations(trials, parts, ["trait"])
    short = parts.assign(participant_id=parts.participant_id.str.removeprefix("sub-"))
    res = trait_correlations(_write(trials, tmp_path / "t.tsv"),
                             _write(short, tmp_path / "p.tsv"), ["trait"])
    assert (res["n"] == 12).all()
    pd.testing.assert_frame_equal(ref, res)


def test_plots_take_paths_and_short_ids(study, tmp_path):
    trials, parts = study
    t = trials.assign(baseline=1.0 + np.arange(len(trials)) % 7)
    short = parts.assign(participant_id=parts.participant_id.str.removeprefix("sub-"))
    fig = emgkit.viz.plot_baselines(_write(t, tmp_path / "t.tsv"),
                                    _write(short, tmp_path / "p.tsv"))
    # every participant is drawn: 12 points per muscle panel
    from matplotlib.collections import PathCollection

    for ax in fig.axes:
        assert sum(len(c.get_offsets()) for c in ax.collections
                   if isinstance(c, PathCollection)) == 12


def test_timecourse_tests_take_paths(tmp_path):
    rng = np.random.default_rng(5)
    rows = [{"participant_id": f"sub-{p:02d}", "trial": k, "condition": "happy",
             "muscle": "corrugator", "time_s": b * 0.1, "time_end_s": b * 0.1 + 0.1,
             "value": rng.normal() + (p > 4) * (b > 4), "rejected": False}
            for p in range(1, 9) for k in range(3) for b in range(10)]
    tc = pd.DataFrame(rows)
    parts = pd.DataFrame({"participant_id": [f"{p:02d}" for p in range(1, 9)],
                          "group": ["placebo"] * 4 + ["drug"] * 4})
    ref = emgkit.stats.binwise_test(tc, parts, muscle="corrugator", condition="happy")
    res = emgkit.stats.binwise_test(_write(tc, tmp_path / "tc.tsv"),
                                    _write(parts, tmp_path / "p.tsv"),
                                    muscle="corrugator", condition="happy")
    np.testing.assert_allclose(ref["estimate"], res["estimate"], rtol=1e-8)
    assert Path(tmp_path / "tc.tsv").is_file()
