"""`emgkit init`: a commented study.toml drafted from a recording that, with the conditions
named, processes the recording."""

from __future__ import annotations

import numpy as np

from emgkit import load_config, process_recording
from emgkit.cli import main
from emgkit.config.template import guess_muscles, suggested_band
from emgkit.io.write import write_edf
from emgkit.sim.scores import recording_from_scores


def test_muscles_are_guessed_from_labels():
    assert guess_muscles(["Corr1", "Corr2", "Zyg+", "Zyg-", "DAO_L", "Fp1", "EXG1"]) == {
        "corrugator": "Corr1-Corr2", "zygomaticus": "Zyg+-Zyg-", "depressor": "DAO_L"}
    assert guess_muscles(["EXG1", "EXG2", "Cz"]) == {}
    assert suggested_band(2048) == (20.0, 500.0) and suggested_band(512) == (20.0, 230.0)


def test_init_drafts_a_config_that_processes_the_recording(tmp_path, capsys):
    conds = ["happy", "angry"] * 4
    sig, status, _ = recording_from_scores(np.full((8, 3), 1.5), conds,
                                           {"happy": 1, "angry": 2}, 1000.0, seed=0)
    rows = np.vstack([sig[0], np.zeros_like(sig[0]), sig[1], np.zeros_like(sig[1]),
                      sig[2], np.zeros_like(sig[2])])
    rec = tmp_path / "sub-01_emg.bdf"
    write_edf(rec, rows, ["Corr1", "Corr2", "Zyg1", "Zyg2", "DAO1", "DAO2"], 1000.0,
              stim=status)
    out = tmp_path / "study.toml"
    assert main(["init", str(rec), "--out", str(out)]) == 0
    text = out.read_text()
    assert 'corrugator = "Corr1-Corr2"' in text and '"1" = "condition_1"   # 4 events' in text
    assert "band = [20, 450]" in text
    assert main(["init", str(rec), "--out", str(out)]) != 0  # never overwrites
    out.write_text(text.replace("condition_1", "happy").replace("condition_2", "angry"))
    res = process_recording(rec, load_config(out), quality=False)
    assert len(res.events) == 8 and res.muscles == ["corrugator", "zygomaticus", "depressor"]
    np.testing.assert_allclose(res.trials["score"], 1.5, rtol=0.15)


def test_init_without_muscle_labels_leaves_an_edit(tmp_path):
    rec = tmp_path / "x.edf"
    write_edf(rec, np.random.default_rng(0).normal(size=(2, 5000)), ["EXG1", "EXG2"], 500.0,
              fmt="edf")
    out = tmp_path / "s.toml"
    assert main(["init", str(rec), "--out", str(out)]) == 0
    text = out.read_text()
    assert 'corrugator = "EXG1-EXG2"   # EDIT' in text and "events.tsv" in text
    cfg = load_config(out)  # valid as drafted: the user edits, not fixes, it
    assert cfg.events.source == "events.tsv" and cfg.preprocess.h_freq == 220.0
