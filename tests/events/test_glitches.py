"""Trigger glitches on a BioSemi Status channel and events logged twice, end to end: they
used to become extra trials; now they are ignored or merged, counted in a warning, on the
processed recording and in ``run.json`` (issue 25, item 4)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from emgkit.config import config_from_dict
from emgkit.errors import ConfigError, EventError
from emgkit.io.edf import read_header
from emgkit.io.write import write_edf
from emgkit.pipeline import process_recording
from emgkit.sim.recording import SimParams, simulate_recording

CHANNELS = {"corrugator": "EXG1-EXG2"}
CODES = {"1": "happy", "2": "angry", "3": "sad", "4": "neutral"}
EPOCHS = {"tmin": -1.0, "tmax": 4.0, "baseline": [-1.0, 0.0], "response": [0.5, 3.0]}


def _config(**events):
    return config_from_dict({"channels": CHANNELS, "events": {"conditions": CODES} | events,
                             "epochs": EPOCHS, "preprocess": {"band": [20.0, 400.0]}})


def set_status(path, samples, code):
    """Write ``code`` (with BioSemi's 0x98 high byte) into the Status channel at
    ``samples``, byte by byte, as a glitching trigger cable would."""
    h = read_header(path)
    k = h.labels.index("Status")
    spr, start = h.spr[k], sum(h.spr[:k]) * 3
    raw = bytearray(path.read_bytes())
    word = ((0x98 << 16) | code).to_bytes(3, "little")
    for s in samples:
        pos = h.header_bytes + (s // spr) * h.record_bytes + start + (s % spr) * 3
        raw[pos:pos + 3] = word
    path.write_bytes(bytes(raw))


@pytest.fixture(scope="module")
def sim():
    return simulate_recording(SimParams(sfreq=1000.0, n_trials=2, n_artefacts=0), seed=4)


@pytest.fixture
def glitchy(sim, tmp_path):
    """The simulated recording with three 1-3-sample glitches between the trials."""
    path = write_edf(tmp_path / "sub-01_task-x_emg.bdf", sim.data, sim.ch_names, sim.sfreq,
                     fmt="bdf", stim=sim.status())
    onsets = np.round(sim.events["onset"].to_numpy() * sim.sfreq).astype(int)
    gaps = (onsets[:-1] + onsets[1:]) // 2
    set_status(path, [gaps[0]], 3)
    set_status(path, [gaps[1], gaps[1] + 1], 1)
    set_status(path, range(gaps[2], gaps[2] + 3), 2)
    return path


def test_glitches_are_ignored_counted_and_recorded(sim, glitchy, caplog):
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        res = process_recording(glitchy, _config(), quality=False)
    assert res.events["onset_s"].tolist() == pytest.approx(sim.events["onset"].tolist())
    assert res.events["code"].tolist() == [str(v) for v in sim.events["value"]]
    assert ("(trigger channel, mask 0xffff, idle level 0): 3 trigger value(s) held shorter "
            "than events.min_duration = 0.005 s (5 samples) were ignored as glitches (1 ×1, "
            "2 ×1, 3 ×1)") in caplog.text
    assert res.events.attrs["short_codes"] == {"count": 3, "min_duration_s": 0.005,
                                               "min_samples": 5,
                                               "codes": {"1": 1, "2": 1, "3": 1}}
    kept = process_recording(glitchy, _config(min_duration=0), quality=False)
    assert len(kept.events) == len(sim.events) + 3  # what every run did before


def test_min_duration_below_one_sample_is_a_config_error(glitchy):
    with pytest.raises(ConfigError, match=r"events.min_duration \(0.0005 s, in the config\) is "
                                          r"shorter than one sample \(0.001 s at 1000 Hz in "
                                          r".*sub-01_task-x_emg.bdf.*use at least 0.001 s or 0"):
        process_recording(glitchy, _config(min_duration=0.0005), quality=False)


def test_event_log_row_duplicated_a_microsecond_later(sim, glitchy, caplog):
    log = glitchy.with_name("sub-01_task-x_events.tsv")
    rows = [f"{o:.6f}\t4\t{c}" for o, c in zip(sim.events["onset"], sim.events["value"])]
    twice = f"{sim.events['onset'].iloc[2] + 1e-6:.6f}\t4\t{sim.events['value'].iloc[2]}"
    log.write_text("onset\tduration\ttrial_type\n" + "\n".join(rows[:3] + [twice] + rows[3:])
                   + "\n")
    cfg = _config(source="events.tsv")
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        res = process_recording(glitchy, cfg, quality=False)
    assert len(res.events) == len(sim.events) and res.events.attrs["merged"]["count"] == 1
    assert "were merged into it" in caplog.text
    other = 1 + sim.events["value"].iloc[2] % 4
    log.write_text(log.read_text().replace(twice, twice.rsplit("\t", 1)[0] + f"\t{other}"))
    with pytest.raises(EventError, match=rf"line 5 \(onset .* code '{other}'\) starts 0.001 ms "
                                         rf"after line 4"):
        process_recording(glitchy, cfg, quality=False)


def test_run_json_records_what_event_finding_ignored(sim, glitchy, tmp_path):
    from emgkit.study.run import run_study

    study = glitchy.parent
    (study / "participants.tsv").write_text("participant_id\tgroup\nsub-01\ta\n")
    toml = study / "study.toml"
    toml.write_text('[study]\nparticipants = "participants.tsv"\nrecordings = '
                    '"{participant_id}_task-x_emg.bdf"\n[channels]\ncorrugator = "EXG1-EXG2"\n'
                    '[events]\n[events.conditions]\n"1" = "happy"\n"2" = "angry"\n'
                    '"3" = "sad"\n"4" = "neutral"\n[epochs]\ntmin = -1.0\ntmax = 4.0\n'
                    '[preprocess]\nband = [20.0, 400.0]\nnotch = 50\n')
    out = tmp_path / "out"
    run_study(toml, out, reports=False, group_step=False)
    expected = {"short_codes": {"count": 3, "min_duration_s": 0.005, "min_samples": 5,
                                "codes": {"1": 1, "2": 1, "3": 1}}}
    record = json.loads((out / "run.json").read_text())
    assert record["events_ignored"] == {"sub-01": expected}
    assert record["participants"]["sub-01"]["events_ignored"] == expected
    done = json.loads((out / "sub-01" / "done.json").read_text())
    assert done["events_ignored"] == expected
    run_study(toml, out, reports=False, group_step=False)  # resumed: still recorded
    record = json.loads((out / "run.json").read_text())
    assert record["participants"]["sub-01"]["status"] == "skipped"
    assert record["events_ignored"] == {"sub-01": expected}
