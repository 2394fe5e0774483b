"""EMG-BIDS *_emg.json facts are checked against the file and the config."""

from __future__ import annotations

import json
import logging

import pytest

from emgkit import process_recording
from emgkit.errors import ReadError


@pytest.fixture()
def rec(tmp_path):
    from conftest import recording_of

    from emgkit.sim.study import simulate_study

    study = tmp_path / "study"  # its own copy: the tests edit the sidecar
    simulate_study(study, 1, seed=0, sfreq=1000.0)
    rec = recording_of(study)
    side = rec.with_name(rec.name.rsplit("_", 1)[0] + "_emg.json")
    assert json.loads(side.read_text())["SamplingFrequency"] == 1000.0
    return study, rec, side


def _edit(side, **kw):
    data = json.loads(side.read_text())
    data.update(kw)
    side.write_text(json.dumps(data))


def test_sampling_rate_disagreeing_with_the_file_is_an_error(rec):
    study, path, side = rec
    _edit(side, SamplingFrequency=2048.0)
    with pytest.raises(ReadError, match="sampled at 1000 Hz but its \\*_emg.json says "
                                        "SamplingFrequency = 2048 Hz"):
        process_recording(path, study / "study.toml", quality=False)


def test_mains_frequency_other_than_the_notch_is_warned(rec, caplog):
    study, path, side = rec
    _edit(side, PowerLineFrequency=60)
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        process_recording(path, study / "study.toml", quality=False)
    assert "PowerLineFrequency = 60 Hz but [preprocess] notch is 50 Hz" in caplog.text


def test_unreadable_sidecar_is_named(rec):
    study, path, side = rec
    side.write_text("{not json")
    with pytest.raises(ReadError, match="_emg.json: not readable JSON"):
        process_recording(path, study / "study.toml", quality=False)


def test_mains_frequency_is_the_notch_when_the_config_sets_none(rec, caplog):
    """Without [preprocess] notch, the sidecar's 60 Hz is the notch: the filter removes 60 Hz
    and its harmonics (not 50 Hz), and the result says so."""
    import numpy as np
    from scipy import signal

    from emgkit.config import load_config
    from emgkit.signal.filter import design_filter

    study, path, side = rec
    _edit(side, PowerLineFrequency=60)
    toml = study / "study.toml"
    toml.write_text("\n".join(line for line in toml.read_text().splitlines()
                              if not line.startswith("notch")))
    cfg = load_config(toml)
    assert cfg.preprocess.notch_from_sidecar and cfg.preprocess.notch == 50.0
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        res = process_recording(path, cfg, quality=False)
    assert res.config.preprocess.notch == 60.0
    assert "PowerLineFrequency" not in caplog.text  # no disagreement left to warn about
    sos = design_filter(res.sfreq, cfg.preprocess.l_freq, cfg.preprocess.h_freq, notch=60.0)
    _, h = signal.sosfreqz(sos, [50.0, 60.0, 120.0], fs=res.sfreq)
    assert np.abs(h[1]) < 1e-2 and np.abs(h[2]) < 1e-2 and np.abs(h[0]) > 0.5
    # a notch set in the config wins over the sidecar (and is warned about)
    toml.write_text(toml.read_text().replace("[preprocess]", "[preprocess]\nnotch = 50.0"))
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        res = process_recording(path, toml, quality=False)
    assert res.config.preprocess.notch == 50.0 and "PowerLineFrequency = 60" in caplog.text


def test_subject_report_states_the_sidecar_and_the_notch(rec, tmp_path):
    import pypdf

    from emgkit.report.subject import subject_report

    study, path, side = rec
    _edit(side, PowerLineFrequency=60, EMGPlacementScheme="Fridlund and Cacioppo (1986)")
    toml = study / "study.toml"
    toml.write_text("\n".join(line for line in toml.read_text().splitlines()
                              if not line.startswith("notch")))
    subject_report(path, toml, tmp_path / "r.pdf")
    first = pypdf.PdfReader(str(tmp_path / "r.pdf")).pages[0].extract_text()
    assert "notch 60 Hz (from *_emg.json PowerLineFrequency)" in first
    assert "EMGPlacementScheme = Fridlund and Cacioppo (1986)" in first
    assert "60 Hz and its harmonics" in first  # the methods paragraph uses the notch applied
