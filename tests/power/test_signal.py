"""Signal-level power: planted scores come back through the pipeline, and the power of
simulated recordings equals the trial-level power when measurement noise is small."""

from __future__ import annotations

import numpy as np
import pytest

from emgkit import load_config
from emgkit.io.write import write_edf
from emgkit.pipeline import process_recording
from emgkit.power.model import factorial_model
from emgkit.power.signal import signal_power
from emgkit.power.simulate import simulate_power
from emgkit.sim.scores import recording_from_scores, score_gain

SAMPLE = __import__("pathlib").Path(__file__).resolve().parents[2] / "sample_data"
CONDS = ["neutral", "angry", "happy", "sad"]


def test_planted_gains_are_the_pipelines_scores(tmp_path):
    """A recording built from known gains: the pipeline's ratio scores equal them within
    the envelope's measurement noise (a few %)."""
    cfg = load_config(SAMPLE / "study.toml")
    rng = np.random.default_rng(0)
    conds = list(rng.permutation(np.repeat(CONDS, 5)))
    gains = rng.uniform(0.6, 2.5, (len(conds), 3))
    codes = {c: k + 1 for k, c in enumerate(CONDS)}
    sig, status, onsets = recording_from_scores(gains, conds, codes, 2048.0,
                                                window=cfg.epochs.response, seed=1)
    rows, names = [], []
    for m, spec in enumerate(cfg.channels.values()):
        a, c = spec.split("-")
        rows += [sig[m], np.zeros_like(sig[m])]
        names += [a, c]
    path = tmp_path / "sub-01_emg.bdf"
    write_edf(path, np.vstack(rows), names, 2048.0, stim=status)
    from dataclasses import replace
    cfg = replace(cfg, events=replace(cfg.events, conditions={str(v): k
                                                              for k, v in codes.items()}))
    res = process_recording(path, cfg, quality=False)
    np.testing.assert_allclose(res.events["onset_s"], onsets, atol=1 / 2048)
    got = res.trials.pivot(index="trial", columns="muscle", values="score")[
        list(cfg.channels)].to_numpy()
    rel = got / gains - 1
    assert rel.std() < 0.05 and np.abs(rel.mean()) < 0.015 and np.abs(rel).max() < 0.15


def test_score_gain_modes():
    np.testing.assert_allclose(score_gain([1.5, -0.2], "ratio"), [1.5, 0.05])
    np.testing.assert_allclose(score_gain([50.0], "percent"), [1.5])
    np.testing.assert_allclose(score_gain([np.log10(2)], "logratio"), [2.0])
    with pytest.raises(Exception, match="ratio, percent or logratio"):
        score_gain([1.0], "zscore")


@pytest.mark.slow
def test_signal_power_equals_trial_level_power():
    """30 studies of 2 × 5 participants × 5 trials per cell as recordings through the
    pipeline (three muscles, independent): power within Monte-Carlo error of 2,000
    trial-level studies of the same model."""
    model = factorial_model(["placebo", "naltrexone"], CONDS,
                            [[1.0, 1.3, 1.1, 1.2], [1.0, 1.3, 1.75, 1.2]], tau=0.3, sigma=0.4)
    cfg = load_config(SAMPLE / "study.toml")
    models = {m: model for m in cfg.channels}
    sig = signal_power(models, "happy", [(5, 5)], 30, cfg, "score ~ group * condition",
                       seed=3, jobs=2)
    trial = simulate_power(model, "happy", 5, 5, 2000, np.random.default_rng(4))
    p_trial = trial["reject"].mean()
    hits = (sig["power"] * sig["simulations"]).sum()
    n = sig["simulations"].sum()
    p_sig = hits / n
    se = np.sqrt(p_trial * (1 - p_trial) / 2000 + p_sig * (1 - p_sig) / n)
    assert 0.2 < p_trial < 0.9
    assert abs(p_sig - p_trial) < 3 * se, (p_sig, p_trial, se)
    assert sig["mean_estimate"].mean() == pytest.approx(0.65, abs=0.12)
    assert (sig["kept_rate"] > 0.9).all()
