"""``emgkit bids convert``: a simulated study as EMG-BIDS (mne-bids), read back by ``emgkit run
--bids`` with a config without ``[channels]`` to the same trial tables, and checked by the
schema-based BIDS validator (skipped when ``bids-validator-deno`` is not installed)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bids_validator import needs_validator, validate, validator

from emgkit.cli import main
from emgkit.config import load_config, require_channels
from emgkit.errors import ConfigError, OutputError, ReadError
from emgkit.io.bids import bids_channel_map, muscle_name

pytest.importorskip("mne_bids")

MINIMAL = """\
[events.conditions]   # trial_type of *_events.tsv -> condition
happy = "happy"
angry = "angry"
sad = "sad"
neutral = "neutral"

[preprocess]
band = [20.0, 230.0]
notch = 50.0
smooth = 0.05

[epochs]
tmin = -1.0
tmax = 6.0
baseline = [-1.0, 0.0]
baseline_mode = "ratio"
response = [0.5, 3.0]
bin = 0.5

[reject]
threshold = 3.5
flat = 0.1
"""


def _hashes(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A 4-participant 512 Hz simulated study (2 trials per condition), its EMG-BIDS copy,
    and the source's file hashes before conversion."""
    from emgkit.sim.recording import SimParams
    from emgkit.sim.study import simulate_study

    base = tmp_path_factory.mktemp("bidsconv")
    src = base / "source"
    simulate_study(src, 4, seed=3, sfreq=512.0, params=SimParams(sfreq=512.0, n_trials=2))
    before = _hashes(src)
    out = base / "bids"
    assert main(["bids", "convert", str(src), "--config", str(src / "study.toml"),
                 "--out", str(out), "--task", "mimicry"]) == 0
    return src, out, before


def test_source_untouched_and_layout(converted):
    src, out, before = converted
    assert _hashes(src) == before  # the source is only read
    emg = out / "sub-01" / "emg"
    names = {p.name for p in emg.iterdir()}
    assert {"sub-01_task-mimicry_emg.bdf", "sub-01_task-mimicry_emg.json",
            "sub-01_task-mimicry_channels.tsv", "sub-01_task-mimicry_events.tsv"} <= names
    # EDF/BDF are copied byte for byte
    assert (emg / "sub-01_task-mimicry_emg.bdf").read_bytes() == \
        (src / "sub-01" / "emg" / "sub-01_task-mimicry_emg.bdf").read_bytes()
    desc = json.loads((out / "dataset_description.json").read_text())
    assert desc["BIDSVersion"] == "1.11.0" and desc["DatasetType"] == "raw"
    assert desc["GeneratedBy"][0]["Name"] == "emgkit bids convert"
    assert not list(out.parent.glob(".bids.partial-*"))  # staging moved into place


def test_sidecars(converted):
    src, out, _ = converted
    side = json.loads((out / "sub-02/emg/sub-02_task-mimicry_emg.json").read_text())
    assert side["TaskName"] == "mimicry" and side["SamplingFrequency"] == 512.0
    assert side["PowerLineFrequency"] == 50.0 and side["SoftwareFilters"] == "n/a"
    assert side["EMGChannelCount"] == 6 and side["EMGPlacementScheme"] == "Other"
    assert "corrugator = EXG1 - EXG2" in side["EMGReference"]
    assert "zygomaticus major" in side["EMGPlacementSchemeDescription"]
    chans = pd.read_csv(out / "sub-02/emg/sub-02_task-mimicry_channels.tsv", sep="\t",
                        dtype=str, keep_default_na=False)
    assert chans["target_muscle"].tolist() == (
        ["corrugator supercilii"] * 2 + ["zygomaticus major"] * 2
        + ["depressor anguli oris"] * 2 + ["n/a"])
    assert chans["group"].tolist()[:6] == ["corrugator"] * 2 + ["zygomaticus"] * 2 \
        + ["depressor"] * 2
    assert chans["type"].tolist() == ["EMG"] * 6 + ["TRIG"]
    # events: trial_type from the [events] mapping, value = the trigger code, onsets as the
    # simulator wrote them
    ev = pd.read_csv(out / "sub-02/emg/sub-02_task-mimicry_events.tsv", sep="\t")
    truth = pd.read_csv(src / "sub-02/emg/sub-02_task-mimicry_events.tsv", sep="\t")
    assert ev["trial_type"].tolist() == truth["trial_type"].tolist()
    assert ev["value"].tolist() == truth["value"].tolist()
    np.testing.assert_allclose(ev["onset"], truth["onset"], atol=1e-9)
    parts = pd.read_csv(out / "participants.tsv", sep="\t")
    source_parts = pd.read_csv(src / "participants.tsv", sep="\t")
    pd.testing.assert_frame_equal(parts, source_parts)
    meta = json.loads((out / "participants.json").read_text())
    assert set(meta["group"]["Levels"]) == {"placebo", "naltrexone"}


