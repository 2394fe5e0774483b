"""The formula grammar: hostile formulas never run (Python API, TOML config, CLI), ordinary
formulas round-trip, column names R users have fit, random terms and transforms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emgkit.cli import main
from emgkit.config import load_config
from emgkit.config.formula import deparse, parse_formula
from emgkit.config.random_terms import random_terms
from emgkit.errors import ConfigError, FormulaError, ModelError
from emgkit.sim.recording import simulate_scores
from emgkit.stats import fit_model
from emgkit.stats.formula import model_formula

# each would run `touch SENTINEL` (or worse) if any part of it reached Python's eval
PAYLOADS = [
    ("score ~ __import__('os').system('touch SENTINEL')", "'__import__' is not a function"),
    ("score ~ condition + __import__('os').system('touch SENTINEL')", "'__import__'"),
    ("score ~ ().__class__.__bases__[0].__subclasses__()", "expected a term, found '\\)'"),
    ("score ~ np.os.system('touch SENTINEL')", "'np.os.system' is not a function"),
    ("score ~ (lambda: __import__('os').system('touch SENTINEL'))()", "'__import__' is not"),
    ("score ~ [__import__('os').system('touch SENTINEL') for _ in (1,)]", "'\\[' \\(a subscr"),
    ("score ~ f\"{__import__('os').system('touch SENTINEL')}\"", "unexpected '\"' \\(a string"),
    ("score ~ eval(\"__import__('os').system('touch SENTINEL')\")", "'eval' is not a func"),
    ("score ~ open('SENTINEL', 'w')", "'open' is not a function"),
    ("score ~ condition[0]", "unexpected '\\[' \\(a subscript\\)"),
    ("score ~ I(__import__('os').system('touch SENTINEL'))", "'I' is not a function"),
    ("score ~ C(condition, __import__('os').system('touch SENTINEL'))",
     "C\\(\\) takes one column name"),
    ("score ~ log(__import__('os').system('touch SENTINEL'))", "log\\(\\) takes one column"),
    ("score ~ condition ** 2", "'\\*\\*' is not formula syntax"),
    ("score ~ condition; import os", "unexpected ';' \\(a second statement\\)"),
    ("__import__('os').system('touch SENTINEL') ~ condition", "'__import__' is not a func"),
    ("score ~ exec('import os')", "'exec' is not a function"),
]


def _payload(text, sentinel):
    return text.replace("SENTINEL", str(sentinel))


def _one_sided(formula):
    """The payload as a random-slopes formula (the side of '~' that holds it)."""
    lhs, rhs = formula.split("~", 1)
    return "~ " + (rhs if rhs.strip() != "condition" else lhs)


@pytest.fixture(scope="module")
def scores():
    trials, parts = simulate_scores(4, muscles=("corrugator",), n_trials=6, n_stimuli=12,
                                    seed=11)
    return trials, parts


@pytest.mark.parametrize("text,message", PAYLOADS)
def test_hostile_formulas_never_run_in_the_python_api(text, message, tmp_path, scores):
    sentinel = tmp_path / "pwned"
    formula = _payload(text, sentinel)
    with pytest.raises(FormulaError, match=message) as err:
        fit_model(scores[0], formula)
    assert isinstance(err.value, ModelError) and "at character" in str(err.value)
    with pytest.raises(ModelError):
        fit_model(scores[0], "score ~ condition", re_formula=_one_sided(formula))
    assert not sentinel.exists()


@pytest.mark.parametrize("text,message", PAYLOADS)
def test_hostile_formulas_never_run_from_a_config(text, message, tmp_path):
    sentinel = tmp_path / "pwned"
    p = tmp_path / "study.toml"
    p.write_text('[channels]\nzyg = "EXG3-EXG4"\n[events]\nsource = "annotations"\n'
                 f"[model]\nformula = '''{_payload(text, sentinel)}'''\n")
    with pytest.raises(ConfigError, match=r"model\.formula \(in .*study.toml\) = .* cannot be "
                                          r"parsed: .*" + message):
        load_config(p)
    p.write_text('[channels]\nzyg = "EXG3-EXG4"\n[events]\nsource = "annotations"\n'
                 f"[model]\nre_formula = '''{_one_sided(_payload(text, sentinel))}'''\n")
    with pytest.raises(ConfigError, match=r"model\.re_formula"):
        load_config(p)
    assert not sentinel.exists()


@pytest.mark.parametrize("text,message", PAYLOADS[:6] + PAYLOADS[-3:])
def test_hostile_formulas_never_run_from_the_command_line(text, message, tmp_path, scores,
                                                          capsys):
    sentinel = tmp_path / "pwned"
    scores[0].to_csv(tmp_path / "trials.tsv", sep="\t", index=False)
    code = main(["stats", str(tmp_path / "trials.tsv"), "--formula", _payload(text, sentinel),
                 "--out", str(tmp_path / "out")])
    assert code == 2
    assert "cannot be parsed" in capsys.readouterr().err
    assert not sentinel.exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("text,canonical", [
    ("score ~ group * condition", "score ~ group * condition"),
    ("score~group*condition*muscle+trait", "score ~ group * condition * muscle + trait"),
    ("y ~ a + b:c - 1", "y ~ a + b:c - 1"),
    ("y ~ 0 + a", "y ~ 0 + a"),
    ("y ~ -1 + a", "y ~ -1 + a"),
    ("y ~ a / b", "y ~ a / b"),
    ("y ~ (a + b + c)^2", "y ~ (a + b + c)^2"),
    ("y ~ a * (b + c)", "y ~ a * (b + c)"),
    ("y ~ (a * b) + c", "y ~ a * b + c"),
    ("y ~ a - (b + c)", "y ~ a - (b + c)"),
    ("Informed.liking ~ Product * `Information (0/1)`",
     "Informed.liking ~ Product * `Information (0/1)`"),
    ("y ~ log(age) + scale(trait) + center(x) + C(dose) + factor(d) + poly(age, 3)",
     "y ~ log(age) + scale(trait) + center(x) + C(dose) + factor(d) + poly(age, 3)"),
    ("y ~ scale + center + log + C + Q + I + Sum + Treatment",
     "y ~ scale + center + log + C + Q + I + Sum + Treatment"),
    ("y ~ x + (1 + x | participant_id) + (1|stimulus_id)",
     "y ~ x + (1 + x | participant_id) + (1 | stimulus_id)"),
    ("y ~ x + (x || g)", "y ~ x + (x || g)"),
    ("y ~ `_x` + `if`", "y ~ `_x` + `if`"),
])
def test_ordinary_formulas_round_trip(text, canonical):
    tree = parse_formula(text)
    assert deparse(tree) == canonical
    assert deparse(parse_formula(deparse(tree))) == canonical


@pytest.mark.parametrize("text,message", [
    ("score ~ (0 | participant_id)", "has no random effect"),
    ("score ~ (1 | school + class)", "not a column, an interaction a:b or a nesting"),
    ("score ~ (1 | log(school))", "not a column, an interaction a:b or a nesting"),
    ("score ~ (1 | (a/b):c)", "not a column, an interaction a:b or a nesting"),
    ("score ~ condition * (1 | participant_id)", "combined with other operators than \\+"),
    ("score ~ log(condition + 1)", r"log\(\) takes one column name"),
    ("score ~ poly(age)", "write poly\\(x, degree\\)"),
    ("score ~ 2 * condition", "the number 2 is not a term"),
    ("score ~ - condition", "a leading '-' removes only the intercept"),
    ("log(score) ~ condition", "the outcome .* must be one column"),
    ("score ~ condition + `unclosed", "a backtick is not closed"),
    ("~ condition", "needs one outcome"),
    ("score condition", "expected '~'"),
])
def test_structures_outside_the_grammar_are_named(text, message):
    with pytest.raises(FormulaError, match=message):
        random_terms(parse_formula(text))


def _rename(trials, names):
    out = trials.rename(columns=names)
    return out


@pytest.mark.parametrize("names", [
    {"score": "Informed.liking", "group": "Treatment", "condition": "scale", "trait": "log",
     "participant_id": "Q"},
    {"group": "C", "condition": "Sum", "trait": "center", "participant_id": "I"},
    {"score": "mood (1-7)", "group": "Treatment", "condition": "log", "trait": "scale"},
])
def test_column_names_r_users_have(names, scores):
    """Dotted names and names of functions or contrasts are columns: same fit as plain."""
    trials = scores[0]
    plain = fit_model(trials, "score ~ group * condition + trait + (1 | participant_id)")
    t = _rename(trials, names)

    def q(c):
        n = names.get(c, c)
        return n if n.replace(".", "").replace("_", "").isalnum() else f"`{n}`"

    formula = (f"{q('score')} ~ {q('group')} * {q('condition')} + {q('trait')} + "
               f"(1 | {q('participant_id')})")
    odd = fit_model(t, formula)
    np.testing.assert_allclose(odd.beta, plain.beta, rtol=1e-10)
    np.testing.assert_allclose(odd.fit["reml_loglik"], plain.fit["reml_loglik"], rtol=1e-12)
    fe, fe0 = odd.fixed_effects(), plain.fixed_effects()
    np.testing.assert_allclose(fe["p"], fe0["p"], rtol=1e-8)
    g, c = names.get("group", "group"), names.get("condition", "condition")
    assert list(fe["term"]) == [t.replace("group", g).replace("condition", c)
                                .replace("trait", names.get("trait", "trait"))
                                for t in fe0["term"]]
    an, an0 = odd.anova(), plain.anova()
    np.testing.assert_allclose(an["F"], an0["F"], rtol=1e-8)
    assert list(an["term"]) == [t.replace("group", g).replace("condition", c)
                                .replace("trait", names.get("trait", "trait"))
                                for t in an0["term"]]
    con, con0 = odd.contrasts(g), plain.contrasts("group")
    np.testing.assert_allclose(con["p_adj"], con0["p_adj"], rtol=1e-8)
    np.testing.assert_allclose(odd.emmeans()["emmean"], plain.emmeans()["emmean"], rtol=1e-10)
    assert odd.interacting(g) == [c]
    code = odd.r_code()
    assert f"lmer({formula}, data = d" in code and "check.names = FALSE" in code


@pytest.mark.parametrize("text,terms", [
    ("y ~ x + (x || g)", ["(1 | g)", "(0 + x | g)"]),
    ("y ~ (1 + x + z || g)", ["(1 | g)", "(0 + x | g)", "(0 + z | g)"]),
    ("y ~ (0 + x || g)", ["(0 + x | g)"]),
    ("y ~ (0 + x | g)", ["(0 + x | g)"]),
    ("y ~ (- 1 + x | g)", ["(0 + x | g)"]),
    ("y ~ (1 | a/b)", ["(1 | a)", "(1 | b:a)"]),
    ("y ~ (1 | a/b/c)", ["(1 | a)", "(1 | b:a)", "(1 | c:b:a)"]),
    ("y ~ (x | a/b)", ["(1 + x | a)", "(1 + x | b:a)"]),
    ("y ~ (1 | a:b)", ["(1 | a:b)"]),
    ("y ~ (1 | g) + (0 + x | g)", ["(1 | g)", "(0 + x | g)"]),
    ("y ~ (muscle | participant_id) + (1 | stimulus)",
     ["(1 + muscle | participant_id)", "(1 | stimulus)"]),
    ("y ~ (1 | `my group`/Informed.liking)",
     ["(1 | `my group`)", "(1 | Informed.liking:`my group`)"]),
])
def test_random_terms_expand_as_lme4(text, terms):
    """lme4's expansions: ``||`` into one term per part, ``a/b`` into ``a`` and ``b:a``."""
    assert [str(t) for t in random_terms(parse_formula(text))] == terms


