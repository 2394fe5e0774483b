"""Mixed models at lme4's scale: the sparse engine (:mod:`emgkit.stats.lmm`) against lme4 +
lmerTest on two simulated tables.

* ``insteval``: InstEval's shape (73,421 rows; 2,972 students ``s`` and 1,128 lecturers
  ``d``, crossed and unbalanced as in lme4's InstEval: students rate 1-90 lectures,
  lecturers' popularity is heavy-tailed; ``service`` a 0/1 lecture attribute), fitted as
  ``y ~ service + (1 | s) + (1 | d)``. Goal: ≤ 3 × lme4 + lmerTest's time, ≤ 1 GB.
* ``femg``: 200 participants (two groups) × 4 conditions × 3 muscles × 40 trials (96,000
  rows), each trial showing one of the condition's 24 stimuli (96 in all), fitted as
  ``score ~ group * condition * muscle + (muscle | participant_id) + (1 | stimulus)``.
  Goal: ≤ lme4 + lmerTest's time.

Each case runs in a fresh Python process (its peak RSS from ``resource.getrusage``): the
whole ``fit_model`` (multi-start REML, Satterthwaite df of the fixed effects) plus the Type
III table. R times ``lmer`` + ``summary`` + ``anova(type = 3)`` inside one ``Rscript``
process (start-up and reading not counted), when ``Rscript`` is present; both with
single-threaded BLAS (:data:`ENV`), R with lme4's default optimiser settings (what users
run; on the fEMG table it warns "failed to converge" and its df differ from emgkit's by up
to 3.5e-4, while refitted with ``bobyqa``, ``rhoend = 1e-12`` its θ and df agree with
emgkit's to 4e-6 and 7e-6). Wall and CPU
times are both printed (on a shared machine the CPU ratio is the steadier one). The tables are
written to a scratch folder for R and deleted afterwards.

Run: ``python -m benchmarks.lmm_scale [insteval|femg ...]``
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

#: both sides run with single-threaded BLAS: on a shared, oversubscribed machine OpenBLAS's
#: threads spin (a 1,128² Cholesky took 0.97 s with two threads vs 0.03 s with one)
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
       "MKL_NUM_THREADS": "1"}

CASES = {
    "insteval": ("y ~ service + (1 | s) + (1 | d)", 3.0),
    "femg": ("score ~ group * condition * muscle + (muscle | participant_id) + (1 | stimulus)",
             1.0),
}


def insteval_table(seed=1):
    """A table shaped like lme4's InstEval (SDs: s 0.32, d 0.52, residual 1.18)."""
    rng = np.random.default_rng(seed)
    n_s, n_d, n = 2972, 1128, 73421
    per_s = rng.gamma(1.2, 1.0, n_s)
    per_s = np.maximum(1, np.round(per_s / per_s.sum() * n)).astype(int)
    while per_s.sum() != n:  # fix the total by single steps
        k = rng.integers(n_s)
        per_s[k] = max(1, per_s[k] + (1 if per_s.sum() < n else -1))
    pop = rng.lognormal(0.0, 1.2, n_d)
    pop /= pop.sum()
    s = np.repeat(np.arange(n_s), per_s)
    d = rng.choice(n_d, size=n, p=pop)
    d[rng.choice(n, n_d, replace=False)] = np.arange(n_d)  # every lecturer rated
    service = (rng.random(n_d) < 0.4).astype(int)[d]
    y = (3.2 - 0.07 * service + rng.normal(0, 0.32, n_s)[s] + rng.normal(0, 0.52, n_d)[d]
         + rng.normal(0, 1.18, n))
    return pd.DataFrame({"y": np.round(y, 6), "service": service,
                         "s": [f"s{k}" for k in s], "d": [f"d{k}" for k in d]})