def test_channel_map_read_back(converted, tmp_path):
    _, out, _ = converted
    rec = out / "sub-01/emg/sub-01_task-mimicry_emg.bdf"
    assert bids_channel_map(rec) == {"corrugator": "EXG1-EXG2", "zygomaticus": "EXG3-EXG4",
                                     "depressor": "EXG5-EXG6"}
    assert muscle_name("Corrugator  Supercilii") == "corrugator"
    # without the group column, target_muscle names the muscle
    table = tmp_path / "sub-01_task-x_channels.tsv"
    table.write_text("name\ttype\tunits\ttarget_muscle\tstatus\n"
                     "Zyg\tEMG\tuV\tzygomaticus major\tgood\n"
                     "Cor\tEMG\tuV\tcorrugator supercilii\tbad\n")
    assert bids_channel_map(tmp_path / "sub-01_task-x_emg.edf") == {"zygomaticus": "Zyg"}
    table.write_text("name\ttype\tunits\ttarget_muscle\n" + "".join(
        f"C{k}\tEMG\tuV\tmentalis\n" for k in range(3)))
    with pytest.raises(ReadError, match="has 3 channels"):
        bids_channel_map(tmp_path / "sub-01_task-x_emg.edf")


def test_target_muscle_names():
    from emgkit.study.bids_convert import target_muscle

    assert target_muscle("corrugator") == "corrugator supercilii"
    assert target_muscle("depressor") == "depressor anguli oris"
    assert target_muscle("zyg_left") == "zygomaticus major (left)"
    assert target_muscle("Corr_R") == "corrugator supercilii (right)"
    assert target_muscle("masseter_x") == "masseter x"
    assert muscle_name("zygomaticus major") == "zygomaticus"


def test_run_on_bids_matches_original(converted, tmp_path):
    """emgkit run on the EMG-BIDS copy with a config without [channels] gives the trial
    tables of the run on the original files (code is the trial_type there; the trigger code
    is in value)."""
    src, out, _ = converted
    cfg = tmp_path / "minimal.toml"
    cfg.write_text(MINIMAL)
    assert not load_config(cfg).channels
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["run", str(src / "study.toml"), "--out", str(a), "--no-reports"]) == 0
    assert main(["run", str(cfg), "--bids", str(out), "--out", str(b), "--no-reports"]) == 0
    ta = pd.read_csv(a / "group" / "trials.tsv", sep="\t")
    tb = pd.read_csv(b / "group" / "trials.tsv", sep="\t")
    assert len(ta) == len(tb) == 4 * 4 * 2 * 3
    assert (tb["value"].astype(str) == ta["code"].astype(str)).all()
    assert (tb["code"] == ta["condition"]).all()
    for col in ta.columns.drop("code"):
        if pd.api.types.is_float_dtype(ta[col]):
            np.testing.assert_allclose(tb[col], ta[col], rtol=0, atol=1e-9, err_msg=col)
        else:
            pd.testing.assert_series_equal(tb[col], ta[col], obj=col)
    ca = pd.read_csv(a / "group" / "timecourses.tsv", sep="\t")
    cb = pd.read_csv(b / "group" / "timecourses.tsv", sep="\t")
    num = ca.select_dtypes("number").columns
    np.testing.assert_allclose(cb[num], ca[num], rtol=0, atol=1e-9)
    run = json.loads((b / "run.json").read_text())
    assert run["status"] == "ok"