def test_random_terms_in_the_formula_equal_the_keywords(scores):
    trials = scores[0]
    a = fit_model(trials, "score ~ group * condition + (1 + condition | participant_id)")
    b = fit_model(trials, "score ~ group * condition", re_formula="~ condition")
    np.testing.assert_allclose(a.beta, b.beta, rtol=1e-10)
    assert a.lme4_formula() == b.lme4_formula()
    c = fit_model(trials, "score ~ group * condition + (1 | stimulus_id) + (1 | participant_id)")
    d = fit_model(trials, "score ~ group * condition", crossed="stimulus_id")
    assert c.groups == "participant_id" and c.crossed == ["stimulus_id"]
    np.testing.assert_allclose(c.fit["reml_loglik"], d.fit["reml_loglik"], rtol=1e-12)
    assert c.lme4_formula() == d.lme4_formula()
    with pytest.raises(ModelError, match="re_formula/crossed are given too"):
        fit_model(trials, "score ~ condition + (1 | participant_id)", crossed="stimulus_id")
    with pytest.raises(ModelError, match="groups='stimulus_id' has no random term"):
        fit_model(trials, "score ~ condition + (1 | participant_id)", groups="stimulus_id")
    with pytest.raises(FormulaError, match="has no random effect"):
        fit_model(trials, "score ~ condition", re_formula="~ 0")


