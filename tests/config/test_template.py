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
from emgkit.errors import ConfigError
from emgkit.events.find import find_events
from emgkit.io.edf import read_header
from emgkit.io.inspect import inspect_recording
from emgkit.io.load import load_recording
from emgkit.io.write import write_edf
from emgkit.signal.channels import resolve_muscles
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


# --- simulated files ----------------------------------------------------------------------

def _scored(sfreq=1000.0):
    conds = ["happy", "angry"] * 4
    return recording_from_scores(np.full((8, 3), 1.5), conds, {"happy": 1, "angry": 2},
                                 sfreq, seed=0)


def _acq_text(path, columns, units, data, *, header=True):
    """An AcqKnowledge text export (1 ms/sample), with or without its header block."""
    lines = []
    if header:
        lines = [f"{path.stem}.acq", "1 msec/sample", f"{len(columns)} channels"]
        for col, unit in zip(columns, units):
            lines += [col, unit]
        lines.append(",".join(f"CH{i + 1}" for i in range(len(columns))) + ",")
        lines.append(",".join(str(data.shape[1]) for _ in columns) + ",")
    sep = "," if header else "\t"
    body = "\n".join(sep.join(f"{v:.6g}" for v in row) + sep for row in data.T)
    path.write_text("\n".join(lines + [body]) + "\n")
    return path


def _name_conditions(text, names):
    for old, new in names.items():
        text = text.replace(f'= "{old}"', f'= "{new}"')
    return text


def test_init_on_a_biopac_export_uses_raw_channels_and_digital_inputs(tmp_path):
    sig, status, _ = _scored()
    bits = [5.0 * ((status >> b) & 1) for b in range(8)]
    data = np.vstack([sig / 1000.0, *bits, np.abs(sig) / 1000.0, status])
    cols = (["Corr Raw", "Zyg Raw", "DAO Raw"] + ["Digital input"] * 8
            + ["Corr Processed", "Zyg Processed", "DAO Processed", "Marker"])
    rec = _acq_text(tmp_path / "sub-01.txt", cols, ["mV"] * 3 + ["Volts"] * 12, data)
    out = tmp_path / "study.toml"
    assert main(["init", str(rec), "--out", str(out)]) == 0
    text = out.read_text()
    assert 'corrugator = "Corr Raw"' in text and 'zygomaticus = "Zyg Raw"' in text
    assert 'depressor = "DAO Raw"' in text and "Corr Raw-Zyg Raw" not in text
    assert 'analog_mode = "bits"' in text
    assert '"1" = "condition_1"   # 4 events' in text and '"2" = "condition_2"   # 4 events' in text
    assert 'stim_channel = "Marker"' in text  # the marker channel, as the alternative
    cfg = load_config(out)
    assert cfg.events.source == "analog" and len(cfg.events.analog_channels) == 8
    out.write_text(_name_conditions(text, {"condition_1": "happy", "condition_2": "angry"}))
    res = process_recording(rec, load_config(out), quality=False)
    assert len(res.events) == 8 and res.muscles == ["corrugator", "zygomaticus", "depressor"]
    np.testing.assert_allclose(res.trials["score"], 1.5, rtol=0.15)


