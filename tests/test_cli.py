import shutil
import subprocess
import sys

import pandas as pd
from conftest import recording_of

from emgkit.cli import main


def test_simulate_process_inspect(tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "s"), "--subjects", "2", "--seed", "3",
                 "--sfreq", "512", "--format", "edf"]) == 0
    parts = pd.read_csv(tmp_path / "s" / "participants.tsv", sep="\t")
    assert parts["participant_id"].tolist() == ["sub-01", "sub-02"]
    assert parts["group"].tolist() == ["placebo", "naltrexone"]
    rec = recording_of(tmp_path / "s", "sub-02", "edf")
    assert main(["process", str(rec), "--config", str(tmp_path / "s" / "study.toml"),
                 "--out", str(tmp_path / "out")]) == 0
    trials = pd.read_csv(tmp_path / "out" / "trials.tsv", sep="\t")
    assert set(trials["participant_id"]) == {"sub-02"} and len(trials) == 72
    tc = pd.read_csv(tmp_path / "out" / "timecourses.tsv", sep="\t")
    assert list(tc.columns[:6]) == ["participant_id", "trial", "condition", "muscle", "time_s",
                                    "time_end_s"]
    capsys.readouterr()
    assert main(["inspect", str(rec)]) == 0
    out = capsys.readouterr().out
    assert "512 Hz" in out and "EXG1" in out and "'happy' ×6" in out
    assert "mask 0xffff, idle 0: 24 events, codes 1 ×6, 2 ×6, 3 ×6, 4 ×6" in out


def test_simulate_at_100_hz_writes_a_config_that_runs(tmp_path):
    # mains (50 Hz) is at Nyquist: the simulator plants none and the config asks for no notch
    # (it used to write notch = 50.0, which every command then refused)
    assert main(["simulate", str(tmp_path / "s"), "--subjects", "1", "--sfreq", "100",
                 "--trials", "2"]) == 0
    assert "\nnotch = 0.0 " in (tmp_path / "s" / "study.toml").read_text()
    assert main(["process", str(recording_of(tmp_path / "s", "sub-01")), "--config",
                 str(tmp_path / "s" / "study.toml"), "--out", str(tmp_path / "out")]) == 0
    trials = pd.read_csv(tmp_path / "out" / "trials.tsv", sep="\t")
    assert len(trials) == 2 * 4 * 3


def test_errors_exit_2_with_message(bdf_study, tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    shutil.copy(bdf_study / "study.toml", cfg)
    cfg.write_text(cfg.read_text().replace("[epochs]", "[epochs]\nwindow = 3"))
    code = main(["process", str(recording_of(bdf_study)), "--config", str(cfg), "--out",
                 str(tmp_path / "o")])
    assert code == 2
    assert "Unknown config key 'epochs.window' in " in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_console_script_installed():
    exe = shutil.which("emgkit")
    cmd = [exe] if exe else [sys.executable, "-m", "emgkit.cli"]
    out = subprocess.run(cmd + ["--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("emgkit ")


def test_an_error_a_signal_caused_is_the_interrupt(monkeypatch, capsys):
    """Ctrl-C in the middle of a library (matplotlib closing a PDF) can surface as another
    error once the library swallowed the KeyboardInterrupt ("Invalid affine transformation
    matrix", a zlib stream error; stranger audit): the command still ends as interrupted,
    exit 130. The same error without a signal is still raised."""
    import argparse
    import os
    import signal
    import time

    import pytest

    from emgkit import cli

    def interrupted_library(args):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler raises KeyboardInterrupt here
        except KeyboardInterrupt:
            pass  # swallowed by the library
        raise ValueError("Invalid affine transformation matrix")

    def plain_bug(args):
        raise ValueError("a bug")

    for func in (interrupted_library, plain_bug):
        parser = type("P", (), {"parse_args": lambda self, argv, f=func:
                                argparse.Namespace(func=f)})()
        monkeypatch.setattr(cli, "build_parser", lambda p=parser: p)
        if func is plain_bug:
            with pytest.raises(ValueError, match="a bug"):
                cli.main(["x"])
        else:
            assert cli.main(["x"]) == 130
            assert "emgkit: interrupted." in capsys.readouterr().err
