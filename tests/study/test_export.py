"""`emgkit export`: one row per participant with kept-trial means and counts, or the tidy
trial table with participant columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emgkit.cli import main
from emgkit.study.export import export_long, export_wide


def _trials():
    rows = []
    for pid in ("sub-01", "sub-02"):
        for t, cond in enumerate(["happy", "angry", "happy", "angry"], start=1):
            for muscle in ("corrugator", "zygomaticus"):
                rows.append(dict(participant_id=pid, trial=t, condition=cond, muscle=muscle,
                                 score=float(t + (muscle == "zygomaticus") * 10),
                                 rejected=(pid == "sub-02" and t == 3)))
    return pd.DataFrame(rows)


def test_wide_means_and_counts_from_kept_trials():
    parts = pd.DataFrame({"participant_id": ["sub-01", "sub-02", "sub-03"],
                          "group": ["placebo", "naltrexone", "placebo"], "age": [20, 30, 40]})
    wide = export_wide(_trials(), parts, conditions=["happy", "angry"])
    assert list(wide.columns[:3]) == ["participant_id", "group", "age"]
    assert list(wide.columns[3:7]) == ["score_corrugator_happy", "n_corrugator_happy",
                                       "score_corrugator_angry", "n_corrugator_angry"]
    row = wide.set_index("participant_id")
    assert row.loc["sub-01", "score_corrugator_happy"] == pytest.approx(2.0)  # trials 1, 3
    assert row.loc["sub-02", "score_corrugator_happy"] == pytest.approx(1.0)  # 3 rejected
    assert row.loc["sub-02", "n_corrugator_happy"] == 1
    assert row.loc["sub-01", "score_zygomaticus_angry"] == pytest.approx(13.0)  # 12, 14
    # a participant without trials: empty means, zero counts
    assert np.isnan(row.loc["sub-03", "score_corrugator_happy"])
    assert row.loc["sub-03", "n_corrugator_happy"] == 0


def test_long_merges_participant_columns():
    parts = pd.DataFrame({"participant_id": ["sub-01", "sub-02"], "group": ["a", "b"]})
    long = export_long(_trials(), parts)
    assert len(long) == len(_trials()) and set(long["group"]) == {"a", "b"}


def test_export_command(tmp_path):
    from emgkit.sim.study import simulate_study
    from emgkit.study.run import run_study

    study = tmp_path / "study"
    simulate_study(study, 2, seed=5, sfreq=1000.0)
    run_study(study / "study.toml", tmp_path / "out", reports=False, group_step=False)
    assert main(["export", str(tmp_path / "out"), "--out", str(tmp_path / "wide.tsv")]) == 0
    wide = pd.read_csv(tmp_path / "wide.tsv", sep="\t")
    assert list(wide["participant_id"]) == ["sub-01", "sub-02"]
    assert [c for c in wide.columns if c.startswith("score_corrugator_")] == [
        "score_corrugator_happy", "score_corrugator_angry", "score_corrugator_sad",
        "score_corrugator_neutral"]  # the config's order
    assert main(["export", str(tmp_path / "out"), "--long", "--out",
                 str(tmp_path / "long.tsv")]) == 0
    assert "group" in pd.read_csv(tmp_path / "long.tsv", sep="\t").columns
