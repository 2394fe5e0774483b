"""Wall time of `emgkit run` on a simulated 12-participant study: --jobs 1 vs --jobs 2.

Both runs happen in this process, alternately, on the same files (fresh output folders);
prints the medians and their ratio. Reports are included (they dominate the work).

Run: ``python -m benchmarks.run_parallel [repeats]``
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from emgkit.sim.study import simulate_study
from emgkit.study.run import run_study


def main(repeats=3, reports=True):
    root = Path(tempfile.mkdtemp())
    simulate_study(root / "study", 12, seed=1, sfreq=2048.0)
    times = {1: [], 2: []}
    for r in range(repeats):
        for jobs in (1, 2):
            t0 = time.perf_counter()
            rec = run_study(root / "study" / "study.toml", root / f"out-{jobs}-{r}", jobs=jobs,
                            reports=reports, progress=False)
            times[jobs].append(time.perf_counter() - t0)
            assert rec["status"] == "ok"
    m1, m2 = statistics.median(times[1]), statistics.median(times[2])
    print(f"12 participants, 2048 Hz, ~220 s each, reports={reports}")
    print(f"--jobs 1: median {m1:.1f} s   --jobs 2: median {m2:.1f} s   speed-up {m1 / m2:.2f}x")
    return m1 / m2


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
