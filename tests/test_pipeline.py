"""End-to-end truth recovery on simulated recordings, and the pipeline's failure paths."""

import shutil

import mne
import numpy as np
import pandas as pd
import pytest
from conftest import recording_of
from scipy.stats import spearmanr

from emgkit import process_recording
from emgkit.config import load_config
from emgkit.errors import ConfigError, EventError, ReadError
from emgkit.sim.study import simulate_study

CASES = [("bdf", 2048.0), ("edf", 2048.0), ("bdf", 1000.0), ("edf", 1000.0), ("bdf", 512.0),
         ("edf", 512.0)]


def _truth(rec):
    stem = rec.name.rsplit("_", 1)[0]
    return pd.read_csv(rec.with_name(f"{stem}_truth.tsv"), sep="\t", keep_default_na=False)


@pytest.mark.parametrize("fmt,sfreq", CASES)
def test_recovers_simulated_truth(study_factory, fmt, sfreq):
    study = study_factory(fmt, sfreq)
    rec = recording_of(study, fmt=fmt)
    result = process_recording(rec, study / "study.toml")
    assert result.sfreq == sfreq
    truth = _truth(rec)
    merged = result.trials.merge(truth, on=["trial", "muscle"], suffixes=("", "_true"))
    assert len(merged) == len(result.trials) == len(truth)
    assert (merged["condition"] == merged["condition_true"]).all()
    # condition counts are exact
    counts = result.events["condition"].value_counts().to_dict()
    assert counts == {"happy": 6, "angry": 6, "sad": 6, "neutral": 6}
    # onsets match the stimulus onsets to the sample
    np.testing.assert_allclose(merged["onset_s"], merged["stim_onset_s"], atol=1.0 / sfreq)
    kept = merged[~merged["rejected"]]
    for muscle, g in kept.groupby("muscle"):
        rho = spearmanr(g["score"], g["amplitude"])[0]
        assert rho >= 0.9, f"{muscle}: Spearman {rho:.3f}"
    # sign of the mean response per condition (ratio baseline: above/below 1)
    means = result.condition_means()
    assert means.loc["happy", "zygomaticus"] > 1.5
    assert means.loc["happy", "corrugator"] < 1.0
    assert means.loc["angry", "corrugator"] > 1.3
    assert means.loc["sad", "depressor"] > 1.2
    # every simulated flat/saturated stretch is rejected with its reason
    art = merged[merged["artefact"] != ""]
    assert len(art) >= 1
    for _, row in art.iterrows():
        assert row["rejected"] and row["artefact"] in row["reject_reason"]
    # few clean trials are rejected
    assert merged.loc[merged["artefact"] == "", "rejected"].mean() < 0.1


def test_rms_envelope_recovers_amplitude_in_microvolts(bdf_study):
    """With an RMS envelope and subtraction, the plateau level change is the true µV."""
    text = (bdf_study / "study.toml").read_text()
    text = text.replace('baseline_mode = "ratio"', 'baseline_mode = "subtract"')
    text = text.replace("response = [0.5, 3.0]", "response = [1.0, 2.0]")
    text = text.replace("smooth = 0.05 ", 'smooth = 0.05\nenvelope = "rms" ')
    (bdf_study / "study.toml").write_text(text)
    rec = recording_of(bdf_study)
    result = process_recording(rec, bdf_study / "study.toml")
    m = result.trials.merge(_truth(rec), on=["trial", "muscle"], suffixes=("", "_true"))
    # trials whose burst plateau covers the whole 1-2 s window
    lat = m.latency_s_true
    full = m[~m.rejected & (lat + 0.2 < 1.0) & (lat + m.duration_s - 0.2 > 2.0)]
    assert len(full) > 40
    # expected fraction of the simulated sEMG's RMS that passes the band-pass + notches
    from scipy import signal

    from emgkit.signal.filter import design_filter

    f = np.linspace(1, 1023, 4000)
    sim = signal.butter(2, [20.0, 250.0], "bandpass", fs=2048.0, output="sos")
    p_sim = np.abs(signal.sosfreqz(sim, f, fs=2048.0)[1]) ** 2
    p_filt = np.abs(signal.sosfreqz(design_filter(2048.0, 20.0, 500.0, notch=50.0), f,
                                    fs=2048.0)[1]) ** 4  # zero phase: |H|^2 on power
    passed = np.sqrt((p_sim * p_filt).sum() / p_sim.sum())
    assert 0.8 < passed < 0.95
    slope = np.polyfit(full["amplitude"], full["score"], 1)[0]
    assert slope == pytest.approx(passed, rel=0.08)
    assert np.median(np.abs(full["score"] - passed * full["amplitude"])) < 0.3


