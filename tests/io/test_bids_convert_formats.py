"""``emgkit bids convert`` of the formats EMG-BIDS does not allow (BIOPAC ``.acq``,
AcqKnowledge text exports): converted to 24-bit BDF with the conversion recorded, accepted by
the schema-based BIDS validator, and read back by ``emgkit run --bids`` with a config without
``[channels]`` to the trial tables of the run on the original files, within the BDF's
quantisation step."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bids_validator import validate

from emgkit.cli import main

pytest.importorskip("mne_bids")
pytest.importorskip("edfio")

DATA = Path(__file__).resolve().parents[1] / "data"



def _bdf_steps(path):
    """Per channel label: the physical size (µV for EMG) of one digital step of a BDF."""
    from emgkit.io.edf import calibration_uv, read_header

    header = read_header(path)
    return {lab: abs(calibration_uv(header, lab)[0]) for lab, unit
            in zip(header.labels, header.units) if unit.lower() in ("uv", "µv")}


ACQ_CONFIG = """\
[study]
participants = "participants.tsv"
recordings = "{participant_id}_task-r42_emg.acq"

[channels]
emg = "EMG (30 - 500 Hz)"

[events]
source = "annotations"
[events.conditions]
"Segment 2" = "segment"

[preprocess]
band = [20.0, 450.0]
notch = 60.0

[epochs]
tmin = -1.0
tmax = 3.0
baseline = [-1.0, 0.0]
response = [0.5, 2.0]
bin = 0.5
"""


def test_acq_is_converted_to_bdf(tmp_path):
    """A BIOPAC .acq (bioread's r42 test file: ECG, EMG, EDA, an input channel at 1000 Hz
    and an event marker) becomes BDF with its conversion in scans.tsv and
    dataset_description.json; the validator accepts it; the run on it gives the original
    run's trials within the 24-bit step."""
    src = tmp_path / "acq"
    src.mkdir()
    shutil.copy(DATA / "r42_test.acq", src / "sub-01_task-r42_emg.acq")
    (src / "participants.tsv").write_text("participant_id\tgroup\nsub-01\ta\n")
    (src / "study.toml").write_text(ACQ_CONFIG)
    out = tmp_path / "bids"
    assert main(["bids", "convert", str(src), "--config", str(src / "study.toml"),
                 "--out", str(out)]) == 0
    emg = out / "sub-01" / "emg"
    bdf = emg / "sub-01_task-r42_emg.bdf"
    assert bdf.is_file()
    side = json.loads((emg / "sub-01_task-r42_emg.json").read_text())
    assert side["SamplingFrequency"] == 1000.0 and side["PowerLineFrequency"] == 60.0
    assert side["EMGChannelCount"] == 1 and side["SoftwareFilters"] == "n/a"
    assert side["HardwareFilters"] == "n/a"
    scans = pd.read_csv(out / "sub-01" / "sub-01_scans.tsv", sep="\t")
    assert scans["source_file"].tolist() == ["sub-01_task-r42_emg.acq"]
    assert scans["source_format"].tolist() == ["BIOPAC AcqKnowledge"]
    assert (out / "sub-01" / "sub-01_scans.json").is_file()
    desc = json.loads((out / "dataset_description.json").read_text())
    assert "sub-01_task-r42_emg.acq (BIOPAC AcqKnowledge) -> sub-01_task-r42_emg.bdf" in \
        desc["GeneratedBy"][0]["Description"]
    chans = pd.read_csv(emg / "sub-01_task-r42_channels.tsv", sep="\t", dtype=str,
                        keep_default_na=False)
    # labels a BDF header cannot hold (> 16 characters) are shortened, the recorded one kept
    assert chans["name"].tolist() == ["ECG", "EMG", "EDA (0 - 35 Hz)", "CH4 Input"]
    assert chans["type"].tolist() == ["MISC", "EMG", "MISC", "MISC"]
    assert "recorded as 'EMG (30 - 500 Hz)'" in chans["description"][1]
    assert chans["target_muscle"][1] == "emg" and chans["units"].tolist()[2] == "microsiemen"
    ev = pd.read_csv(emg / "sub-01_task-r42_events.tsv", sep="\t")
    assert ev["trial_type"].tolist() == ["segment"]
    assert ev["onset"].tolist() == pytest.approx([3.881])
    assert side["Manufacturer"] == "BIOPAC Systems"
    assert "sub-01_task-r42_emg.acq (BIOPAC AcqKnowledge)" in (out / "README").read_text()
    errors, _, _ = validate(out)
    assert errors == [], errors
    # the run on the BDF: the original's trials within the 24-bit step of the EMG channel
    cfg = tmp_path / "minimal.toml"
    cfg.write_text('[events.conditions]\nsegment = "segment"\n[preprocess]\n'
                   'band = [20.0, 450.0]\nnotch = 60.0\n' + ACQ_CONFIG.split("notch = 60.0")[1])
    ta, tb = _both_runs(src / "study.toml", cfg, out, tmp_path, group=False)
    step = _bdf_steps(bdf)["EMG"]  # µV
    _same_trials(ta, tb, step)


