"""BrainVision (.vhdr/.vmrk/.eeg) recordings through MNE, markers as events."""

from __future__ import annotations

import numpy as np
import pytest

from emgkit import load_config, process_recording
from emgkit.errors import ReadError
from emgkit.io.brainvision import read_brainvision
from emgkit.sim.scores import recording_from_scores

SFREQ = 1000.0


def write_brainvision(stem, data_uv, labels, onsets_codes, sfreq=SFREQ):
    """A minimal BrainVision set (float32, multiplexed, µV) written by hand."""
    stem.with_suffix(".eeg").write_bytes(data_uv.T.astype("<f4").tobytes())
    chans = "\n".join(f"Ch{i + 1}={lab},,1,µV" for i, lab in enumerate(labels))
    stem.with_suffix(".vhdr").write_text(
        "Brain Vision Data Exchange Header File Version 1.0\n\n[Common Infos]\n"
        f"Codepage=UTF-8\nDataFile={stem.name}.eeg\nMarkerFile={stem.name}.vmrk\n"
        "DataFormat=BINARY\nDataOrientation=MULTIPLEXED\n"
        f"NumberOfChannels={len(labels)}\nSamplingInterval={1e6 / sfreq:g}\n\n"
        "[Binary Infos]\nBinaryFormat=IEEE_FLOAT_32\n\n[Channel Infos]\n" + chans + "\n",
        encoding="utf-8")
    marks = "\n".join(f"Mk{i + 2}=Stimulus,S{code:3d},{int(round(t * sfreq)) + 1},1,0"
                      for i, (t, code) in enumerate(onsets_codes))
    stem.with_suffix(".vmrk").write_text(
        "Brain Vision Data Exchange Marker File, Version 1.0\n\n[Common Infos]\n"
        f"Codepage=UTF-8\nDataFile={stem.name}.eeg\n\n[Marker Infos]\n"
        "Mk1=New Segment,,1,1,0\n" + marks + "\n", encoding="utf-8")
    return stem.with_suffix(".vhdr")


def test_brainvision_recording_is_processed_with_its_markers(tmp_path):
    conds = ["happy", "angry"] * 4
    gains = np.where(np.array(conds)[:, None] == "happy", 2.0, 1.2) * np.ones((8, 2))
    sig, _, onsets = recording_from_scores(gains, conds, {"happy": 1, "angry": 2}, SFREQ,
                                           seed=3)
    codes = [1 if c == "happy" else 2 for c in conds]
    vhdr = write_brainvision(tmp_path / "sub-01_task-faces_emg", sig, ["Corr", "Zyg"],
                             zip(onsets, codes))
    s = read_brainvision(vhdr)
    assert s.labels == ["Corr", "Zyg"] and s.sfreq == SFREQ
    np.testing.assert_allclose(s.data, sig, rtol=1e-6, atol=1e-4)  # float32 in µV
    stim = s.markers[s.markers["code"].str.startswith("Stimulus")]
    np.testing.assert_allclose(stim["onset"], onsets, atol=1 / SFREQ)
    cfg = tmp_path / "study.toml"
    cfg.write_text('[channels]\ncorrugator = "Corr"\nzygomaticus = "Zyg"\n'
                   '[events]\nsource = "annotations"\n'
                   '[events.conditions]\n"Stimulus/S  1" = "happy"\n"Stimulus/S  2" = "angry"\n'
                   "[preprocess]\nband = [20.0, 450.0]\n")
    res = process_recording(vhdr, load_config(cfg), quality=False)
    assert list(res.events["condition"]) == conds
    means = res.condition_means()
    assert means.loc["happy", "corrugator"] == pytest.approx(2.0, rel=0.1)
    assert means.loc["angry", "zygomaticus"] == pytest.approx(1.2, rel=0.1)


def test_broken_brainvision_is_a_read_error(tmp_path):
    bad = tmp_path / "x.vhdr"
    bad.write_text("not a header\n")
    with pytest.raises(ReadError, match="BrainVision"):
        read_brainvision(bad)
