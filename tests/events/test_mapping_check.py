"""Codes seen but not mapped, and mapped codes never seen, are warned about with counts."""

from __future__ import annotations

import logging

import pandas as pd

from emgkit.events.logs import map_events


def test_unmapped_and_absent_codes_are_reported(caplog):
    found = pd.DataFrame({"onset": [1.0, 2.0, 3.0, 4.0, 5.0],
                          "code": ["1", "2", "9", "9", "255"]})
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        ev = map_events(found, {"1": "happy", "2": "angry", "3": "sad"}, source="rec.bdf")
    assert list(ev["condition"]) == ["happy", "angry"]
    assert ev.attrs["mapping"] == {"unmapped": {"9": 2, "255": 1}, "absent": {"3": "sad"}}
    assert "rec.bdf: codes seen but not mapped to a condition: '9' ×2, '255' ×1; mapped " \
           "codes never seen: '3' (sad)" in caplog.text


def test_a_complete_mapping_says_nothing(caplog):
    found = pd.DataFrame({"onset": [1.0, 2.0], "code": ["1", "2"]})
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        ev = map_events(found, {"1": "happy", "2": "angry"})
    assert ev.attrs["mapping"] == {} and caplog.text == ""
