"""emgkit multiverse: the grid, one read for every specification, the primary equals
emgkit run, a planted effect holds across the grid and a null study is rarely significant."""

import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from emgkit.errors import ConfigError
from emgkit.multiverse.grid import build_grid
from emgkit.multiverse.run import run_multiverse

GRID = """
[multiverse]
band_low = [15.0, 28.0]
smooth = [0.025, 0.125]
baseline_mode = ["ratio", "logratio"]
"""


def _study(root, name, drug, seed=5):
    from emgkit.sim.recording import SimParams
    from emgkit.sim.study import simulate_study

    out = root / name
    params = SimParams(sfreq=512.0) if drug else SimParams(sfreq=512.0, drug_effect={})
    simulate_study(out, 12, seed=seed, sfreq=512.0, params=params)
    return out


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    root = tmp_path_factory.mktemp("multiverse")
    return {"planted": _study(root, "planted", True), "null": _study(root, "null", False)}


def _with_grid(src, dst, grid=GRID, extra=""):
    shutil.copytree(src, dst)
    toml = dst / "study.toml"
    toml.write_text(toml.read_text() + extra + grid)
    return toml


def test_variants_equal_one_filter_at_a_time():
    """One read, two filters × two envelopes: each equals process_blocks with that filter
    and window, across block boundaries."""
    from emgkit.io.source import ArraySource
    from emgkit.signal.chunked import process_blocks, process_variants
    from emgkit.signal.filter import design_filter

    rng = np.random.default_rng(1)
    sfreq, n = 512.0, 40_000
    x = rng.normal(0, 10, (2, n))
    filters = [design_filter(sfreq, lo, 200.0, notch=50.0) for lo in (15.0, 28.0)]
    envs = [(0, 13, "mean"), (1, 13, "mean"), (1, 64, "rms"), (0, 1, "mean")]
    starts = np.array([-5, 100, 9000, 20_000, 39_500])
    got, inside, _ = process_variants(ArraySource(x, {}), filters, envs, starts, 700, block=4096)
    for (fi, size, kind), g in zip(envs, got):
        ref, ref_inside, _ = process_blocks(ArraySource(x, {}), filters[fi], size, starts, 700,
                                            kind=kind, block=4096)
        np.testing.assert_array_equal(inside, ref_inside)
        np.testing.assert_allclose(g, ref, rtol=1e-12, atol=1e-12, equal_nan=True)
    assert not inside[0] and not inside[-1] and inside[1:4].all()


def test_grid_axes_primary_and_errors(studies, tmp_path):
    toml = _with_grid(studies["null"], tmp_path / "s")
    grid = build_grid(toml)
    assert len(grid) == 9 and grid.primary_added  # 8 + the config's own (20 Hz, 50 ms, ratio)
    assert grid.primary.values == {"band_low": 20.0, "smooth": 0.05, "baseline_mode": "ratio"}
    assert grid.primary.config.preprocess.l_freq == 20.0
    s1 = grid.specifications[0]
    assert s1.values == {"band_low": 15.0, "smooth": 0.025, "baseline_mode": "ratio"}
    assert (s1.config.preprocess.l_freq, s1.config.preprocess.h_freq) == (15.0, 230.0)
    assert "primary added" in repr(grid)

    toml2 = _with_grid(studies["null"], tmp_path / "s2",
                       grid='\n[multiverse]\nbaseline_mode = ["ratio", "percent"]\n')
    grid2 = build_grid(toml2)
    assert len(grid2) == 2 and not grid2.primary_added and grid2.specifications[0].primary

    bad = {'nonsense = [1]': "not a multiverse axis",
           'smooth = []': "non-empty list",
           'smooth = [0.05, 0.05]': "lists a value twice",
           'response = [[0.5, 3.0], [5.0, 9.0]]': "specification response=(5.0, 9.0)",
           'band_low = [300.0]': "band_low=300.0"}
    for i, (line, msg) in enumerate(bad.items()):
        t = _with_grid(studies["null"], tmp_path / f"b{i}", grid=f"\n[multiverse]\n{line}\n")
        with pytest.raises(ConfigError, match=msg.replace("(", r"\(").replace(")", r"\)")):
            build_grid(t)
    plain = tmp_path / "plain"
    shutil.copytree(studies["null"], plain)
    with pytest.raises(ConfigError, match="no \\[multiverse\\] section"):
        build_grid(plain / "study.toml")


