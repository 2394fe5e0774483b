"""``model.R`` reproduces every number it claims on a stock R with pbkrtest installed: every
row of ``contrasts.tsv``, ``emmeans.tsv`` and ``anova.tsv`` (estimate, se, df, t/F, p,
p_adj, CIs, effect size) to 1e-4 relative, for a between × within design above emmeans'
3000-row Satterthwaite limit, a within-only design (``trt.vs.ctrl ~ condition | muscle``)
and pairwise within contrasts."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from emgkit.sim.recording import simulate_scores
from emgkit.stats import fit_model
from emgkit.stats.rcode import R_TABLES

pytestmark = pytest.mark.skipif(not shutil.which("Rscript"), reason="R is not installed")

KEYS = {"anova": ["term"], "emmeans": None, "contrasts": None}
NUMBERS = {"anova": ["num_df", "den_df", "F", "p"],
           "emmeans": ["emmean", "se", "df", "ci_low", "ci_high"],
           "contrasts": ["estimate", "se", "df", "t", "p", "p_adj", "ci_low", "ci_high",
                         "effect_size"]}


def _run_model_r(res, folder):
    """Write the model, run its ``model.R`` with Rscript; return (emgkit, R) tables."""
    res.write(folder, figures=False)
    run = subprocess.run(["Rscript", "model.R"], cwd=folder, capture_output=True, text=True,
                         timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]

    def read(path):
        return pd.read_csv(path, sep="\t", na_values="n/a", keep_default_na=False)

    return ({n: read(folder / f"{n}.tsv") for n in NUMBERS},
            {n: read(folder / R_TABLES[n]) for n in NUMBERS})


def _agree(mine, theirs, name):
    """Every row of ``mine`` has one row in ``theirs`` with the same keys and numbers."""
    # keys: the label columns (factor levels, contrast names), not the numbers
    keys = KEYS[name] or [c for c in mine.columns
                          if c not in NUMBERS[name] and mine[c].dtype.kind != "f"]
    assert sorted(mine.columns.intersection(NUMBERS[name])) == sorted(NUMBERS[name])
    assert len(mine) == len(theirs) > 0, name
    fill = {k: "" for k in keys}
    both = mine.fillna(fill).astype({k: str for k in keys}).merge(
        theirs.fillna(fill).astype({k: str for k in keys}), on=keys, how="left",
        suffixes=("", "_r"), validate="one_to_one")
    for col in NUMBERS[name]:
        atol = 1e-10 if col in ("p", "p_adj") else 0.0  # p < 1e-10: the digits are noise
        np.testing.assert_allclose(both[col], both[f"{col}_r"], rtol=1e-4, atol=atol,
                                   err_msg=f"{name}.{col}")
    return both


def _reject_some(trials, share, seed=0):
    """Mark a random ``share`` of the rows rejected (as real data: unbalanced cells, where
    Kenward-Roger and Satterthwaite df differ; model.R drops them as emgkit does)."""
    rng = np.random.default_rng(seed)
    return trials.assign(rejected=rng.random(len(trials)) < share)


@pytest.fixture(scope="module")
def big():
    """A between × within × muscle table of 3360 rows (above emmeans' lmerTest.limit)."""
    trials, parts = simulate_scores(
        10, n_trials=16, seed=11,
        condition_effects={("happy", "zygomaticus"): 0.5, ("angry", "corrugator"): 0.4},
        drug_effects={("happy", "zygomaticus"): 0.3})
    trials = _reject_some(trials, 0.15)
    assert len(trials) > 3000
    return fit_model(trials, "score ~ group * condition * muscle", participants=parts)


def test_model_r_reproduces_a_large_mixed_design(big, tmp_path):
    mine, theirs = _run_model_r(big, tmp_path)
    for name in NUMBERS:
        _agree(mine[name], theirs[name], name)
    con = mine["contrasts"]
    assert set(con["factor"]) == {"group", "condition"}
    # Satterthwaite df, not Kenward-Roger nor asymptotic (Inf) in R
    assert np.isfinite(theirs["contrasts"]["df"]).all()
    script = (tmp_path / "model.R").read_text()
    assert 'lmer.df = "satterthwaite", lmerTest.limit = Inf, pbkrtest.limit = 0' in script
    assert 'adjust = "none"' in script and 'adjust = "holm"' in script


def test_model_r_reproduces_within_contrasts(tmp_path):
    """``score ~ condition * muscle``: each condition against neutral within each muscle,
    as emmeans' ``trt.vs.ctrl ~ condition | muscle``; a small table (Kenward-Roger would
    be emmeans' choice here with pbkrtest installed)."""
    trials, _ = simulate_scores(4, muscles=("corrugator", "zygomaticus"), n_trials=6, seed=2,
                                condition_effects={("happy", "zygomaticus"): 0.6})
    trials = _reject_some(trials, 0.2)
    res = fit_model(trials, "score ~ condition * muscle", reference="neutral")
    mine, theirs = _run_model_r(res, tmp_path / "within")
    for name in NUMBERS:
        _agree(mine[name], theirs[name], name)
    con = mine["contrasts"]
    assert set(con["factor"]) == {"condition"} and "group" not in con
    assert set(con["contrast"]) == {"angry - neutral", "happy - neutral", "sad - neutral"}
    assert len(con) == 3 * 2
    # pairwise, and a reference that is not the first level
    trials = trials[trials["condition"] != "neutral"]
    for ref, n in (("pairwise", 3), ("sad", 2)):
        res = fit_model(trials, "score ~ condition * muscle", reference=ref)
        mine, theirs = _run_model_r(res, tmp_path / ref)
        got = _agree(mine["contrasts"], theirs["contrasts"], "contrasts")
        assert len(got) == n * 2
        if ref == "sad":
            assert set(got["contrast"]) == {"angry - sad", "happy - sad"}


def test_model_r_uses_satterthwaite_on_a_small_unbalanced_mixed_table(tmp_path):
    """Below 3000 rows with pbkrtest installed, emmeans' default is Kenward-Roger df
    (38.48 where Satterthwaite gives 38.47 here); model.R pins Satterthwaite."""
    trials, parts = simulate_scores(4, muscles=("corrugator", "zygomaticus"), n_trials=6,
                                    seed=2, condition_effects={("happy", "zygomaticus"): 0.6},
                                    drug_effects={("happy", "zygomaticus"): 0.3})
    res = fit_model(_reject_some(trials, 0.2), "score ~ group * condition * muscle",
                    participants=parts)
    mine, theirs = _run_model_r(res, tmp_path)
    for name in NUMBERS:
        _agree(mine[name], theirs[name], name)


@pytest.mark.parametrize("random", ["(1 | site/participant_id)",
                                    "(0 + condition | participant_id) + (1 | site)"])
def test_model_r_runs_for_general_random_structures(random, tmp_path):
    """The sparse engine's structures: model.R took the effect-size SD from
    ``VarCorr(m)[["participant_id"]][1, 1]``, absent for ``(1 | site/participant_id)``
    (R: "differing number of rows") and a slope variance for ``(0 + condition | ...)``;
    it is the intercept of a term grouped by the participants alone, else 0, as emgkit."""
    trials, _ = simulate_scores(8, muscles=("corrugator",), n_trials=6, seed=4,
                                condition_effects={("happy", "corrugator"): 0.5})
    ids = sorted(trials["participant_id"].unique())
    trials["site"] = trials["participant_id"].map(lambda p: f"s{ids.index(p) % 3}")
    res = fit_model(trials, f"score ~ condition + {random}", reference="neutral")
    assert type(res).__name__ == "GeneralResult"
    mine, theirs = _run_model_r(res, tmp_path / "general")
    if not res.fit["singular"]:
        for name in NUMBERS:
            _agree(mine[name], theirs[name], name)
        return
    # singular: lme4's default optimiser stops short (REML logLik -159.160175 against
    # emgkit's and allFit's best -159.159969); the effect-size SD (sigma) still agrees
    both = mine["contrasts"].merge(theirs["contrasts"], on=["factor", "contrast"])
    np.testing.assert_allclose(both["estimate_x"] / both["effect_size_x"],
                               both["estimate_y"] / both["effect_size_y"], rtol=1e-3)
    assert res.effect_sd() == pytest.approx(np.sqrt(res.s2))