def femg_table(seed=2):
    """200 participants × 4 conditions × 3 muscles × 40 trials, 24 stimuli per condition."""
    rng = np.random.default_rng(seed)
    n_p, conds, muscles, n_t, n_stim = 200, ["neutral", "angry", "happy", "sad"], \
        ["corrugator", "zygomaticus", "orbicularis"], 40, 24
    p = np.repeat(np.arange(n_p), len(conds) * n_t)
    c = np.tile(np.repeat(np.arange(len(conds)), n_t), n_p)
    stim = c * n_stim + rng.integers(0, n_stim, len(p))
    rows = pd.DataFrame({"p": np.repeat(p, 3), "c": np.repeat(c, 3),
                         "stim": np.repeat(stim, 3), "m": np.tile(np.arange(3), len(p))})
    group = (np.arange(n_p) >= n_p // 2).astype(int)
    u = rng.multivariate_normal([0, 0, 0], [[0.5, 0.1, 0.1], [0.1, 0.3, 0.05],
                                            [0.1, 0.05, 0.3]], n_p)
    v = rng.normal(0, 0.3, len(conds) * n_stim)
    effect = np.zeros((len(conds), 3))
    effect[1, 0], effect[2, 1], effect[3, 0] = 0.4, 0.5, 0.2
    m, pp = rows["m"].to_numpy(), rows["p"].to_numpy()
    score = (effect[rows["c"], m] + 0.2 * group[pp] * (m == 0) + u[pp, 0]
             + np.where(m > 0, u[pp, m], 0.0) + v[rows["stim"]] + rng.normal(0, 1, len(rows)))
    return pd.DataFrame({"participant_id": [f"sub-{k:03d}" for k in pp],
                         "group": np.where(group[pp] == 1, "patient", "control"),
                         "condition": np.array(conds)[rows["c"]],
                         "muscle": np.array(muscles)[m],
                         "stimulus": [f"st{k:02d}" for k in rows["stim"]],
                         "score": np.round(score, 6)})


def _table(case):
    return insteval_table() if case == "insteval" else femg_table()


def run_emgkit(case):
    """Fit one case in this process; prints a JSON line (seconds, peak RSS in MB)."""
    import logging

    from emgkit.stats import fit_model

    logging.getLogger("emgkit").setLevel(logging.ERROR)
    table = _table(case)
    levels = {"condition": ["neutral", "angry", "happy", "sad"]} if case == "femg" else None
    t0, c0 = time.perf_counter(), time.process_time()
    res = fit_model(table, CASES[case][0], levels=levels)
    fe = res.fixed_effects()
    an = res.anova()
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"seconds": secs, "cpu": cpu, "rss_mb": rss, "loglik": res.fit["reml_loglik"],
                      "converged": res.fit["converged"], "df": fe["df"].tolist(),
                      "F": an["F"].tolist(), "den_df": an["den_df"].tolist()}))


def run_r(case, folder):
    """lme4 + lmerTest on the same table: (seconds, REML logLik, df, den df) or None."""
    if not shutil.which("Rscript"):
        return None
    data = folder / f"{case}.tsv"
    _table(case).to_csv(data, sep="\t", index=False)
    levels = ('d$condition <- factor(d$condition, levels = c("neutral", "angry", "happy", '
              '"sad"))\n') if case == "femg" else ""
    script = folder / f"{case}.R"
    script.write_text(
        "suppressPackageStartupMessages({library(lme4); library(lmerTest)})\n"
        f"d <- read.delim('{data}', stringsAsFactors = TRUE)\n{levels}"
        "p0 <- proc.time()\n"
        f"m <- lmerTest::lmer({CASES[case][0]}, data = d, REML = TRUE)\n"
        "s <- summary(m); a <- anova(m, type = 3)\n"
        "p1 <- proc.time() - p0\n"
        "cat(p1[['elapsed']], p1[['user.self']] + p1[['sys.self']],"
        " sprintf('%.10f', as.numeric(logLik(m))),"
        " paste(sprintf('%.12g', s$coefficients[, 3]), collapse = ','),"
        " paste(sprintf('%.12g', a$DenDF), collapse = ','), '\\n')\n")
    out = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, check=True,
                         env=ENV)
    secs, cpu, loglik, df, ddf = out.stdout.split()[-5:]
    return float(secs), float(cpu), float(loglik), [float(v) for v in df.split(",")], \
        [float(v) for v in ddf.split(",")]


def main(cases):
    scratch = Path(tempfile.mkdtemp(prefix="emgkit-lmm-bench-"))
    try:
        for case in cases:
            proc = subprocess.run([sys.executable, "-m", "benchmarks.lmm_scale", "--one", case],
                                  capture_output=True, text=True, check=True, env=ENV)
            got = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"{case}: emgkit {got['seconds']:.1f} s ({got['cpu']:.1f} s CPU), peak RSS "
                  f"{got['rss_mb']:.0f} MB, "
                  f"REML logLik {got['loglik']:.4f}, converged {got['converged']}")
            r = run_r(case, scratch)
            if r is None:
                print("  (Rscript not found: no lme4 comparison)")
                continue
            secs, cpu, loglik, df, ddf = r
            rel = max(np.max(np.abs(np.array(got["df"]) - df) / np.array(df)),
                      np.max(np.abs(np.array(got["den_df"]) - ddf) / np.array(ddf)))
            goal = CASES[case][1]
            print(f"  lme4 + lmerTest {secs:.1f} s ({cpu:.1f} s CPU), REML logLik {loglik:.4f}; "
                  f"ratio {got['seconds'] / secs:.2f} wall, {got['cpu'] / cpu:.2f} CPU (goal ≤ "
                  f"{goal:g}); logLik diff "
                  f"{got['loglik'] - loglik:+.2e}; max rel. diff of df {rel:.1e}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        run_emgkit(sys.argv[2])
    else:
        main(sys.argv[1:] or list(CASES))