def test_transforms_are_resolved_by_emgkit(scores):
    trials = scores[0].copy()
    rng = np.random.default_rng(0)
    trials["age"] = trials["participant_id"].map(
        {p: float(a) for p, a in zip(sorted(trials["participant_id"].unique()),
                                     rng.uniform(20, 60, 8), strict=True)})
    trials["dose"] = trials["trial"] % 3 * 10 + 5  # numeric: 5, 15, 25
    age = trials["age"]
    trials["age_z"] = (age - age.mean()) / age.std(ddof=1)  # R's scale()
    trials["age_c"] = age - age.mean()
    trials["age_log"] = np.log(age)
    # R's poly(age, 2): orthonormal columns of the centred powers, positive leading term
    q, r = np.linalg.qr(np.column_stack([np.ones(len(age)), age - age.mean(),
                                         (age - age.mean()) ** 2]))
    q = q * np.sign(np.diag(r))
    trials["p1"], trials["p2"] = q[:, 1], q[:, 2]
    for formula, manual in [("score ~ condition + scale(age)", "score ~ condition + age_z"),
                            ("score ~ condition + center(age)", "score ~ condition + age_c"),
                            ("score ~ condition + log(age)", "score ~ condition + age_log"),
                            ("score ~ condition + poly(age, 2)", "score ~ condition + p1 + p2")]:
        a, b = fit_model(trials, formula), fit_model(trials, manual)
        np.testing.assert_allclose(a.beta, b.beta, rtol=1e-8, atol=1e-12)
        if "scale" in formula or "center" in formula:  # emmeans: covariate at its mean
            np.testing.assert_allclose(a.emmeans()["emmean"], b.emmeans()["emmean"],
                                       rtol=1e-8)
    # as R's emmeans: log(age) and poly(age, 2) evaluated at the mean age
    a = fit_model(trials, "score ~ condition + log(age)")
    x = np.array([[1, 0, 0, 0, np.log(age.mean())]])
    np.testing.assert_allclose(a.emmeans()["emmean"].iloc[0], (x @ a.beta)[0], rtol=1e-10)
    terms = list(fit_model(trials, "score ~ condition + poly(age, 2)").fixed_effects()["term"])
    assert terms[-2:] == ["poly(age, 2)1", "poly(age, 2)2"]
    res = fit_model(trials, "score ~ C(dose) * condition")
    assert res.factors["dose"] == ["5", "15", "25"]
    assert "~ dose * condition" in res.lme4_formula()
    assert 'd[["dose"]] <- factor(d[["dose"]], levels = c("5", "15", "25"))' in res.r_code()
    assert "dose15" in set(res.fixed_effects()["term"])


