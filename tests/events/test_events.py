import numpy as np
import pandas as pd
import pytest

from emgkit.errors import EventError
from emgkit.events import find_stim_channel, map_events, read_events_tsv, stim_events


def test_status_high_bits_are_masked():
    stim = np.zeros(100, dtype=np.int64)
    stim[10:13] = 1
    stim[40:43] = 2
    stim[70:71] = 1
    status = stim | (0x98 << 16)          # MK2 + CMS-in-range + speed bit
    status[50:] |= 1 << 16                # "new epoch" bit toggles: not an event
    samples, codes, idle = stim_events(status, 0xFFFF)
    assert samples.tolist() == [10, 40, 70] and codes.tolist() == [1, 2, 1] and idle == 0
    # without the mask, the high bits hide the codes
    samples, codes, _ = stim_events(status, 0xFFFFFF)
    assert 1 not in codes.tolist()


def test_idle_255_events_are_changes():
    stim = np.full(60, 255)
    stim[5:8] = 254
    stim[20:25] = 1
    stim[25:27] = 2      # direct change from one code to another is an event too
    samples, codes, idle = stim_events(stim, 0xFF)
    assert idle == 255
    assert samples.tolist() == [5, 20, 25] and codes.tolist() == [254, 1, 2]
    # 8-bit port on 16 lines with high byte set: mask 0xFF keeps the port only
    samples, codes, _ = stim_events(stim | 0xFC00, 0xFF)
    assert codes.tolist() == [254, 1, 2]


def test_map_events_shift_interval_and_extra_columns():
    found = pd.DataFrame({"onset": [1.0, 1.2, 5.0, 9.0], "code": ["1", "1", "2", "7"],
                          "stimulus_id": ["a", "a", "b", "c"]})
    ev = map_events(found, {"1": "happy", "2": "angry"}, shift={"happy": 0.5},
                    min_interval=0.5)
    assert ev["condition"].tolist() == ["happy", "angry"]
    assert ev["onset_s"].tolist() == [1.5, 5.0]
    assert ev["trial"].tolist() == [1, 2]
    assert ev["stimulus_id"].tolist() == ["a", "b"]


def test_no_events_error_lists_codes_seen():
    found = pd.DataFrame({"onset": [1.0, 2.0, 3.0], "code": ["7", "7", "9"]})
    with pytest.raises(EventError, match=r"Codes seen: '7' ×2, '9' ×1"):
        map_events(found, {"1": "happy"}, source="x.bdf")
    with pytest.raises(EventError, match="Codes seen: none"):
        map_events(pd.DataFrame({"onset": [], "code": []}), {"1": "happy"})


def test_read_events_tsv(tmp_path):
    p = tmp_path / "ev.tsv"
    p.write_text("onset\tduration\ttrial_type\trating\n1.5\t4\thappy\t3\n8.0\t4\tangry\tn/a\n")
    df = read_events_tsv(p)
    assert df["onset"].tolist() == [1.5, 8.0] and df["code"].tolist() == ["happy", "angry"]
    assert df["rating"].iloc[0] == 3 and np.isnan(df["rating"].iloc[1])
    p.write_text("time\ttrial_type\n1\thappy\n")
    with pytest.raises(EventError, match="lacks column"):
        read_events_tsv(p)
    p.write_text("onset\ttrial_type\nsoon\thappy\n")
    with pytest.raises(EventError, match="'soon' is not a finite number"):
        read_events_tsv(p)
    with pytest.raises(EventError, match="does not exist"):
        read_events_tsv(tmp_path / "missing.tsv")


def test_find_stim_channel():
    assert find_stim_channel(["EXG1", "STATUS"]) == "STATUS"
    assert find_stim_channel(["EXG1", "tRigGer"]) == "tRigGer"
    assert find_stim_channel(["A", "B"], ["emg", "stim"]) == "B"
    with pytest.raises(EventError, match="No trigger channel"):
        find_stim_channel(["EXG1"], ["eeg"])
    with pytest.raises(EventError, match="'Marker' not found"):
        find_stim_channel(["EXG1"], name="Marker")
