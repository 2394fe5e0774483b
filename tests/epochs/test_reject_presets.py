"""[reject] method presets from the literature: kunecke2014 (range in a 50-ms sliding window >
3 SD of the session) and dignath2019 (±3.5 SD on bins and bin differences, > 50 % of bins)."""

import numpy as np
import pytest

from emgkit.epochs.reject import bin_outliers, range_outliers


def _envelopes(seed=0, n=60, sfreq=500.0):
    """Smooth envelope epochs (µV): a tonic level with slow noise and a slow response."""
    rng = np.random.default_rng(seed)
    t = np.arange(-1.0, 6.0, 1 / sfreq)
    slow = np.cumsum(rng.normal(0, 0.05, (n, t.size)), axis=1)
    resp = rng.uniform(2, 8, (n, 1)) * np.exp(-0.5 * ((t - 1.5) / 0.5) ** 2)
    return t, 5.0 + 0.2 * (slow - slow.mean(1, keepdims=True)) + resp


def test_range_rule_flags_sharp_jumps_not_slow_responses():
    sfreq = 500.0
    t, env = _envelopes()
    clean = np.ones(len(env), bool)
    assert not range_outliers(env, sfreq, clean).any()  # slow responses pass
    planted = [4, 17, 33]
    for i in planted:  # a 20-ms spike of 40 µV (a movement artefact in the envelope)
        k = int((1.2 + 0.1 * i % 2) * sfreq)
        env[i, k:k + 10] += 40.0
    flags = range_outliers(env, sfreq, clean)
    assert np.flatnonzero(flags).tolist() == planted
    # the SD is the clean trials'; trials that are not clean are never flagged
    clean[17] = False
    flags = range_outliers(env, sfreq, clean)
    assert not flags[17] and flags[4] and flags[33]
    # reference: brute-force sliding ranges over complete and edge windows
    size = int(round(0.05 * sfreq))
    x = env[clean]
    brute = np.array([max(np.ptp(row[max(0, j - size // 2):j - size // 2 + size])
                          for j in range(row.size)) for row in x[:5]])
    assert (brute > 3 * x.std()).tolist() == flags[clean][:5].tolist()


def test_bin_rule_needs_more_than_half_the_bins():
    rng = np.random.default_rng(2)
    bins = rng.normal(0, 1, (80, 14))
    clean = np.ones(80, bool)
    assert not bin_outliers(bins, clean).any()
    bins[5, :8] += 20.0     # 8 of 14 bins extreme: out
    bins[6, :6] += 20.0     # 6 of 14 (43 %): kept
    bins[7, ::2] += 12.0    # saw-tooth: values and jumps flag more than half its bins
    flags = bin_outliers(bins, clean)
    assert flags[5] and not flags[6] and flags[7]
    assert flags.sum() == 2
    assert not bin_outliers(bins, ~np.eye(80, dtype=bool)[5])[5]  # not clean: not judged


@pytest.fixture(scope="module")
def artefact_recording(tmp_path_factory):
    """A simulated recording with movement artefacts planted at known trials: short
    high-amplitude bursts on the zygomaticus anode, noise over most of the epoch after the
    baseline on the depressor."""
    from emgkit.sim.recording import SimParams, simulate_recording
    from emgkit.sim.study import study_toml, write_recording

    params = SimParams(sfreq=1000.0, n_artefacts=0, n_trials=12)
    rec = simulate_recording(params, seed=4)
    rng = np.random.default_rng(9)
    onsets = rec.events["onset"].to_numpy()
    short, long = [3, 11, 20, 30], [8, 26]
    for k in short:
        i = int((onsets[k] + 1.5) * params.sfreq)
        rec.data[2, i:i + 40] += rng.normal(0, 400.0, 40)   # EXG3, 40 ms
    for k in long:
        i = int((onsets[k] + 0.5) * params.sfreq)
        rec.data[4, i:i + 5400] += rng.normal(0, 150.0, 5400)  # EXG5, 0.5–5.9 s
    folder = tmp_path_factory.mktemp("artefacts")
    path = write_recording(rec, folder / "sub-01_task-mimicry_emg.bdf")
    return path, study_toml(params), short, long


@pytest.mark.parametrize("method", ["kunecke2014", "dignath2019"])
def test_presets_find_planted_artefacts_in_the_pipeline(artefact_recording, method, tmp_path):
    from emgkit import process_recording
    from emgkit.config import load_config
    from emgkit.report.methods import methods_text

    path, text, short, long = artefact_recording
    toml = tmp_path / "study.toml"
    toml.write_text(text.replace("flat = 0.1", f'flat = 0.1\nmethod = "{method}"'))
    cfg = load_config(toml)
    assert cfg.reject.method == method
    res = process_recording(path, cfg, quality=False)
    t = res.trials.set_index(["trial", "muscle"])
    reason = {"kunecke2014": "range_artifact", "dignath2019": "bin_outlier"}[method]
    assert "baseline_outlier" not in " ".join(t["reject_reason"])  # the robust rule is off
    for k in long:  # trial numbers start at 1
        assert reason in t.loc[(k + 1, "depressor"), "reject_reason"]
    for k in short:  # a 40-ms burst: a jump in the envelope, but in 2 of 14 bins
        flagged = reason in t.loc[(k + 1, "zygomaticus"), "reject_reason"]
        assert flagged == (method == "kunecke2014")
    planted = {(k + 1, "zygomaticus") for k in short} | {(k + 1, "depressor") for k in long}
    others = t[[idx not in planted for idx in t.index]]
    assert others["rejected"].mean() < 0.05
    text = methods_text(cfg, sfreq=1000.0)
    assert ("Künecke" if method == "kunecke2014" else "Dignath") in text
    assert "robust SDs" not in text


def test_method_option_is_checked_and_default_keeps_digests():
    from emgkit.config.load import config_from_dict
    from emgkit.errors import ConfigError

    base = {"channels": {"corrugator": "EXG1-EXG2"}, "events": {"conditions": {"1": "happy"}}}
    assert "method" not in config_from_dict(base).to_dict()["reject"]
    cfg = config_from_dict({**base, "reject": {"method": "dignath2019"}})
    assert cfg.to_dict()["reject"]["method"] == "dignath2019"
    with pytest.raises(ConfigError, match="reject.method"):
        config_from_dict({**base, "reject": {"method": "kunecke"}})
