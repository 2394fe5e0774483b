"""``model.R``: the R code (lme4 + lmerTest + emmeans) that refits a :class:`MixedResult` and
rebuilds its ``anova.tsv``, ``emmeans.tsv`` and ``contrasts.tsv``.

The script pins every choice emmeans would otherwise make from what is installed, so a stock
R gives emgkit's numbers: Satterthwaite df (emmeans uses Kenward–Roger when pbkrtest is
installed, and asymptotic df above 3000 rows), unadjusted intervals, Holm over each factor's
contrasts, emgkit's factor levels and reference levels.
"""

from __future__ import annotations

#: the files ``model.R`` writes beside itself (when run from its folder)
R_TABLES = {"anova": "model_R_anova.tsv", "emmeans": "model_R_emmeans.tsv",
            "contrasts": "model_R_contrasts.tsv"}

_HELPERS = '''\
# One tidy table per contrast family, with emgkit's column names (as contrasts.tsv):
# p unadjusted, p_adj Holm over all rows of the family, CIs unadjusted.
tidy_contrasts <- function(con, factor, sd_effect) {
  raw <- as.data.frame(test(con, by = NULL, adjust = "none"))
  holm <- as.data.frame(test(con, by = NULL, adjust = "holm"))
  ci <- as.data.frame(confint(con, by = NULL, adjust = "none", level = 0.95))
  keys <- raw[setdiff(names(raw), c("estimate", "SE", "df", "t.ratio", "p.value"))]
  keys[] <- lapply(keys, as.character)
  data.frame(factor = factor, keys, estimate = raw$estimate, se = raw$SE, df = raw$df,
             t = raw$t.ratio, p = raw$p.value, p_adj = holm$p.value,
             ci_low = ci$lower.CL, ci_high = ci$upper.CL,
             effect_size = raw$estimate / sd_effect, check.names = FALSE)
}
bind_tables <- function(tables) {  # rbind, columns missing in a table as NA
  cols <- unique(unlist(lapply(tables, names)))
  do.call(rbind, lapply(tables, function(x) { x[setdiff(cols, names(x))] <- NA; x[cols] }))
}
write_tsv <- function(x, file) {
  write.table(x, file, sep = "\\t", quote = FALSE, row.names = FALSE, na = "n/a")
}
'''