def test_design_names_match_patsy(scores):
    """The R names emgkit gives the columns are patsy's names, translated."""
    import re

    import patsy

    trials = scores[0]
    for rhs in ["group * condition + trait", "condition:trait", "0 + condition",
                "group / condition", "(group + condition + trait)^2"]:
        mf = model_formula("score ~ " + rhs)
        data = trials.assign(group=pd.Categorical(trials["group"], ["placebo", "naltrexone"]))
        _, design = mf.matrix(data, {"group": ["placebo", "naltrexone"]})
        names = patsy.dmatrix(rhs.replace("^", "**"), data).design_info.column_names
        want = [re.sub(r"\[(?:T\.)?([^\]]*)\]", r"\1", n).replace("Intercept", "(Intercept)")
                for n in names]
        assert design.column_names == want


def test_config_formulas_are_checked_at_load_time(tmp_path):
    p = tmp_path / "study.toml"
    head = ('[channels]\nzyg = "EXG3-EXG4"\n[events]\nsource = "annotations"\n'
            '[events.conditions]\nhappy = "happy"\n[model]\n')
    p.write_text(head + 'formula = "Informed.liking ~ group * scale + (1 | participant_id)'
                        ' + (1 | stimulus_id)"\n')
    assert "Informed.liking" in load_config(p).model["formula"]
    p.write_text(head + 'formula = "score ~ group + (1 | participant_id)"\ncrossed = "stim"\n')
    with pytest.raises(ConfigError, match=r"model.formula .* has random terms and \[model\] "
                                          r"crossed is set too"):
        load_config(p)
    p.write_text(head + 'formula = "score ~ group + (condition || participant_id/run)"\n')
    assert "||" in load_config(p).model["formula"]
    p.write_text(head + 'formula = "score ~ group + (1 | participant_id + run)"\n')
    with pytest.raises(ConfigError, match=r"model.formula .*not a column, an interaction"):
        load_config(p)
    p.write_text(head + 're_formula = "~ 0"\n')
    with pytest.raises(ConfigError, match=r"model.re_formula .*has no random effect"):
        load_config(p)


