"""The BioSemi CMS-in-range check runs whichever reader decoded the EMG."""

from __future__ import annotations

import logging

import pytest
from conftest import recording_of

from emgkit import process_recording
from emgkit.config import load_config
from emgkit.io.load import load_recording
from emgkit.io.write import write_edf
from emgkit.sim.recording import SimParams, simulate_recording
from emgkit.sim.study import write_recording


@pytest.fixture
def cms_study(bdf_study):
    """The simulated study with CMS out of range from 20.0 to 21.5 s (Status bit 20 off)."""
    rec = simulate_recording(SimParams(sfreq=1024.0, n_trials=3), seed=3)
    status = rec.status(0x98)
    sl = slice(int(20.0 * rec.sfreq), int(21.5 * rec.sfreq))
    status[sl] &= ~(1 << 20)
    path = recording_of(bdf_study)
    write_recording(rec, path)  # events and truth beside it
    write_edf(path, rec.data, rec.ch_names, rec.sfreq, fmt="bdf", stim=status,
              stim_name="Status")
    return bdf_study, path


@pytest.mark.parametrize("source", ["stim", "events.tsv"])
def test_cms_spans_from_both_engines(cms_study, source, caplog):
    study, path = cms_study
    text = (study / "study.toml").read_text()
    if source != "stim":
        text = text.replace('source = "stim"', f'source = "{source}"')
    (study / "cms.toml").write_text(text)
    config = load_config(study / "cms.toml")
    spans = {}
    for engine in ("numpy", "mne"):
        loaded = load_recording(path, config, engine=engine)
        assert loaded.engine == engine
        spans[engine] = loaded.cms
        with caplog.at_level(logging.WARNING, logger="emgkit"):
            caplog.clear()
            res = process_recording(path, config, engine=engine, quality=False,
                                    keep_continuous=False)
        assert "CMS out of range from 20.000 s to 21.500 s" in caplog.text, engine
        assert res.trials["score"].notna().any()
    assert spans["numpy"] == spans["mne"] == [(20.0, 21.5)]


def test_no_cms_spans_without_status_flags(bdf_study):
    study = bdf_study
    config = load_config(study / "study.toml")
    for engine in ("numpy", "mne"):
        assert load_recording(recording_of(study), config, engine=engine).cms == []
