"""`emgkit power` from a pilot trial table: outputs, the pilot's parameters, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import POWER_TOML

from emgkit.cli import main
from emgkit.errors import ConfigError, ModelError
from emgkit.power.pilot import pilot_models
from emgkit.sim.recording import simulate_scores


@pytest.fixture(scope="module")
def pilot(tmp_path_factory):
    root = tmp_path_factory.mktemp("pilot")
    trials, parts = simulate_scores(8, muscles=("corrugator", "zygomaticus"), n_trials=8,
                                    subject_sd=0.3, residual_sd=0.5, seed=4,
                                    drug_effects={("happy", "corrugator"): 0.4})
    trials.to_csv(root / "trials.tsv", sep="\t", index=False)
    parts.to_csv(root / "participants.tsv", sep="\t", index=False)
    return root, trials, parts


def test_pilot_models_take_the_fitted_parameters(pilot):
    _, trials, parts = pilot
    models, at = pilot_models(trials.drop(columns="group"), "score ~ group * condition",
                              participants=parts, at="condition=happy")
    assert at == "happy" and list(models) == ["corrugator", "zygomaticus"]
    m = models["corrugator"]
    assert m.groups[0] == "placebo" and "happy" in m.conditions
    # the pilot's variances, within sampling error of the simulated truth
    assert 0.1 < np.sqrt(m.tau2) < 0.6 and 0.4 < np.sqrt(m.s2) < 0.6
    assert m.effect("happy") == pytest.approx(0.4, abs=0.35)
    with pytest.raises(ConfigError, match="condition has the levels"):
        pilot_models(trials.drop(columns="group"), "score ~ group * condition",
                     participants=parts, at="condition=bored")
    with pytest.raises(ConfigError, match="name the row to test with --at"):
        pilot_models(trials.drop(columns="group"), "score ~ group * condition",
                     participants=parts)
    with pytest.raises(ModelError, match="random-intercept model of 'group'"):
        pilot_models(trials.drop(columns="group"), "score ~ group * condition * muscle",
                     participants=parts, at="condition=happy")


def test_power_command_writes_table_pdf_and_settings(pilot, tmp_path, capsys):
    root, _, _ = pilot
    out = tmp_path / "power"
    argv = ["power", "--pilot", str(root / "trials.tsv"), "--participants",
            str(root / "participants.tsv"), "--at", "condition=happy", "--n-per-group",
            "8,30", "--trials-per-cell", "8", "--simulations", "60", "--seed", "2",
            "--effect-sd", "0.5", "--out", str(out)]
    assert main(argv) == 0
    table = pd.read_csv(out / "power.tsv", sep="\t")
    assert len(table) == 4 and set(table["muscle"]) == {"corrugator", "zygomaticus"}
    np.testing.assert_allclose(table["effect_sd"], 0.5)
    assert (table.groupby("muscle")["power"].diff().dropna() >= -0.1).all()
    assert json.loads((out / "power.json").read_text())["effect_sd"] == 0.5
    assert (out / "power.pdf").read_bytes()[:5] == b"%PDF-"
    # the same seed gives the same table
    out2 = tmp_path / "again"
    assert main(argv[:-1] + [str(out2)]) == 0
    pd.testing.assert_frame_equal(table, pd.read_csv(out2 / "power.tsv", sep="\t"))


@pytest.mark.parametrize("extra,message", [
    (["--n-per-group", "1,x"], "argument --n-per-group: '1,x'"),
    (["--simulations", "3"], "argument --simulations: 3 is out of range"),
    (["--effect", "0.1", "--effect-sd", "0.2"], "not both"),
    (["--at", "happy"], "FACTOR=LEVEL"),
    (["--alpha", "5"], "argument --alpha: 5 is out of range"),
    (["--formula", "score ~ group + condition"], "does not interact with 'condition'"),
    # issue 25: these ran (power 0 for a negative bound) or gave a traceback
    (["--equivalence", "-0.2"], "argument --equivalence: -0.2 is out of range"),
    (["--equivalence", "nan"], "argument --equivalence: 'nan' is not allowed"),
    (["--effect-sd", "nan"], "argument --effect-sd: 'nan' is not allowed"),
    (["--effect-sd=inf"], "argument --effect-sd: 'inf' is not allowed"),
    (["--adjust", "foo"], "argument --adjust: invalid choice: 'foo'"),
    (["--seed", "-1"], "argument --seed: -1 is out of range"),
    (["--simulations", "1000000000"], "give a number of simulations from 10 to 100000"),
    (["--n-per-group", "1000000000"], "from 2 to 10000"),
    (["--jobs", "0"], "argument --jobs: 0 is out of range"),
    (["--signal", "1000000000x3", "--config", "study.toml"], "2 to 10,000 participants"),
])
def test_power_command_refuses_bad_settings(pilot, tmp_path, capsys, extra, message):
    root, _, _ = pilot
    argv = ["power", "--pilot", str(root / "trials.tsv"), "--participants",
            str(root / "participants.tsv"), "--at", "condition=happy", "--n-per-group",
            "8", "--trials-per-cell", "8", "--simulations", "10", "--out",
            str(tmp_path / "p")] + extra
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refuses the value before the command runs
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "p").exists()


def test_power_prints_a_time_and_memory_estimate_first(pilot, tmp_path, capsys):
    """Before simulating, `power` says how many studies it will simulate, about how long
    that takes and how much memory a worker needs (measured on the largest design)."""
    root, _, _ = pilot
    argv = ["power", "--pilot", str(root / "trials.tsv"), "--participants",
            str(root / "participants.tsv"), "--at", "condition=happy", "--n-per-group",
            "6,12", "--trials-per-cell", "4", "--simulations", "20", "--out",
            str(tmp_path / "p")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith("power: 80 simulated studies: about ") and " s in all" in first
    assert "MB per worker" in first and "starting" in first


def test_cost_estimate_scales_with_the_grid(pilot):
    from emgkit.power.estimate import cost_estimate
    from emgkit.power.pilot import pilot_models

    _, trials, parts = pilot
    models, at = pilot_models(trials.drop(columns="group"), "score ~ group * condition",
                              participants=parts, at="condition=happy")
    small = cost_estimate(models, at, [10], [8], 100)
    big = cost_estimate(models, at, [10, 2000], [8], 100, jobs=2)
    assert small["studies"] == 200 and big["studies"] == 400
    assert 0 < small["seconds"] < 60 and 0 < small["peak_bytes"] < 50 * 2**20
    # 2,000 per group: a bigger design needs more memory (arrays of 4,000 participants)
    assert big["peak_bytes"] > 10 * small["peak_bytes"]


def test_power_command_signal_level(pilot, tmp_path):
    """--signal adds rows from simulated recordings run through the pipeline."""
    root, _, _ = pilot
    sample = __import__("pathlib").Path(__file__).resolve().parents[2] / "sample_data"
    argv = ["power", "--pilot", str(root / "trials.tsv"), "--participants",
            str(root / "participants.tsv"), "--at", "condition=happy", "--n-per-group", "3",
            "--trials-per-cell", "3", "--simulations", "20", "--signal", "3x3",
            "--signal-simulations", "2", "--out", str(tmp_path / "p")]
    assert main(argv) != 0  # --signal needs the study's config
    assert main(argv + ["--config", str(sample / "study.toml")]) == 0
    table = pd.read_csv(tmp_path / "p" / "power.tsv", sep="\t")
    sig = table[table["level"] == "signal"]
    assert len(sig) == 2 and (sig["simulations"] == 2).all()
    assert (sig["kept_rate"] > 0.5).all() and sig["mean_se"].notna().all()
    assert set(table["level"]) == {"trial", "signal"}




def test_power_from_a_declared_model(tmp_path):
    """Without a pilot, [power] declares cell means and SDs; the study's config still loads
    for `emgkit run`."""
    from emgkit import load_config
    from emgkit.power.config import declared_models

    sample = __import__("pathlib").Path(__file__).resolve().parents[2] / "sample_data"
    toml = tmp_path / "study.toml"
    toml.write_text((sample / "study.toml").read_text() + POWER_TOML)
    load_config(toml)
    models = declared_models(toml)
    assert list(models) == ["corrugator", "zygomaticus"]
    m = models["corrugator"]
    assert m.conditions == ["happy", "angry", "sad", "neutral"]  # from [events.conditions]
    assert m.effect("happy") == pytest.approx(0.4)
    assert np.sqrt(models["zygomaticus"].s2) == pytest.approx(0.4)
    out = tmp_path / "p"
    assert main(["power", "--config", str(toml), "--at", "condition=happy", "--n-per-group",
                 "10", "--trials-per-cell", "6", "--simulations", "100", "--out",
                 str(out)]) == 0
    table = pd.read_csv(out / "power.tsv", sep="\t")
    # corrugator has a 0.4 effect at happy, zygomaticus none
    power = table.set_index("muscle")["power"]
    assert power["corrugator"] > 0.3 and power["zygomaticus"] < 0.1


@pytest.mark.parametrize("section,message", [
    ("[power]\ngroups = ['placebo']\n", "at least two group names"),
    ("[power]\ngroups = ['a', 'b']\ntau = 0.3\nsigma = 0.5\n[power.means.corrugator]\n"
     "a = [1, 2]\nb = [1, 2, 3, 4]\n", "power.means.corrugator.a must list 4 numbers"),
    ("[power]\ngroups = ['a', 'b']\ntau = -1\nsigma = 0.5\n[power.means.corrugator]\n"
     "a = [1, 2, 3, 4]\nb = [1, 2, 3, 4]\n", "power.tau must be a non-negative number"),
    ("[power]\ngroup = ['a', 'b']\n", "unknown key(s) power.group"),
    ("", "has no [power] section"),
])
def test_bad_power_sections_are_named(tmp_path, section, message):
    from emgkit.power.config import declared_models

    sample = __import__("pathlib").Path(__file__).resolve().parents[2] / "sample_data"
    toml = tmp_path / "study.toml"
    toml.write_text((sample / "study.toml").read_text() + section)
    with pytest.raises(ConfigError, match=__import__("re").escape(message)):
        declared_models(toml)


def test_power_out_at_the_pilot_folder_is_refused(pilot, capsys):
    """--out may not be the folder holding the pilot table: nothing there changes."""
    root, _, _ = pilot
    before = sorted((p.name, p.stat().st_mtime_ns) for p in root.iterdir())
    argv = ["power", "--pilot", str(root / "trials.tsv"), "--participants",
            str(root / "participants.tsv"), "--at", "condition=happy", "--n-per-group", "4",
            "--trials-per-cell", "4", "--simulations", "10", "--out", str(root)]
    assert main(argv) != 0
    assert sorted((p.name, p.stat().st_mtime_ns) for p in root.iterdir()) == before


def test_singular_share_is_reported(pilot, tmp_path, capsys):
    """2 per group: many simulated fits are singular; power.tsv, the terminal and the PDF
    say how many (not only the power)."""
    from pypdf import PdfReader

    from emgkit.power.report import singular_note

    root, _, _ = pilot
    out = tmp_path / "power"
    assert main(["power", "--pilot", str(root / "trials.tsv"), "--participants",
                 str(root / "participants.tsv"), "--at", "condition=happy", "--n-per-group",
                 "2", "--trials-per-cell", "2", "--simulations", "40", "--seed", "1",
                 "--effect-sd", "0.0", "--out", str(out)]) == 0
    table = pd.read_csv(out / "power.tsv", sep="\t")
    assert (table["singular_rate"] > 0.05).any()
    captured = capsys.readouterr()
    assert "singular_rate" in captured.out and "caution:" in captured.err
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(out / "power.pdf").pages)
    assert "rests on boundary fits" in text
    quiet = table.assign(singular_rate=0.0, converged_rate=1.0)
    assert singular_note(quiet) == ""


@pytest.mark.parametrize("kwargs,message", [
    ({"equivalence": (-0.2, "sd")}, "equivalence=-0.2 is out of range"),
    ({"equivalence": (float("nan"), "sd")}, "equivalence must be finite"),
    ({"seed": -1}, "seed=-1"),
    ({"alpha": float("nan")}, "alpha must be finite"),
    ({"simulations": 0}, "simulations=0"),
])
def test_power_analysis_refuses_bad_numbers(pilot, kwargs, message):
    """The Python API refuses what the command line refuses (a negative equivalence bound
    used to give a power of 0)."""
    from emgkit.power.run import power_analysis

    _, trials, parts = pilot
    models, at = pilot_models(trials.drop(columns="group"), "score ~ group * condition",
                              participants=parts, at="condition=happy")
    with pytest.raises(ConfigError, match=__import__("re").escape(message)):
        power_analysis(models, at, [8], [8], **{"simulations": 10, **kwargs})
