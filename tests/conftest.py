"""Shared fixtures: simulated recordings built once per session (copied per test)."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

# A test run started in the background by a non-interactive shell (a CI script's `&`,
# nohup) inherits SIGINT ignored; Python then installs no KeyboardInterrupt handler and the
# interrupt tests (and the children they start) would see no Ctrl-C at all.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

SHARED = Path(__file__).resolve().parents[2] / "shared"
REAL = SHARED / "real_data"


@pytest.fixture(scope="session")
def study_factory(tmp_path_factory):
    """Return a function (fmt, sfreq, n_subjects, seed) -> folder of a simulated study."""
    from emgkit.sim.study import simulate_study

    cache = {}

    def make(fmt="bdf", sfreq=2048.0, n_subjects=1, seed=0):
        key = (fmt, float(sfreq), n_subjects, seed)
        if key not in cache:
            out = tmp_path_factory.mktemp(f"study_{fmt}_{int(sfreq)}_{n_subjects}_{seed}")
            simulate_study(out, n_subjects, seed=seed, fmt=fmt, sfreq=sfreq)
            cache[key] = out
        return cache[key]

    return make


@pytest.fixture
def bdf_study(study_factory, tmp_path):
    """A fresh copy of a one-participant 2048 Hz BDF study."""
    src = study_factory("bdf", 2048.0)
    dst = tmp_path / "study"
    shutil.copytree(src, dst)
    return dst


def recording_of(study, sub="sub-01", fmt="bdf"):
    return Path(study) / sub / "emg" / f"{sub}_task-mimicry_emg.{fmt}"


def proc_children(pid):
    """Process ids whose parent is ``pid`` (from /proc; Linux)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def proc_alive(pid):
    """Whether process ``pid`` exists and is not a zombie (from /proc; Linux)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="session")
def small(tmp_path_factory):
    """A 4-participant study (2 per group, the fewest a group model accepts): 256 Hz, 2 trials
    per condition (~80 s recordings). Read-only: copy it before changing anything."""
    from emgkit.sim.recording import SimParams
    from emgkit.sim.study import simulate_study

    root = tmp_path_factory.mktemp("small")
    simulate_study(root, 4, seed=4, sfreq=256.0, params=SimParams(sfreq=256.0, n_trials=2))
    return root


#: a declared [power] model (no pilot): two groups, two muscles, four conditions
POWER_TOML = """
[power]
groups = ["placebo", "naltrexone"]
tau = 0.3
sigma = {corrugator = 0.5, zygomaticus = 0.4}

[power.means.corrugator]
placebo = [1.1, 1.3, 1.2, 1.0]
naltrexone = [1.5, 1.35, 1.2, 1.05]

[power.means.zygomaticus]
placebo = [2.0, 0.9, 0.9, 1.0]
naltrexone = [2.0, 0.9, 0.9, 1.0]
"""
