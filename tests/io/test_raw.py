import mne
import numpy as np
import pytest
from conftest import REAL, recording_of

from emgkit.errors import ReadError
from emgkit.io.raw import describe, read_raw
from emgkit.io.write import write_edf


@pytest.mark.parametrize("fmt", ["bdf", "edf"])
@pytest.mark.parametrize("sfreq", [512.0, 1000.0, 2048.0])
def test_writer_round_trip_through_mne(tmp_path, fmt, sfreq):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 50, (2, int(3 * sfreq)))
    stim = np.zeros(x.shape[1], np.int64)
    stim[100:110] = 3
    if fmt == "bdf":
        stim |= 0x98 << 16
    ann = [(0.5, 0.0, "happy"), (1.25, 0.5, "ängstlich")]
    path = write_edf(tmp_path / f"r.{fmt}", x, ["EXG1", "EXG2"], sfreq, fmt=fmt, stim=stim,
                     annotations=ann)
    raw = read_raw(path)
    assert raw.info["sfreq"] == sfreq and raw.n_times == x.shape[1]
    res = 2 * 262144 / 2 ** 24 if fmt == "bdf" else 2 * np.ceil(np.abs(x).max() + 1) / 2 ** 16
    np.testing.assert_allclose(raw.get_data(picks=["EXG1", "EXG2"]) * 1e6, x, atol=res)
    assert raw.annotations.description.tolist() == ["happy", "ängstlich"]
    np.testing.assert_allclose(raw.annotations.onset, [0.5, 1.25])
    d = describe(raw)
    assert d["channels"][0]["unit"] in ("uV", "µV") and d["annotations"]["happy"] == 1


def test_only_requested_channels_are_loaded(bdf_study):
    raw = read_raw(recording_of(bdf_study), channels=["EXG3", "Status"])
    assert raw.ch_names == ["EXG3", "Status"]
    assert raw.get_data().shape[0] == 2


def test_truncated_file_is_a_clear_error(bdf_study, tmp_path):
    src = recording_of(bdf_study).read_bytes()
    bad = tmp_path / "sub-01_cut.bdf"
    bad.write_bytes(src[: len(src) - 5000])
    with pytest.raises(ReadError, match=r"sub-01_cut.bdf: truncated: the header declares "
                                        r"\d+ data records"):
        read_raw(bad)
    bad.write_bytes(src[:100])
    with pytest.raises(ReadError, match="only 100 bytes"):
        read_raw(bad)
    garbage = tmp_path / "x.edf"
    garbage.write_bytes(b"hello" * 100)
    with pytest.raises(ReadError, match="not an EDF/BDF file"):
        read_raw(garbage)
    garbage.write_bytes(b"0" + b"hello" * 100)
    with pytest.raises(ReadError, match="not numbers"):
        read_raw(garbage)


def test_missing_and_unsupported(tmp_path):
    with pytest.raises(ReadError, match="does not exist"):
        read_raw(tmp_path / "nope.bdf")
    p = tmp_path / "rec.set"
    p.write_text("x")
    with pytest.raises(ReadError, match=r"unsupported file type '.set'"):
        read_raw(p)


@pytest.mark.skipif(not (REAL / "mne-python" / "test.bdf").exists(),
                    reason="shared real data absent")
def test_real_biosemi_file():
    raw = read_raw(REAL / "mne-python" / "test.bdf", channels=["EXG1", "EXG5", "Status"])
    assert raw.info["sfreq"] == 2048.0
    from emgkit.events import stim_events

    samples, codes, idle = stim_events(raw.get_data(picks="Status")[0], 0xFFFF)
    assert samples.tolist() == [589] and codes.tolist() == [128] and idle == 0
    ref = mne.io.read_raw_bdf(REAL / "mne-python" / "test.bdf", preload=True, verbose="error")
    np.testing.assert_array_equal(raw.get_data(picks="EXG1"), ref.get_data(picks="EXG1"))


@pytest.mark.skipif(not (REAL / "bdf-jl" / "Newtest17-256.bdf").exists(),
                    reason="shared real data absent")
def test_real_biosemi_idle_255():
    from emgkit.events import stim_events

    raw = read_raw(REAL / "bdf-jl" / "Newtest17-256.bdf", channels=["Status"])
    samples, codes, idle = stim_events(raw.get_data()[0], 0xFF)
    assert idle == 255 and len(samples) == 40 and set(codes.tolist()) == {254}
