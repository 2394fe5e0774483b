"""Every bad number or choice on the command line is one clear line and exit code 2, before
anything runs (issue 25, item 6): no traceback, no silent power of 0, no unbounded run."""

from __future__ import annotations

import pytest

from emgkit.cli import main

POWER = ["power", "--pilot", "{tmp}/pilot.tsv", "--at", "condition=happy", "--n-per-group",
         "8", "--trials-per-cell", "8", "--out", "{tmp}/p"]
SIMULATE = ["simulate", "{tmp}/s", "--subjects", "1", "--trials", "1", "--sfreq", "512"]
TIMECOURSE = ["timecourse", "{tmp}/results", "--at", "condition=happy", "--out", "{tmp}/t"]
STATS = ["stats", "{tmp}/trials.tsv", "--formula", "score ~ group", "--out", "{tmp}/st"]

CASES = [
    # power
    (POWER, "--effect-sd", "nan"),
    (POWER, "--effect-sd", "inf"),
    (POWER, "--effect-sd", "-inf"),
    (POWER, "--effect", "nan"),
    (POWER, "--adjust", "foo"),
    (POWER, "--seed", "-1"),
    (POWER, "--seed", "1.5"),
    (POWER, "--simulations", "1e9"),
    (POWER, "--simulations", "1000000000"),
    (POWER, "--simulations", "3"),
    (POWER, "--n-per-group", "1e9"),
    (POWER, "--n-per-group", "10,1000000000"),
    (POWER, "--n-per-group", "1"),
    (POWER, "--trials-per-cell", "0"),
    (POWER, "--equivalence", "-0.2"),
    (POWER, "--equivalence", "0"),
    (POWER, "--equivalence", "nan"),
    (POWER, "--jobs", "0"),
    (POWER, "--jobs", "-1"),
    (POWER, "--alpha", "nan"),
    (POWER, "--alpha", "1"),
    (POWER, "--target-power", "inf"),
    (POWER, "--signal-sfreq", "0"),
    (POWER, "--signal-simulations", "0"),
    # simulate
    (SIMULATE, "--subjects", "0"),
    (SIMULATE, "--subjects", "-1"),
    (SIMULATE, "--subjects", "1e9"),
    (SIMULATE, "--subjects", "1000000000"),
    (SIMULATE, "--sfreq", "nan"),
    (SIMULATE, "--sfreq", "0"),
    (SIMULATE, "--sfreq", "-512"),
    (SIMULATE, "--sfreq", "1"),  # a traceback from the noise filter before
    (SIMULATE, "--trials", "0"),
    (SIMULATE, "--seed", "-1"),
    # timecourse
    (TIMECOURSE, "--permutations", "0"),
    (TIMECOURSE, "--permutations", "-5"),
    (TIMECOURSE, "--alpha", "nan"),
    (TIMECOURSE, "--seed", "-1"),
    # stats, run, multiverse, init, inspect
    (STATS, "--equivalence", "nan"),
    (STATS, "--equivalence", "-0.2"),
    (["run", "{tmp}/study.toml", "--out", "{tmp}/o"], "--jobs", "0"),
    (["multiverse", "{tmp}/study.toml", "--out", "{tmp}/o"], "--jobs", "-1"),
    (["init", "{tmp}/rec.bdf", "--out", "{tmp}/x.toml"], "--mask", "-1"),
    (["inspect", "{tmp}/rec.bdf"], "--mask", "0x1000000"),
]


@pytest.mark.parametrize("base,option,value", CASES,
                         ids=[f"{b[0]} {o} {v}" for b, o, v in CASES])
def test_bad_value_is_one_line_naming_the_option(tmp_path, capsys, base, option, value):
    # "-inf" looks like an option to argparse: users write --effect-sd=-inf
    given = [f"{option}={value}"] if value[:2] == "-i" else [option, value]
    argv = [a.format(tmp=tmp_path) for a in base] + given
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("emgkit: error: argument ") and err.count("\n") == 1, err
    assert option in err and value.lstrip("-") in err, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_every_seed_and_jobs_option_has_bounds_and_help():
    """Options that take a number all go through the shared argparse types, and every
    option of every command says what it does."""
    from emgkit import _args
    from emgkit.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.choices and "power" in a.choices)
    shared = {_args.arg_seed, _args.arg_jobs}
    for name, cmd in sub.choices.items():
        for action in cmd._actions:
            if action.dest in ("help",):
                continue
            assert action.help, f"emgkit {name} {'/'.join(action.option_strings) or action.dest}"
            if action.dest in ("seed", "jobs") and name != "blind":
                assert action.type in shared, f"emgkit {name} --{action.dest}"
            if action.type in (int, float):
                pytest.fail(f"emgkit {name} {action.option_strings}: plain {action.type}")


def test_good_values_still_parse():
    from emgkit.cli import build_parser

    args = build_parser().parse_args(["power", "--n-per-group", "10,20", "--trials-per-cell",
                                      "6", "--out", "o", "--seed", "0", "--alpha", "0.01",
                                      "--adjust", "bonferroni", "--equivalence", "0.2"])
    assert args.n_per_group == [10, 20] and args.trials_per_cell == [6]
    assert args.seed == 0 and args.alpha == 0.01 and args.equivalence == 0.2
    args = build_parser().parse_args(["inspect", "r.bdf", "--mask", "0xFF"])
    assert args.mask == 255


def test_simulator_refuses_a_rate_too_low_for_semg():
    from emgkit.errors import ConfigError
    from emgkit.sim.recording import SimParams

    with pytest.raises(ConfigError, match="sfreq=50 Hz is too low to simulate sEMG"):
        SimParams(sfreq=50.0)


def test_stranger_findings_are_clear_errors(tmp_path, capsys):
    """``blind --out .`` gave a traceback; ``power --effect 1e308`` and ``bin = 1e-12``
    crashed (all-NaN, a 50 TiB allocation)."""
    import argparse

    from emgkit.cli import build_parser, main
    from emgkit.config import config_from_dict
    from emgkit.errors import ConfigError

    table = tmp_path / "p.tsv"
    table.write_text("participant_id\tgroup\nsub-01\ta\nsub-02\tb\n")
    assert main(["blind", str(table), "--out", str(tmp_path), "--key",
                 str(tmp_path / "k.json")]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main(["blind", str(table), "--out", str(tmp_path / "c.json"), "--key",
                 str(tmp_path / "k.json")]) == 2
    assert "c.json" in capsys.readouterr().err  # its own sidecar: refused, never written
    with pytest.raises(SystemExit):
        build_parser().parse_args(["power", "--pilot", "x", "--at", "condition=a",
                                   "--n-per-group", "4", "--trials-per-cell", "4",
                                   "--effect", "1e308", "--out", "o"])
    assert "out of range" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="bins"):
        config_from_dict({"channels": {"corrugator": "A"}, "epochs": {"bin": 1e-12}})
    assert argparse  # the parser module is what raised
