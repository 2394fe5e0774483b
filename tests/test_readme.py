"""The README's Python blocks run as written (from a folder holding ``sample_data/``), and
its commands name things that exist."""

from __future__ import annotations

import os
import re
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_python_blocks_run(tmp_path, monkeypatch):
    blocks = _blocks("python")
    assert len(blocks) >= 2
    (tmp_path / "sample_data").symlink_to(ROOT / "sample_data", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for code in blocks:
        exec(compile(code, "README.md", "exec"), namespace)
    import mne

    import emgkit

    assert isinstance(namespace["result"], emgkit.ProcessedRecording)
    assert isinstance(namespace["fig"], matplotlib.figure.Figure)
    assert isinstance(namespace["epochs"], mne.BaseEpochs)
    assert namespace["record"]["status"] == "ok"
    assert namespace["trials"]["rejected"].dtype == bool
    assert {"anova", "contrasts", "emmeans"} <= set(namespace["models"])
    assert sorted(os.listdir(tmp_path / "sample_data")) == sorted(
        os.listdir(ROOT / "sample_data"))     # nothing written into the inputs


def test_no_stale_lines():
    for stale in ("PDF reports are coming", "group * emotion", "emgkit.simdesign",
                  "emgkit/stream.py", "emgkit/blocksource.py"):
        assert stale not in README, stale


@pytest.mark.parametrize("path", sorted(set(re.findall(r"`((?:tests|emgkit|notebooks|benchmarks|"
                                                       r"scripts|examples)/[\w/.]+)`", README))))
def test_named_files_exist(path):
    assert (ROOT / path).exists(), path
