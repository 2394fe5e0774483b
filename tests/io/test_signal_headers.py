"""Header fields and annotations that used to give silently wrong numbers or lost events:
each is now a ReadError (or a ConfigError for settings) naming the file, the signal and the
header field, on the numpy and the MNE reading path alike (issue 25, item 4)."""

from __future__ import annotations

import numpy as np
import pytest

from emgkit.config import config_from_dict
from emgkit.errors import ConfigError, ReadError
from emgkit.io.edf import read_header
from emgkit.io.load import load_recording
from emgkit.io.write import write_edf
from emgkit.pipeline import process_recording
from emgkit.sim.recording import SimParams, simulate_recording

ENGINES = ["numpy", "mne"]
CHANNELS = {"corrugator": "EXG1-EXG2", "zygomaticus": "EXG3-EXG4"}
CODES = {"1": "happy", "2": "angry", "3": "sad", "4": "neutral"}


@pytest.fixture(scope="module")
def sim():
    return simulate_recording(SimParams(sfreq=512.0, n_trials=2, n_artefacts=0), seed=5)


@pytest.fixture
def bdf(sim, tmp_path):
    return write_edf(tmp_path / "rec.bdf", sim.data, sim.ch_names, sim.sfreq, fmt="bdf",
                     stim=sim.status())


@pytest.fixture
def edf_plus(sim, tmp_path):
    ann = [(float(o), 0.0, str(c)) for o, c in zip(sim.events.onset, sim.events.trial_type)]
    return write_edf(tmp_path / "rec.edf", sim.data, sim.ch_names, sim.sfreq, fmt="edf",
                     annotations=ann, physical_range=3001.0)


def _config(**events):
    ev = {"conditions": CODES} | events
    return config_from_dict({"channels": CHANNELS, "events": ev,
                             "preprocess": {"band": [20.0, 200.0], "notch": 50.0}})


def _patch_signal_field(path, label, offset, value):
    """Overwrite one 8-byte signal-header field (``offset`` in units of ns)."""
    h = read_header(path)
    ns, k = len(h.labels), h.labels.index(label)
    raw = bytearray(path.read_bytes())
    pos = 256 + offset * ns + 8 * k
    raw[pos:pos + 8] = str(value).encode("latin-1").ljust(8)[:8]
    path.write_bytes(bytes(raw))


def _swap_digital_range(path, label):
    h = read_header(path)
    k = h.labels.index(label)
    lo, hi = int(h.digital_min[k]), int(h.digital_max[k])
    _patch_signal_field(path, label, 120, hi)
    _patch_signal_field(path, label, 128, lo)


@pytest.mark.parametrize("engine", ENGINES)
def test_reversed_digital_range_is_a_read_error(bdf, engine):
    _swap_digital_range(bdf, "EXG3")
    with pytest.raises(ReadError, match=r"rec.bdf: signal 3 \('EXG3'\) has digital minimum "
                                        r"8388607 > digital maximum -8388608 in its header; "
                                        r"calibrating with it would invert the signal.*"
                                        r"'digital minimum' and 'digital maximum'"):
        load_recording(bdf, _config(), engine=engine)


def test_reversed_digital_range_of_an_analog_event_channel(sim, tmp_path):
    pulse = np.zeros(sim.data.shape[1])
    for onset, code in zip(sim.events["onset"], sim.events["value"]):
        a = round(onset * sim.sfreq)
        pulse[a:a + 20] = 1000.0 * code
    path = write_edf(tmp_path / "rec.bdf", np.vstack([sim.data, pulse]),
                     sim.ch_names + ["trig"], sim.sfreq, fmt="bdf")
    cfg = _config(source="analog", analog_channels=["trig"], analog_mode="level",
                  level_step=1000.0)
    assert len(load_recording(path, cfg).aux["trig"])  # reads before the damage
    _swap_digital_range(path, "trig")
    for engine in ENGINES:
        with pytest.raises(ReadError, match=r"signal 7 \('trig'\) has digital minimum"):
            load_recording(path, cfg, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_corrupted_annotation_onset_names_the_byte_offset(edf_plus, sim, engine):
    cfg = _config(source="annotations", conditions={c: c for c in CODES.values()})
    n = len(load_recording(edf_plus, cfg, engine=engine).annotations)
    assert n == len(sim.events)
    raw = bytearray(edf_plus.read_bytes())
    onset = float(sim.events.onset.iloc[1])
    tal = f"{onset:+.6f}\x14".encode()
    at = raw.index(tal)
    raw[at + 2:at + 3] = b"x"  # e.g. "+12.5" -> "+1x.5": the event used to vanish
    edf_plus.write_bytes(bytes(raw))
    with pytest.raises(ReadError, match=rf"rec.edf: the annotation at byte offset {at} \(data "
                                        rf"record \d+, signal 7 'EDF Annotations'\) cannot be "
                                        rf"parsed as an EDF\+ TAL"):
        load_recording(edf_plus, cfg, engine=engine)


def test_corrupted_annotation_duration_is_a_read_error(edf_plus, sim):
    raw = bytearray(edf_plus.read_bytes())
    tal = f"{float(sim.events.onset.iloc[0]):+.6f}\x14".encode()
    at = raw.index(tal)
    raw[at + len(tal) - 1:at + len(tal)] = b"\x15"  # a duration field with no number
    edf_plus.write_bytes(bytes(raw))
    from emgkit.io.edf_annotations import read_annotations

    with pytest.raises(ReadError, match=rf"byte offset {at} "):
        read_annotations(read_header(edf_plus))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("field, duration, rate", [("1e6", r"1e\+06", "0.000512"),
                                                   ("1e-6", "1e-06", r"5.12e\+08")])
def test_absurd_record_duration_names_the_header_fields(bdf, engine, field, duration, rate):
    raw = bytearray(bdf.read_bytes())
    raw[244:252] = field.ljust(8).encode()
    bdf.write_bytes(bytes(raw))
    with pytest.raises(ReadError, match=rf"rec.bdf: signal 'EXG1' would be sampled at {rate} Hz "
                                        rf"= 512 samples per data record \(header field 'nr "
                                        rf"of samples' of signal 1, 'EXG1'\) / {duration} s "
                                        rf"record duration \(header field 'duration of a data "
                                        rf"record', bytes 244-251\) in .*rec.bdf"):
        load_recording(bdf, _config(), engine=engine)


def test_wrong_record_duration_names_file_and_fields_not_only_the_config(bdf):
    raw = bytearray(bdf.read_bytes())
    raw[244:252] = b"100     "  # 5.12 Hz: each setting 'too short', the header to blame
    bdf.write_bytes(bytes(raw))
    with pytest.raises(ConfigError, match=r"reject.flat \(0.1 s, in the config\) is "
                                          r"shorter than 10 samples \(1.95312 s at 5.12 Hz "
                                          r"in .*rec.bdf; the rate is 512 samples per data "
                                          r"record .*100 s record duration \(header field "
                                          r"'duration of a data record'"):
        process_recording(bdf, _config(), quality=False)
    raw[244:252] = b"4       "  # 128 Hz: the band's upper edge is above Nyquist
    bdf.write_bytes(bytes(raw))
    with pytest.raises(ConfigError, match=r"\[preprocess\] in the config does not suit 128 Hz "
                                          r"in .*rec.bdf; the rate is 512 samples per data "
                                          r"record.*4 s record duration.*h_freq=200 Hz is at or "
                                          r"above Nyquist"):
        process_recording(bdf, _config(), quality=False)
