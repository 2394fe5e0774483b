"""False-positive rate of the drug terms under no drug effect.

Simulates many small between-subjects studies (placebo vs drug, no true drug effect), fits
``score ~ group * condition`` with a random intercept per participant, and counts how often
the Type III tests of ``group`` and ``group:condition`` and the Holm-adjusted drug contrasts
reject at α = 0.05. A correct between-subject df gives ~5 %; trial-based (or z) df inflate it.

Run: ``python -m benchmarks.stats_false_positives [n_studies]``
"""

from __future__ import annotations

import sys
import time

import numpy as np

from emgkit.sim.recording import simulate_scores
from emgkit.stats import fit_model


def false_positive_rate(n_studies=200, seed=0, alpha=0.05, n_per_group=6):
    """Return rejection rates per drug term over ``n_studies`` null studies."""
    rng = np.random.default_rng(seed)
    hits = {"group": 0, "group:condition": 0, "any drug contrast (Holm)": 0,
            "group (naive z, trial df)": 0}
    for _ in range(n_studies):
        trials, _ = simulate_scores(n_per_group, muscles=("corrugator",), n_trials=10,
                                    subject_sd=0.3, residual_sd=0.4,
                                    condition_effects={("angry", "corrugator"): 0.3},
                                    seed=int(rng.integers(2 ** 32)))
        res = fit_model(trials, "score ~ group * condition")
        an = res.anova().set_index("term")
        hits["group"] += an.loc["group", "p"] < alpha
        hits["group:condition"] += an.loc["group:condition", "p"] < alpha
        hits["any drug contrast (Holm)"] += (res.contrasts("group")["p_adj"] < alpha).any()
        # what a Wald z test (statsmodels' default) would say for the same F
        from scipy import stats

        hits["group (naive z, trial df)"] += stats.chi2.sf(an.loc["group", "F"], 1) < alpha
    return {k: v / n_studies for k, v in hits.items()}


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    t0 = time.perf_counter()
    rates = false_positive_rate(n)
    for term, rate in rates.items():
        print(f"{term:<28} false-positive rate {rate:.3f}  ({n} studies, alpha 0.05)")
    print(f"elapsed {time.perf_counter() - t0:.1f} s")