def test_refusals(converted, tmp_path):
    src, _, _ = converted
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="already holds files"):
        _convert(src, busy)
    assert (busy / "notes.txt").read_text() == "mine"
    with pytest.raises(OutputError, match="contains the input|lies inside"):
        _convert(src, src / "derivatives" / "bids")
    with pytest.raises(ConfigError, match="not a BIDS label"):
        _convert(src, tmp_path / "x", task="mim-icry")
    assert not (tmp_path / "x").exists()
    cfg = tmp_path / "minimal.toml"
    cfg.write_text(MINIMAL)
    with pytest.raises(ConfigError, match="needs \\[channels\\]"):
        _convert(src, tmp_path / "y", config=cfg)
    # a CLI error is one line, exit 2
    assert main(["bids", "convert", str(src), "--config", str(src / "study.toml"),
                 "--out", str(busy)]) == 2


def _convert(src, out, config=None, **kw):
    from emgkit.study.bids_convert import convert_to_bids

    return convert_to_bids(src, config or src / "study.toml", out, **kw)


def test_missing_channels_without_bids_sidecar(tmp_path, converted):
    src, _, _ = converted
    cfg = tmp_path / "minimal.toml"
    cfg.write_text(MINIMAL)
    config = load_config(cfg)
    rec = tmp_path / "sub-01_task-x_emg.bdf"
    shutil.copy(src / "sub-01/emg/sub-01_task-mimicry_emg.bdf", rec)
    with pytest.raises(ConfigError, match=r"\[channels\] is missing"):
        require_channels(config, [rec])



@needs_validator
def test_bids_validator_accepts_the_dataset(converted):
    _, out, _ = converted
    errors, _, report = validate(out)
    assert errors == [], errors
    assert "emg" in report["summary"]["modalities"]
    assert sorted(report["summary"]["subjects"]) == ["01", "02", "03", "04"]


BV_CONFIG = """\
[study]
participants = "participants.tsv"
recordings = "{participant_id}_task-faces_emg.vhdr"

[channels]
corrugator = "Corr"
zygomaticus = "Zyg"

[events]
source = "annotations"
[events.conditions]
"Stimulus/S  1" = "happy"
"Stimulus/S  2" = "angry"

[preprocess]
band = [20.0, 450.0]
notch = 50.0
"""


