"""General random-effects structures (:mod:`emgkit.stats.lmm`) against lme4 + lmerTest:
uncorrelated slopes ``(Days || Subject)``, nesting ``(1 | batch/cask)``, an interaction
grouping ``(1 | Worker:Machine)``, slopes with a crossed intercept ``(muscle |
participant_id) + (1 | stimulus)`` and slopes on a non-participant grouping ``(group |
stimulus)``: REML log-likelihood, singular flag, fixed effects, Satterthwaite df and p, Type
III F and den df, variance components, each also reached from bad starts. The reference
numbers are written by ``scripts/lmer_reference_general.R`` into ``tests/data/lmer/gen_*``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emgkit.errors import ModelError
from emgkit.stats import fit_model

DATA = Path(__file__).resolve().parents[1] / "data" / "lmer"

# name -> (formula, data file)
MODELS = {
    "gen_sleep_uncorr": ("Reaction ~ Days + (Days || Subject)", "gen_sleep_uncorr"),
    "gen_pastes": ("strength ~ 1 + (1 | batch/cask)", "gen_pastes"),
    "gen_machines_ab": ("score ~ Machine + (1 | Worker) + (1 | Worker:Machine)",
                        "gen_machines_ab"),
    "gen_femg_crossed": (("score ~ group * condition * muscle + (muscle | participant_id) + "
                          "(1 | stimulus)"), "gen_femg_crossed"),
    "gen_femg_stimslope": (("score ~ group * condition + muscle + (1 | participant_id) + "
                            "(group | stimulus)"), "gen_femg_crossed"),
}


def _read(name, what):
    path = DATA / f"{name}_{what}.csv"
    return pd.read_csv(path) if path.exists() else None


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request):
    name = request.param
    formula, data_name = MODELS[name]
    data = _read(data_name, "data")
    lv = _read(name, "levels")
    levels = {c: str(v).split("|") for c, v in zip(lv["column"], lv["levels"])}
    used = formula.split("~")[1].split("(")[0]
    levels = {c: v for c, v in levels.items() if c in used}
    return name, fit_model(data, formula, levels=levels)


def _aligned(got, want, key="term"):
    assert sorted(got[key]) == sorted(want[key])
    return got.set_index(key).loc[want[key]].reset_index(), want


def test_loglik_singular_and_fixed_effects(fitted):
    name, res = fitted
    ref = _read(name, "fit").iloc[0]
    assert res.fit["engine"] == "sparse" and res.fit["converged"]
    assert res.fit["reml_loglik"] == pytest.approx(ref["reml_loglik"], abs=1e-5, rel=1e-8)
    assert res.fit["singular"] == bool(ref["singular"])
    assert res.lme4_formula() == ref["formula"].replace("(Days || Subject)",
                                                        "(1 | Subject) + (0 + Days | Subject)"
                                                        ).replace("(1 | batch/cask)",
                                                                  "(1 | batch) + (1 | cask:batch)"
                                                                  ).replace("(muscle |",
                                                                            "(1 + muscle |"
                                                                            ).replace("(group |",
                                                                                      "(1 + group |")
    fe, want = _aligned(res.fixed_effects(), _read(name, "fixef"))
    np.testing.assert_allclose(fe["estimate"], want["estimate"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fe["se"], want["se"], rtol=1e-4)
    np.testing.assert_allclose(fe["df"], want["df"], rtol=1e-4)
    np.testing.assert_allclose(fe["p"], want["p"], rtol=1e-4, atol=1e-12)


def test_type3_anova(fitted):
    name, res = fitted
    want = _read(name, "anova")
    if want is None:
        assert res.anova().empty
        return
    got, want = _aligned(res.anova(), want)
    np.testing.assert_allclose(got["num_df"], want["num_df"])
    np.testing.assert_allclose(got["F"], want["F"], rtol=1e-4)
    np.testing.assert_allclose(got["den_df"], want["den_df"], rtol=1e-4)
    np.testing.assert_allclose(got["p"], want["p"], rtol=1e-4, atol=1e-12)


def test_variance_components(fitted):
    name, res = fitted
    want = _read(name, "varcorr")
    got = res.variance()
    keys = []
    for grp, v1, v2 in zip(want["grp"], want["var1"], want["var2"]):
        grp = grp.split(".")[0] if grp.startswith("Subject.") else grp  # lme4's Subject.1
        term = "" if pd.isna(v1) else v1 if pd.isna(v2) else f"cov({v1}, {v2})"
        keys.append((grp, term))
    table = got.set_index(["group", "term"])["variance"]
    assert len(table) == len(keys)
    np.testing.assert_allclose([table[k] for k in keys], want["vcov"], rtol=1e-4, atol=1e-8)


@pytest.mark.slow  # 2-8 s per model
def test_bad_starts_reach_the_optimum(fitted):
    """From a large, a tiny and a boundary (all θ = 0) start, each alone: lme4's optimum."""
    _, res = fitted
    crit = res.crit
    best = -0.5 * crit.profiled(res.theta)
    for start in (30.0, 1e-3, 0.0):
        out = crit.optimise({"bad": crit.start(start)})
        assert out["loglik"] == pytest.approx(best, abs=1e-6), start
        np.testing.assert_allclose(out["theta"], res.theta, rtol=1e-3, atol=1e-4)
        assert out["converged"]


