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
