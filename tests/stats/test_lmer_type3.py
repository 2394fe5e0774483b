"""Type III tests with lmerTest's hypothesis matrices (issue 27, item 2).

lmerTest's multi-df Satterthwaite denominator df depend on the rows of its Type III matrix,
not only on the hypothesis they span. References: a simulated, unbalanced fEMG table fitted
by lme4 + lmerTest (``scripts/lmer_reference_femg.R`` writes ``tests/data/lmer/femg_*``):
``group * condition * muscle`` with correlated random muscle slopes (2- and 4-df terms), a
one-term model (lmerTest then uses its Type I matrices), a covariate interacting with a
factor, an interaction without its main effect (R codes condition by all its levels there,
and lmerTest's containment then leaves condition alone) and a model without intercept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emgkit.stats import fit_model
from emgkit.stats.formula import design_matrix
from emgkit.stats.satterthwaite import Satterthwaite
from emgkit.stats.type3 import containment, doolittle, type1_contrasts, type3_contrasts

DATA = Path(__file__).resolve().parents[1] / "data" / "lmer"
RTOL = 1e-4

# name -> (formula, re_formula)
MODELS = {
    "femg_slope": ("score ~ group * condition * muscle", "~ muscle"),
    "femg_muscle": ("score ~ muscle", "~ muscle"),
    "femg_trait": ("score ~ group + condition * trait", None),
    "femg_nomain": ("score ~ condition + muscle + condition:group", None),
    "femg_noint": ("score ~ 0 + condition * muscle", None),
}


def _levels():
    lv = pd.read_csv(DATA / "femg_levels.csv")
    return {c: v.split("|") for c, v in zip(lv["column"], lv["levels"], strict=True)}


def _fit(name):
    formula, re_formula = MODELS[name]
    levels = {c: v for c, v in _levels().items() if c in formula}
    data = pd.read_csv(DATA / "femg_data.csv")
    if "muscle" not in formula:  # the R reference pools the muscles on purpose
        data = data.rename(columns={"muscle": "muscle_pooled"})
    return fit_model(data, formula, groups="participant_id", re_formula=re_formula,
                     levels=levels)


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request):
    return request.param, _fit(request.param)


def test_fit_matches_lme4(fitted):
    """The optimum itself (so that the df below test the hypotheses, not the fit)."""
    name, res = fitted
    ref = pd.read_csv(DATA / f"{name}_fit.csv").iloc[0]
    assert res.fit["reml_loglik"] == pytest.approx(ref["reml_loglik"], rel=1e-9, abs=1e-6)
    assert res.fit["singular"] == bool(ref["singular"])
    fe = res.fixed_effects().set_index("term")
    want = pd.read_csv(DATA / f"{name}_fixef.csv").set_index("term")
    assert sorted(fe.index) == sorted(want.index)
    fe = fe.loc[want.index]
    for col in ("estimate", "se", "df", "p"):
        np.testing.assert_allclose(fe[col], want[col], rtol=RTOL, atol=1e-12, err_msg=col)


def test_type3_matches_lmertest(fitted):
    """F, numerator df, denominator df and p of every term to 1e-4 (lmerTest's
    ``anova(m, type = 3)``), multi-df terms included."""
    name, res = fitted
    got = res.anova().set_index("term")
    want = pd.read_csv(DATA / f"{name}_anova.csv").set_index("term")
    assert sorted(got.index) == sorted(want.index)
    got = got.loc[want.index]
    np.testing.assert_array_equal(got["num_df"], want["num_df"])
    for col in ("F", "den_df", "p"):
        np.testing.assert_allclose(got[col], want[col], rtol=RTOL, atol=1e-12, err_msg=col)


def test_sum_coded_basis_gave_other_df():
    """Before: sum-to-zero rows span the same hypotheses (same F) and give the same df for
    1-df terms, but other multi-df den df than lmerTest's; the new basis keeps every 1-df
    number and F."""
    res = _fit("femg_slope")
    Xs, sinfo = res.model_formula.matrix(res.data, res.factors, sum_coded=True)
    crit = res.crit.with_design(Xs)
    beta, C = crit.gls(res.theta)
    sat = Satterthwaite(crit, res.theta)
    new = res.anova().set_index("term")
    multi_differs = False
    for term, sl in sinfo.terms.items():
        F, q, ddf = sat.df_F(np.eye(len(beta))[sl], beta, C)
        assert F == pytest.approx(new.loc[term, "F"], rel=1e-8)
        if q == 1:
            assert ddf == pytest.approx(new.loc[term, "den_df"], rel=1e-8)
        else:
            multi_differs |= abs(ddf / new.loc[term, "den_df"] - 1) > 1e-4
    assert multi_differs


def test_any_coding_maps_to_the_same_hypotheses():
    """For a sum-coded design, ``X_fit`` gives the matrices in its coefficients: the same
    estimates L β, and the fit's F and df from those coefficients."""
    res = _fit("femg_slope")
    Xs, _ = res.model_formula.matrix(res.data, res.factors, sum_coded=True)
    trt = type3_contrasts(res.dinfo, res.X, res.data)
    sm = type3_contrasts(res.dinfo, res.X, res.data, X_fit=Xs)
    crit = res.crit.with_design(Xs)
    beta_s, C_s = crit.gls(res.theta)
    sat = Satterthwaite(crit, res.theta)
    for term, L in trt.items():
        np.testing.assert_allclose(sm[term] @ beta_s, L @ res.beta, rtol=1e-7, atol=1e-10)
        F, q, ddf = sat.df_F(sm[term], beta_s, C_s)
        row = res.anova().set_index("term").loc[term]
        assert (F, q) == (pytest.approx(row["F"], rel=1e-7), row["num_df"])
        assert ddf == pytest.approx(row["den_df"], rel=1e-6)