def test_brainvision_is_converted_to_bdf(tmp_path):
    """A BrainVision study becomes BDF (the conversion named in dataset_description.json),
    valid for the schema validator, and runs to the same trial tables within the 24-bit
    resolution."""
    pytest.importorskip("edfio")
    from test_brainvision import SFREQ, write_brainvision

    from emgkit.sim.scores import recording_from_scores

    src = tmp_path / "bv"
    src.mkdir()
    conds = ["happy", "angry"] * 4
    rows = []
    for k in range(4):
        gains = np.where(np.array(conds)[:, None] == "happy", 2.0 + k / 4, 1.2) * np.ones((8, 2))
        sig, _, onsets = recording_from_scores(gains, conds, {"happy": 1, "angry": 2}, SFREQ,
                                               seed=10 + k)
        codes = [1 if c == "happy" else 2 for c in conds]
        write_brainvision(src / f"sub-0{k + 1}_task-faces_emg", sig, ["Corr", "Zyg"],
                          zip(onsets, codes))
        rows.append(f"sub-0{k + 1}\t{'ab'[k % 2]}\n")
    (src / "participants.tsv").write_text("participant_id\tgroup\n" + "".join(rows))
    (src / "study.toml").write_text(BV_CONFIG)
    before = _hashes(src)
    out = tmp_path / "bids"
    assert main(["bids", "convert", str(src), "--config", str(src / "study.toml"),
                 "--out", str(out)]) == 0
    assert _hashes(src) == before
    assert (out / "sub-03/emg/sub-03_task-faces_emg.bdf").is_file()
    desc = json.loads((out / "dataset_description.json").read_text())
    assert "sub-03_task-faces_emg.vhdr (BrainVision) -> sub-03_task-faces_emg.bdf" in \
        desc["GeneratedBy"][0]["Description"]
    ev = pd.read_csv(out / "sub-01/emg/sub-01_task-faces_events.tsv", sep="\t")
    assert ev["trial_type"].tolist() == conds
    cfg = tmp_path / "minimal.toml"
    cfg.write_text('[events.conditions]\nhappy = "happy"\nangry = "angry"\n'
                   '[preprocess]\nband = [20.0, 450.0]\nnotch = 50.0\n')
    a, b = tmp_path / "a", tmp_path / "b"
    main(["run", str(src / "study.toml"), "--out", str(a), "--no-reports"])
    main(["run", str(cfg), "--bids", str(out), "--out", str(b), "--no-reports"])
    ta = pd.read_csv(a / "group" / "trials.tsv", sep="\t")
    tb = pd.read_csv(b / "group" / "trials.tsv", sep="\t")
    assert len(ta) == len(tb) == 4 * 8 * 2
    from test_bids_convert_formats import _bdf_steps, _same_trials

    # each channel scaled to its own range: the largest 24-bit step of the four files (µV)
    step = max(max(_bdf_steps(f).values()) for f in out.glob("sub-*/emg/*_emg.bdf"))
    assert step < 1e-3
    _same_trials(ta, tb, step)
    if validator():
        assert validate(out)[0] == []


def test_process_reads_muscles_from_channels_tsv(converted, tmp_path):
    """``process`` with a config without [channels] takes the muscles of the recording's
    *_channels.tsv, and gives the trials of the original recording with [channels]."""
    from emgkit import process_recording

    src, out, _ = converted
    cfg = tmp_path / "minimal.toml"
    cfg.write_text(MINIMAL.replace("[events.conditions]", '[events]\nsource = "events.tsv"\n'
                                   "[events.conditions]"))
    res = process_recording(out / "sub-02/emg/sub-02_task-mimicry_emg.bdf", cfg,
                            quality=False)
    assert list(res.channels) == ["corrugator", "zygomaticus", "depressor"]
    ref = process_recording(src / "sub-02/emg/sub-02_task-mimicry_emg.bdf",
                            src / "study.toml", quality=False)
    np.testing.assert_allclose(res.trials["score"], ref.trials["score"], rtol=0, atol=1e-9)


def test_channel_tables_that_disagree_are_refused(converted, tmp_path):
    _, out, _ = converted
    copy = tmp_path / "bids"
    shutil.copytree(out, copy)
    tsv = copy / "sub-03/emg/sub-03_task-mimicry_channels.tsv"
    tsv.write_text(tsv.read_text().replace("\tcorrugator\n", "\tbrow\n"))
    cfg = tmp_path / "minimal.toml"
    cfg.write_text(MINIMAL)
    code = main(["run", str(cfg), "--bids", str(copy), "--out", str(tmp_path / "r"),
                 "--no-reports"])
    assert code == 2 and not (tmp_path / "r").exists()
    from emgkit.study.plan import plan_from_bids
    from emgkit.study.run import plan_config

    with pytest.raises(ConfigError, match="channel tables .* disagree"):
        plan_config(plan_from_bids(copy), load_config(cfg))
