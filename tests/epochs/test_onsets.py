import numpy as np
import pandas as pd
import pytest
from conftest import recording_of

from emgkit import process_recording
from emgkit.epochs.onsets import detect_onsets


def test_detects_step_onsets_exactly():
    sfreq = 1000.0
    times = np.arange(-1000, 3001) / sfreq
    rng = np.random.default_rng(0)
    env = 3 + 0.05 * rng.standard_normal((4, len(times)))
    env[0, times >= 0.8] += 2.0
    env[1, times >= 0.25] += 1.0
    env[2, (times >= 1.0) & (times < 1.05)] += 5.0    # too short to count (< 100 ms)
    out = detect_onsets(env, times, (-1.0, 0.0), (0.0, 3.0))
    assert abs(out[0] - 0.8) < 0.003 and abs(out[1] - 0.25) < 0.003
    assert np.isnan(out[2]) and np.isnan(out[3])


def test_latencies_match_simulated_bursts(study_factory):
    study = study_factory("bdf", 2048.0)
    rec = recording_of(study)
    result = process_recording(rec, study / "study.toml")
    truth = pd.read_csv(rec.with_name("sub-01_task-mimicry_truth.tsv"), sep="\t",
                        keep_default_na=False)
    m = result.trials.merge(truth, on=["trial", "muscle"], suffixes=("", "_true"))
    pos = m["amplitude"] >= 1.0          # activations (relaxations have no onset)
    det = m["latency_s"].notna()
    recall = (pos & det).sum() / pos.sum()
    precision = (pos & det).sum() / det.sum()
    assert recall > 0.85 and precision > 0.85
    err = (m["latency_s"] - m["latency_s_true"])[pos & det].abs()
    assert err.median() < 0.08


@pytest.mark.slow  # ~30 s / ~17 s on two cores: with the heavier checks
def test_neurokit2_onsets_match_simulated_bursts_beside_emgkit(study_factory):
    """``[onsets] method = "neurokit2"`` (NeuroKit2's emg_activation) recovers the
    simulator's burst onsets; emgkit's own detector is scored on the same trials."""
    study = study_factory("bdf", 2048.0)
    rec = recording_of(study)
    text = (study / "study.toml").read_text()
    cfg = study / "nk.toml"
    scores = {}
    for method in ("emgkit", "neurokit2"):
        cfg.write_text(text + f'\n[onsets]\nmethod = "{method}"\n')
        result = process_recording(rec, cfg, quality=False, keep_continuous=False)
        truth = pd.read_csv(rec.with_name("sub-01_task-mimicry_truth.tsv"), sep="\t",
                            keep_default_na=False)
        m = result.trials.merge(truth, on=["trial", "muscle"], suffixes=("", "_true"))
        pos, det = m["amplitude"] >= 1.0, m["latency_s"].notna()
        err = (m["latency_s"] - m["latency_s_true"])[pos & det].abs()
        scores[method] = ((pos & det).sum() / pos.sum(), (pos & det).sum() / det.sum(),
                          err.median())
    for method, (recall, precision, median_err) in scores.items():
        assert recall > 0.8 and precision > 0.8, (method, scores)
        assert median_err < 0.1, (method, scores)
    # the two methods are different detectors, not one under two names
    assert scores["emgkit"] != scores["neurokit2"]


def test_neurokit2_methods_on_steps():
    from emgkit.epochs.onsets import neurokit_onsets

    sfreq = 512.0
    times = np.arange(-512, 1537) / sfreq
    rng = np.random.default_rng(1)
    truth = rng.uniform(0.3, 1.5, 12)
    env = 5 + 0.3 * rng.standard_normal((12, len(times)))
    for i, t0 in enumerate(truth):
        env[i, times >= t0] += 10
    env[0, (times >= 0.1) & (times < 0.12)] += 10   # a 20 ms blip before the burst: ignored
    for method in ("threshold", "mixture"):
        out = neurokit_onsets(env, times, (-1.0, 0.0), (0.0, 3.0), method=method)
        assert np.abs(out - truth).max() < 3 / sfreq, method
    flat = np.full((1, len(times)), 5.0)
    assert np.isnan(neurokit_onsets(flat, times, (-1.0, 0.0), (0.0, 3.0))).all()