def _both_runs(config, minimal, bids, tmp_path, *, group=True):
    """The trials of ``emgkit run`` on the original files and on the BIDS dataset (the
    participants' tables when ``group`` is False: one participant has no group model)."""
    a, b = tmp_path / "run_a", tmp_path / "run_b"
    expected = 0 if group else 1  # 1: the group step failed, the participants did not
    assert main(["run", str(config), "--out", str(a), "--no-reports"]) == expected
    assert main(["run", str(minimal), "--bids", str(bids), "--out", str(b),
                 "--no-reports"]) == expected
    if group:
        return tuple(pd.read_csv(r / "group" / "trials.tsv", sep="\t") for r in (a, b))
    return tuple(pd.concat([pd.read_csv(f, sep="\t") for f in sorted(r.glob("sub-*/*trials.tsv"))])
                 for r in (a, b))


def _same_trials(ta, tb, step):
    """Trials equal within the BDF's resolution: a level (µV) moves by at most a step
    (half a step per sample, through the band-pass, notch and envelope average whose gains
    are below 2), a score (ratio of two levels) by its relative share of both."""
    assert len(ta) == len(tb) > 0
    assert (tb["condition"] == ta["condition"]).all()
    pd.testing.assert_series_equal(tb["rejected"], ta["rejected"])
    # the tables hold 6 significant digits: one unit of the last digit (<= 1e-5 of the
    # value) on top of the quantisation
    for col in ("baseline", "response"):
        np.testing.assert_allclose(tb[col], ta[col], rtol=1e-5, atol=step, err_msg=col)
    rel = step / ta["baseline"].abs().to_numpy() + step / ta["response"].abs().to_numpy()
    tol = ta["score"].abs().to_numpy() * (rel + 1e-5)
    assert (np.abs(tb["score"] - ta["score"]).to_numpy() <= tol).all()


def _acq_text(path, columns, units, data, interval_ms):
    """An AcqKnowledge text export with its header block (``interval_ms`` msec/sample)."""
    lines = [f"{path.stem}.acq", f"{interval_ms:g} msec/sample", f"{len(columns)} channels"]
    for col, unit in zip(columns, units):
        lines += [col, unit]
    lines.append(",".join(f"CH{i + 1}" for i in range(len(columns))) + ",")
    lines.append(",".join(str(data.shape[1]) for _ in columns) + ",")
    body = "\n".join(",".join(f"{v:.10g}" for v in row) + "," for row in data.T)
    path.write_text("\n".join(lines + [body]) + "\n")
    return path


@pytest.fixture(scope="module")
def text_study(tmp_path_factory):
    """A simulated 4-participant study at 500 Hz (2 trials per condition) exported as
    AcqKnowledge text (EMG in mV, the trigger code as a Marker channel), and its EMG-BIDS
    conversion."""
    from emgkit.io.raw import read_raw
    from emgkit.sim.recording import SimParams
    from emgkit.sim.study import simulate_study

    base = tmp_path_factory.mktemp("textstudy")
    sim = base / "sim"
    simulate_study(sim, 4, seed=5, sfreq=500.0, params=SimParams(sfreq=500.0, n_trials=2))
    src = base / "txt"
    src.mkdir()
    for sub in ("sub-01", "sub-02", "sub-03", "sub-04"):
        raw = read_raw(sim / sub / "emg" / f"{sub}_task-mimicry_emg.bdf")
        emg = raw.get_data(picks=[f"EXG{k}" for k in range(1, 7)]) * 1e3  # V -> mV
        status = raw.get_data(picks=["Status"])[0].astype(np.int64) & 0xFFFF
        _acq_text(src / f"{sub}_task-mimicry_emg.txt",
                  [f"EXG{k}" for k in range(1, 7)] + ["Marker"], ["mV"] * 6 + ["Volts"],
                  np.vstack([emg, status]), 2)
    shutil.copy(sim / "participants.tsv", src / "participants.tsv")
    text = (sim / "study.toml").read_text().replace(
        '"{participant_id}/emg/{participant_id}_task-mimicry_emg.bdf"',
        '"{participant_id}_task-mimicry_emg.txt"').replace(
        'source = "stim"', 'source = "stim"\nstim_channel = "Marker"')
    (src / "study.toml").write_text(text)
    out = base / "bids"
    assert main(["bids", "convert", str(src), "--config", str(src / "study.toml"),
                 "--out", str(out)]) == 0
    return src, out