def test_event_sources_agree(bdf_study, study_factory):
    rec = recording_of(bdf_study)
    stim = process_recording(rec, bdf_study / "study.toml")
    text = (bdf_study / "study.toml").read_text()
    tsv_cfg = text.replace('source = "stim"', 'source = "events.tsv"')
    for code, cond in (("1", "happy"), ("2", "angry"), ("3", "sad"), ("4", "neutral")):
        tsv_cfg = tsv_cfg.replace(f'"{code}" = "{cond}"', f'"{cond}" = "{cond}"')
    (bdf_study / "tsv.toml").write_text(tsv_cfg)
    tsv = process_recording(rec, bdf_study / "tsv.toml")
    pd.testing.assert_frame_equal(stim.trials.drop(columns=["code"]),
                                  tsv.trials.drop(columns=["code", "duration", "value"]),
                                  check_exact=False, rtol=1e-9)
    edf_study = study_factory("edf", 2048.0)
    ann = process_recording(recording_of(edf_study, fmt="edf"), edf_study / "study.toml")
    assert ann.events["condition"].tolist() == pd.read_csv(
        recording_of(edf_study, fmt="edf").with_name("sub-01_task-mimicry_events.tsv"),
        sep="\t")["trial_type"].tolist()


def test_epochs_and_raw_for_analysts(bdf_study):
    result = process_recording(recording_of(bdf_study), bdf_study / "study.toml",
                               keep_continuous=True)
    epochs = result.to_epochs()
    assert isinstance(epochs, mne.EpochsArray)
    assert epochs.get_channel_types() == ["emg"] * 3
    assert epochs.info["sfreq"] == 2048.0
    assert {"participant_id", "condition", "score_zygomaticus", "reject_corrugator"} <= set(
        epochs.metadata.columns)
    # the EMG data really went through: epochs hold the envelope (V)
    np.testing.assert_allclose(epochs.get_data(picks="emg"), result.envelope_epochs * 1e-6)
    assert len(epochs["happy"]) == 6
    raw = result.to_raw()
    assert raw.get_channel_types() == ["emg"] * 3 and raw.info["sfreq"] == 2048.0
    assert "sub-01" in repr(result) and "<table" in result._repr_html_()
    tc = result.timecourses
    assert len(tc) == len(result.trials) * 14
    assert set(tc["time_s"].round(3)) == set(np.round(np.arange(-1.0, 6.0, 0.5), 3))


def test_writes_tables_atomically(bdf_study, tmp_path):
    result = process_recording(recording_of(bdf_study), bdf_study / "study.toml")
    written = result.write(tmp_path / "out")
    trials = pd.read_csv(written["trials"], sep="\t", keep_default_na=False)
    for col in ("participant_id", "trial", "condition", "muscle", "onset_s", "baseline",
                "response", "score", "rejected", "reject_reason"):
        assert col in trials.columns
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "envelopes.npz", "quality.json", "quality.tsv", "timecourses.json", "timecourses.tsv", "trials.json",
        "trials.tsv"]


