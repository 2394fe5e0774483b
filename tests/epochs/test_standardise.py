"""[epochs] standardise = "participant_muscle": z of the kept trials within participant × muscle."""

import numpy as np
import pandas as pd
import pytest

from emgkit.config import load_config
from emgkit.config.load import config_from_dict
from emgkit.epochs.standardise import levels_by_group, standardise_scores
from emgkit.errors import ConfigError


def _table(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for pid, shift in (("sub-01", 0.0), ("sub-02", 5.0)):
        for muscle, scale in (("corrugator", 1.0), ("zygomaticus", 3.0)):
            for trial in range(1, 21):
                rows.append(dict(participant_id=pid, trial=trial, muscle=muscle,
                                 condition="happy" if trial % 2 else "angry",
                                 baseline=2.0 + shift, response=3.0,
                                 score=shift + scale * rng.normal(), rejected=trial == 7))
    return pd.DataFrame(rows)


def test_z_within_participant_and_muscle_from_kept_trials():
    t = _table()
    raw = t["score"].to_numpy().copy()
    standardise_scores(t)
    np.testing.assert_array_equal(t["score_raw"], raw)
    for (pid, m), d in t.groupby(["participant_id", "muscle"]):
        kept = d[~d["rejected"]]
        ref = (d["score_raw"] - kept["score_raw"].mean()) / kept["score_raw"].std(ddof=1)
        np.testing.assert_allclose(d["score"], ref, rtol=1e-12)
        assert abs(kept["score"].mean()) < 1e-12 and abs(kept["score"].std(ddof=1) - 1) < 1e-12
    # a rejection changed later (manual review): recomputed from score_raw
    t.loc[(t.participant_id == "sub-01") & (t.trial == 3), "rejected"] = True
    standardise_scores(t)
    kept = t[(t.participant_id == "sub-01") & (t.muscle == "corrugator") & ~t.rejected]
    assert abs(kept["score"].mean()) < 1e-12
    np.testing.assert_array_equal(t["score_raw"], raw)
    assert list(t.columns).index("score_raw") == list(t.columns).index("score") + 1


def test_none_is_untouched_and_no_spread_is_nan(caplog):
    t = _table()
    before = t.copy()
    assert standardise_scores(t, "none") is t
    pd.testing.assert_frame_equal(t, before)
    t.loc[t.participant_id == "sub-02", "rejected"] = True
    t.loc[(t.participant_id == "sub-02") & (t.trial == 1), "rejected"] = False
    with caplog.at_level("WARNING", logger="emgkit"):
        standardise_scores(t)
    assert t.loc[t.participant_id == "sub-02", "score"].isna().all()
    assert "fewer than two" in caplog.text


def test_levels_by_group_reports_what_standardising_hides():
    t = standardise_scores(_table())
    parts = pd.DataFrame({"participant_id": ["sub-01", "sub-02"],
                          "group": ["placebo", "drug"]})
    lv = levels_by_group(t, parts).set_index(["group", "muscle"])
    assert lv.loc[("drug", "corrugator"), "baseline_uv_mean"] == pytest.approx(7.0)
    assert lv.loc[("placebo", "corrugator"), "baseline_uv_mean"] == pytest.approx(2.0)
    kept = t[(t.participant_id == "sub-02") & (t.muscle == "zygomaticus") & ~t.rejected]
    assert lv.loc[("drug", "zygomaticus"), "score_raw_mean"] == pytest.approx(
        kept["score_raw"].mean())


def test_config_option(tmp_path):
    base = {"channels": {"corrugator": "EXG1-EXG2"}, "events": {"conditions": {"1": "happy"}}}
    cfg = config_from_dict({**base, "epochs": {"standardise": "participant_muscle"}})
    assert cfg.epochs.standardise == "participant_muscle"
    assert cfg.to_dict()["epochs"]["standardise"] == "participant_muscle"
    plain = config_from_dict(base)
    assert "standardise" not in plain.to_dict()["epochs"]  # earlier digests stay valid
    with pytest.raises(ConfigError, match="epochs.standardise"):
        config_from_dict({**base, "epochs": {"standardise": "participant"}})
    toml = tmp_path / "s.toml"
    toml.write_text('[channels]\ncorrugator = "EXG1-EXG2"\n[events.conditions]\n"1" = "happy"\n'
                    '[epochs]\nstandardise = "none"\n')
    assert load_config(toml).to_dict() == plain.to_dict()
