"""`emgkit init`: a commented study.toml drafted from a recording that, with the conditions
named, processes the recording."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import REAL

from emgkit import load_config, process_recording
from emgkit.cli import main
from emgkit.config.guess import event_channels, exg_pairs, muscle_guesses, parse_label
from emgkit.config.template import draft_study, guess_muscles, init_input, suggested_band
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


# --- label spellings ----------------------------------------------------------------------

@pytest.mark.parametrize("label, muscle, side, mark, processed", [
    ("Corr Raw", "corrugator", None, None, False),
    ("Zyg Raw", "zygomaticus", None, None, False),
    ("Lev Raw", "levator", None, None, False),
    ("Corr Processed", "corrugator", None, None, True),
    ("zyg_rect", "zygomaticus", None, None, True),
    ("corr_raw", "corrugator", None, None, False),
    ("corrugator", "corrugator", None, None, False),
    ("Corrugator supercilii", "corrugator", None, None, False),
    ("M. zygomaticus major", "zygomaticus", None, None, False),
    ("EMG Zyg L", "zygomaticus", "left", None, False),
    ("Zyg-R", "zygomaticus", "right", None, False),
    ("CorrL", "corrugator", "left", None, False),
    ("left corrugator", "corrugator", "left", None, False),
    ("Corr1", "corrugator", None, "1", False),
    ("Corr2-L", "corrugator", "left", "2", False),
    ("EMG Corr+", "corrugator", None, "+", False),
    ("Zyg-", "zygomaticus", None, "-", False),
    ("EXG Zyg 2", "zygomaticus", None, "2", False),
    ("DAO", "depressor", None, None, False),
    ("Depressor anguli oris", "depressor", None, None, False),
    ("DAO_L", "depressor", "left", None, False),
    ("Lev2", "levator", None, "2", False),
    ("Levator labii superioris", "levator", None, None, False),
    ("Front1", "frontalis", None, "1", False),
    ("Frontalis EMG", "frontalis", None, None, False),
    ("OOc", "orbicularis_oculi", None, None, False),
    ("Orbicularis oculi", "orbicularis_oculi", None, None, False),
    ("Orbicularis oris", "orbicularis_oris", None, None, False),
    ("Orb1", "orbicularis", None, "1", False),
    ("Mentalis", "mentalis", None, None, False),
    ("ment_2", "mentalis", None, "2", False),
    ("Corr1-Corr2", "corrugator", None, None, False),   # a derivation: one channel
    ("Corr RMS", "corrugator", None, None, True),
])
def test_label_spellings_name_their_muscle(label, muscle, side, mark, processed):
    p = parse_label(label)
    assert p is not None, label
    assert (p.muscle, p.side, p.mark, p.processed) == (muscle, side, mark, processed)


@pytest.mark.parametrize("label", [
    "Fp1", "Cz", "EXG1", "EXG8", "Status", "Marker", "Digital input CH28", "ECG", "EEG Fpz-Cz",
    "EMG submental", "M1", "Left", "Right", "A1", "1-C1", "scr", "angry_ref", "sine 8.5 Hz",
    "squarewave", "Temp rectal", "EOG horizontal", "Corr-Zyg", "EMG1 Corr2", "",
])
def test_other_labels_name_no_muscle(label):
    assert parse_label(label) is None


def test_biopac_raw_channels_are_single_channels_never_a_pair_of_muscles():
    labels = ["Corr Raw", "Zyg Raw", "Lev Raw"] + [f"Digital input CH{n}" for n in
                                                   range(28, 36)] + [
        "Corr Processed", "Zyg Processed", "Lev Processed", "Marker"]
    assert guess_muscles(labels) == {"corrugator": "Corr Raw", "zygomaticus": "Zyg Raw",
                                     "levator": "Lev Raw"}
    slow = {g.muscle: g.spec for g in muscle_guesses(labels, prefer_processed=True)}
    assert slow == {"corrugator": "Corr Processed", "zygomaticus": "Zyg Processed",
                    "levator": "Lev Processed"}


@pytest.mark.parametrize("labels, expected", [
    (["Corr1", "Corr2", "Zyg1", "Zyg2"], {"corrugator": "Corr1-Corr2",
                                          "zygomaticus": "Zyg1-Zyg2"}),
    (["Zyg2", "Zyg1"], {"zygomaticus": "Zyg1-Zyg2"}),
    (["EMG Corr-", "EMG Corr+"], {"corrugator": "EMG Corr+-EMG Corr-"}),
    (["Corr1-L", "Corr2-L", "Corr1-R", "Corr2-R"], {"corrugator_left": "Corr1-L-Corr2-L",
                                                    "corrugator_right": "Corr1-R-Corr2-R"}),
    (["Zyg L", "Zyg R"], {"zygomaticus_left": "Zyg L", "zygomaticus_right": "Zyg R"}),
    (["Corr1-Corr2", "Zyg1-Zyg2"], {"corrugator": "Corr1-Corr2", "zygomaticus": "Zyg1-Zyg2"}),
    (["corr_raw", "zyg_raw", "corr_rect"], {"corrugator": "corr_raw", "zygomaticus": "zyg_raw"}),
    (["Corr Processed"], {"corrugator": "Corr Processed"}),
    (["Fp1", "Fp2", "EXG1", "EXG2"], {}),
])
def test_bipolar_pairs_are_two_electrodes_of_one_muscle(labels, expected):
    assert guess_muscles(labels) == expected


def test_guesses_never_pair_two_muscles():
    stems = ["Corr", "Zyg", "DAO", "Lev", "Front", "OOc", "Ment"]
    rng = np.random.default_rng(1)
    for _ in range(200):
        pool = [f"{s}{suffix}" for s in stems for suffix in
                (" Raw", "1", "2", "+", "-", "_L", " EMG", " Processed")]
        labels = list(rng.choice(pool, size=rng.integers(1, 8), replace=False))
        for g in muscle_guesses(labels):
            muscle = re.sub(r"_(left|right)$", "", g.muscle)
            assert {parse_label(lab).muscle for lab in g.labels} == {muscle}, labels


def test_uncertain_guesses_are_marked():
    (g,) = muscle_guesses(["Corr1"])
    assert g.spec == "Corr1" and not g.confident and "partner" in g.note
    (g,) = muscle_guesses(["Corr1", "Corr2", "Corr3"])
    assert g.spec == "Corr1-Corr2" and not g.confident and "Corr3" in g.note


def test_event_channels_by_name():
    biopac = ["Corr Raw"] + [f"Digital input CH{n}" for n in range(28, 36)] + ["Marker"]
    assert event_channels(biopac) == (["Marker"], biopac[1:9])
    assert event_channels(["EMG", "D1", "D2", "D3", "Trigger"]) == (["Trigger"],
                                                                    ["D1", "D2", "D3"])
    # a BioSemi ABCD cap: D1..D8 are electrodes, not inputs
    assert event_channels(["A1", "B1", "C1", "D1", "D2", "Status"]) == (["Status"], [])
    stim, _ = event_channels(["STI 014", "Event marker", "DIG DTRIG", "stAtUs", "Fp1"])
    assert stim == ["STI 014", "Event marker", "DIG DTRIG", "stAtUs"]
    assert event_channels(["DIN1", "Corr1"]) == (["DIN1"], [])  # one line: a stim channel


def test_exg_pairs():
    assert exg_pairs(["Fp1", "EXG1", "EXG2", "EXG3", "EXG4", "EXG5"]) == (
        [("EXG1", "EXG2"), ("EXG3", "EXG4")], ["EXG5"])
    assert exg_pairs(["EXG1", "REOG", "EXG5", "EXG8"]) == ([], ["EXG1", "EXG5", "EXG8"])


def test_band_stays_valid_for_slow_recordings():
    for sfreq in (12.8, 50.0, 100.0, 250.0):
        lo, hi = suggested_band(sfreq)
        assert 0 < lo < hi < sfreq / 2, sfreq
