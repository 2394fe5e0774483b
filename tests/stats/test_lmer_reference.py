"""emgkit's mixed models against lme4 + lmerTest on public R datasets (sleepstudy,
Dyestuff2, Penicillin, cake, ham, TVbo, Machines, Oats, Orthodont): REML log-likelihood,
fixed effects, Satterthwaite df, Type III F and p, singular flags. The reference numbers are
written by ``scripts/lmer_reference.R`` into ``tests/data/lmer/`` (in the repository, so a
fresh clone runs these tests without R)."""

from __future__ import annotations

import re
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


# -- the public-dataset reference set of issue 27 (scripts/lmer_reference_public.R) ---------
# nlme's Rail, ergoStool, Gasoline, Assay, Alfalfa, BodyWeight, Orange, Oxboys, Dialyzer,
# Machines and lme4's Pastes, sleepstudy; each fitted by lme4's formula as written in its
# _fit.csv (lme4's best fit over several optimisers at tight tolerances).
PUBLIC = ["alfalfa", "assay", "bodyweight", "dialyzer", "ergostool", "gasoline",
          "machines_slope", "orange_int", "orange_slope", "oxboys", "pastes", "rail",
          # structures emgkit does not fit yet: skipped until it does
          "pastes_nested", "pixel", "sleep_uncorr"]
RTOL = 1e-4
# models whose bad-start fits run with -m slow (the default run stays short)
SLOW_STARTS = {"assay", "alfalfa", "bodyweight", "machines_slope", "orange_slope", "oxboys"}


def _text(name, what):
    """A reference table whose level names stay text ("None" is Alfalfa's first Date)."""
    path = DATA / f"{name}_{what}.csv"
    return pd.read_csv(path, keep_default_na=False, na_values=["NA"]) if path.exists() \
        else None


def _public_data(name):
    """The model's rows as R wrote them (level names such as "None" stay text)."""
    data = pd.read_csv(DATA / f"{name}_data.csv", keep_default_na=False, na_values=["NA"])
    lv = pd.read_csv(DATA / f"{name}_levels.csv", keep_default_na=False)
    return data, {c: str(v).split("|") for c, v in zip(lv["column"], lv["levels"])}


def _public_fit(name, **kwargs):
    from emgkit.errors import FormulaError

    formula = _read(name, "fit").iloc[0]["formula"]
    data, levels = _public_data(name)
    try:
        return fit_model(data, formula, levels=levels, **kwargs)
    except FormulaError as err:
        if "not supported yet" in str(err):
            pytest.skip(f"{formula}: a random-effects structure emgkit does not fit yet "
                        f"(nested, uncorrelated, or slopes with further terms); the R "
                        f"reference is ready for it")
        raise


@pytest.fixture(scope="module", params=PUBLIC)
def public(request):
    return request.param, _public_fit(request.param)


def _close(got, want, what):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=RTOL,
                               atol=1e-12, err_msg=what)


def test_public_fit_variance_and_singular(public):
    """REML log-likelihood, lme4's isSingular and every variance component (lme4's
    ``as.data.frame(VarCorr(m))``, matched by grouping factor and term)."""
    name, res = public
    ref = _read(name, "fit").iloc[0]
    assert res.fit["reml_loglik"] == pytest.approx(ref["reml_loglik"], rel=1e-9, abs=1e-7)
    assert res.fit["singular"] == bool(ref["singular"])
    assert res.fit["converged"]
    vc = _read(name, "varcorr")
    got = res.variance()
    # the residual last, the grouping factors in lme4's order (most levels first); lme4
    # names the second term of (x || g) "g.1", and nested (1 | a/b) "b:a"
    want = {(re.sub(r"\.\d+$", "", g), "Residual" if g == "Residual" else str(a)
             if pd.isna(b) else f"cov({a}, {b})"): v
            for g, a, b, v in zip(vc["grp"], vc["var1"], vc["var2"], vc["vcov"])}
    mine = dict(zip(zip(got["group"], got["term"]), got["variance"]))
    assert len(mine) == len(want)
    scale = vc["vcov"].abs().max()
    for key, v in want.items():
        match = [k for k in mine if k[0] == key[0] and (k[1] == key[1] or key[0] == "Residual")]
        assert len(match) == 1, (key, sorted(mine))
        assert mine[match[0]] == pytest.approx(v, rel=RTOL, abs=RTOL * 1e-2 * scale), key


def test_public_fixed_effects_and_type3(public):
    """Estimates, SE, Satterthwaite df and p (lmerTest); Type III F, den df and p."""
    name, res = public
    fe, want = _aligned(res.fixed_effects(), _read(name, "fixef"))
    for col in ("estimate", "se", "df", "p"):
        _close(fe[col], want[col], col)
    want = _read(name, "anova")
    if want is None:
        assert res.anova().empty
        return
    got, want = _aligned(res.anova(), want)
    np.testing.assert_allclose(got["num_df"], want["num_df"])
    for col in ("F", "den_df", "p"):
        _close(got[col], want[col], col)


def test_public_emmeans_and_contrasts(public):
    """emmeans of each factor (and of the first within the second's levels) and their
    pairwise contrasts: labels (numeric levels as "Diet1 - Diet2"), estimates, SE, df, t,
    unadjusted p and emmeans' default (Tukey) p."""
    name, res = public
    if _text(name, "emmeans") is None:
        pytest.skip(f"{name}: no factor in the fixed effects")
    _check_emmeans(name, res)


# the models of test_lmer_reference.py's MODELS and test_lmer_optimiser.py with factors:
# their emmeans references come from the same script
EARLIER = ["cake", "chickweight", "co2_int", "co2_kslope", "co2_slope", "feedlot",
           "feedlot_slope", "ham_slope", "machines", "oats", "orthodont", "tvbo"]


