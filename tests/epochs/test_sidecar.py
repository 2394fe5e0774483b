"""JSON sidecars of trials.tsv and timecourses.tsv: every column described, units by mode,
written (and listed in done.json) by emgkit process, run and the group step."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import recording_of

import emgkit.epochs.reject as reject_module
from emgkit.cli import main
from emgkit.epochs.baseline import BASELINE_MODES
from emgkit.epochs.sidecar import REJECT_REASONS, SCORE_UNITS, column_descriptions
from emgkit.epochs.tables import read_trials, timecourses_table, trials_table
from emgkit.sim.study import simulate_study


def _small_tables():
    events = pd.DataFrame({"trial": [1, 2], "onset_s": [1.0, 5.0],
                           "condition": ["happy", "angry"], "code": ["1", "2"],
                           "stimulus_id": ["f01", "f02"]})
    shape = (2, 2)
    trials = trials_table("sub-01", events, ["corrugator", "zygomaticus"], np.ones(shape),
                          np.ones(shape), np.ones(shape), [[[], ["flat"]], [[], []]],
                          latency=np.full(shape, 0.3))
    tcs = timecourses_table(trials, np.ones((2, 2, 3)), np.array([0.0, 0.5, 1.0]), 0.5)
    return trials, tcs


def _check(sidecar, table):
    assert list(sidecar) == [str(c) for c in table.columns]  # each column, no other
    for col, entry in sidecar.items():
        assert entry["LongName"] and entry["Description"], col


@pytest.mark.parametrize("mode", BASELINE_MODES)
def test_every_column_described_with_the_mode_unit(mode):
    trials, tcs = _small_tables()
    side = column_descriptions(trials, baseline_mode=mode,
                               channels={"corrugator": "EXG1-EXG2"})
    _check(side, trials)
    assert side["score"]["Units"] == SCORE_UNITS[mode]
    assert side["baseline"]["Units"] == side["response"]["Units"] == "µV"
    assert side["latency_s"]["Units"] == side["onset_s"]["Units"] == "s"
    assert side["muscle"]["Levels"] == {"corrugator": "channel EXG1-EXG2",
                                        "zygomaticus": "muscle zygomaticus"}
    assert set(side["condition"]["Levels"]) == {"happy", "angry"}
    assert "stimulus_id" in side["stimulus_id"]["Description"]  # an events column
    tside = column_descriptions(tcs, baseline_mode=mode)
    _check(tside, tcs)
    assert tside["value"]["Units"] == SCORE_UNITS[mode] and tside["time_s"]["Units"] == "s"
    assert SCORE_UNITS["subtract"] == "µV" and SCORE_UNITS["logratio"] == "log10(ratio)"


def test_standardised_score_is_z_and_raw_keeps_the_mode_unit():
    trials, _ = _small_tables()
    trials.insert(trials.columns.get_loc("score") + 1, "score_raw", trials["score"])
    side = column_descriptions(trials, baseline_mode="percent",
                               standardise="participant_muscle")
    assert side["score"]["Units"] == "z" and side["score_raw"]["Units"] == "%"


def test_every_rejection_reason_is_a_level():
    """Reasons reject.py adds, the span kinds of signal.artifacts and manual review."""
    source = Path(reject_module.__file__).read_text(encoding="utf-8")
    emitted = set(re.findall(r'\.add\("([a-z_]+)"\)', source)) | {"flat", "saturated", "manual"}
    assert len(emitted) >= 9
    assert emitted == set(REJECT_REASONS)
    trials, _ = _small_tables()
    side = column_descriptions(trials, baseline_mode="ratio")
    assert set(side["reject_reason"]["Levels"]) == emitted


def _sidecar_matches(folder):
    for name in ("trials", "timecourses"):
        table = read_trials(folder / f"{name}.tsv")
        side = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        _check(side, table)
    return json.loads((folder / "trials.json").read_text(encoding="utf-8"))


def test_emgkit_process_writes_sidecars(bdf_study, tmp_path, capsys):
    cfg = bdf_study / "study.toml"
    cfg.write_text(cfg.read_text().replace("[epochs]",
                                           '[epochs]\nstandardise = "participant_muscle"'))
    assert main(["process", str(recording_of(bdf_study)), "--config", str(cfg), "--out",
                 str(tmp_path / "out")]) == 0
    assert f"wrote {tmp_path / 'out' / 'trials.json'}" in capsys.readouterr().out
    side = _sidecar_matches(tmp_path / "out")
    assert side["score"]["Units"] == "z" and side["score_raw"]["Units"] == "ratio"


def test_run_writes_sidecars_listed_in_done_json(tmp_path):
    simulate_study(tmp_path / "s", 4, seed=4, sfreq=512.0)
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "s" / "study.toml"), "--out", str(out),
                 "--no-reports"]) == 0
    for folder in ("sub-01", "sub-04", "group"):
        _sidecar_matches(out / folder)
        done = json.loads((out / folder / "done.json").read_text(encoding="utf-8"))
        assert {"trials.json", "timecourses.json"} <= set(done["files"]), folder
    side = json.loads((out / "group" / "trials.json").read_text(encoding="utf-8"))
    assert set(side["participant_id"]) == {"LongName", "Description"}
    assert side["score"]["Units"] == "ratio"