def test_primary_equals_emgkit_run(studies, tmp_path):
    """Same config (with standardisation, manual overrides and an excluded participant):
    the primary specification's contrasts are emgkit run's contrasts.tsv."""
    from emgkit.study.run import run_study

    toml = _with_grid(studies["planted"], tmp_path / "s",
                      grid='\n[multiverse]\nsmooth = [0.025, 0.05]\n'
                           'standardise = ["none", "participant_muscle"]\n')
    text = toml.read_text()
    text = text.replace('recordings = ', 'overrides = "overrides.tsv"\n'
                        'exclude_participants = ["sub-12"]\nrecordings = ')
    text = text.replace('bin = 0.5', 'bin = 0.5\nstandardise = "participant_muscle"')
    toml.write_text(text)
    (toml.parent / "overrides.tsv").write_text(
        "participant_id\ttrial\tmuscle\taction\treason\treviewer\n"
        "sub-01\t3\tcorrugator\texclude\tyawn\tAB\n"
        "sub-04\t*\tdepressor\texclude\telectrode off\tAB\n")
    run_study(toml, tmp_path / "run", reports=False, progress=False)
    ref = pd.read_csv(tmp_path / "run" / "group" / "contrasts.tsv", sep="\t")
    ref = ref[ref["factor"] == "group"].reset_index(drop=True)  # the group contrasts
    rec = run_multiverse(toml, tmp_path / "mv", report=False)
    specs = rec["specifications"]
    prim = specs[specs["primary"]].reset_index(drop=True)
    assert prim["standardise"].eq("participant_muscle").all() and prim["smooth"].eq(0.05).all()
    assert len(prim) == len(ref) == 12
    for col in ("estimate", "se", "df", "p", "p_adj", "ci_low", "ci_high", "effect_size"):
        np.testing.assert_allclose(prim[col], ref[col], rtol=1e-9, atol=1e-12, err_msg=col)
    # sub-12 excluded; sub-04's depressor excluded by the overrides
    assert prim["n_participants"].tolist() == [11] * 8 + [10] * 4
    assert rec["participants"]["sub-12"]["status"] == "excluded"
    on_disk = pd.read_csv(tmp_path / "mv" / "specifications.tsv", sep="\t")
    np.testing.assert_allclose(on_disk.loc[on_disk["primary"], "estimate"], ref["estimate"],
                               rtol=1e-9)
    # standardised: the unstandardised levels by group are reported beside the model
    import pypdf

    from emgkit.report import group_report
    from emgkit.study import read_participants

    gdir = tmp_path / "run" / "group"
    levels = pd.read_csv(gdir / "baselines.tsv", sep="\t")
    assert set(levels["group"]) == {"placebo", "naltrexone"} and len(levels) == 6
    group_report(tmp_path / "run", tmp_path / "g.pdf", group_dir=gdir,
                 participants=read_participants(toml.parent / "participants.tsv"))
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(str(tmp_path / "g.pdf")).pages)
    assert "Unstandardised levels by group" in text


@pytest.mark.slow  # ~30 s / ~17 s on two cores: with the heavier checks
def test_planted_effect_holds_and_null_rarely_significant(studies, tmp_path):
    grid = GRID + 'standardise = ["none", "participant_muscle"]\n'
    out = {}
    for name in ("planted", "null"):
        toml = _with_grid(studies[name], tmp_path / name, grid=grid)
        out[name] = run_multiverse(toml, tmp_path / f"mv_{name}", jobs=2,
                                   report=name == "planted")["summary_table"]
    s = out["planted"].set_index(["muscle", "condition"])
    for muscle in ("corrugator", "depressor"):  # the simulated drug effects
        row = s.loc[(muscle, "happy")]
        assert row["primary_p_adj"] < 0.05 and row["primary_estimate"] > 0
        assert row["share_significant_same_sign"] >= 0.75, row.to_dict()
    assert s.loc[("zygomaticus", "happy"), "share_significant"] <= 0.25
    assert (s["share_p05"] >= s["share_significant"]).all()
    assert s.loc[("corrugator", "happy"), "median_estimate"] > 0
    null = out["null"]
    assert null["share_significant"].max() <= 0.25
    assert null["share_significant"].mean() <= 0.05, null.to_string()
    pdf = tmp_path / "mv_planted" / "specification_curve.pdf"
    assert pdf.stat().st_size > 10_000
    assert len(out["planted"]) == 12
    spec = pd.read_csv(tmp_path / "mv_planted" / "specifications.tsv", sep="\t")
    assert spec["specification"].nunique() == 17 and spec["primary"].sum() == 12


