"""Generate the performance workload files with the simulator (cached in a folder).

- ``hour.bdf``: 60 min at 2048 Hz, 6 monopolar facial electrodes (3 bipolar muscles) and a
  BioSemi ``Status`` channel, 240 face onsets (60 per emotion), plus its ``study.toml``.
- ``cap.bdf``: 30 min at 2048 Hz, 64 EEG + 8 EXG + Status (~800 MB), of which only the 6
  facial electrodes (EXG1-EXG6) are needed.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from emgkit.io.write import write_edf
from emgkit.sim.recording import SimParams, simulate_recording
from emgkit.sim.study import study_toml, write_recording

SFREQ = 2048.0


def hour(folder):
    folder = Path(folder)
    path = folder / "sub-01_task-mimicry_emg.bdf"
    params = SimParams(sfreq=SFREQ, n_trials=60, isi=(14.0, 15.9))
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        rec = simulate_recording(params, seed=1)
        write_recording(rec, path, fmt="bdf")
        text = study_toml(params)
        text = text.split("[study]", 1)[0] + "[channels]" + text.split("[channels]", 1)[1]
        (folder / "study.toml").write_text(text)
    return path, folder / "study.toml"


def cap(folder, minutes=30):
    folder = Path(folder)
    path = folder / "sub-01_task-cap_emg.bdf"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    params = replace(SimParams(sfreq=SFREQ, n_trials=30, isi=(14.0, 15.9)), n_artefacts=0)
    rec = simulate_recording(params, seed=2)
    n = min(rec.data.shape[1], int(minutes * 60 * SFREQ))
    rng = np.random.default_rng(3)
    eeg = rng.normal(0, 20, (64, n)).astype(np.float32)
    exg = np.vstack([rec.data[:, :n], rng.normal(0, 20, (2, n))])
    names = [f"A{i + 1}" for i in range(32)] + [f"B{i + 1}" for i in range(32)] + \
        [f"EXG{i + 1}" for i in range(8)]
    write_edf(path, np.vstack([eeg, exg]), names, SFREQ, fmt="bdf",
              stim=rec.status()[:n], stim_name="Status")
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/emgkit-bench")
    print(hour(out / "hour"), cap(out / "cap"))