SLOW_EMM = {"chickweight", "co2_slope", "feedlot_slope", "oats", "orthodont", "tvbo"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow)
                                  if n in SLOW_EMM else n for n in EARLIER])
def test_earlier_models_emmeans_and_contrasts(name):
    """The same emmeans checks on the earlier reference models, fitted by their lme4
    formula as R has it (``Informed.liking`` included)."""
    res = _public_fit(name)
    assert res.fit["reml_loglik"] == pytest.approx(_read(name, "fit").iloc[0]["reml_loglik"],
                                                   rel=1e-9, abs=1e-6)
    if name == "feedlot_slope":  # test_lmer_optimiser.py: lmerTest's numDeriv Hessian
        pytest.xfail("Satterthwaite df 0.1-2 % apart: lmerTest's numerical Hessian")
    _check_emmeans(name, res)


def _check_emmeans(name, res):
    emm, con = _text(name, "emmeans"), _text(name, "contrasts")
    for spec, want in emm.groupby("spec", sort=False):
        got = res.emmeans(spec)
        left = [c for c in got.columns if c in res.factors and c not in got.attrs["by"]]
        assert list(got[left[0]]) == [str(v) for v in want["cell"]], spec
        for col in ("emmean", "se", "df", "ci_low", "ci_high"):
            _close(got[col], want[col], f"{spec} {col}")
    for spec, want in con.groupby("spec", sort=False):
        got = res.contrasts(spec, method="pairwise", adjust=None)
        assert list(got["contrast"]) == list(want["contrast"]), spec
        assert got.attrs["adjust"] == want["adjust_default"].iloc[0]
        by = got.attrs["by"]
        if by:
            assert list(got[by[0]]) == [str(v) for v in want["by"]]
        for col, wcol in (("estimate", "estimate"), ("se", "se"), ("df", "df"), ("t", "t"),
                          ("p", "p_none")):
            _close(got[col], want[wcol], f"{spec} {col}")
        # R's ptukey is off by up to ~3e-5 in the far tail at small df (emgkit's is exact:
        # test_tukey_p_is_exact_where_r_ptukey_is_not)
        np.testing.assert_allclose(got["p_adj"], want["p_default"], rtol=RTOL, atol=5e-5,
                                   err_msg=f"{spec} p_adj")


@pytest.mark.slow
def test_tukey_p_is_exact_where_r_ptukey_is_not():
    """Assay's dilut1 - dilut4 (t = -31.16, 4 df, 5 means): emmeans gives Tukey p 4.42e-5
    (R's ptukey), the studentized range integral itself 3.054e-5, as emgkit."""
    from scipy import integrate, stats

    res = _public_fit("assay")
    got = res.contrasts("~ dilut", method="pairwise", adjust=None)
    row = got[got["contrast"] == "dilut1 - dilut4"].iloc[0]
    q, k, df = np.sqrt(2) * abs(row["t"]), 5, row["df"]

    def tail(s):  # P(range of k normals > q s)
        def f(z):
            return stats.norm.pdf(z) * (stats.norm.cdf(z + q * s) - stats.norm.cdf(z)) ** (k - 1)
        return 1 - k * integrate.quad(f, -np.inf, np.inf, epsabs=1e-14, limit=200)[0]

    def dens(s):  # s = chi_df / sqrt(df)
        return stats.chi.pdf(s * np.sqrt(df), df) * np.sqrt(df)

    exact = integrate.quad(lambda s: dens(s) * tail(s), 0, np.inf, epsabs=1e-15,
                           limit=200)[0]
    assert row["p_adj"] == pytest.approx(exact, rel=1e-6)
    r_value = _text("assay", "contrasts").query("contrast == 'dilut1 - dilut4'")["p_default"]
    assert abs(r_value.iloc[0] / exact - 1) > 0.3


def _bad_starts(crit):
    """Starts far from the optimum: tiny and huge relative covariances (and, with slopes,
    a nearly ±1 correlation)."""
    if hasattr(crit, "sizes"):  # crossed intercepts: one relative SD per factor
        ramp = np.arange(1, len(crit.sizes) + 1, dtype=float)
        return {"tiny": np.diag(np.repeat(1e-6 * ramp, crit.sizes)),
                "huge": np.diag(np.repeat(1e4 * ramp, crit.sizes))}
    out = {"tiny": 1e-6 * np.eye(crit.q), "huge": 1e4 * np.eye(crit.q)}
    if crit.q > 1:
        C = np.full((crit.q, crit.q), 0.999) + 0.001 * np.eye(crit.q)
        out["corr+"] = 50 * C
    return out


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow)
                                  if n in SLOW_STARTS else n for n in PUBLIC])
def test_public_same_optimum_from_bad_starts(name):
    """Each model from each bad start alone reaches lme4's optimum; a bad start given to
    fit_model (``start=``) does not change the fit."""
    res = _public_fit(name)
    ref = _read(name, "fit").iloc[0]
    crit = res.crit
    scale = max(np.abs(res.G).max(), res.s2)
    starts = _bad_starts(crit)
    assert len(starts) >= 2
    for label, G0 in starts.items():
        out = crit.optimise({label: G0})
        assert out["converged"], label
        assert out["loglik"] == pytest.approx(ref["reml_loglik"], rel=1e-9, abs=1e-6), label
        np.testing.assert_allclose(out["G"], res.G, rtol=1e-3, atol=1e-4 * scale,
                                   err_msg=label)
    again = _public_fit(name, start=starts["huge"])
    assert again.fit["reml_loglik"] == pytest.approx(res.fit["reml_loglik"], rel=1e-10)
