"""Column names R users have (issue 27): ``Informed.liking`` (dotted), ``Treatment``,
``scale``, ``center``, ``Q``, ``I``, ``C``, ``Sum`` and ``log`` fit as predictors (factor,
covariate, random slope), outcomes and grouping factors, written bare in lme4 formulas, and
give lme4's numbers (the reference fits of ``tests/data/lmer``: CO2 with ``treatment``
renamed, sleepstudy with ``Reaction``/``Subject`` renamed, the ham data as R has them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emgkit.stats import fit_model

DATA = Path(__file__).resolve().parents[1] / "data" / "lmer"
NAMES = ["Informed.liking", "Treatment", "scale", "center", "Q", "I", "C", "Sum", "log"]


def _ref(name, what):
    return pd.read_csv(DATA / f"{name}_{what}.csv")


def _check(res, ref, rename=None):
    """REML logLik, estimates, SE, df and Type III F against lme4 + lmerTest."""
    fit = _ref(ref, "fit").iloc[0]
    assert res.fit["reml_loglik"] == pytest.approx(fit["reml_loglik"], rel=1e-8, abs=1e-6)
    want = _ref(ref, "fixef")
    terms = [rename(t) if rename else t for t in want["term"]]
    got = res.fixed_effects().set_index("term").loc[terms]
    for col in ("estimate", "se", "df", "p"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-4, err_msg=col)
    path = DATA / f"{ref}_anova.csv"
    if path.exists():
        an = pd.read_csv(path)
        terms = [rename(t) if rename else t for t in an["term"]]
        np.testing.assert_allclose(res.anova().set_index("term").loc[terms, "F"], an["F"],
                                   rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_name_as_factor_predictor(name):
    """CO2's treatment renamed: a factor in an interaction, its contrasts and R code."""
    data = _ref("co2_int", "data").rename(columns={"treatment": name})
    res = fit_model(data, f"uptake ~ Type * {name} + conc + (1 | Plant)",
                    levels={"Type": ["Quebec", "Mississippi"], name: ["nonchilled", "chilled"]})
    _check(res, "co2_int", lambda t: t.replace("treatment", name))
    con = res.contrasts(f"~ {name} | Type", method="revpairwise")
    assert list(con["contrast"]) == ["chilled - nonchilled"] * 2
    assert len(res.emmeans(f"~ Type * {name}")) == 4
    assert name in res.r_code()


@pytest.mark.parametrize("name", NAMES)
def test_name_as_outcome_and_grouping_factor(name):
    """sleepstudy's Reaction, then its Subject, renamed."""
    data = _ref("sleep_int", "data")
    res = fit_model(data.rename(columns={"Reaction": name}), f"{name} ~ Days + (1 | Subject)")
    _check(res, "sleep_int")
    res = fit_model(data.rename(columns={"Subject": name}), f"Reaction ~ Days + (1 | {name})")
    _check(res, "sleep_int")
    assert res.variance()["group"].iloc[0] == name


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_name_as_covariate_and_random_slope(name):
    """CO2's conc renamed: a covariate with a random slope, ``(name | Plant)``."""
    data = _ref("co2_slope", "data").rename(columns={"conc": name})
    res = fit_model(data, f"uptake ~ Type * treatment + {name} + ({name} | Plant)",
                    levels={"Type": ["Quebec", "Mississippi"],
                            "treatment": ["nonchilled", "chilled"]})
    _check(res, "co2_slope", lambda t: t.replace("conc", name))


def test_dotted_outcome_as_r_has_it():
    """The ham data with its R column ``Informed.liking`` (no renaming), random slopes."""
    data = _ref("ham_slope", "data")
    lv = _ref("ham_slope", "levels")
    levels = {c: str(v).split("|") for c, v in zip(lv["column"], lv["levels"])}
    levels = {c: v for c, v in levels.items() if c in ("Product", "Information")}
    res = fit_model(data, "Informed.liking ~ Product * Information + "
                          "(1 + Information | Consumer)", levels=levels)
    _check(res, "ham_slope")
    assert res.lme4_formula().startswith("Informed.liking ~ Product * Information")
