"""Contract test over every real file in ../shared/real_data (skipped when absent).

Each EDF/BDF file must be described exactly as SOURCES.md says (channel count, sampling
rates, duration, annotations, trigger events, BioSemi CMS, EDF+D gaps), decode to the same
values as MNE, and either load for processing or fail with an emgkit error that says what
is wrong. The BIOPAC exports are checked against the facts in SOURCES.md too.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import REAL

from emgkit.config import config_from_dict
from emgkit.errors import EmgkitError, ReadError

pytestmark = pytest.mark.skipif(not (REAL / "SOURCES.md").exists(),
                                reason="shared real data absent")

# file, data channels, sampling rates (Hz), duration (s), annotations,
# trigger (events, {code: count}) with mask 0xFFFF or None, EDF+D gaps, CMS spans
EXPECTED = [
    ("bdf-jl/MK2_speedmode0_CMS_not_in_range_battery_charged.bdf", 2, [2048], 3, 0,
     (1, {254: 1}), 0, 1),
    ("bdf-jl/MK2_speedmode4_CMS_not_in_range_battery_charged.bdf", 41, [2048], 3, 0,
     (0, {}), 0, 1),
    ("bdf-jl/MK2_speedmode5_CMS_not_in_range_battery_charged.bdf", 41, [4096], 3, 0,
     (0, {}), 0, 1),
    ("bdf-jl/MK2_speedmode6_CMS_not_in_range_battery_charged.bdf", 2, [8192], 7, 0,
     (1, {0xFCFE: 1}), 0, 1),
    ("bdf-jl/MK2_speedmode7_CMS_not_in_range_battery_charged.bdf", 2, [16384], 3, 0,
     (1, {0xFCFE: 1}), 0, 1),
    ("bdf-jl/MK2_speedmode9_CMS_not_in_range_battery_charged.bdf", 3, [16384], 3, 0,
     (0, {}), 0, 1),
    ("bdf-jl/Newtest17-256.bdf", 17, [256], 60, 0, (40, {254: 40}), 0, 0),
    ("brain_pipe/Newtest17-2048.bdf", 17, [2048], 60, 0, (40, {254: 40}), 0, 0),
    ("edf-jl/bdf_test.bdf", 8, [250], 73, 0, None, 0, 0),
    ("edf-jl/bdf_test.edf", 8, [250], 73, 0, None, 0, 0),
    ("edf-jl/test_uneven_samp.edf", 2, [12.8, 100], 110, 0, None, 0, 0),
    ("edfio/SC4001EC-Hypnogram.bdf", 0, [], 0, 154, None, 0, 0),
    ("edfio/SC4001EC-Hypnogram.edf", 0, [], 0, 154, None, 0, 0),
    ("edfio/mne_test.bdf", 139, [512], 6, 5, (27, {0: 14, 4096: 7, 4100: 6}), 0, 0),
    ("edfio/short_psg.bdf", 7, [1, 100], 300, 0, None, 0, 0),
    ("edfio/short_psg.edf", 7, [1, 100], 300, 0, None, 0, 0),
    ("edfio/test_subsecond.bdf", 1, [128], 698, 4, None, 0, 0),
    ("edfreader/bdfPlusC.bdf", 11, [200], 20, 2, None, 0, 0),
    ("edfreader/edfAnnonC.edf", 2, [20000, 30000], 1.2, 8, None, 0, 0),
    ("edfreader/edfPlusC.edf", 11, [200], 20, 2, None, 0, 0),
    ("edfreader/edfPlusD.edf", 11, [200], 11, 1, None, 5, 0),
    ("mne-python-history/test_2013.edf", 139, [512], 6, 0,
     (27, {0: 14, 4096: 7, 4100: 6}), 0, 0),
    ("mne-python-history/test_generator_2.bdf", 11, [200], 600, 2, None, 0, 0),
    ("mne-python-history/test_reduced.edf", 139, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], 6,
     5, (27, {0: 14, 4096: 7, 4100: 6}), 0, 0),
    ("mne-python/duplicate_channel_labels.edf", 3, [250], 10, 0, None, 0, 0),
    ("mne-python/test.bdf", 73, [2048], 1, 0, (1, {128: 1}), 0, 0),
    ("mne-python/test.edf", 139, [512], 6, 5, (27, {0: 14, 4096: 7, 4100: 6}), 0, 0),
    ("mne-python/test_bdf_stim_channel.bdf", 4, [500], 10, 0, (9, {1: 7, 2: 1, 4: 1}), 0,
     0),
    ("mne-python/test_edf_stim_channel.edf", 25, [128], 9.59375, 0, None, 0, 0),
    ("mne-python/test_stim_channel.edf", 3, [200], 600, 0, (1200, {32767: 1200}), 0, 0),
    ("mne-python/test_uneven_samp.edf", 2, [12.8, 100], 110, 0, None, 0, 0),
    ("pyedflib/test_generator.bdf", 5, [500, 800, 975, 999, 1000], 30, 0, None, 0, 0),
    ("pyedflib/test_generator.edf", 11, [200], 600, 2, None, 0, 0),
    ("pyedflib/test_generator_datarec_generator_0_5.bdf", 5, [1000, 1600, 1950, 1998, 2000],
     30, 0, None, 0, 0),
    ("pyedflib/test_generator_datarec_generator_2.bdf", 5, [250, 400, 487.5, 499.5, 500],
     30, 0, None, 0, 0),
    ("pyedflib/test_legacy.edf", 11, [200], 600, 2, None, 0, 0),
    ("pyedflib/test_subsecond.edf", 1, [128], 698, 4, None, 0, 0),
    ("pyedflib/test_utf8.edf", 1, [128], 698, 5, None, 0, 0),
    ("wfdb-python/test_edfann.edf", 0, [], 0, 856, None, 0, 0),
    ("wfdb-python/test_generator_2.edf", 11, [200], 600, 2, None, 0, 0),
]
TEXT_FILES = ["countenance/femg_raw_exported_sample.txt",
              "nilsonne-oxazepam-2/09_FMOV_preprocessed.txt",
              "nilsonne-oxazepam-2/10_FMOV_preprocessed.txt",
              "nilsonne-oxazepam-2/11_FMOV_preprocessed.txt",
              "nilsonne-oxazepam-2/codebook"]
NILSONNE_COLUMNS = ["scr", "zyg_raw", "corr_raw", "zyg_rect", "corr_rect", "angry_ref",
                    "happy_ref", "neutral_ref"]


def test_every_manifest_file_is_covered():
    listed = [line.split("\t")[0] for line in
              (REAL / "MANIFEST.tsv").read_text().splitlines()[1:] if line.strip()]
    covered = {e[0] for e in EXPECTED} | set(TEXT_FILES)
    assert set(listed) <= covered, set(listed) - covered
    assert all((REAL / f).exists() for f in listed)


@pytest.mark.parametrize("entry", EXPECTED, ids=[e[0] for e in EXPECTED])
def test_edf_bdf_described_as_sources_md_says(entry, caplog):
    from emgkit.io.inspect import inspect_recording

    name, n_ch, rates, duration, n_ann, trigger, n_gaps, n_cms = entry
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        info = inspect_recording(REAL / name)
    assert len(info.channels) == n_ch
    np.testing.assert_allclose(info.sfreqs, rates, rtol=1e-9)
    assert info.duration == pytest.approx(duration, abs=1e-9)
    assert len(info.annotations) == n_ann
    assert len(info.gaps) == n_gaps and len(info.cms_spans) == n_cms
    if n_cms:  # CMS drop-out is warned with its time span
        assert "CMS out of range from 0.000 s to" in caplog.text
    if trigger is None:
        assert info.trigger is None
    else:
        assert len(info.trigger["events"]) == trigger[0]
        assert info.trigger["codes"] == trigger[1]
    assert set(info.channels["unit"]) <= {"uV", "V", "Boolean", "", "DegC", "°", "?",
                                           "mV", "uV "}


def test_quirks_named_in_sources_md():
    from emgkit.io.inspect import inspect_recording

    jl = inspect_recording(REAL / "edf-jl" / "test_uneven_samp.edf")
    assert jl.start is None and any("1 byte(s) after" in n for n in jl.notes)
    assert any("12.8" in n for n in jl.notes)
    dup = inspect_recording(REAL / "mne-python" / "duplicate_channel_labels.edf")
    assert any("EEG F1-Ref" in n for n in dup.notes)
    utf = inspect_recording(REAL / "pyedflib" / "test_utf8.edf")
    hit = utf.annotations[utf.annotations["text"] == "中文测试八个字"]
    assert hit["onset"].tolist() == pytest.approx([120 - 0.3945312])  # from first sample
    ann = inspect_recording(REAL / "edfreader" / "edfAnnonC.edf").annotations
    assert "Test2" in ann["text"].tolist()  # inside the time-keeping TAL
    assert ann.loc[ann["text"] == "Test2", "onset"].item() == pytest.approx(0.1)
    edfann = inspect_recording(REAL / "wfdb-python" / "test_edfann.edf").annotations
    assert "Lights off@@EEG F4-A1" in edfann["text"].tolist()
    # trigger codes before and after masking (BioSemi Status high byte 0x98)
    t = inspect_recording(REAL / "mne-python" / "test.bdf").trigger
    assert set(t["raw_values"]) == {0x980000, 0x980080}
    assert t["events"]["sample"].tolist() == [589] and t["codes"] == {128: 1}
    idle = inspect_recording(REAL / "bdf-jl" / "Newtest17-256.bdf", mask=0xFF).trigger
    assert idle["idle"] == 255 and idle["codes"] == {254: 40}


@pytest.mark.parametrize("name", [e[0] for e in EXPECTED if e[1] > 0])
def test_annotations_and_samples_equal_mne(name):
    import mne

    from emgkit.io.edf import calibration_uv, microvolt_factor, read_header
    from emgkit.io.edf_annotations import read_annotations
    from emgkit.io.edf_records import read_digital

    path = REAL / name
    header = read_header(path)
    ann, record_onsets = read_annotations(header)
    try:
        ref = mne.read_annotations(path)
    except Exception:  # MNE cannot read a few annotation layouts; nothing to compare
        ref = None
    if ref is not None and len(ref):
        assert sorted(ann["text"]) == sorted(ref.description.tolist())
        # MNE counts onsets from the first sample, i.e. after the first record's start
        np.testing.assert_allclose(np.sort(ann["onset"] - record_onsets[0]), np.sort(ref.onset),
                                   atol=1e-6)
    labels = [lab for lab in header.labels if lab not in ("EDF Annotations",
                                                          "BDF Annotations")]
    if len(set(labels)) != len(labels) or len({header.sfreq(lab) for lab in labels}) > 1:
        return  # MNE renames duplicates / resamples mixed rates: not comparable sample-wise
    volts = [lab for lab in labels if microvolt_factor(header.units[header.labels.index(lab)])
             and lab.lower() not in ("status", "trigger")][:4]
    if not volts:
        return
    reader = mne.io.read_raw_bdf if header.bdf else mne.io.read_raw_edf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = reader(path, preload=True, verbose="error")
    for lab in volts:
        gain, offset = calibration_uv(header, lab)
        ours = read_digital(header, lab) * gain + offset
        np.testing.assert_allclose(ours, raw.get_data(picks=[lab])[0] * 1e6,
                                   rtol=1e-7, atol=1e-6 * max(1.0, abs(gain)))


def _config(channel, **events):
    ev = {"source": "annotations", "conditions": {"x": "x"}} | events
    return config_from_dict({"channels": {"m": channel}, "events": ev})


@pytest.mark.parametrize("entry", [e for e in EXPECTED if e[1] > 0], ids=lambda e: e[0])
def test_load_for_processing_or_clear_error(entry):
    from emgkit.io.edf import microvolt_factor, read_header
    from emgkit.io.load import load_recording

    name, gaps = entry[0], entry[6]
    path = REAL / name
    header = read_header(path)
    first = next(i for i, lab in enumerate(header.labels)
                 if lab not in ("EDF Annotations", "BDF Annotations"))
    config = _config(header.labels[first])
    if gaps:
        with pytest.raises(ReadError, match=r"EDF\+D file with 5 gap\(s\).*continuous"):
            load_recording(path, config)
        return
    if not microvolt_factor(header.units[first]) or header.labels.count(
            header.labels[first]) > 1 or header.labels[first].lower() in ("status", "trigger"):
        with pytest.raises(EmgkitError, match=str(path.name)):
            load_recording(path, config)
        return
    loaded = load_recording(path, config)
    assert loaded.sfreq == pytest.approx(header.sfreq(header.labels[first]))
    assert loaded.derived.shape == (1, header.spr[first] * header.n_records)
    assert np.isfinite(loaded.derived).all()


def test_annotation_only_file_is_a_clear_error():
    from emgkit.io.load import load_recording

    with pytest.raises(EmgkitError, match="SC4001EC-Hypnogram.edf"):
        load_recording(REAL / "edfio" / "SC4001EC-Hypnogram.edf", _config("EEG Fpz-Cz"))


def test_countenance_acqknowledge_export(caplog):
    from emgkit.events.pulses import analog_events
    from emgkit.io.text import read_acq_text

    with caplog.at_level(logging.WARNING, logger="emgkit"):
        sig = read_acq_text(REAL / "countenance" / "femg_raw_exported_sample.txt")
    assert "declares 2054992 samples but 13150 rows" in caplog.text
    assert sig.sfreq == 1000.0 and sig.n_times == 13150 and len(sig.labels) == 15
    assert sig.units[:3] == ["mV", "mV", "Volts"] and sig.labels[-1] == "Marker"
    assert sig.label("CH28") == "Digital input CH28"
    lines = {f"CH{28 + b}": sig.get(f"CH{28 + b}") for b in range(8)}
    bits = analog_events(lines, sig.sfreq, mode="bits", threshold=2.5)
    assert bits["code"].tolist() == ["54", "1"]
    np.testing.assert_allclose(bits["onset"] * sig.sfreq, [150, 13117])
    level = analog_events({"Marker": sig.get("Marker")}, sig.sfreq, mode="level")
    assert level.equals(bits)
    assert np.abs(sig.microvolts("Corr Raw")).max() < 1000  # mV -> µV, a facial EMG range


@pytest.mark.parametrize("sub,seconds", [("09", 265), ("10", 350), ("11", 289)])
def test_nilsonne_reference_waves(sub, seconds):
    from emgkit.events.pulses import analog_events
    from emgkit.io.text import read_acq_text

    sig = read_acq_text(REAL / "nilsonne-oxazepam-2" / f"{sub}_FMOV_preprocessed.txt",
                        sfreq=100.0, columns=NILSONNE_COLUMNS, units="mV")
    assert sig.n_times / sig.sfreq == pytest.approx(seconds, abs=1)
    refs = {c: sig.get(c) for c in NILSONNE_COLUMNS[5:]}
    ev = analog_events(refs, sig.sfreq, edge="falling")
    assert ev["code"].value_counts().to_dict() == {c: 4 for c in NILSONNE_COLUMNS[5:]}
    for code, x in refs.items():  # the authors' definition: diff == -5
        expected = (np.flatnonzero(np.diff(x) == -5) + 1) / sig.sfreq
        np.testing.assert_allclose(ev.loc[ev["code"] == code, "onset"], expected)


def test_codebook_is_not_a_recording():
    from emgkit.io.inspect import inspect_recording

    with pytest.raises(EmgkitError, match="codebook"):
        inspect_recording(REAL / "nilsonne-oxazepam-2" / "codebook")


def test_nilsonne_three_subjects_end_to_end():
    """Config → trials for the three Nilsonne subjects; scores equal a direct computation
    from the file (falling edges, mean over [-2, 0) and [2, 4) s, log10 ratio)."""
    import pandas as pd

    from emgkit.config import load_config
    from emgkit.io.text import read_acq_text
    from emgkit.pipeline import process_recording

    config = load_config(Path(__file__).resolve().parents[2] / "examples"
                         / "nilsonne_oxazepam.toml")
    means = []
    for sub in ("09", "10", "11"):
        path = REAL / "nilsonne-oxazepam-2" / f"{sub}_FMOV_preprocessed.txt"
        res = process_recording(path, config, participant_id=sub)
        trials = res.trials
        assert len(trials) == 12 * 2 and res.sfreq == 100.0
        assert trials.groupby("condition")["trial"].nunique().to_dict() == {
            "angry": 4, "happy": 4, "neutral": 4}
        sig = read_acq_text(path, sfreq=100.0, columns=NILSONNE_COLUMNS, units="mV")
        for cond in ("angry", "happy", "neutral"):
            ref = sig.get(f"{cond}_ref")
            onsets = np.flatnonzero(np.diff(ref) == -5) + 1
            for muscle, col in (("zygomaticus", "zyg_rect"), ("corrugator", "corr_rect")):
                x = sig.get(col)
                want = [np.log10(x[o + 200:o + 400].mean() / x[o - 200:o].mean())
                        for o in onsets]
                got = trials[(trials["condition"] == cond) & (trials["muscle"] == muscle)]
                np.testing.assert_allclose(got["score"], want, rtol=1e-9)
        means.append(trials.assign(participant_id=sub))
    table = pd.concat(means).groupby(["muscle", "condition"])["score"].mean().unstack()
    print("\nNilsonne subjects 09-11, mean log10(response/baseline):\n", table.round(3))
    # facial mimicry in real data: zygomaticus rises to happy faces more than to the others
    assert table.loc["zygomaticus", "happy"] > table.loc["zygomaticus", "angry"]
    assert table.loc["zygomaticus", "happy"] > table.loc["zygomaticus", "neutral"]


def test_nilsonne_raw_columns_cannot_be_band_passed():
    """The "raw" EMG of this data set is decimated to 100 Hz: a 20-500 Hz band is refused
    with a message naming the rate."""
    from emgkit.config import config_from_dict
    from emgkit.errors import ConfigError
    from emgkit.pipeline import process_recording

    config = config_from_dict({
        "input": {"format": "acq-text", "sfreq": 100.0, "columns": NILSONNE_COLUMNS,
                  "units": "mV"},
        "channels": {"zygomaticus": "zyg_raw"},
        "events": {"source": "analog", "analog_channels": ["happy_ref"], "edge": "falling",
                   "conditions": {"happy_ref": "happy"}}})
    with pytest.raises(ConfigError, match=r"h_freq=500 Hz is at or above Nyquist \(50 Hz"):
        process_recording(REAL / "nilsonne-oxazepam-2" / "09_FMOV_preprocessed.txt", config)
