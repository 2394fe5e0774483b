"""Mixed-model fitting time against lme4 (R), on the public-dataset models of
``tests/data/lmer`` and on a study-sized fEMG table.

For each model, emgkit's ``fit_model`` (fit + Satterthwaite fixed effects + Type III anova)
and lme4/lmerTest's ``lmer`` + ``summary`` + ``anova`` are timed on the same data (median
of ``reps`` runs each; R times itself inside one ``Rscript`` process, so R's start-up is not
counted). The study table is 100 participants × 240 trials × 3 muscles with
``score ~ group * condition * muscle + (1 | participant_id)``; it is also fitted by the
``emgkit stats`` command as a whole process. Ratios are emgkit / lme4 (lower is better).
Without ``Rscript`` only emgkit's times are printed.

Run: ``python -m benchmarks.stats_speed [reps]``
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from emgkit.sim.recording import simulate_scores
from emgkit.stats import fit_model

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "lmer"
# name -> (R formula, emgkit formula, groups, re_formula, crossed)
MODELS = {
    "sleep_int": ("Reaction ~ Days + (1 | Subject)", "Reaction ~ Days", "Subject", None, None),
    "sleep_slope": ("Reaction ~ Days + (Days | Subject)", "Reaction ~ Days", "Subject",
                    "~ Days", None),
    "dyestuff2": ("Yield ~ 1 + (1 | Batch)", "Yield ~ 1", "Batch", None, None),
    "penicillin": ("diameter ~ 1 + (1 | plate) + (1 | sample)", "diameter ~ 1", "plate", None,
                   "sample"),
    "cake": ("angle ~ recipe * temperature + (1 | RR)", "angle ~ recipe * temperature", "RR",
             None, None),
    "ham_slope": ("Informed_liking ~ Product * Information + (Information | Consumer)",
                  "Informed_liking ~ Product * Information", "Consumer", "~ Information", None),
    "tvbo": ("Coloursaturation ~ TVset * Picture + (1 | Assessor) + (1 | AT) + (1 | AP)",
             "Coloursaturation ~ TVset * Picture", "Assessor", None, ["AT", "AP"]),
    "machines": ("score ~ Machine + (1 | Worker) + (1 | WM)", "score ~ Machine", "Worker", None,
                 "WM"),
    "oats": ("yield ~ nitro * Variety + (1 | Block) + (1 | BV)", "yield ~ nitro * Variety",
             "Block", None, "BV"),
    "orthodont": ("distance ~ age * Sex + (age | Subject)", "distance ~ age * Sex", "Subject",
                  "~ age", None),
    "chickweight": ("weight ~ Time * Diet + (Time | Chick)", "weight ~ Time * Diet", "Chick",
                    "~ Time", None),
    "co2_int": ("uptake ~ Type * treatment + conc + (1 | Plant)",
                "uptake ~ Type * treatment + conc", "Plant", None, None),
    "co2_slope": ("uptake ~ Type * treatment + conc + (conc | Plant)",
                  "uptake ~ Type * treatment + conc", "Plant", "~ conc", None),
    "co2_kslope": ("uptake ~ Type * treatment * conc_k + (conc_k | Plant)",
                   "uptake ~ Type * treatment * conc_k", "Plant", "~ conc_k", None),
    "feedlot": ("swt ~ ewt + diet + (1 | herd)", "swt ~ ewt + diet", "herd", None, None),
    "feedlot_slope": ("swt ~ ewt * diet + (ewt | herd)", "swt ~ ewt * diet", "herd", "~ ewt",
                      None),
    "femg_slope": ("score ~ group * condition * muscle + (muscle | participant_id)",
                   "score ~ group * condition * muscle", "participant_id", "~ muscle", None),
    "femg_muscle": ("score ~ muscle + (muscle | participant_id)", "score ~ muscle",
                    "participant_id", "~ muscle", None),
    "femg_trait": ("score ~ group + condition * trait + (1 | participant_id)",
                   "score ~ group + condition * trait", "participant_id", None, None),
    "femg_nomain": ("score ~ condition + muscle + condition:group + (1 | participant_id)",
                    "score ~ condition + muscle + condition:group", "participant_id", None,
                    None),
    "femg_noint": ("score ~ 0 + condition * muscle + (1 | participant_id)",
                   "score ~ 0 + condition * muscle", "participant_id", None, None),
}
STUDY = ("score ~ group * condition * muscle + (1 | participant_id)",
         "score ~ group * condition * muscle", "participant_id", None, None)


def _load(name):
    stem = name if (DATA / f"{name}_data.csv").exists() else name.split("_")[0]  # femg_*
    data = pd.read_csv(DATA / f"{stem}_data.csv")
    data.columns = [c.replace(".", "_") for c in data.columns]
    lv = pd.read_csv(DATA / f"{stem}_levels.csv")
    levels = {c.replace(".", "_"): str(v).split("|") for c, v in zip(lv["column"], lv["levels"])}
    return data, levels


def emgkit_time(data, spec, levels, reps):
    """Median seconds of fit + fixed effects + anova."""
    _, formula, groups, re_formula, crossed = spec
    levels = {c: v for c, v in levels.items() if c in formula}
    if "muscle" in data and "muscle" not in formula:  # a reference that pools the muscles
        data = data.rename(columns={"muscle": "muscle_pooled"})
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        res = fit_model(data, formula, groups=groups, re_formula=re_formula, crossed=crossed,
                        levels=levels)
        res.fixed_effects()
        if len(res.beta) > 1:
            res.anova()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def lme4_times(files, reps):
    """name -> median seconds of lmer + summary + anova in R (None without Rscript)."""
    if not shutil.which("Rscript"):
        return None
    lines = ["suppressPackageStartupMessages(library(lmerTest))", "out <- list()"]
    for name, (path, formula, factors) in files.items():
        conv = "".join(f'd${f} <- factor(d${f}); ' for f in factors)
        lines.append(f'd <- read.csv("{path}"); names(d) <- gsub(".", "_", names(d), '
                     f'fixed = TRUE); {conv}'
                     f't <- replicate({reps}, system.time({{m <- lmer({formula}, data = d); '
                     f'summary(m); if (ncol(model.matrix(m)) > 1) anova(m)}})[["elapsed"]]); '
                     f'out[["{name}"]] <- median(t)')
    lines.append('cat(jsonlite_free <- paste0("{", paste0(sprintf("\\"%s\\": %f", names(out), '
                 'unlist(out)), collapse = ", "), "}"))')
    script = Path(tempfile.mkdtemp()) / "bench.R"
    script.write_text("\n".join(lines))
    out = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def study_table(tmp):
    trials, parts = simulate_scores(50, n_trials=60, subject_sd=0.3, seed=1)
    path = Path(tmp) / "study_trials.csv"
    trials.merge(parts, on="participant_id", suffixes=("", "_p")).to_csv(path, index=False)
    return trials, parts, path


def main(reps=3):
    logging.getLogger("emgkit").setLevel(logging.ERROR)
    tmp = tempfile.mkdtemp()
    rows, files = [], {}
    for name, spec in MODELS.items():
        data, levels = _load(name)
        rows.append((name, emgkit_time(data, spec, levels, reps)))
        factors = [c for c in levels if c in spec[0]]
        stem = name if (DATA / f"{name}_data.csv").exists() else name.split("_")[0]
        files[name] = (DATA / f"{stem}_data.csv", spec[0], factors)
    trials, parts, path = study_table(tmp)
    table = trials.drop(columns=[c for c in ("group",) if c in trials.columns])
    t = emgkit_time(table.merge(parts, on="participant_id"), STUDY, {}, 1)
    rows.append(("study 100×240×3", t))
    files["study 100×240×3"] = (path, STUDY[0], ["participant_id", "group", "condition",
                                                 "muscle"])
    tsv = Path(tmp) / "trials.tsv"
    trials.to_csv(tsv, sep="\t", index=False)
    ptsv = Path(tmp) / "participants.tsv"
    parts.to_csv(ptsv, sep="\t", index=False)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "emgkit.cli", "stats", str(tsv), "--participants",
                    str(ptsv), "--formula", STUDY[1], "--out", str(Path(tmp) / "out")],
                   check=True, capture_output=True)
    command = time.perf_counter() - t0
    ref = lme4_times(files, reps)
    print(f"{'model':18s} {'emgkit s':>9s} {'lme4 s':>8s} {'ratio':>6s}")
    for name, t in rows:
        r = None if ref is None else ref.get(name)
        ratio = f"{t / r:6.1f}" if r else "   n/a"
        print(f"{name:18s} {t:9.3f} {r if r is not None else float('nan'):8.3f} {ratio}")
    print(f"`emgkit stats` on the study table as a whole process (fit, tables, figures, R "
          f"code): {command:.1f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