def test_failure_paths(bdf_study, tmp_path):
    rec = recording_of(bdf_study)
    cfg_path = bdf_study / "study.toml"
    text = cfg_path.read_text()

    def run_with(new_text):
        p = tmp_path / "c.toml"
        p.write_text(new_text)
        return process_recording(rec, p)

    with pytest.raises(ReadError, match=r"Channel 'EXG7-EXG8' for muscle 'depressor' not "
                                        r"found in .*sub-01_task-mimicry_emg.bdf\. Available"
                                        r" channels: EXG1, EXG2, EXG3"):
        run_with(text.replace('"EXG5-EXG6"', '"EXG7-EXG8"'))
    with pytest.raises(EventError, match=r"Codes seen: '1' ×6, '2' ×6, '3' ×6, '4' ×6"):
        run_with(text.replace('"1" = "happy"', '"11" = "happy"').replace(
            '"2" = "angry"', '"12" = "angry"').replace('"3" = "sad"', '"13" = "sad"').replace(
            '"4" = "neutral"', '"14" = "neutral"'))
    with pytest.raises(EventError, match="none of the 24 events has a full epoch"):
        run_with(text.replace("tmax = 6.0", "tmax = 300.0"))
    with pytest.raises(ReadError, match="does not exist"):
        process_recording(tmp_path / "none.bdf", cfg_path)


def test_band_above_nyquist_at_512_hz(study_factory, tmp_path):
    study = study_factory("bdf", 512.0)
    text = (study / "study.toml").read_text()
    assert "band = [20.0, 230.0]" in text
    p = tmp_path / "c.toml"
    p.write_text(text.replace("band = [20.0, 230.0]", "band = [20.0, 500.0]"))
    with pytest.raises(ConfigError, match=r"h_freq=500 Hz is at or above Nyquist \(256 Hz for "
                                          r"sfreq=512 Hz\); use h_freq < 256"):
        process_recording(recording_of(study), p)


@pytest.mark.parametrize("fmt", ["bdf", "edf"])
def test_only_needed_channels_loaded_and_engines_agree(study_factory, fmt):
    from emgkit.io.load import load_recording

    study = study_factory(fmt, 1000.0)
    cfg = load_config(study / "study.toml")
    one = type(cfg)(**{**cfg.__dict__, "channels": {"corrugator": "EXG1-EXG2"}})
    rec = recording_of(study, fmt=fmt)
    fast = load_recording(rec, one, engine="numpy")
    ref = load_recording(rec, one, engine="mne")
    assert fast.engine == "numpy" and ref.engine == "mne"
    assert fast.resolved == ref.resolved == {"corrugator": ("EXG1", "EXG2")}
    assert fast.derived.shape[0] == 1
    np.testing.assert_allclose(fast.derived, ref.derived, rtol=1e-9, atol=1e-8)
    assert fast.spans == ref.spans
    if fmt == "bdf":   # numpy keeps the whole Status word; masked codes agree
        np.testing.assert_array_equal(fast.stim.astype(int) & 0xFFFF,
                                      ref.stim.astype(int) & 0xFFFF)
        assert ((fast.stim.astype(int) >> 16) & 0xFF == 0x98).all()
    assert fast.sfreq == ref.sfreq == 1000.0
    assert fast.meas_date == ref.meas_date
    a = process_recording(rec, study / "study.toml", engine="numpy").trials
    b = process_recording(rec, study / "study.toml", engine="mne").trials
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)


def test_simulator_is_seeded(tmp_path):
    a = simulate_study(tmp_path / "a", 1, seed=5, sfreq=512.0)
    b = simulate_study(tmp_path / "b", 1, seed=5, sfreq=512.0)
    pa = (tmp_path / "a" / a.recording[0]).read_bytes()
    pb = (tmp_path / "b" / b.recording[0]).read_bytes()
    assert pa == pb
    shutil.rmtree(tmp_path / "b")


def test_lean_in_place_path_gives_the_same_tables(bdf_study):
    rec = recording_of(bdf_study)
    full = process_recording(rec, bdf_study / "study.toml")
    lean = process_recording(rec, bdf_study / "study.toml", quality=False,
                             keep_continuous=False)
    pd.testing.assert_frame_equal(full.trials, lean.trials)
    pd.testing.assert_frame_equal(full.timecourses, lean.timecourses)
    assert lean.quality is None and lean.envelope is None
