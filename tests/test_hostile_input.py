"""Malformed headers, events and configs give clear errors or rejected trials with reasons,
never silent wrong numbers (on the numpy and the MNE reading path)."""

import logging
import shutil

import numpy as np
import pytest

from emgkit.config import config_from_dict, load_config
from emgkit.errors import ConfigError, EventError, ReadError
from emgkit.io.edf import read_header
from emgkit.pipeline import process_recording
from emgkit.sim.recording import SimParams
from emgkit.sim.study import simulate_study

ENGINES = ["numpy", "mne"]


@pytest.fixture(scope="module")
def one(tmp_path_factory):
    root = tmp_path_factory.mktemp("one")
    simulate_study(root, 1, seed=2, sfreq=256.0, params=SimParams(sfreq=256.0, n_trials=2))
    return root


@pytest.fixture
def rec(one, tmp_path):
    dst = tmp_path / "study"
    shutil.copytree(one, dst)
    return dst / "sub-01" / "emg" / "sub-01_task-mimicry_emg.bdf"


@pytest.fixture(scope="module")
def reference(one):
    path = one / "sub-01" / "emg" / "sub-01_task-mimicry_emg.bdf"
    return process_recording(path, one / "study.toml", quality=False).trials


def cfg(rec):
    return load_config(rec.parents[2] / "study.toml")


def patch_field(path, label, offset, value):
    """Overwrite one 8-byte signal-header field (offset in units of ns: 96 units, 104
    physical min, 112 physical max, 120 digital min, 128 digital max, 216 samples/record)."""
    h = read_header(path)
    ns, k = len(h.labels), h.labels.index(label)
    raw = bytearray(path.read_bytes())
    pos = 256 + offset * ns + 8 * k
    raw[pos:pos + 8] = value.encode("latin-1").ljust(8)[:8]
    path.write_bytes(bytes(raw))


def zero_channel(path, label):
    h = read_header(path)
    k = h.labels.index(label)
    raw = bytearray(path.read_bytes())
    start = sum(h.spr[:k]) * 3
    for r in range(h.n_records):
        pos = h.header_bytes + r * h.record_bytes + start
        raw[pos:pos + h.spr[k] * 3] = bytes(h.spr[k] * 3)
    path.write_bytes(bytes(raw))


# -- 9. headers ------------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("offset, value, match", [
    (128, None, "digital minimum = maximum"),
    (112, None, "physical minimum = maximum"),
    (96, "", "physical dimension ''"),
    (96, "furlong", "physical dimension 'furlong'"),
])
def test_bad_signal_header_fields(rec, engine, offset, value, match):
    h = read_header(rec)
    k = h.labels.index("EXG3")
    if value is None:  # make max equal min
        v = (h.digital_min if offset == 128 else h.physical_min)[k]
        value = f"{v:.0f}" if v == int(v) else repr(v)[:8]
    patch_field(rec, "EXG3", offset, value)
    with pytest.raises(ReadError, match=match) as err:
        process_recording(rec, cfg(rec), engine=engine, quality=False)
    assert str(rec) in str(err.value) and "EXG3" in str(err.value)


def test_samples_per_record_that_do_not_fit(rec):
    patch_field(rec, "EXG1", 216, "0")
    with pytest.raises(ReadError, match="complete records|samples per data record"):
        process_recording(rec, cfg(rec), quality=False)


@pytest.mark.parametrize("engine", ENGINES)
def test_units_override_and_spelled_units(rec, reference, engine):
    """Blank units + [input] units = "uV" give the original numbers; a file in mV gives
    1000× on both reading paths (MNE's own scaling is undone correctly)."""
    for lab in ("EXG1", "EXG2", "EXG3", "EXG4", "EXG5", "EXG6"):
        patch_field(rec, lab, 96, "")
    c = cfg(rec)
    with pytest.raises(ReadError, match=r"set \[input\] units"):
        process_recording(rec, c, engine=engine, quality=False)
    d = config_from_dict({**_raw(c), "input": {"units": "uV"}})
    got = process_recording(rec, d, engine=engine, quality=False).trials
    np.testing.assert_allclose(got["baseline"], reference["baseline"], rtol=1e-9)
    for lab in ("EXG1", "EXG2", "EXG3", "EXG4", "EXG5", "EXG6"):
        patch_field(rec, lab, 96, "mV")
    got = process_recording(rec, c, engine=engine, quality=False).trials
    np.testing.assert_allclose(got["baseline"], 1000 * reference["baseline"], rtol=1e-9)


def _raw(config):
    """The config's TOML document as a dict (for variations)."""
    from emgkit.config.load import tomllib

    return tomllib.loads(config.path.read_text())


def _variant(rec, **sections):
    d = _raw(cfg(rec))
    for name, values in sections.items():
        d.setdefault(name, {}).update(values)
    return config_from_dict(d, path=cfg(rec).path)


def test_version_byte_must_match_suffix(rec, tmp_path):
    raw = bytearray(rec.read_bytes())
    renamed = tmp_path / "x.edf"
    renamed.write_bytes(bytes(raw))
    with pytest.raises(ReadError, match="named .edf but its version field says BDF"):
        read_header(renamed)
    raw[0:8] = b"0       "
    rec.write_bytes(bytes(raw))
    with pytest.raises(ReadError, match="named .bdf but its version field says EDF"):
        process_recording(rec, cfg(rec), quality=False)


