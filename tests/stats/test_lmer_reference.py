"""emgkit's mixed models against lme4 + lmerTest on public R datasets (sleepstudy,
Dyestuff2, Penicillin, cake, ham, TVbo, Machines, Oats, Orthodont): REML log-likelihood,
fixed effects, Satterthwaite df, Type III F and p, singular flags. The reference numbers are
written by ``scripts/lmer_reference.R`` into ``tests/data/lmer/`` (in the repository, so a
fresh clone runs these tests without R)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emgkit.stats import fit_model

DATA = Path(__file__).resolve().parents[1] / "data" / "lmer"

# name -> (formula, groups, re_formula, crossed)
MODELS = {
    "sleep_int": ("Reaction ~ Days", "Subject", None, None),
    "sleep_slope": ("Reaction ~ Days", "Subject", "~ Days", None),
    "dyestuff2": ("Yield ~ 1", "Batch", None, None),
    "penicillin": ("diameter ~ 1", "plate", None, "sample"),
    "cake": ("angle ~ recipe * temperature", "RR", None, None),
    "ham_slope": ("Informed_liking ~ Product * Information", "Consumer", "~ Information", None),
    "tvbo": ("Coloursaturation ~ TVset * Picture", "Assessor", None, ["AT", "AP"]),
    "machines": ("score ~ Machine", "Worker", None, "WM"),
    "oats": ("yield ~ nitro * Variety", "Block", None, "BV"),
    "orthodont": ("distance ~ age * Sex", "Subject", "~ age", None),
}


def _read(name, what):
    path = DATA / f"{name}_{what}.csv"
    return pd.read_csv(path) if path.exists() else None


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request):
    name = request.param
    formula, groups, re_formula, crossed = MODELS[name]
    data = _read(name, "data")
    data.columns = [c.replace(".", "_") for c in data.columns]
    lv = _read(name, "levels")
    levels = {c.replace(".", "_"): str(v).split("|") for c, v in zip(lv["column"], lv["levels"])}
    _, preds = formula.split("~")
    levels = {c: v for c, v in levels.items() if c in preds}
    res = fit_model(data, formula, groups=groups, re_formula=re_formula, crossed=crossed,
                    levels=levels)
    return name, res


def _aligned(got, want, key="term"):
    """Rows of ``got`` in the order of ``want`` (patsy orders terms differently from R)."""
    want = want.assign(**{key: [str(t).replace(".", "_") for t in want[key]]})
    assert sorted(got[key]) == sorted(want[key])
    return got.set_index(key).loc[want[key]].reset_index(), want


def test_loglik_and_fixed_effects(fitted):
    name, res = fitted
    ref = _read(name, "fit").iloc[0]
    assert res.fit["reml_loglik"] == pytest.approx(ref["reml_loglik"], abs=1e-5, rel=1e-8)
    assert res.fit["singular"] == bool(ref["singular"])     # lme4's isSingular
    assert ("SINGULAR" in repr(res)) == bool(ref["singular"])
    assert res.lme4_formula() in repr(res)
    fe, want = _aligned(res.fixed_effects(), _read(name, "fixef"))
    np.testing.assert_allclose(fe["estimate"], want["estimate"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fe["se"], want["se"], rtol=1e-4)


def test_satterthwaite_df_and_p(fitted):
    name, res = fitted
    fe, want = _aligned(res.fixed_effects(), _read(name, "fixef"))
    np.testing.assert_allclose(fe["df"], want["df"], rtol=1e-4)
    np.testing.assert_allclose(fe["p"], want["p"], rtol=1e-4, atol=1e-12)


def test_type3_anova(fitted):
    name, res = fitted
    want = _read(name, "anova")
    if want is None:  # intercept-only model: lmerTest has no Type III table, nor do we
        assert res.anova().empty
        return
    got, want = _aligned(res.anova(), want)
    np.testing.assert_allclose(got["num_df"], want["num_df"])
    np.testing.assert_allclose(got["F"], want["F"], rtol=1e-4)
    np.testing.assert_allclose(got["den_df"], want["den_df"], rtol=1e-4)
    np.testing.assert_allclose(got["p"], want["p"], rtol=1e-4, atol=1e-12)


def test_contrasts_follow_emmeans():
    """A factor that does not interact with group (wave) is averaged over, a covariate is
    held at its mean: one row per condition, as ``emmeans(m, trt.vs.ctrl ~ group |
    condition)``; Holm over all rows or within each condition."""
    data = pd.read_csv(DATA / "emm_data.csv")
    want = pd.read_csv(DATA / "emm_contrasts.csv")
    res = fit_model(data, "score ~ group * condition + wave + trait",
                    levels={"group": ["placebo", "naltrexone"],
                            "condition": ["angry", "happy", "neutral"]})
    assert res.interacting("group") == ["condition"]
    got = res.contrasts("group")
    assert list(got["condition"]) == list(want["condition"]) and "wave" not in got
    for col in ("estimate", "se", "df", "t", "ci_low"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-4)
    np.testing.assert_allclose(got["p_adj"], want["p_adj_all"], rtol=1e-4)
    per = res.contrasts("group", family="by")
    np.testing.assert_allclose(per["p_adj"], want["p_adj_by"], rtol=1e-4)
    # by chosen explicitly: group within condition × wave (more rows, a larger family)
    both = res.contrasts("group", by=["condition", "wave"])
    assert len(both) == 6 and (both["p_adj"] >= got["p_adj"].min()).all()
    assert "Holm over all rows" in res.r_code()


@pytest.mark.skipif(not shutil.which("Rscript"), reason="R is not installed")
def test_written_model_r_runs_and_agrees(tmp_path):
    """``model.R`` runs as written from its folder (lme4, lmerTest, emmeans) and gives
    emgkit's fixed effects, df and contrasts."""
    data = pd.read_csv(DATA / "emm_data.csv")
    res = fit_model(data, "score ~ group * condition + wave + trait",
                    levels={"group": ["placebo", "naltrexone"]})
    res.write(tmp_path, figures=False)
    script = (tmp_path / "model.R").read_text()
    script += ("\nwrite.csv(summary(m)$coefficients, 'r_fixef.csv')\n"
               "write.csv(contrast_table, 'r_contrasts.csv', row.names = FALSE)\n")
    (tmp_path / "check.R").write_text(script)
    run = subprocess.run(["Rscript", "check.R"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    fe = pd.read_csv(tmp_path / "r_fixef.csv")
    got = res.fixed_effects()
    np.testing.assert_allclose(got["estimate"].to_numpy(),
                               fe.set_index(fe.columns[0]).loc[got["term"], "Estimate"],
                               rtol=1e-5)
    np.testing.assert_allclose(got["df"].to_numpy(),
                               fe.set_index(fe.columns[0]).loc[got["term"], "df"], rtol=1e-4)
    con = pd.read_csv(tmp_path / "r_contrasts.csv")
    con = con[con["factor"] == "group"].reset_index(drop=True)
    mine = res.contrasts("group")
    for col in ("estimate", "se", "df", "t", "p", "p_adj", "ci_low", "ci_high"):
        np.testing.assert_allclose(mine[col], con[col], rtol=1e-4, err_msg=col)


def test_equivalence_and_bayes_factors_match_r():
    """Equivalence p (emmeans ``test(..., delta = 0.3, side = "equivalence")``) and JZS BF10
    of participant means (BayesFactor ``ttestBF``, rscale √2/2)."""
    data = pd.read_csv(DATA / "emm_data.csv")
    want = pd.read_csv(DATA / "emm_evidence.csv")
    res = fit_model(data, "score ~ group * condition + wave + trait",
                    levels={"group": ["placebo", "naltrexone"],
                            "condition": ["angry", "happy", "neutral"]})
    got = res.contrasts("group", equivalence=(0.3, "raw"))
    np.testing.assert_allclose(got["p_equiv"], want["p_equiv"], rtol=1e-4)
    np.testing.assert_allclose(got["bf10"], want["bf10"], rtol=1e-4)
    sd = res.contrasts("group", equivalence=(0.3, "sd"))
    np.testing.assert_allclose(sd["equiv_delta"], 0.3 * res.effect_sd())


def test_jzs_bf10_known_values():
    from emgkit.stats.evidence import jzs_bf10

    # BF10 falls as t → 0 and grows with t; symmetric in the sign of t
    assert jzs_bf10(0.0, 20, 20) < 0.35 < jzs_bf10(2.5, 20, 20)
    assert jzs_bf10(-2.0, 10, 12) == pytest.approx(jzs_bf10(2.0, 10, 12), rel=1e-12)
    assert np.isnan(jzs_bf10(1.0, 1, 5))
