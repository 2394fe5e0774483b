"""emmeans as R users call it (issue 27, item 6): specs with ``|`` by-groups and equal-weight
averaging, the contrast methods by emmeans' names with emmeans' row order and labels,
Satterthwaite df and emmeans' p-value adjustments. Reference numbers: emmeans 1.8 on
lme4/lmerTest fits of the simulated fEMG table, written by ``scripts/emmeans_reference.R``
into ``tests/data/lmer/emm_specs_{emmeans,contrasts}.csv``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emgkit.errors import ModelError
from emgkit.stats import fit_model
from emgkit.stats.emm import method_matrix, parse_specs

DATA = Path(__file__).resolve().parents[1] / "data" / "lmer"
LEVELS = {"group": ["placebo", "naltrexone"], "condition": ["neutral", "angry", "happy"],
          "muscle": ["corrugator", "levator", "zygomaticus"]}
FORMULAS = {"femg_slope": "score ~ group * condition * muscle + (muscle | participant_id)",
            "femg_trait": "score ~ group + condition * trait + (1 | participant_id)"}
FACTORS = ["group", "condition", "muscle"]
RTOL = 1e-4
# the specs whose contrasts are checked by default (all EMMs are); the rest with -m slow
QUICK = {("femg_slope", "~ group | condition"), ("femg_slope", "~ condition | muscle"),
         ("femg_slope", "~ group"), ("femg_trait", "~ condition | group")}


@pytest.fixture(scope="module")
def models():
    data = pd.read_csv(DATA / "femg_data.csv")
    out = {}
    for name, formula in FORMULAS.items():
        d = data if "muscle" in formula else data.rename(columns={"muscle": "site"})
        out[name] = fit_model(d, formula, levels={k: v for k, v in LEVELS.items()
                                                  if k in formula})
    return out


def _cases(what):
    ref = pd.read_csv(DATA / f"emm_specs_{what}.csv")
    keys = ["model", "spec"] + (["method", "ref"] if what == "contrasts" else [])
    ref = ref.fillna({"ref": 0}) if what == "contrasts" else ref
    out = []
    for key, rows in ref.groupby(keys, sort=False):
        quick = what == "emmeans" or (key[0], key[1]) in QUICK
        out.append(pytest.param(key, rows.reset_index(drop=True), id="/".join(map(str, key)),
                                marks=() if quick else pytest.mark.slow))
    return out


def _close(got, want, col, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=rtol,
                               atol=1e-12, err_msg=col)


@pytest.mark.parametrize("key, want", _cases("emmeans"))
def test_emmeans_specs(models, key, want):
    """``emmeans(m, ~ group | condition)`` etc.: rows in emmeans' order (first factor
    fastest, by-groups last), equal weights over the other factors, covariates at their
    mean, Satterthwaite df."""
    name, spec = key
    got = models[name].emmeans(spec)
    for f in FACTORS:
        if f in got:
            assert list(got[f]) == list(want[f]), f
        else:
            assert want[f].isna().all(), f
    for col in ("emmean", "se", "df", "ci_low", "ci_high"):
        _close(got[col], want[col], col)


@pytest.mark.parametrize("key, want", _cases("contrasts"))
def test_contrast_methods(models, key, want):
    """Every emmeans method: labels and row order, by columns, estimates, SE, df, t,
    unadjusted intervals, and p under emmeans' default adjustment (its name too), none,
    Holm within by-groups and Holm over all rows (``by = NULL``)."""
    name, spec, method, ref = key
    res = models[name]
    ref = None if ref == 0 else int(ref)
    adjusts = [("none", "by", "p_none"), ("holm", "by", "p_holm"),
               ("holm", "all", "p_holm_all")]
    if method != "consec":  # mvt: tested below, R's own integration error is ~1e-4
        adjusts.append((None, None, "p_default"))
    for adjust, family, col in adjusts:
        got = res.contrasts(spec, method=method, ref=ref, adjust=adjust, family=family)
        assert list(got["contrast"]) == list(want["contrast"])
        for f in FACTORS:
            if f in got:
                assert list(got[f]) == list(want[f]), f
        _close(got["p_adj"], want[col], col)
        if adjust is None:
            assert got.attrs["adjust"] == want["adjust_default"].iloc[0]
    for col in ("estimate", "se", "df", "t", "ci_low", "ci_high"):
        _close(got[col], want[col], col)
    _close(got["p"], want["p_none"], "p")


def test_mvt_for_consec(models):
    """consec's default (``mvt``, a multivariate-t integral: mvtnorm in R, scipy here, both
    numerical)."""
    want = pd.read_csv(DATA / "emm_specs_contrasts.csv")
    want = want[(want["model"] == "femg_slope") & (want["spec"] == "~ condition | muscle")
                & (want["method"] == "consec")]
    got = models["femg_slope"].contrasts("consec ~ condition | muscle", adjust=None)
    assert got.attrs["adjust"] == "mvt" and got.attrs["method"] == "consec"
    np.testing.assert_allclose(got["p_adj"], want["p_default"], rtol=1e-3, atol=2e-5)


def test_pairwise_is_emmeans_pairwise(models):
    """``pairwise`` is earlier minus later level ("placebo - naltrexone", emmeans 1.8);
    ``revpairwise`` the reverse; the group contrasts default to ``trt.vs.ctrl``."""
    res = models["femg_slope"]
    pw = res.contrasts("group", method="pairwise")
    rev = res.contrasts("group", method="revpairwise")
    trt = res.contrasts("group")
    assert set(pw["contrast"]) == {"placebo - naltrexone"}
    assert set(rev["contrast"]) == set(trt["contrast"]) == {"naltrexone - placebo"}
    np.testing.assert_allclose(pw["estimate"], -rev["estimate"])
    np.testing.assert_allclose(pw["p_adj"], rev["p_adj"])
    assert pw.attrs["method"] == "pairwise" and trt.attrs["adjust"] == "holm"
    names, K = method_matrix("revpairwise", ["a", "b", "c"])
    assert names == ["b - a", "c - a", "c - b"]
    names, K = method_matrix("pairwise", ["a", "b", "c"])
    assert names == ["a - b", "a - c", "b - c"]
    names, K = method_matrix("poly", list("abcde"))
    assert names == ["linear", "quadratic", "cubic", "quartic"]
    np.testing.assert_array_equal(K[:2], [[-2, -1, 0, 1, 2], [2, -1, -2, -1, 2]])
    names, _ = method_matrix("trt.vs.ctrl", ["a", "b", "c"], ref="b")
    assert names == ["a - b", "c - b"]


def test_specs_grammar_and_errors(models):
    factors = LEVELS
    assert parse_specs("~ group | condition", factors) == (None, ["group"], ["condition"])
    assert parse_specs("pairwise ~ muscle | group * condition", factors) == (
        "pairwise", ["muscle"], ["group", "condition"])
    assert parse_specs("~ `group` * condition", factors) == (None, ["group", "condition"], [])
    assert parse_specs(["group"], factors) == (None, ["group"], [])
    res = models["femg_slope"]
    with pytest.raises(ModelError, match="'trait' is not a factor"):
        res.emmeans("~ trait")
    with pytest.raises(ModelError, match="not an emmeans method"):
        res.contrasts("tukey ~ group")
    with pytest.raises(ModelError, match="both sides"):
        res.emmeans("~ group | group")
    with pytest.raises(ModelError, match="more than one"):
        res.emmeans("~ group | condition | muscle")
    with pytest.raises(ModelError, match="not allowed; use one of pairwise"):
        res.contrasts("group", method="dunnett")
    with pytest.raises(ModelError, match="ref=5"):
        res.contrasts("~ condition", method="trt.vs.ctrl", ref=5)
    with pytest.raises(ModelError, match="family='by'"):
        res.contrasts("~ condition | muscle", adjust="tukey", family="all")
    with pytest.raises(ModelError, match="not an emmeans adjustment"):
        res.contrasts("~ condition", adjust="scheffe")
    with pytest.raises(ModelError, match="is not a formula|not an emmeans spec"):
        res.emmeans("~ group; system('x')")
    # the full grid without specs: every cell, as emmeans.tsv
    assert len(res.emmeans()) == 18 and res.emmeans().attrs["by"] == []