@pytest.mark.slow
def test_text_export_study_round_trip(text_study, tmp_path):
    """simulate -> AcqKnowledge text -> bids convert -> validator (zero errors) -> run with a
    config without [channels]: the trials of the run on the text files, within the BDF's
    step."""
    from test_bids_convert import MINIMAL

    src, out = text_study
    errors, _, report = validate(out)
    assert errors == [], errors
    assert sorted(report["summary"]["subjects"]) == ["01", "02", "03", "04"]
    emg = out / "sub-02" / "emg"
    chans = pd.read_csv(emg / "sub-02_task-mimicry_channels.tsv", sep="\t", dtype=str,
                        keep_default_na=False)
    assert chans["type"].tolist() == ["EMG"] * 6 + ["TRIG"]
    assert chans["target_muscle"].tolist()[:2] == ["corrugator supercilii"] * 2
    scans = pd.read_csv(out / "sub-02" / "sub-02_scans.tsv", sep="\t")
    assert scans["source_format"].tolist() == ["AcqKnowledge text export"]
    side = json.loads((emg / "sub-02_task-mimicry_emg.json").read_text())
    assert side["SamplingFrequency"] == 500.0 and side["EMGChannelCount"] == 6
    assert side["Manufacturer"] == "BIOPAC Systems"
    cfg = tmp_path / "minimal.toml"
    cfg.write_text(MINIMAL.replace("band = [20.0, 230.0]", "band = [20.0, 225.0]"))
    ta, tb = _both_runs(src / "study.toml", cfg, out, tmp_path)
    assert len(ta) == 4 * 4 * 2 * 3
    step = max(_bdf_steps(emg / "sub-02_task-mimicry_emg.bdf").values())
    # a bipolar muscle is the difference of two channels: twice the step
    _same_trials(ta, tb, 2 * step)


COUNTENANCE = """\
[study]
participants = "participants.tsv"
recordings = "{participant_id}_task-faces_emg.txt"

[channels]
corrugator = "Corr Raw"
zygomaticus = "Zyg Raw"

[events]
source = "analog"
analog_channels = ["CH28", "CH29", "CH30", "CH31", "CH32", "CH33", "CH34", "CH35"]
analog_mode = "bits"
[events.conditions]
"54" = "start"
"1" = "end"

[preprocess]
band = [20.0, 450.0]
notch = 50.0

[epochs]
tmin = -0.1
tmax = 0.0
baseline = [-0.1, 0.0]
response = [-0.05, 0.0]
bin = 0.05
"""


def test_real_acqknowledge_export_converts_and_validates(tmp_path):
    """A real BIOPAC AcqKnowledge text export (countenance: corrugator and zygomaticus in
    mV, 8 digital inputs, processed channels) becomes a valid EMG-BIDS dataset: BDF at
    1000 Hz, its events decoded from the digital inputs, its channels' data within the
    24-bit step of the export's values."""
    from conftest import REAL

    real = REAL / "countenance" / "femg_raw_exported_sample.txt"
    if not real.is_file():
        pytest.skip("real data absent")
    from emgkit.io.raw import read_raw
    from emgkit.io.text import read_acq_text

    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(real, src / "sub-f005_task-faces_emg.txt")
    (src / "participants.tsv").write_text("participant_id\tgroup\nsub-f005\tf\n")
    (src / "study.toml").write_text(COUNTENANCE)
    out = tmp_path / "bids"
    assert main(["bids", "convert", str(src), "--config", str(src / "study.toml"),
                 "--out", str(out)]) == 0
    errors, _, _ = validate(out)
    assert errors == [], errors
    emg = out / "sub-f005" / "emg"
    ev = pd.read_csv(emg / "sub-f005_task-faces_events.tsv", sep="\t")
    assert ev["trial_type"].tolist() == ["start", "end"]
    np.testing.assert_allclose(ev["onset"], [0.150, 13.117], atol=1e-9)
    assert ev["value"].tolist() == [54, 1]
    bdf = emg / "sub-f005_task-faces_emg.bdf"
    raw = read_raw(bdf)
    sig = read_acq_text(real)
    steps = _bdf_steps(bdf)
    for lab in ("Corr Raw", "Zyg Raw"):
        got = raw.get_data(picks=[lab])[0][:sig.n_times] * 1e6  # V -> µV
        np.testing.assert_allclose(got, sig.microvolts(lab), rtol=0, atol=steps[lab])
    chans = pd.read_csv(emg / "sub-f005_task-faces_channels.tsv", sep="\t", dtype=str,
                        keep_default_na=False)
    assert chans.loc[chans["name"] == "Corr Raw", "target_muscle"].item() == \
        "corrugator supercilii"


def test_bdf_labels_and_hardware_filters():
    import mne

    from emgkit.study.bids_formats import bdf_label, hardware_filters

    assert bdf_label("EMG (30 - 500 Hz)") == "EMG"
    assert bdf_label("Corr Raw") == "Corr Raw"
    assert bdf_label("Digital input CH28") == "Digital input CH"
    assert bdf_label("Digital input CH29", {"Digital input CH"}) == "Digital input_2"
    assert bdf_label("Zygomaticus major left side") == "Zygomaticus majo"
    assert bdf_label("µV-Kanal") == "V-Kanal"
    assert bdf_label("(1) a label of more than sixteen") == "CH"
    info = mne.create_info(["a"], 1000.0, "emg")
    raw = mne.io.RawArray(np.zeros((1, 10)), info, verbose="error")
    assert hardware_filters(raw) == "n/a"  # MNE's defaults: 0 Hz and Nyquist
    with raw.info._unlock():
        raw.info["highpass"], raw.info["lowpass"] = 10.0, 400.0
    assert hardware_filters(raw) == {"HighpassFilter": {"CutoffFrequency": 10.0},
                                     "LowpassFilter": {"CutoffFrequency": 400.0}}