def test_data_size_must_match_header(rec, reference, caplog):
    h = read_header(rec)
    original = rec.read_bytes()
    rec.write_bytes(original + bytes(h.record_bytes))  # one whole undeclared record
    with pytest.raises(ReadError, match="1 complete records|complete records; the header"):
        process_recording(rec, cfg(rec), quality=False)
    rec.write_bytes(original + bytes(h.record_bytes // 2))  # a partial last record
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        got = process_recording(rec, cfg(rec), quality=False).trials
    assert "partial record" in caplog.text
    np.testing.assert_array_equal(got["score"], reference["score"])
    rec.write_bytes(original[:-10])
    with pytest.raises(ReadError, match="truncated"):
        process_recording(rec, cfg(rec), quality=False)


# -- 10. events and channels -----------------------------------------------------------------

def events_file(rec):
    return rec.with_name("sub-01_task-mimicry_events.tsv")


def test_non_finite_and_duplicated_events(rec):
    ev = events_file(rec)
    text = ev.read_text().splitlines()
    c = _variant(rec, events={"source": "events.tsv"})
    ev.write_text("\n".join(text + ["inf\t4.0\thappy\t1\t99"]) + "\n")
    with pytest.raises(EventError, match="not a finite number"):
        process_recording(rec, c, quality=False)
    ev.write_text("\n".join(text + [text[1]]) + "\n")
    with pytest.raises(EventError, match="share an onset"):
        process_recording(rec, c, quality=False)


def test_events_outside_the_recording_are_rejected_with_reason(rec):
    ev = events_file(rec)
    lines = ev.read_text().splitlines()
    lines += ["-50\t4.0\thappy\t1\t97", "1e300\t4.0\tangry\t2\t98",
              "-1e300\t4.0\tsad\t3\t99", "100000\t4.0\tsad\t3\t100"]
    ev.write_text("\n".join(lines) + "\n")
    trials = process_recording(rec, _variant(rec, events={"source": "events.tsv"}),
                               quality=False).trials
    far = trials[(trials["onset_s"] < 0) | (trials["onset_s"] > 1000)]
    assert len(far) == 4 * 3
    assert far["rejected"].all() and (far["reject_reason"] == "outside_recording").all()
    kept = trials[~trials["rejected"]]
    assert len(kept) and np.isfinite(kept["score"]).all()


@pytest.mark.parametrize("spec, match", [("EXG1-EXG1", "of one electrode"),
                                         ("Status", "trigger channel")])
def test_impossible_muscle_channels(rec, spec, match):
    with pytest.raises(ReadError, match=match):
        process_recording(rec, _variant(rec, channels={"corrugator": spec}), quality=False)


@pytest.mark.parametrize("flat", [0.0, 0.1])
def test_channel_at_zero_is_never_a_kept_score(rec, flat):
    zero_channel(rec, "EXG1")
    zero_channel(rec, "EXG2")
    trials = process_recording(rec, _variant(rec, reject={"flat": flat}),
                               quality=False).trials
    corr = trials[trials["muscle"] == "corrugator"]
    assert corr["rejected"].all()
    assert set(corr["reject_reason"]) == ({"invalid_score"} if flat == 0 else {"flat"})
    kept = trials[~trials["rejected"]]
    assert np.isfinite(kept["score"]).all() and len(kept)


# -- 11. configs that make no sense ----------------------------------------------------------

@pytest.mark.parametrize("section, values, match", [
    ("epochs", {"bin": 10.0}, "longer than the epoch"),
    ("epochs", {"tmin": -1e9, "baseline": [-1e9, 0.0]}, "epoch of"),
    ("preprocess", {"smooth": 30.0}, "longer than the epoch"),
    ("channels", {"../x": "EXG1"}, "muscle name"),
    ("events", {"conditions": {"1": "happy/../x"}}, "condition name"),
])
def test_nonsense_configs(rec, section, values, match):
    with pytest.raises(ConfigError, match=match):
        _variant(rec, **{section: values})


@pytest.mark.parametrize("section, values, match", [
    ("epochs", {"bin": 0.001}, "epochs.bin .* shorter than one sample"),
    ("epochs", {"response": [0.5, 0.501]}, "epochs.response .* shorter than one sample"),
    ("preprocess", {"smooth": 0.001}, "preprocess.smooth .* shorter than one sample"),
])
def test_windows_shorter_than_a_sample(rec, section, values, match):
    with pytest.raises(ConfigError, match=match):
        process_recording(rec, _variant(rec, **{section: values}), quality=False)


def test_simulator_never_defaults_or_replaces_the_rate(tmp_path):
    with pytest.raises(ConfigError, match="never assumes a sampling rate"):
        simulate_study(tmp_path / "a", 1)
    with pytest.raises(ConfigError, match="disagrees"):
        simulate_study(tmp_path / "b", 1, sfreq=2048.0, params=SimParams(sfreq=256.0))
    simulate_study(tmp_path / "c", 1, params=SimParams(sfreq=256.0, n_trials=1))
    assert read_header(tmp_path / "c" / "sub-01" / "emg" / "sub-01_task-mimicry_emg.bdf"
                       ).sfreq("EXG1") == 256.0
