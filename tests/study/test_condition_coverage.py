"""The event mapping is checked across the study: a configured condition that occurs in no
recording fails the run (exit 2); one missing in some participants is listed (exit 3)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from emgkit.cli import main
from emgkit.config import config_from_dict
from emgkit.sim.study import simulate_study
from emgkit.study.run import condition_coverage


@pytest.fixture(scope="module")
def study2(tmp_path_factory):
    root = tmp_path_factory.mktemp("cov")
    simulate_study(root, 4, seed=3, sfreq=512.0)
    return root


def _table(conditions):
    return pd.DataFrame({"condition": conditions, "trial": range(len(conditions))})


def test_coverage_unit():
    cfg = config_from_dict({"channels": {"corrugator": "A"}, "events": {
        "conditions": {"1": "happy", "2": "angry", "9": "sad"}}})
    trials = {"sub-01": _table(["happy", "angry"]), "sub-02": _table(["angry"])}
    results = [{"event_mapping": {"unmapped": {"3": 6}}},
               {"event_mapping": {"unmapped": {"3": 5, "4": 1}}}]
    cov = condition_coverage(cfg, trials, results)
    assert cov["never_seen"] == ["sad"]
    assert cov["missing"] == {"happy": ["sub-02"]}
    assert cov["codes_seen"] == {"3": 11, "4": 1}
    assert "'3' ×11" in cov["message"] and "'sad'" in cov["message"]
    full = {"sub-01": _table(["happy", "angry", "sad"])}
    assert condition_coverage(cfg, full) == {}


def test_wrong_code_fails_the_run(study2, tmp_path, capsys):
    toml = study2 / "study.toml"
    bad = tmp_path / "study.toml"
    bad.write_text(toml.read_text().replace('"1" = "happy"', '"11" = "happy"').replace(
        'participants = "participants.tsv"', f'participants = "{study2}/participants.tsv"')
        .replace('recordings = "{participant_id}', f'recordings = "{study2}/{{participant_id}}'))
    out = tmp_path / "out"
    assert main(["run", str(bad), "--out", str(out), "--no-reports"]) == 2
    err = capsys.readouterr().err
    assert "'happy'" in err and "occur in no recording" in err and "'1' ×" in err
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "failed" and run["conditions"]["never_seen"] == ["happy"]
    assert run["group"]["status"] == "not run" and not (out / "group").exists()


def test_all_conditions_present_exits_0(study2, tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(study2 / "study.toml"), "--out", str(out), "--no-reports"]) == 0
    assert "conditions" not in json.loads((out / "run.json").read_text())
