"""Power simulation speed: emgkit vs the R loop simr runs (simulate trials, lmer, emmeans
Satterthwaite contrasts with Holm), for one design point.

Design (issue 17): 2 arms × 40 participants, 4 emotions, 15 trials per cell, one muscle; the
model of ``scripts/power_reference.R``. emgkit runs ``simulations`` studies (``jobs`` 1 and
2); R runs ``r_sims`` studies (it is ~100× slower) and its time per study is scaled. Both
print power so that the estimates can be compared too.

Run: ``python -m benchmarks.power_speed [simulations] [r_sims]``
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from emgkit.power.model import factorial_model
from emgkit.power.run import power_analysis

CONDS = ["neutral", "angry", "happy", "sad"]
MODEL = factorial_model(["placebo", "naltrexone"], CONDS,
                        [[1.0, 1.3, 1.1, 1.2], [1.05, 1.35, 1.45, 1.2]], tau=0.3, sigma=0.5)
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "power_reference.R"


def main(simulations=1000, r_sims=50):
    lines = [f"Design: 2 × 40 participants, 4 emotions, 15 trials per cell; {simulations} "
             f"simulated studies"]
    per = {}
    for jobs in (1, 2):
        t0 = time.perf_counter()
        tab = power_analysis({"m": MODEL}, "happy", [40], [15], simulations=simulations,
                             seed=1, jobs=jobs)
        wall = time.perf_counter() - t0
        per[jobs] = wall / simulations
        lines.append(f"  emgkit --jobs {jobs}: {wall:.1f} s ({1000 * per[jobs]:.1f} ms per "
                     f"study), power {tab['power'].iloc[0]:.3f}")
    if shutil.which("Rscript"):
        out = Path(tempfile.mkdtemp()) / "r.tsv"
        subprocess.run(["Rscript", str(SCRIPT), "40", "15", str(r_sims), "1", str(out)],
                       check=True)
        ref = pd.read_csv(out, sep="\t").iloc[0]
        r_per = float(ref["seconds_per_simulation"])
        lines.append(f"  R lmer + emmeans loop: {1000 * r_per:.0f} ms per study ({r_sims} "
                     f"studies), power {ref['power_holm']:.3f}")
        lines.append(f"  emgkit is {r_per / per[1]:.0f}x faster per study on one core "
                     f"({r_per / per[2]:.0f}x with --jobs 2); 1,000 studies: emgkit "
                     f"{1000 * per[2]:.1f} s vs R {1000 * r_per:.0f} s")
    else:
        lines.append("  (R not installed: no reference timing)")
    print("\n".join(lines))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000,
         int(sys.argv[2]) if len(sys.argv) > 2 else 50)
