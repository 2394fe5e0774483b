"""Property-based robustness: real files with mutated headers, overwritten bytes and cut
data. Every outcome must be a clean read or an emgkit error — never another exception, a
hang, or an allocation driven by a bogus header field (checked with tracemalloc).

2,100 cases in the default run (hypothesis, derandomised so CI is reproducible).
"""

from __future__ import annotations

import logging
import tempfile
import time
import tracemalloc
from pathlib import Path

import pytest
from conftest import REAL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emgkit.config import config_from_dict
from emgkit.errors import EmgkitError

pytestmark = pytest.mark.skipif(not (REAL / "SOURCES.md").exists(),
                                reason="shared real data absent")

EDF_FILES = ["mne-python/test_bdf_stim_channel.bdf", "mne-python/duplicate_channel_labels.edf",
             "mne-python/test_uneven_samp.edf", "edf-jl/test_uneven_samp.edf",
             "bdf-jl/MK2_speedmode0_CMS_not_in_range_battery_charged.bdf",
             "edfio/SC4001EC-Hypnogram.edf", "edfreader/edfAnnonC.edf",
             "edfreader/edfPlusD.edf", "mne-python/test_edf_stim_channel.edf",
             "pyedflib/test_generator_datarec_generator_2.bdf"]
TEXT_FILES = ["countenance/femg_raw_exported_sample.txt"]
# main-header fields (offset, width); signal-header fields are (offset per ns, width)
MAIN_FIELDS = [(0, 8), (168, 8), (176, 8), (184, 8), (192, 44), (236, 8), (244, 8),
               (252, 4)]
SIGNAL_FIELDS = [(0, 16), (96, 8), (104, 8), (112, 8), (120, 8), (128, 8), (216, 8)]
NASTY = ["-1", "0", "1", "-0", "nan", "inf", "-inf", "1e308", "99999999", "-99999999",
         "2.5", "", "        ", "abc", "1e3", "0.0000", "\xff\xfe", "+1", "12345678"]
MAX_SECONDS = 20.0       # per case: a hang, not a slow machine
MAX_BYTES = 256 << 20    # peak Python/numpy allocation per case

_cache = {}


def _blob(name):
    if name not in _cache:
        _cache[name] = (REAL / name).read_bytes()
    return _cache[name]


def _config(first_label):
    return config_from_dict({"channels": {"m": first_label or "x"},
                             "events": {"source": "annotations",
                                        "conditions": {"x": "x"}}})


def _first_label(data):
    try:
        ns = int(data[252:256].decode("ascii").strip())
        return data[256:272].decode("latin-1").strip() if ns > 0 else None
    except (ValueError, UnicodeDecodeError):
        return None


def _exercise(data, suffix, config=None):
    """Inspect and load mutated bytes; only emgkit errors may escape."""
    from emgkit.io.inspect import inspect_recording
    from emgkit.io.load import load_recording

    logging.getLogger("emgkit").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"mutant{suffix}"
        path.write_bytes(data)
        tracemalloc.start()
        t0 = time.perf_counter()
        try:
            for call in (lambda: inspect_recording(path),
                         lambda: load_recording(path, config or _config(_first_label(data)))):
                try:
                    call()
                except EmgkitError as exc:
                    assert str(exc)  # a message that says something
        finally:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert time.perf_counter() - t0 < MAX_SECONDS
        assert peak < MAX_BYTES, f"peak allocation {peak / 2**20:.0f} MB"


SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=800, **SETTINGS)
@given(name=st.sampled_from(EDF_FILES), field=st.integers(0, 10_000),
       value=st.one_of(st.sampled_from(NASTY), st.text(max_size=16),
                       st.integers(-10**9, 10**9).map(str),
                       st.floats(allow_nan=True).map(lambda v: f"{v:g}")))
def test_header_field_mutations(name, field, value):
    data = bytearray(_blob(name))
    ns = int(data[252:256].decode().strip())
    n_main = len(MAIN_FIELDS)
    if field % 2 == 0 or ns < 1:
        off, width = MAIN_FIELDS[field % n_main]
    else:
        per, width = SIGNAL_FIELDS[field % len(SIGNAL_FIELDS)]
        off = 256 + per * ns + width * ((field // 7) % ns)
    raw = value.encode("latin-1", "replace")[:width].ljust(width, b" ")
    data[off:off + width] = raw
    _exercise(bytes(data), Path(name).suffix)


@settings(max_examples=600, **SETTINGS)
@given(name=st.sampled_from(EDF_FILES),
       edits=st.lists(st.tuples(st.integers(0, 4095), st.integers(0, 255)), min_size=1,
                      max_size=8))
def test_random_header_bytes(name, edits):
    data = bytearray(_blob(name))
    end = min(len(data), 256 * (1 + int(data[252:256].decode().strip())))
    for pos, byte in edits:
        data[pos % end] = byte
    _exercise(bytes(data), Path(name).suffix)


@settings(max_examples=400, **SETTINGS)
@given(name=st.sampled_from(EDF_FILES), cut=st.floats(0.0, 1.0),
       tail=st.binary(max_size=64))
def test_truncated_or_padded_data(name, cut, tail):
    blob = _blob(name)
    data = blob[:int(len(blob) * cut)] + tail
    _exercise(data, Path(name).suffix)


@settings(max_examples=300, **SETTINGS)
@given(line=st.integers(0, 40), value=st.one_of(st.sampled_from(NASTY + [
    "0 msec/sample", "-1 msec/sample", "e msec/sample", "9999 channels", "0 channels",
    "1 channels", "CH1,CH2", "x,y,z"]), st.text(max_size=20)),
       cut=st.floats(0.3, 1.0))
def test_acq_text_mutations(line, value, cut):
    text = _blob(TEXT_FILES[0]).decode("latin-1").split("\n")[:400]
    if line < len(text):
        text[line] = value
    data = "\n".join(text).encode("latin-1", "replace")
    data = data[:int(len(data) * cut)]
    config = config_from_dict({"channels": {"m": "Corr Raw"},
                               "events": {"source": "analog", "analog_mode": "level",
                                          "analog_channels": ["Marker"],
                                          "conditions": {"54": "x"}}})
    _exercise(data, ".txt", config)
