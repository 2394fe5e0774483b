"""Non-EDF inputs (CSV/TSV, AcqKnowledge text and .acq), analog pulse events and channels
that already hold an envelope — each checked against the same simulated recording read
from a BDF file, or against bioread directly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emgkit.config import config_from_dict
from emgkit.errors import ConfigError, EventError, ReadError
from emgkit.events.pulses import analog_events
from emgkit.io.text import read_acq_text, read_delimited
from emgkit.io.write import write_edf
from emgkit.pipeline import process_recording
from emgkit.sim.recording import SimParams, simulate_recording

DATA = Path(__file__).resolve().parents[1] / "data"
CHANNELS = {"corrugator": "EXG1-EXG2", "zygomaticus": "EXG3-EXG4", "depressor": "EXG5-EXG6"}
CODES = {"1": "happy", "2": "angry", "3": "sad", "4": "neutral"}
EPOCHS = {"tmin": -1.0, "tmax": 4.0, "baseline": [-1.0, 0.0], "response": [0.5, 3.0]}


@pytest.fixture(scope="module")
def sim_pair(tmp_path_factory):
    """One simulated recording as BDF (Status trigger) and as CSV (mV, time column, a
    0-5 V coded pulse channel)."""
    out = tmp_path_factory.mktemp("pair")
    sim = simulate_recording(SimParams(sfreq=1000.0, n_trials=4, n_artefacts=0), seed=3)
    bdf = write_edf(out / "rec.bdf", sim.data, sim.ch_names, sim.sfreq, fmt="bdf",
                    stim=sim.trigger | (0x98 << 16))
    # what the BDF holds after 24-bit quantisation, so both files carry the same numbers
    from emgkit.io.edf import calibration_uv, read_header
    from emgkit.io.edf_records import read_digital

    header = read_header(bdf)
    volts = np.stack([read_digital(header, c) * calibration_uv(header, c)[0]
                      + calibration_uv(header, c)[1] for c in sim.ch_names]) / 1000.0
    pulse = np.zeros(sim.data.shape[1])
    for onset, code in zip(sim.events["onset"], sim.events["value"]):
        a = int(round(onset * sim.sfreq))
        pulse[a:a + 10] = float(code)  # code in V for 10 ms
    table = pd.DataFrame(volts.T, columns=sim.ch_names)
    table.insert(0, "time", np.arange(sim.data.shape[1]) / sim.sfreq)
    table["trig"] = pulse
    csv = out / "rec.csv"
    table.to_csv(csv, index=False, float_format="%.9g")
    return sim, bdf, csv


def _config(**sections):
    base = {"channels": CHANNELS, "events": {"conditions": CODES}, "epochs": EPOCHS,
            "reject": {"threshold": 0}, "preprocess": {"band": [20.0, 450.0]}}
    for key, val in sections.items():
        base[key] = base.get(key, {}) | val if isinstance(val, dict) else val
    return config_from_dict(base)


def test_csv_with_level_coded_pulses_equals_bdf_with_status(sim_pair):
    sim, bdf, csv = sim_pair
    ref = process_recording(bdf, _config(), participant_id="p")
    cfg = _config(input={"units": "mV", "time_column": "time"},
                  events={"source": "analog", "analog_channels": ["trig"],
                          "analog_mode": "level", "min_interval": 1.0})
    res = process_recording(csv, cfg, participant_id="p")
    assert res.sfreq == pytest.approx(1000.0)
    pd.testing.assert_series_equal(res.trials["condition"], ref.trials["condition"])
    np.testing.assert_allclose(res.events["onset_s"], ref.events["onset_s"], atol=1e-9)
    np.testing.assert_allclose(res.trials["score"], ref.trials["score"], rtol=1e-6)


def test_processed_envelope_channel_is_taken_as_is(sim_pair, tmp_path):
    sim, bdf, _ = sim_pair
    ref = process_recording(bdf, _config(), participant_id="p", keep_continuous=True)
    env = ref.envelope  # µV, what the acquisition software would have exported
    stim = sim.trigger.astype(float)
    table = pd.DataFrame({"corr_env": env[0], "zyg_env": env[1], "dep_env": env[2],
                          "status": stim})
    path = tmp_path / "export.tsv"
    table.to_csv(path, sep="\t", index=False, float_format="%.12g")
    cfg = _config(input={"sfreq": 1000.0, "units": "uV"},
                  channels={"corrugator": "corr_env", "zygomaticus": "zyg_env",
                            "depressor": "dep_env"},
                  preprocess={"processed": ["corrugator", "zygomaticus", "depressor"],
                              "band": [20.0, 450.0]},
                  events={"stim_channel": "status"})
    res = process_recording(path, cfg, participant_id="p", keep_continuous=True)
    np.testing.assert_allclose(res.envelope, env, rtol=1e-10)
    np.testing.assert_allclose(res.trials["score"], ref.trials["score"], rtol=1e-9)
    assert res.quality["summary"]["snr_db"].isna().all()


def test_acq_file_through_bioread(tmp_path):
    import bioread

    path = DATA / "r42_test.acq"
    cfg = config_from_dict({
        "channels": {"emg": "EMG (30 - 500 Hz)"},
        "preprocess": {"band": [20.0, 450.0]},
        "events": {"source": "annotations", "conditions": {"Segment 2": "segment"}},
        "epochs": {"tmin": -1.0, "tmax": 3.0, "baseline": [-1.0, 0.0],
                   "response": [0.5, 2.0], "bin": 0.5}})
    res = process_recording(path, cfg, participant_id="r42")
    ref = bioread.read_file(str(path))
    assert res.sfreq == 1000.0 and res.duration == pytest.approx(7.901)
    assert res.events["onset_s"].tolist() == pytest.approx([3.881])
    emg = np.asarray(ref.channels[1].data, float) * 1000.0  # mV -> µV
    np.testing.assert_allclose(res.quality["excerpt_raw"][0],
                               emg[np.round(res.quality["excerpt_times"] * 1000).astype(int)])


def test_bad_acq_file_is_a_clear_error(tmp_path):
    from emgkit.io.acq import read_acq

    bad = tmp_path / "cut.acq"
    bad.write_bytes((DATA / "r42_test.acq").read_bytes()[:3000])
    with pytest.raises(ReadError, match="cut.acq: bioread could not read"):
        read_acq(bad)


def test_text_reader_errors(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n3,oops\n")
    with pytest.raises(ReadError, match=r"line 3, column 'b': value 'oops' is not a number"):
        read_delimited(p, sfreq=100.0)
    with pytest.raises(ConfigError, match="sampling rate is unknown"):
        read_delimited(p)
    p.write_text("t,a\n0,1\n0.01,2\n0.03,3\n")
    with pytest.raises(ReadError, match="not evenly spaced"):
        read_delimited(p, time_column="t")
    q = tmp_path / "noheader.txt"
    q.write_text("1\t2\t\n3\t4\t\n")
    with pytest.raises(ConfigError, match="give input.sfreq"):
        read_acq_text(q)
    sig = read_acq_text(q, sfreq=10.0, columns=["a", "b"], units={"a": "mV"})
    assert sig.units == ["mV", ""] and sig.data.tolist() == [[1, 3], [2, 4]]
    with pytest.raises(ReadError, match="2 columns but 3 channel names"):
        read_acq_text(q, sfreq=10.0, columns=["a", "b", "c"])
    with pytest.raises(ConfigError, match="'b' has unit '\\(none\\)'.*input.units"):
        sig.microvolts("b")


def test_pulse_edges_bits_and_thresholds():
    sfreq = 100.0
    a = np.zeros(1000)
    a[100:110] = 5.0
    a[500:510] = 5.0
    rising = analog_events({"a": a}, sfreq)
    falling = analog_events({"a": a}, sfreq, edge="falling")
    assert rising["onset"].tolist() == [1.0, 5.0] and falling["onset"].tolist() == [1.1, 5.1]
    assert analog_events({"a": np.zeros(100)}, sfreq).empty  # no pulses, no events
    b0, b1 = np.zeros(1000), np.zeros(1000)
    b0[300:320] = 5
    b1[301:320] = 5  # a line switching one sample late does not create a code 1 event
    bits = analog_events({"b0": b0, "b1": b1}, sfreq, mode="bits", threshold=2.5)
    assert bits["code"].tolist() == ["3"] and bits["onset"].tolist() == [3.0]
    level = np.zeros(1000)
    level[200:210], level[600:610] = 2.0, 4.0
    lv = analog_events({"x": level}, sfreq, mode="level", level_step=2.0)
    assert lv["code"].tolist() == ["1", "2"]
    with pytest.raises(ConfigError, match="reads one channel"):
        analog_events({"x": level, "y": level}, sfreq, mode="level")


def test_analog_config_validation():
    with pytest.raises(ConfigError, match="events.analog_channels is required"):
        config_from_dict({"channels": {"m": "a"}, "events": {"source": "analog",
                                                            "conditions": {"a": "x"}}})
    with pytest.raises(ConfigError, match="events.edge='up' is not allowed"):
        config_from_dict({"channels": {"m": "a"}, "events": {
            "source": "analog", "analog_channels": ["t"], "edge": "up",
            "conditions": {"t": "x"}}})
    with pytest.raises(ConfigError, match="preprocess.processed must list muscles"):
        config_from_dict({"channels": {"m": "a"}, "events": {"conditions": {"1": "x"}},
                          "preprocess": {"processed": ["zygomaticus"]}})
    with pytest.raises(ConfigError, match="input.format='xls' is not allowed"):
        config_from_dict({"channels": {"m": "a"}, "events": {"conditions": {"1": "x"}},
                          "input": {"format": "xls"}})
    with pytest.raises(ConfigError, match="Unknown config key 'input.rate'"):
        config_from_dict({"channels": {"m": "a"}, "events": {"conditions": {"1": "x"}},
                          "input": {"rate": 100}})


def test_missing_analog_channel_names_the_file(sim_pair):
    _, bdf, csv = sim_pair
    cfg = _config(input={"units": "mV", "time_column": "time"},
                  events={"source": "analog", "analog_channels": ["nope"]})
    for path in (csv, bdf):
        with pytest.raises((ReadError, EventError), match=r"'nope' not found in .*rec\."):
            process_recording(path, cfg)