def test_fitted_values_use_the_blups(fitted):
    """Conditional residuals are smaller than marginal ones; the BLUPs of a fit equal
    Henderson's: b̂ = G Z' V⁻¹ (y - Xβ̂) (dense check on the small models)."""
    _, res = fitted
    fitted_y, resid = res.residuals()
    y = res.data[res.outcome].to_numpy(float)
    assert resid.var() < (y - res.X @ res.beta).var()
    if len(y) > 400:
        return
    crit = res.crit
    Z = np.column_stack([crit._z(t).toarray() for t in crit.terms])
    Gfull = np.zeros((Z.shape[1], Z.shape[1]))
    off = 0
    for t, G in zip(crit.terms, crit.covariances(res.theta, res.s2)):
        Gfull[off:off + t.q, off:off + t.q] = np.kron(np.eye(t.levels), G)
        off += t.q
    V = Z @ Gfull @ Z.T + res.s2 * np.eye(len(y))
    zb = Z @ Gfull @ Z.T @ np.linalg.solve(V, y - res.X @ res.beta)
    np.testing.assert_allclose(fitted_y - res.X @ res.beta, zb, rtol=1e-6, atol=1e-8)


def test_zero_intercept_re_formula_is_honoured():
    """``re_formula = "~ 0 + Days"`` fits lme4's ``(0 + Days | Subject)``: no intercept."""
    data = _read("gen_sleep_uncorr", "data")
    res = fit_model(data, "Reaction ~ Days", groups="Subject", re_formula="~ 0 + Days")
    same = fit_model(data, "Reaction ~ Days + (0 + Days | Subject)")
    assert res.lme4_formula() == "Reaction ~ Days + (0 + Days | Subject)"
    assert list(res.variance()["term"]) == ["Days", ""]
    assert res.fit["reml_loglik"] == pytest.approx(same.fit["reml_loglik"], rel=1e-12)


def test_sparse_engine_equals_the_crossed_criterion():
    """Crossed intercepts by the sparse engine (the path of large designs) give the dense
    CrossedReml's optimum and inference (Penicillin, lme4's example)."""
    from emgkit.stats import model as model_mod

    data = _read("penicillin", "data")
    dense = fit_model(data, "diameter ~ 1 + (1 | plate) + (1 | sample)")
    old = model_mod.DENSE_CROSSED_MAX
    model_mod.DENSE_CROSSED_MAX = 0
    try:
        sparse_fit = fit_model(data, "diameter ~ 1 + (1 | plate) + (1 | sample)")
    finally:
        model_mod.DENSE_CROSSED_MAX = old
    assert sparse_fit.fit["engine"] == "sparse" and "engine" not in dense.fit
    assert sparse_fit.fit["reml_loglik"] == pytest.approx(dense.fit["reml_loglik"], rel=1e-10)
    a, b = sparse_fit.fixed_effects(), dense.fixed_effects()
    np.testing.assert_allclose(a[["estimate", "se", "df", "p"]], b[["estimate", "se", "df", "p"]],
                               rtol=1e-4)