def test_wrong_designs_raise():
    """A design of another column space, or a non-treatment design passed as ``X``, is a
    ModelError naming what to pass."""
    from emgkit.errors import ModelError

    res = _fit("femg_trait")
    with pytest.raises(ModelError, match="X_fit does not span"):
        type3_contrasts(res.dinfo, res.X, res.data, X_fit=res.X[:, ::-1] ** 2)
    Xs, _ = res.model_formula.matrix(res.data, res.factors, sum_coded=True)
    with pytest.raises(ModelError, match="treatment-coded"):
        type3_contrasts(res.dinfo, Xs, res.data)


def test_containment_and_matrices_by_hand():
    """SAS containment (same covariates, more variables) and the Type III rows of a small
    two-way design with a covariate, by hand."""
    rng = np.random.default_rng(3)
    d = pd.DataFrame({"a": pd.Categorical(rng.choice(["p", "q", "r"], 60),
                                          categories=["p", "q", "r"]),
                      "b": pd.Categorical(rng.choice(["u", "v"], 60), categories=["u", "v"]),
                      "x": rng.normal(size=60)})
    factors = {"a": ["p", "q", "r"], "b": ["u", "v"]}
    from emgkit.stats.formula import model_formula

    X, des = design_matrix(model_formula("y ~ a * b + x * b").fixed, d, factors)
    name = {v: k for k, v in des.alias.items()}

    def key(term):
        return frozenset(name[f.code] for f in term.factors)

    con = {key(t): {key(c) for c in cs} for t, cs in containment(des.info).items()}
    a, b, x, ab, bx = (frozenset(v) for v in ("a", "b", "x", "ab", "bx"))
    assert con[a] == {ab} and con[b] == {ab} and con[x] == {bx}
    assert con[ab] == set() and con[bx] == set()
    L = type3_contrasts(des, X, d)
    names = des.column_names
    # b: the u/v difference averaged over a's levels (balanced weights: 1/3 of each
    # interaction column), at x = 0 (b:x not involved)
    Lb = L["b"] / L["b"][0, names.index("bv")]
    np.testing.assert_allclose(Lb[0, [names.index("aq:bv"), names.index("ar:bv")]], 1 / 3)
    assert Lb[0, names.index("x:bv")] == 0
    # x: the slope averaged over b's levels
    Lx = L["x"] / L["x"][0, names.index("x")]
    np.testing.assert_allclose(Lx[0, names.index("x:bv")], 1 / 2)
    # the highest-order terms: their own columns
    np.testing.assert_array_equal(np.abs(L["a:b"]).sum(0) > 0,
                                  [n.startswith("a") and ":b" in n for n in names])


def test_doolittle_and_type1():
    """Doolittle factors reproduce the matrix; Type I rows are unit upper-triangular."""
    rng = np.random.default_rng(1)
    X = np.column_stack([np.ones(20), rng.normal(size=(20, 3))])
    A = X.T @ X
    L, U = doolittle(A)
    np.testing.assert_allclose(L @ U, A, rtol=1e-10)
    assert np.allclose(np.diag(L), 1) and np.allclose(np.triu(L, 1), 0)
    T = type1_contrasts(X, {"t": slice(1, 4)})["t"]
    np.testing.assert_allclose(T[:, 1:], L.T[1:, 1:])
    assert np.all(T[:, 0] == 0)