def _s(text):
    """An R string literal (double quotes, escaped)."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _c(values):
    return f"c({', '.join(_s(v) for v in values)})"


def r_code(res, data_file="model_data.tsv", *, write_tables=True):
    """R code that refits ``res`` to ``data_file`` and rebuilds its tables.

    Parameters
    ----------
    res : MixedResult
    data_file : str
        The model's rows (``model_data.tsv``, written by :meth:`MixedResult.write`).
    write_tables : bool
        The script writes ``model_R_anova.tsv``, ``model_R_emmeans.tsv`` and
        ``model_R_contrasts.tsv`` beside itself (:data:`R_TABLES`); they hold the R data
        frames ``anova_table``, ``emm_table`` and ``contrast_table`` it prints, with
        emgkit's column names.

    Returns
    -------
    str
    """
    def col(name):
        return f"d[[{_s(name)}]]"

    lines = [
        "# The model of this folder refitted in R; run it from this folder: Rscript model.R",
        "# anova_table, emm_table and contrast_table reproduce emgkit's anova.tsv, emmeans.tsv",
        "# and contrasts.tsv (estimate, se, df, t/F, p, p_adj, unadjusted 95 % CIs) to ~1e-4.",
        "suppressPackageStartupMessages({",
        "  library(lme4); library(lmerTest); library(emmeans)", "})",
        "# Satterthwaite df everywhere, as emgkit: without these, emmeans uses Kenward-Roger",
        "# df when pbkrtest is installed and asymptotic df (Inf) above 3000 rows.",
        "emm_options(lmer.df = \"satterthwaite\", lmerTest.limit = Inf, pbkrtest.limit = 0)",
        "options(contrasts = c(\"contr.treatment\", \"contr.poly\"))",
        f"d <- read.delim({_s(data_file)}, na.strings = \"n/a\", check.names = FALSE)",
        f"{col(res.groups)} <- factor({col(res.groups)})",
        *[f"{col(c)} <- factor({col(c)})" for c in res.crossed],
        'if ("rejected" %in% names(d)) d <- d[!as.logical(d$rejected), ]',
    ]
    lines += [f"{col(f)} <- factor({col(f)}, levels = {_c(lv)})"
              for f, lv in res.factors.items()]
    lines += [f"m <- lmer({res.lme4_formula()}, data = d, REML = TRUE)", "print(summary(m))",
              "print(VarCorr(m))", "",
              "# Type III F tests, Satterthwaite denominator df (anova.tsv)",
              "a <- anova(m, type = 3, ddf = \"Satterthwaite\")",
              ("anova_table <- data.frame(term = rownames(a), num_df = a$NumDF, "
               "den_df = a$DenDF, F = a$`F value`,"),
              "                          p = a$`Pr(>F)`, check.names = FALSE)",
              "print(anova_table, digits = 6)", "",
              "# Marginal means of every cell, covariates at their mean (emmeans.tsv)"]
    specs = _c(res.factors) if res.factors else "~ 1"
    lines += [f"e <- as.data.frame(summary(emmeans(m, {specs}), level = 0.95))",
              "emm_table <- data.frame(e[seq_len(ncol(e) - 5)], emmean = e$emmean, se = e$SE,",
              "                        df = e$df, ci_low = e$lower.CL, ci_high = e$upper.CL,",
              "                        check.names = FALSE)",
              "print(emm_table, digits = 6)", ""]
    plan = res.contrast_plan()
    if plan:
        lines += [_HELPERS.rstrip("\n"),
                  "# effect sizes in SDs: sqrt(residual + participant-intercept variance; 0",
                  "# when no term grouped by the participants alone has an intercept)",
                  (f"icpt <- which(names(m@cnms) == {_s(res.groups)} & "
                   "vapply(m@cnms, function(x) \"(Intercept)\" %in% x, TRUE))"),
                  ("sd_effect <- sqrt(sigma(m)^2 + if (length(icpt)) "
                   "VarCorr(m)[[icpt[1]]][\"(Intercept)\", \"(Intercept)\"] else 0)")]
        parts = []
        for k, p in enumerate(plan, 1):
            by = f", by = {_c(p['by'])}" if p["by"] else ""
            if p["method"] == "trt.vs.ctrl":
                ref = res.factors[p["factor"]].index(p["ref"]) + 1
                how = f"method = \"trt.vs.ctrl\", ref = {ref})"
                what = f"{p['factor']}: each level - {p['ref']}"
            else:
                how = f"method = \"{p['method']}\")"
                what = f"{p['factor']}: all pairs (" + (
                    "later - earlier level)" if p["method"] == "revpairwise"
                    else "earlier - later level)")
            lines += [f"# {what}" + (f", within {' × '.join(p['by'])}" if p["by"] else "")
                      + "; Holm over all rows of this family",
                      f"c{k} <- contrast(emmeans(m, {_s(p['factor'])}{by}), {how}",
                      f"c{k} <- tidy_contrasts(c{k}, {_s(p['factor'])}, sd_effect)"]
            parts.append(f"c{k}")
        keys = ["factor", "contrast"] + [f for f in res.factors
                                          if any(f in p["by"] for p in plan)]
        lines += [f"contrast_table <- bind_tables(list({', '.join(parts)}))",
                  f"keys <- {_c(keys)}",
                  ("contrast_table <- contrast_table[c(keys, setdiff(names(contrast_table), "
                   "keys))]"),
                  "print(contrast_table, digits = 6)"]
    if write_tables:
        lines += ["", "# the same tables beside this script, for comparison with emgkit's",
                  f"write_tsv(anova_table, {_s(R_TABLES['anova'])})",
                  f"write_tsv(emm_table, {_s(R_TABLES['emmeans'])})"]
        if plan:
            lines.append(f"write_tsv(contrast_table, {_s(R_TABLES['contrasts'])})")
    return "\n".join(lines) + "\n"