def test_names_reach_the_r_code_quoted(scores):
    """Column names and levels are quoted for R (no R code can be smuggled into model.R)."""
    t = scores[0].rename(columns={"participant_id": "id`x", "condition": "cond (1-4)"})
    t["cond (1-4)"] = t["cond (1-4)"].replace("happy", 'ha"ppy')
    res = fit_model(t, "score ~ `cond (1-4)`", groups="id`x")
    assert res.lme4_formula() == "score ~ `cond (1-4)` + (1 | `id\\`x`)"
    code = res.r_code()
    assert 'd[["id`x"]] <- factor(d[["id`x"]])' in code
    assert '"ha\\"ppy"' in code


@pytest.mark.parametrize("text, message", [
    # left-deep trees and nested parentheses made the parser and the tree walks recurse
    # past Python's limit (RecursionError, not a FormulaError)
    ("score ~ condition + (1 | " + "/".join(f"a{i}" for i in range(5000)) + ")",
     "more than the 1000"),
    ("score ~ " + "(" * 3000 + "condition" + ")" * 3000, "more than the 1000"),
    ("score ~ " + "(" * 40 + "condition" + ")" * 40, "parentheses nest deeper than 32"),
    # (1 | a/b/a/b/...) expanded to ever longer groupings: a fit that did not return
    ("score ~ condition + (1 | " + "/".join(["site", "participant_id"] * 30) + ")",
     "names a column twice"),
    ("score ~ condition + (1 | site/participant_id/site)", "names a column twice"),
    ("score ~ condition + (1 | " + "/".join(f"a{i}" for i in range(40)) + ")",
     "expands to 40 terms"),
])
def test_oversized_random_structures_are_refused(text, message):
    with pytest.raises(FormulaError, match=message):
        random_terms(parse_formula(text))


def test_interaction_grouping_alone_and_outcome_as_grouping(scores):
    """``(1 | site:participant_id)`` without a plain participant term fitted the
    participants' column by the name 'site:participant_id' (ModelError: missing column);
    ``(1 | score)`` on the outcome raised a TypeError."""
    data = scores[0].copy()
    ids = sorted(data["participant_id"].unique())
    data["site"] = data["participant_id"].map(lambda p: f"s{ids.index(p) % 2}")
    res = fit_model(data, "score ~ condition + (1 | site:participant_id)")
    assert res.groups == "participant_id" and res.fit["converged"]
    assert res.diagnostics_table()["participant_id"].nunique() == data.participant_id.nunique()
    with pytest.raises(ModelError, match="also the model's grouping"):
        fit_model(data, "score ~ condition + (1 | score)")


def test_float_factor_levels_are_r_labels():
    """100 Hz bins as a factor: ``np.arange(0, 0.5, 0.01)`` gives 0.07000000000000001 where
    ``round(k / 100, 2)`` gives 0.07; R's ``factor()`` labels both "0.07" (15 significant
    digits), emgkit made two levels (53 instead of 50 here; Type III num df 52 for lmerTest's
    49)."""
    rng = np.random.default_rng(3)
    rows = []
    for p in range(6):
        grid = np.arange(0, 0.5, 0.01) if p % 2 else [round(k / 100, 2) for k in range(50)]
        for t in grid:
            rows.append({"participant_id": f"sub-{p + 1:02d}", "time_s": t,
                         "score": rng.normal()})
    data = pd.DataFrame(rows)
    assert data["time_s"].nunique() > 50
    res = fit_model(data, "score ~ C(time_s) + (1 | participant_id)")
    assert len(res.factors["time_s"]) == 50 and "0.07" in res.factors["time_s"]
    assert res.factors["time_s"][:3] == ["0", "0.01", "0.02"]
    assert int(res.anova()["num_df"].iloc[0]) == 49
