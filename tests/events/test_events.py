import logging

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


def test_map_events_shift_interval_and_extra_columns(caplog):
    found = pd.DataFrame({"onset": [1.0, 1.2, 5.0, 9.0], "code": ["1", "1", "2", "7"],
                          "stimulus_id": ["a", "a", "b", "c"]})
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        ev = map_events(found, {"1": "happy", "2": "angry"}, shift={"happy": 0.5},
                        min_interval=0.5)
    assert "1 event(s) closer than events.min_interval = 0.5 s" in caplog.text
    assert "codes seen but not mapped to a condition: '7'" in caplog.text
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


# -- issue 25: trigger glitches and events logged twice ------------------------------------

def test_trigger_codes_held_shorter_than_min_samples_are_ignored():
    stim = np.zeros(400, dtype=np.int64)
    stim[10:60] = 1          # a real trigger
    stim[100:102] = 5        # 2-sample glitch: used to be an extra trial
    stim[150:200] = 2
    stim[170] = 0            # 1-sample dip inside a held code: used to re-trigger code 2
    stim[250] = 1            # 1 sample of an intermediate value while the lines switch ...
    stim[251:300] = 3        # ... to 3: the event starts at the first change
    stim[350:353] = 4        # 3 samples up to the end of the lines' activity
    status = stim | (0x98 << 16)
    samples, codes, _ = stim_events(status, 0xFFFF)
    assert codes.tolist() == [1, 5, 2, 2, 1, 3, 4]  # every change counts by default
    short = {}
    samples, codes, idle = stim_events(status, 0xFFFF, min_samples=5, short=short)
    assert samples.tolist() == [10, 150, 250] and codes.tolist() == [1, 2, 3] and idle == 0
    assert short == {5: 1, 0: 1, 1: 1, 4: 1}
    samples, codes, _ = stim_events(np.full(20, 7), 0xFF, min_samples=5)
    assert samples.tolist() == [] and codes.tolist() == []
    _, codes, _ = stim_events(np.r_[np.zeros(10, int), 1, 2, 0, 0], 0xFF, min_samples=3)
    assert codes.tolist() == []  # nothing but glitches


def _log(tmp_path, rows):
    p = tmp_path / "events.tsv"
    p.write_text("onset\tduration\ttrial_type\n"
                 + "".join(f"{o}\t4\t{c}\n" for o, c in rows))
    return read_events_tsv(p)


def test_event_logged_twice_a_microsecond_apart_is_merged_with_a_warning(tmp_path, caplog):
    found = _log(tmp_path, [(1.0, "happy"), (8.0, "angry"), (8.000001, "angry"),
                            (15.0, "happy")])
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        ev = map_events(found, {"happy": "happy", "angry": "angry"}, min_interval=0.05,
                        source="events.tsv", first_line=2)
    assert ev["onset_s"].tolist() == [1.0, 8.0, 15.0] and ev["trial"].tolist() == [1, 2, 3]
    assert ev.attrs["merged"] == {"count": 1, "min_interval_s": 0.05,
                                  "pairs": [[8.0, 8.000001, "angry"]]}
    assert ("events.tsv: 1 event(s) closer than events.min_interval = 0.05 s to an event "
            "with the same code were merged into it (8 s into 8 s ('angry'))") in caplog.text
    # min_interval = 0: the duplicate is a trial of its own (what happened before)
    assert len(map_events(found, {"happy": "happy", "angry": "angry"}, min_interval=0)) == 4


def test_close_events_with_different_codes_are_an_error_naming_both(tmp_path):
    found = _log(tmp_path, [(1.0, "happy"), (8.0, "angry"), (8.01, "happy")])
    with pytest.raises(EventError, match=r"events.tsv: line 4 \(onset 8.01 s, code 'happy'\) "
                                         r"starts 10 ms after line 3 \(onset 8 s, code "
                                         r"'angry'\), closer than events.min_interval = 0.05 s"):
        map_events(found, {"happy": "happy", "angry": "angry"}, min_interval=0.05,
                   source="events.tsv", first_line=2)
    ev = map_events(found, {"happy": "happy", "angry": "angry"}, min_interval=0.005)
    assert len(ev) == 3 and "merged" not in ev.attrs