def test_init_takes_rate_and_columns_of_a_headerless_export(tmp_path, capsys):
    sig, status, _ = _scored()
    data = np.vstack([sig[:2] / 1000.0, 5.0 * (status == 1), 5.0 * (status == 2)])
    rec = _acq_text(tmp_path / "sub-01.txt", None, None, data, header=False)
    out = tmp_path / "study.toml"
    assert main(["init", str(rec), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--sfreq" in err and "--columns" in err and not out.exists()
    assert main(["init", str(rec), "--out", str(out), "--sfreq", "1000", "--columns",
                 "corr_raw,zyg_raw,happy_ref,angry_ref", "--units", "mV"]) == 0
    text = out.read_text()
    cfg = load_config(out)
    assert (cfg.input.sfreq, cfg.input.columns, cfg.input.units) == (
        1000.0, ("corr_raw", "zyg_raw", "happy_ref", "angry_ref"), "mV")
    assert cfg.channels == {"corrugator": "corr_raw", "zygomaticus": "zyg_raw"}
    assert cfg.events.analog_channels == ("happy_ref", "angry_ref")
    assert '"happy_ref" = "happy_ref"   # 4 events' in text
    res = process_recording(rec, cfg, quality=False)
    assert sorted(res.events["condition"]) == ["angry_ref"] * 4 + ["happy_ref"] * 4
    np.testing.assert_allclose(res.trials["score"], 1.5, rtol=0.15)


@pytest.mark.parametrize("kw, match", [
    ({"sfreq": -5.0}, "--sfreq -5"),
    ({"sfreq": float("nan")}, "--sfreq nan"),
    ({"columns": "a,,b"}, "--columns 'a,,b'"),
    ({"columns": "a,b,a"}, "distinct"),
    ({"units": "a=mV,b"}, "--units 'a=mV,b'"),
    ({"columns": "a,b", "units": "c=mV"}, "not in --columns"),
])
def test_init_options_are_checked(tmp_path, kw, match):
    rec = tmp_path / "x.txt"
    rec.write_text("1\t2\n")
    with pytest.raises(ConfigError, match=re.escape(match)):
        init_input(rec, **kw)


def test_init_options_are_refused_for_files_that_state_them(tmp_path):
    rec = tmp_path / "x.edf"
    write_edf(rec, np.zeros((2, 500)), ["Corr1", "Corr2"], 500.0, fmt="edf")
    with pytest.raises(ConfigError, match=r"--sfreq and --columns are for text exports only"):
        init_input(rec, sfreq=500.0, columns="a,b")
    assert init_input(rec) is None


def test_init_on_a_biosemi_file_proposes_exg_before_eeg(tmp_path):
    sig, status, _ = _scored(2048.0)
    eeg = np.random.default_rng(0).normal(size=(4, sig.shape[1]))
    rows = np.vstack([eeg, sig[0], np.zeros_like(sig[0]), sig[1], np.zeros_like(sig[1])])
    rec = tmp_path / "sub-01_emg.bdf"
    write_edf(rec, rows, ["Fp1", "Fp2", "Cz", "Pz", "EXG1", "EXG2", "EXG3", "EXG4"], 2048.0,
              stim=status)
    cfg_text = draft_study(rec)
    channels = cfg_text.split("[channels]")[1].split("[events]")[0]
    assert 'corrugator = "EXG1-EXG2"   # EDIT' in channels
    assert 'zygomaticus = "EXG3-EXG4"   # EDIT' in channels and "Fp1-" not in channels
    out = tmp_path / "s.toml"
    out.write_text(_name_conditions(cfg_text, {"condition_1": "happy",
                                               "condition_2": "angry"}))
    res = process_recording(rec, load_config(out), quality=False)
    assert len(res.events) == 8
    np.testing.assert_allclose(res.trials["score"], 1.5, rtol=0.15)


def test_annotation_texts_become_valid_condition_names(tmp_path):
    rec = tmp_path / "x.edf"
    write_edf(rec, np.random.default_rng(0).normal(size=(2, 5000)), ["Zyg1", "Zyg2"], 500.0,
              fmt="edf", annotations=[(1.0, 0.0, "RECORD START"), (3.0, 0.0, 'face "A"')])
    out = tmp_path / "s.toml"
    out.write_text(draft_study(rec))
    cfg = load_config(out)
    assert cfg.events.conditions == {"RECORD START": "RECORD_START", 'face "A"': "face_A"}


# --- real files (../shared/real_data) -----------------------------------------------------

REAL_FILES = sorted(p.relative_to(REAL).as_posix() for p in REAL.glob("*/*")
                    if p.suffix.lower() in (".edf", ".bdf")) if REAL.is_dir() else []
COUNTENANCE = REAL / "countenance" / "femg_raw_exported_sample.txt"
NILSONNE = REAL / "nilsonne-oxazepam-2" / "09_FMOV_preprocessed.txt"
needs_real = pytest.mark.skipif(not (REAL / "SOURCES.md").exists(),
                                reason="../shared/real_data is absent")


def _channel_section(text):
    return text.split("\n[channels]")[1].split("\n[events]")[0].split("\n", 1)[1]


def _check_draft(path, tmp_path, **kw):
    """Draft, load and check a config: valid, channels present, no pair of two muscles."""
    text = draft_study(path, input_config=init_input(path, **kw) if kw else None)
    out = tmp_path / "study.toml"
    out.write_text(text)
    cfg = load_config(out)
    labels = [str(x) for x in inspect_recording(path, input_config=cfg.input)
              .channels["label"]]
    resolved = resolve_muscles(cfg.channels, labels, source=str(path))
    for muscle, pair in resolved.items():
        named = {parse_label(lab).muscle for lab in pair if lab and parse_label(lab)}
        assert len(named) <= 1, (path, muscle, pair)
    return text, cfg, labels


@needs_real
@pytest.mark.parametrize("name", REAL_FILES)
def test_init_on_every_real_edf_bdf_file(name, tmp_path):
    path = REAL / name
    if all(lab.strip().endswith("Annotations") for lab in read_header(path).labels):
        with pytest.raises(ConfigError, match="holds no signals"):
            draft_study(path)
        return
    text, _, labels = _check_draft(path, tmp_path)
    if not muscle_guesses(labels):  # no EMG-like label: every muscle line is to edit
        assert all("# EDIT" in line for line in _channel_section(text).splitlines()
                   if line and not line.startswith("#"))
    stim, _ = event_channels(labels)
    if stim:  # a trigger or marker channel is the event source, or listed as one
        assert f'stim_channel = "{stim[0]}"' in text


@needs_real
@pytest.mark.parametrize("name", ["mne-python/test.bdf",
                                  "bdf-jl/MK2_speedmode4_CMS_not_in_range_battery_charged.bdf",
                                  "bdf-jl/MK2_speedmode5_CMS_not_in_range_battery_charged.bdf"])
def test_init_on_real_biosemi_files_proposes_exg_before_eeg(name, tmp_path):
    _, cfg, labels = _check_draft(REAL / name, tmp_path)
    assert any(lab.startswith("EXG") for lab in labels) and "Fp1" in labels
    used = [lab for spec in cfg.channels.values() for lab in spec.split("-")]
    assert used and all(lab.startswith("EXG") for lab in used), cfg.channels
    assert cfg.events.stim_channel == "Status"


@needs_real
def test_init_on_the_real_biopac_export(tmp_path):
    text, cfg, _ = _check_draft(COUNTENANCE, tmp_path)
    assert cfg.channels == {"corrugator": "Corr Raw", "zygomaticus": "Zyg Raw",
                            "levator": "Lev Raw"}
    assert "Corr Raw-Zyg Raw" not in text
    assert cfg.events.source == "analog" and cfg.events.analog_mode == "bits"
    assert list(cfg.events.analog_channels) == [f"Digital input CH{n}" for n in range(28, 36)]
    assert cfg.events.conditions == {"1": "condition_1", "54": "condition_54"}
    assert 'stim_channel = "Marker", mask = 65535   (trigger channel Marker: 1 ×1, 54 ×1)' \
        in text
    events = find_events(load_recording(COUNTENANCE, cfg), cfg, COUNTENANCE, "005")
    assert events["code"].tolist() == ["54", "1"]
    np.testing.assert_allclose(events["onset_s"], [0.150, 13.117])


@needs_real
def test_init_on_a_real_headerless_export_with_options(tmp_path):
    cols = "scr,zyg_raw,corr_raw,zyg_rect,corr_rect,angry_ref,happy_ref,neutral_ref"
    with pytest.raises(ConfigError, match="--sfreq HZ --columns"):
        draft_study(NILSONNE)
    _, cfg, _ = _check_draft(NILSONNE, tmp_path, sfreq=100.0, columns=cols, units="mV")
    # 100 Hz "raw" EMG is already decimated: the rectified channels, unfiltered
    assert cfg.channels == {"zygomaticus": "zyg_rect", "corrugator": "corr_rect"}
    assert cfg.preprocess.processed == ("zygomaticus", "corrugator")
    assert cfg.preprocess.notch == 0 and cfg.input.sfreq == 100.0
    assert cfg.events.analog_channels == ("angry_ref", "happy_ref", "neutral_ref")
    events = find_events(load_recording(NILSONNE, cfg), cfg, NILSONNE, "09")
    assert events["code"].value_counts().to_dict() == {"angry_ref": 4, "happy_ref": 4,
                                                        "neutral_ref": 4}
