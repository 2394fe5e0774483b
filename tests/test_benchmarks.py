"""The benchmark scripts' measuring functions work and agree with ground truth (on a small
simulated recording; the timings themselves are never asserted)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import recording_of

from emgkit.io.load import load_recording


def test_pipeline_benchmark_equality_check(study_factory):
    from benchmarks.pipeline_speed import (
        emgkit_pipeline,
        max_relative_difference,
        workload_config,
    )

    study = study_factory("bdf", 2048.0)
    config = workload_config(study / "study.toml")
    assert config.preprocess.notch_harmonics is False
    assert len(emgkit_pipeline(recording_of(study), config).trials) > 0
    assert max_relative_difference(recording_of(study), config) < 1e-6


def test_onset_benchmark_chain_finds_the_known_onsets(study_factory):
    from benchmarks.onset_detection import MUSCLE, emgkit_onsets, score
    from emgkit import load_config

    study = study_factory("bdf", 2048.0)
    rec = recording_of(study)
    loaded = load_recording(rec, load_config(study / "study.toml"))
    sig = loaded.derived[list(loaded.resolved).index(MUSCLE)]
    truth = pd.read_csv(str(rec).replace("_emg.bdf", "_truth.tsv"), sep="\t",
                        keep_default_na=False)
    truth = truth[truth["muscle"] == MUSCLE]
    latency = emgkit_onsets(sig, loaded.sfreq, truth["stim_onset_s"].to_numpy())
    mae, f1 = score(latency, truth)
    assert np.isfinite(mae) and mae < 60.0
    assert f1 > 0.8


def test_stats_speed_benchmark_runs_its_models():
    """The benchmark times reference models of the tests (and R when present): the public
    datasets it has timed since the first release, so their times stay comparable (the newer
    references are checked for numbers, and the general engine has benchmarks.lmm_scale)."""
    import shutil

    from benchmarks import stats_speed

    tested = {p.name[:-len("_fit.csv")] for p in stats_speed.DATA.glob("*_fit.csv")}
    assert set(stats_speed.MODELS) <= tested and len(stats_speed.MODELS) >= 20
    data, levels = stats_speed._load("sleep_int")
    assert stats_speed.emgkit_time(data, stats_speed.MODELS["sleep_int"], levels, 1) > 0
    if shutil.which("Rscript"):
        spec = stats_speed.MODELS["sleep_int"]
        out = stats_speed.lme4_times(
            {"sleep_int": (stats_speed.DATA / "sleep_int_data.csv", spec[0], ["Subject"])}, 1)
        assert out["sleep_int"] > 0


def test_review_benchmark_measures_a_small_study(tmp_path, capsys):
    """The review benchmark's study, process timing, folder size and browser timings (the
    browser part only where chromium, chromedriver and selenium are installed)."""
    import shutil

    from benchmarks import review_speed

    figures = review_speed.main(3, 1, folder=tmp_path, n_trials=2)
    out = capsys.readouterr().out
    assert "3 participants × 8 trials × 3 muscles" in out
    assert figures["review"] > 0 and 0 < figures["size"] < 1_000_000
    assert (tmp_path / "out" / "sub-03" / "envelopes.npz").is_file()  # a copied participant
    have = shutil.which("chromium") and shutil.which("chromedriver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        have = False
    if have:
        assert 0 < figures["overview"] <= figures["overview_paint"]
        assert 0 < figures["participant"] <= figures["participant_paint"]
        assert 0 < figures["route"] <= figures["route_paint"]
    else:
        assert "browser figures skipped" in out


def test_lmm_scale_tables_have_the_documented_shape():
    """InstEval's shape (73,421 rows, 2,972 students, 1,128 lecturers, unbalanced) and the
    fEMG table (200 participants × 4 conditions × 3 muscles × 40 trials, 96 stimuli)."""
    from benchmarks.lmm_scale import femg_table, insteval_table

    ie = insteval_table()
    assert ie.shape[0] == 73421 and ie["s"].nunique() == 2972 and ie["d"].nunique() == 1128
    per_s = ie.groupby("s").size()
    assert per_s.min() >= 1 and per_s.max() > 5 * per_s.median()
    f = femg_table()
    assert f.shape[0] == 200 * 4 * 3 * 40
    assert f["stimulus"].nunique() == 96 and f["participant_id"].nunique() == 200
    assert (f.groupby("stimulus")["condition"].nunique() == 1).all()


def test_timed_marks_the_end_of_imports(tmp_path):
    """benchmarks.timed records a command's imports, preloads them and prints when they end;
    study_speed.measure turns that into seconds after imports."""
    import sys

    from benchmarks.study_speed import measure, ratio

    modules = tmp_path / "modules.txt"
    wall, after = measure([sys.executable, "-m", "benchmarks.timed", "--record", modules,
                           "json.tool", "--help"])
    assert "json.tool" not in modules.read_text().split()  # the command itself is not preloaded
    assert 0 < after <= wall
    wall, after = measure([sys.executable, "-m", "benchmarks.timed", "--preload", modules,
                           "json.tool", "--help"])
    assert 0 < after <= wall
    assert ratio([4.0, 6.0, 9.0], [2.0, 2.0, 3.0]) == (3.0, 2.0, 3.0)


@pytest.mark.slow
def test_study_speed_quick_prints_every_ratio(tmp_path, capsys):
    """``python -m benchmarks.study_speed --quick``: a small study through every measured
    command; the four ratios and the drawing time are printed with their goals."""
    from benchmarks import study_speed

    study_speed.main(["--quick", "--dir", str(tmp_path)])
    out = capsys.readouterr().out
    for label in ("a. run --no-reports --jobs 1 vs MNE loop", "b. run --jobs 2 vs --jobs 1",
                  "c. run with reports / --no-reports", "d. process vs MNE script",
                  "a'. same, equal work", "d'. same, equal work",
                  "subject PDF drawing"):
        assert label in out
    assert out.count("goal") == 7
    equal = (tmp_path / "quick" / "study-equal.toml").read_text()  # the MNE script's filters
    assert "notch_harmonics = false" in equal and "order = 4" in equal


def test_run_floor_bound_is_where_goals_a_and_b_meet():
    """benchmarks.run_floor's bound on a run's serial part S: just below it some per-file
    work W and some --jobs 1 thread speed-up s in [1, 2] meet both goals (T1 = S + W/s ≤
    M/4 and T1 ≥ 1.7·T2 with T2 = S + W/2, the best two cores can do); just above, none."""
    from benchmarks.run_floor import A_GOAL, B_GOAL, joint_serial_bound

    mne_loop = 24.0
    bound = joint_serial_bound(mne_loop)
    w, s = np.meshgrid(np.linspace(0.0, 30.0, 3001), np.linspace(1.0, 2.0, 201))

    def feasible(serial):
        t1 = serial + w / s
        return bool(np.any((t1 <= mne_loop / A_GOAL) & (t1 >= B_GOAL * (serial + w / 2))))

    assert feasible(0.99 * bound) and not feasible(1.01 * bound)
    assert abs(bound - mne_loop / 22.67) < 0.01


def test_run_floor_measures_the_per_file_steps(study_factory):
    from benchmarks.run_floor import per_file_floor

    study = study_factory("bdf", 2048.0)
    floor = per_file_floor(recording_of(study), study / "study.toml", repeats=1)
    assert floor["signals"] == 3 and floor["sections"] > 4 and floor["samples"] > 2048
    assert all(floor[k] > 0 for k in ("read", "filter", "filter_whole", "envelope"))
