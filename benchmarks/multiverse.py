"""``emgkit multiverse`` with a 24-specification grid vs one ``emgkit run --no-reports`` of
the same 40-participant study, whole processes, alternating (goal: ≤ 4×).

Grid: band_low 2 × smooth 2 × baseline_mode 3 × standardise 2 (the config's own settings
are one of them); the multiverse writes its specification curve PDF, as by default.

Run: ``python -m benchmarks.multiverse [runs] [folder]`` (the study is cached in
``folder``, default ``/tmp/emgkit-bench``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .commands import alternate, emgkit

GRID = """
[multiverse]
band_low = [15.0, 20.0]
smooth = [0.025, 0.05]
baseline_mode = ["ratio", "logratio", "percent"]
standardise = ["none", "participant_muscle"]
"""


def main(runs=3, folder="/tmp/emgkit-bench"):
    study = Path(folder) / "study40"
    if not (study / "study.toml").exists():
        subprocess.run(emgkit("simulate", study, "--subjects", 40, "--seed", 1), check=True,
                       stdout=subprocess.DEVNULL)
    grid_toml = study / "multiverse.toml"
    grid_toml.write_text((study / "study.toml").read_text() + GRID)
    scratch = Path(tempfile.mkdtemp(prefix="emgkit-mv-bench-"))
    count = iter(range(10**6))

    def fresh(name):
        return scratch / f"{name}{next(count)}"

    wall, rss = alternate(runs, [
        ("run", lambda: emgkit("run", study / "study.toml", "--jobs", 2, "--no-reports",
                               "--out", fresh("run"))),
        ("multiverse", lambda: emgkit("multiverse", grid_toml, "--jobs", 2, "--out",
                                      fresh("mv"))),
    ])
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"Whole processes, medians of {runs} alternating runs ({os.cpu_count()} cores), "
          f"40 participants, --jobs 2")
    print(f"emgkit multiverse, 24 specifications (with the PDF): {wall['multiverse']:.1f} s "
          f"vs emgkit run --no-reports {wall['run']:.1f} s = "
          f"{wall['multiverse'] / wall['run']:.2f}x (goal <= 4x); peak RSS "
          f"{rss['multiverse']:.0f} MB vs {rss['run']:.0f} MB")


if __name__ == "__main__":
    main(*(int(a) if i == 0 else a for i, a in enumerate(sys.argv[1:])))