def test_cli_multiverse_refuses_study_folder_and_missing_section(studies, tmp_path):
    toml = _with_grid(studies["null"], tmp_path / "s",
                      grid='\n[multiverse]\nbaseline_mode = ["ratio", "logratio"]\n')
    before = sorted(p.name for p in (tmp_path / "s").rglob("*"))
    r = subprocess.run([sys.executable, "-m", "emgkit.cli", "multiverse", str(toml), "--out",
                        str(tmp_path / "s")], capture_output=True, text=True)
    assert r.returncode == 2 and "contains the input" in r.stderr
    assert sorted(p.name for p in (tmp_path / "s").rglob("*")) == before
    plain = tmp_path / "plain"
    shutil.copytree(studies["null"], plain)
    r = subprocess.run([sys.executable, "-m", "emgkit.cli", "multiverse",
                        str(plain / "study.toml"), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no [multiverse] section" in r.stderr
    nogroup = _with_grid(studies["null"], tmp_path / "ng",
                         grid='\n[model]\nformula = "score ~ condition"\n'
                              '[multiverse]\nsmooth = [0.05]\n')
    with pytest.raises(ConfigError, match="no 'group' term"):
        run_multiverse(nogroup, tmp_path / "ng_out")
    assert not (tmp_path / "ng_out").exists()
    r = subprocess.run([sys.executable, "-m", "emgkit.cli", "multiverse", str(toml), "--out",
                        str(tmp_path / "mv"), "--jobs", "2", "--no-report"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "corrugator · naltrexone - placebo · happy: 2 specifications" in r.stdout
    assert sorted(p.name for p in (tmp_path / "mv").iterdir() if not p.name.startswith(".")) \
        == ["dataset_description.json", "multiverse.json", "specifications.tsv", "summary.tsv"]


def test_benchmark_grid_has_24_specifications_with_the_primary(studies, tmp_path):
    from benchmarks.multiverse import GRID as BENCH

    grid = build_grid(_with_grid(studies["null"], tmp_path / "s", grid=BENCH))
    assert len(grid) == 24 and not grid.primary_added


def test_bids_dataset_as_emgkit_run_does_it(studies, tmp_path):
    """--bids: events from each *_events.tsv and channels marked bad in *_channels.tsv fail
    their participant, as in emgkit run; the primary equals the run's contrasts."""
    from emgkit.study.plan import plan_from_bids
    from emgkit.study.run import run_study

    toml = _with_grid(studies["planted"], tmp_path / "s",
                      grid='\n[multiverse]\nsmooth = [0.05]\n')
    tsv = tmp_path / "s" / "sub-04" / "emg" / "sub-04_task-mimicry_channels.tsv"
    ch = pd.read_csv(tsv, sep="\t")
    ch.loc[ch.name == "EXG3", "status"] = "bad"
    ch.to_csv(tsv, sep="\t", index=False)
    events = tmp_path / "s" / "sub-01" / "emg" / "sub-01_task-mimicry_events.tsv"
    ev = pd.read_csv(events, sep="\t")
    ev.iloc[: len(ev) // 2].to_csv(events, sep="\t", index=False)  # only the BIDS events know
    plan = plan_from_bids(tmp_path / "s", task="mimicry")
    run = run_study(toml, tmp_path / "run", plan=plan, reports=False, progress=False)
    assert run["participants"]["sub-04"]["status"] == "failed"
    assert run["config"]["events"]["source"] == "events.tsv"
    rec = run_multiverse(toml, tmp_path / "mv", plan=plan, report=False)
    assert rec["participants"]["sub-04"]["status"] == "failed"
    assert "marked bad" in rec["participants"]["sub-04"]["message"]
    ref = pd.read_csv(tmp_path / "run" / "group" / "contrasts.tsv", sep="\t")
    ref = ref[ref["factor"] == "group"].reset_index(drop=True)  # the group contrasts
    prim = rec["specifications"]
    assert prim["primary"].all() and len(prim) == len(ref)
    trials = pd.read_csv(tmp_path / "run" / "sub-01" / "trials.tsv", sep="\t")
    assert trials["trial"].nunique() == len(ev) // 2
    np.testing.assert_allclose(prim["estimate"], ref["estimate"], rtol=1e-9)
    np.testing.assert_allclose(prim["p_adj"], ref["p_adj"], rtol=1e-9)


def test_device_envelope_muscles_pass_through_every_specification(studies, tmp_path):
    """[preprocess] processed muscles (the device's envelope) are used as they are in every
    specification; the other muscles equal the one-read path."""
    import dataclasses

    from emgkit.events import find_events
    from emgkit.io.load import load_recording
    from emgkit.multiverse.participant import envelope_epochs

    toml = _with_grid(studies["null"], tmp_path / "s",
                      grid='\n[multiverse]\nband_low = [15.0, 28.0]\nsmooth = [0.025, 0.1]\n')
    grid = build_grid(toml)
    rec = tmp_path / "s" / "sub-01" / "emg" / "sub-01_task-mimicry_emg.bdf"
    cfg = grid.config
    dev = dataclasses.replace(cfg, preprocess=dataclasses.replace(
        cfg.preprocess, processed=("depressor",)))
    out = {}
    for name, c in (("raw", cfg), ("device", dev)):
        loaded = load_recording(rec, c)
        onsets = find_events(loaded, c, rec, "sub-01")["onset_s"].to_numpy()
        out[name] = envelope_epochs(loaded, c, grid.specifications, onsets)[3]
    keys = list(out["raw"])
    assert len(keys) == 5  # 4 combinations + the primary (20 Hz, 50 ms)
    for k in keys:
        np.testing.assert_allclose(out["device"][k][:, :2], out["raw"][k][:, :2], rtol=1e-9,
                                   atol=1e-9, equal_nan=True)
        np.testing.assert_array_equal(out["device"][k][:, 2], out["device"][keys[0]][:, 2])
    assert not np.allclose(out["raw"][keys[0]][:, 2], out["raw"][keys[1]][:, 2],
                           equal_nan=True)
