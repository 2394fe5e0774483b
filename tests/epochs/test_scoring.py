"""One scoring path: every corrected value (trial scores, time-course bins, the per-sample
curves behind plots and PDFs) comes from :func:`emgkit.epochs.baseline.correct`."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import recording_of

from emgkit import process_recording
from emgkit.epochs.baseline import BASELINE_MODES, correct
from emgkit.epochs.cut import bin_means, window_mean


@pytest.fixture(scope="module")
def study(study_factory):
    return study_factory("bdf", 1024.0)


def _config(study, mode, tmp_path):
    text = (study / "study.toml").read_text()
    text = text.replace('baseline_mode = "ratio"', f'baseline_mode = "{mode}"')
    cfg = study / f"scoring_{mode}.toml"
    cfg.write_text(text)
    return cfg


def test_correct_formulas():
    level, base, sd = np.array([2.0, 4.0, 0.0]), np.array([2.0, 2.0, 2.0]), np.array([1.0] * 3)
    np.testing.assert_allclose(correct(level, base, "subtract"), [0, 2, -2])
    np.testing.assert_allclose(correct(level, base, "ratio"), [1, 2, 0])
    np.testing.assert_allclose(correct(level, base, "percent"), [0, 100, -100])
    np.testing.assert_allclose(correct(level, base, "logratio")[:2], [0, np.log10(2)])
    assert np.isnan(correct(level, base, "logratio")[2])         # log of a zero level
    np.testing.assert_allclose(correct(level, base, "zscore", sd), [0, 2, -2])
    assert np.isnan(correct(level, np.zeros(3), "ratio")).all()  # zero baseline: NaN


@pytest.mark.parametrize("mode", BASELINE_MODES)
def test_tables_and_plots_share_one_function(study, mode, tmp_path):
    res = process_recording(recording_of(study), _config(study, mode, tmp_path), quality=False)
    ep, mus = res.config.epochs, res.muscles
    env, level = res.envelope_epochs, res.baseline_level
    sd = res.baseline_sd
    # trial scores: the function of the response window's mean level
    want = correct(window_mean(env, res.times, ep.response), level, mode, sd)
    got = res.trials["score"].to_numpy().reshape(len(res.events), len(mus))
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
    # time-course bins: the function of each bin's mean level
    bins, _ = bin_means(env, res.times, ep.bin)
    want = correct(bins, level[..., None], mode, None if sd is None else sd[..., None])
    got = res.timecourses["value"].to_numpy().reshape(want.shape)
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
    # per-sample curves (plot_average, trial images): the function of each sample's level
    want = correct(env, level[..., None], mode, None if sd is None else sd[..., None])
    rows = np.arange(1, len(res.events), 2)
    for m, muscle in enumerate(mus):  # per muscle, without the whole array (reports)
        np.testing.assert_allclose(res.corrected_muscle(muscle, rows), want[rows, m],
                                   rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(res.corrected, want, rtol=1e-12, equal_nan=True)
    if mode == "logratio":  # the log of the window means' ratio, not a mean of logs
        kept = ~res.trials["rejected"].to_numpy().reshape(got.shape[:2])
        score = res.trials["score"].to_numpy().reshape(kept.shape)
        sel = (res.times >= ep.response[0] - 1e-9) & (res.times < ep.response[1] - 1e-9)
        mean_of_logs = res.corrected[..., sel].mean(-1)
        assert not np.allclose(score[kept], mean_of_logs[kept])
    if mode in ("subtract", "ratio", "percent", "zscore"):  # linear: both views agree
        sel = (res.times >= ep.response[0] - 1e-9) & (res.times < ep.response[1] - 1e-9)
        np.testing.assert_allclose(res.corrected[..., sel].mean(-1),
                                   res.trials["score"].to_numpy().reshape(env.shape[:2]),
                                   rtol=1e-9, equal_nan=True)


def test_plot_average_draws_the_corrected_curves(study, tmp_path):
    res = process_recording(recording_of(study), _config(study, "logratio", tmp_path),
                            quality=False)
    cond = res.conditions[0]
    rows = np.flatnonzero(res.events["condition"].to_numpy() == cond)
    data = res.corrected[rows, 0]
    data = data[~np.isnan(data).all(axis=1)]
    mean = data.mean(axis=0)
    fig = res.plot_average(kept_only=False, points=None)  # every sample
    line = next(ln for ln in fig.axes[0].lines if ln.get_label().startswith(f"{cond} "))
    np.testing.assert_allclose(line.get_ydata(), mean, rtol=1e-12)
    fig = res.plot_average(kept_only=False)  # default: means of 600 blocks of samples
    line = next(ln for ln in fig.axes[0].lines if ln.get_label().startswith(f"{cond} "))
    k = -(-len(mean) // 600)
    assert len(line.get_ydata()) <= 600
    full = len(mean) // k
    np.testing.assert_allclose(line.get_ydata()[:full],
                               mean[:full * k].reshape(-1, k).mean(-1), rtol=1e-12)
    np.testing.assert_allclose(line.get_xdata()[0], res.times[:k].mean())
    png = fig._repr_png_()               # and it shows as an image in Jupyter
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