def test_a_grouping_needs_fewer_levels_than_rows():
    data = _read("gen_pastes", "data").assign(obs=lambda d: np.arange(len(d)))
    with pytest.raises(Exception, match="needs fewer levels than observations"):
        fit_model(data, "strength ~ 1 + (1 | batch/obs)")


def test_general_result_random_intercepts_diagnostics_and_write(tmp_path):
    """Every result of the sparse engine draws its diagnostics and writes its folder (they
    used the specialised criteria's attributes: AttributeError); the participants' random
    intercepts are lme4's ``ranef`` (R 4, lme4 1.1: sleepstudy ``(Days || Subject)``)."""
    import matplotlib

    data = _read("gen_sleep_uncorr", "data")
    res = fit_model(data, "Reaction ~ Days + (Days || Subject)", groups="Subject")
    ri = res.random_intercepts()
    want = {"308": 1.512664769, "309": -40.373872828, "310": -39.181027904}
    for sid, v in want.items():
        assert ri[sid] == pytest.approx(v, abs=2e-4)
    table = res.diagnostics_table()
    assert table["random_intercept"].notna().all()
    assert isinstance(res.plot_diagnostics(), matplotlib.figure.Figure)
    written = res.write(tmp_path / "m")
    assert {"residuals", "diagnostics", "R"} <= set(written)
    # no intercept on the participants: their random intercepts are 0 by the model
    res0 = fit_model(data, "Reaction ~ Days + (0 + Days | Subject)", groups="Subject")
    assert (res0.random_intercepts() == 0).all()
    assert isinstance(res0.plot_diagnostics(), matplotlib.figure.Figure)


def test_a_term_needs_fewer_random_effects_than_rows():
    """``(Days || Subject)`` on a grouping of 100 levels for 180 rows: 100 × 1 slopes fit,
    but (0 + factor | g) with 100 levels × 3 columns is 300 random effects > 180 rows: lme4
    refuses it (checkZdims); emgkit spent minutes on it (137 s for 500 × 3 on 864 rows)."""
    data = _read("gen_sleep_uncorr", "data").copy()
    data["g"] = [f"L{i % 100}" for i in range(len(data))]
    data["f"] = [("a", "b", "c")[i % 3] for i in range(len(data))]
    with pytest.raises(ModelError, match="300 random effects"):
        fit_model(data, "Reaction ~ Days + (1 | Subject) + (0 + f | g)", groups="Subject")


def test_float_grouping_levels_are_r_labels():
    """A float grouping column (100 Hz bins summed up: ``np.cumsum``): 0.07 and
    0.07000000000000001 are one level of ``(1 | time_s)``, as R's ``factor()`` (emgkit
    made 28 levels of 20 bins)."""
    rng = np.random.default_rng(1)
    rows = [{"participant_id": f"p{p}", "time_s": t, "score": rng.normal()}
            for p in range(6)
            for t in (np.cumsum([0.0] + [0.01] * 19) if p % 2 else [round(k / 100, 2)
                                                             for k in range(20)])
            for _ in range(2)]
    res = fit_model(pd.DataFrame(rows),
                    "score ~ 1 + (1 | participant_id) + (1 | time_s) + (1 | participant_id:time_s)")
    assert sorted(t.levels for t in res.crit.terms) == [6, 20, 120]


def test_repr_counts_the_grouping_it_fitted():
    """A model of stimuli alone does not say "participants" (it did: 12 stimuli were shown
    as "12 participants")."""
    rng = np.random.default_rng(1)
    d = pd.DataFrame({"stimulus": np.repeat([f"s{i}" for i in range(12)], 10),
                      "participant_id": np.tile([f"p{i}" for i in range(10)], 12)})
    d["score"] = rng.normal(size=len(d)) + np.repeat(rng.normal(size=12), 10)
    res = fit_model(d, "score ~ 1 + (1|stimulus)")
    assert "12 levels of stimulus" in repr(res) and "participants" not in repr(res)
    assert "12 levels of stimulus" in res._repr_html_()
    d["score"] += np.tile(rng.normal(size=10), 12)
    res = fit_model(d, "score ~ 1 + (1|participant_id)")
    assert "10 participants" in repr(res)
