# The public-dataset reference set of issue 27 ("Done when"): nlme's Rail, ergoStool,
# Gasoline, Assay, Alfalfa, BodyWeight, Orange, Oxboys, Dialyzer, Machines (slopes), Pixel and
# lme4's Pastes and sleepstudy, fitted by lme4 + lmerTest with several optimisers at tight
# tolerances (scripts/lmer_reference_more.R's allFit-style best_fit: the best REML
# log-likelihood wins, boundary restarts included). Written to tests/data/lmer/ in the
# layout of lmer_reference_more.R:
#   <name>_{data,levels,fixef,anova,varcorr,fit}.csv (fit.csv holds the lme4 formula, which
#   the Python tests fit as written), and for models with factors
#   <name>_emmeans.csv  spec, cell (levels joined by " "), by, emmean, se, df, ci_low, ci_high
#   <name>_contrasts.csv spec, method, contrast, by, estimate, se, df, t, p_none, p_default,
#                        adjust_default (emmeans' pairwise with Satterthwaite df)
# Data come from the R packages (only the model's columns are written); interaction
# groupings (Block:sample) and powers (day^2) are written as columns of their own
# (Block_sample, day2) so that the formula names columns only. The structures emgkit does not
# fit yet (nested (1 | batch/cask), uncorrelated (Days || Subject), slopes with a crossed
# intercept (Pixel)) are written too; their Python tests skip until emgkit fits them.
#   Rscript scripts/lmer_reference_public.R
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(emmeans)})
out <- "tests/data/lmer"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
options(contrasts = c("contr.treatment", "contr.poly"))
emm_options(lmer.df = "satterthwaite", lmerTest.limit = 1e6, pbkrtest.limit = 0)

unorder <- function(d) {
  d <- as.data.frame(d)
  for (n in names(d)) if (is.factor(d[[n]])) d[[n]] <- factor(d[[n]], ordered = FALSE, levels = levels(d[[n]]))
  d
}
nl <- function(n) { e <- new.env(); data(list = n, package = "nlme", envir = e); unorder(e[[n]]) }
assay <- nl("Assay"); assay$Block_sample <- interaction(assay$Block, assay$sample, sep = "_")
assay$Block_dilut <- interaction(assay$Block, assay$dilut, sep = "_")
alfalfa <- nl("Alfalfa"); alfalfa$Block_Variety <- interaction(alfalfa$Block, alfalfa$Variety, sep = "_")
pixel <- nl("Pixel"); pixel$Dog_Side <- interaction(pixel$Dog, pixel$Side, sep = "_")
pixel$day2 <- pixel$day^2
e <- new.env(); data(list = c("Pastes", "sleepstudy"), package = "lme4", envir = e)
pastes <- unorder(e$Pastes)
sleep <- unorder(e$sleepstudy)
orange <- unorder(datasets::Orange)
# Orange's Tree levels are ordered by size (3 < 1 < 5 < 2 < 4): as plain labels here
orange$Tree <- factor(as.character(orange$Tree))
for (d in c("assay", "alfalfa", "pixel")) {
  x <- get(d); for (n in names(x)) if (is.factor(x[[n]])) x[[n]] <- droplevels(x[[n]]); assign(d, x)
}

models <- list(
  rail           = list(nl("Rail"), travel ~ 1 + (1 | Rail)),
  ergostool      = list(nl("ergoStool"), effort ~ Type + (1 | Subject)),
  gasoline       = list(nl("Gasoline"), yield ~ endpoint + (1 | Sample)),
  assay          = list(assay, logDens ~ sample * dilut + (1 | Block) + (1 | Block_sample) + (1 | Block_dilut)),
  alfalfa        = list(alfalfa, Yield ~ Date * Variety + (1 | Block) + (1 | Block_Variety)),
  bodyweight     = list(nl("BodyWeight"), weight ~ Time * Diet + (Time | Rat)),
  orange_int     = list(orange, circumference ~ age + (1 | Tree)),
  orange_slope   = list(orange, circumference ~ age + (age | Tree)),
  oxboys         = list(nl("Oxboys"), height ~ age + (age | Subject)),
  dialyzer       = list(nl("Dialyzer"), rate ~ pressure * QB + (pressure | Subject)),
  machines_slope = list(nl("Machines"), score ~ Machine + (Machine | Worker)),
  pastes         = list(pastes, strength ~ 1 + (1 | batch) + (1 | sample)),
  # structures emgkit does not fit yet (the Python tests skip them until it does)
  pastes_nested  = list(pastes, strength ~ 1 + (1 | batch/cask)),
  sleep_uncorr   = list(sleep, Reaction ~ Days + (Days || Subject)),
  pixel          = list(pixel, pixel ~ day + day2 + (day | Dog) + (1 | Dog_Side))
)

tight <- list(
  nloptwrap_bobyqa = lmerControl(optimizer = "nloptwrap", optCtrl = list(
    algorithm = "NLOPT_LN_BOBYQA", ftol_abs = 1e-12, xtol_abs = 1e-12, maxeval = 1e5)),
  nloptwrap_neldermead = lmerControl(optimizer = "nloptwrap", optCtrl = list(
    algorithm = "NLOPT_LN_NELDERMEAD", ftol_abs = 1e-12, xtol_abs = 1e-12, maxeval = 1e5)),
  bobyqa = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10)),
  Nelder_Mead = lmerControl(optimizer = "Nelder_Mead", optCtrl = list(
    maxfun = 1e5, FtolAbs = 1e-12, XtolRel = 1e-12)),
  nlminbwrap = lmerControl(optimizer = "nlminbwrap", optCtrl = list(
    eval.max = 1e5, iter.max = 1e5, rel.tol = 1e-14)))

fit_one <- function(f, d, ctl, start = NULL) tryCatch(suppressMessages(suppressWarnings(
  lmerTest::lmer(f, data = d, REML = TRUE, control = ctl, start = start))),
  error = function(e) NULL)

best_fit <- function(f, d) {
  fits <- lapply(tight, function(ctl) fit_one(f, d, ctl))
  fits <- fits[!vapply(fits, is.null, TRUE)]
  ll <- vapply(fits, function(m) as.numeric(logLik(m)), 0)
  m <- fits[[which.max(ll)]]
  th <- getME(m, "theta"); lower <- getME(m, "lower")
  for (k in which(lower == 0 & th > 0 & th < 1e-3)) {
    th0 <- th; th0[k] <- 0
    b <- fit_one(f, d, tight$bobyqa, start = list(theta = th0))
    if (!is.null(b)) fits[[paste0("boundary_restart_", k)]] <- b
  }
  ll <- vapply(fits, function(m) as.numeric(logLik(m)), 0)
  list(model = fits[[which.max(ll)]], optimizer = names(fits)[which.max(ll)], loglik = ll)
}

# emmeans of each factor (and of the first within the second's levels), pairwise contrasts
emm_tables <- function(m, d, f) {
  fac <- intersect(all.vars(nobars(f)[[3]]), names(d)[vapply(d, is.factor, TRUE)])
  if (!length(fac)) return(NULL)
  specs <- paste("~", fac)
  if (length(fac) >= 2) specs <- c(specs, paste("~", fac[1], "|", fac[2]))
  e_rows <- list(); c_rows <- list()
  for (s in specs) {
    em <- suppressMessages(emmeans(m, as.formula(s)))
    e <- as.data.frame(summary(em))
    lhs <- all.vars(as.formula(s))[1]; byv <- em@misc$by.vars
    by <- if (length(byv)) as.character(e[[byv]]) else ""
    e_rows[[length(e_rows) + 1]] <- data.frame(spec = s, cell = as.character(e[[lhs]]), by = by,
      emmean = e$emmean, se = e$SE, df = e$df, ci_low = e$lower.CL, ci_high = e$upper.CL)
    con <- contrast(em, method = "pairwise")
    def <- summary(con)
    adj <- attr(def, "mesg"); adj <- adj[grepl("P value adjustment", adj)]
    adj <- if (length(adj)) sub("P value adjustment: ([^ ]+) .*", "\\1", adj) else "none"
    x <- as.data.frame(summary(con, adjust = "none"))
    c_rows[[length(c_rows) + 1]] <- data.frame(spec = s, method = "pairwise",
      contrast = as.character(x$contrast), by = if (length(byv)) as.character(x[[byv]]) else "",
      estimate = x$estimate, se = x$SE, df = x$df, t = x$t.ratio, p_none = x$p.value,
      p_default = def$p.value, adjust_default = adj)
  }
  list(emmeans = do.call(rbind, e_rows), contrasts = do.call(rbind, c_rows))
}

for (name in names(models)) {
  d <- models[[name]][[1]]; f <- models[[name]][[2]]
  fit <- best_fit(f, d); m <- fit$model
  cols <- all.vars(f)
  write.csv(d[, cols], file.path(out, paste0(name, "_data.csv")), row.names = FALSE)
  fac <- cols[vapply(cols, function(n) is.factor(d[[n]]), TRUE)]
  lv <- vapply(fac, function(n) paste(levels(d[[n]]), collapse = "|"), "")
  write.csv(data.frame(column = fac, levels = unname(lv)),
            file.path(out, paste0(name, "_levels.csv")), row.names = FALSE)
  co <- summary(m)$coefficients
  write.csv(data.frame(term = rownames(co), estimate = co[, 1], se = co[, 2], df = co[, 3],
                       p = co[, 5]), file.path(out, paste0(name, "_fixef.csv")), row.names = FALSE)
  a <- anova(m, type = 3)
  if (nrow(a))
    write.csv(data.frame(term = rownames(a), num_df = a$NumDF, den_df = a$DenDF, F = a$`F value`,
                         p = a$`Pr(>F)`), file.path(out, paste0(name, "_anova.csv")), row.names = FALSE)
  write.csv(as.data.frame(VarCorr(m)), file.path(out, paste0(name, "_varcorr.csv")), row.names = FALSE)
  write.csv(data.frame(formula = deparse(f, width.cutoff = 500L), reml_loglik = as.numeric(logLik(m)),
                       singular = isSingular(m, tol = 1e-4), optimizer = fit$optimizer,
                       all_logliks = paste(sprintf("%s=%.10f", names(fit$loglik), fit$loglik), collapse = ";")),
            file.path(out, paste0(name, "_fit.csv")), row.names = FALSE)
  em <- emm_tables(m, d, f)
  if (!is.null(em)) {
    write.csv(em$emmeans, file.path(out, paste0(name, "_emmeans.csv")), row.names = FALSE)
    write.csv(em$contrasts, file.path(out, paste0(name, "_contrasts.csv")), row.names = FALSE)
  }
}
writeLines(capture.output(sessionInfo()), file.path(out, "sessionInfo_public.txt"))

# EMMs and pairwise contrasts of the earlier reference models (scripts/lmer_reference.R and
# lmer_reference_more.R wrote their data, levels and fits): refitted here with best_fit
# from the files in tests/data/lmer, so every model of the set has emmeans references too.
earlier <- c("cake", "ham_slope", "tvbo", "machines", "oats", "orthodont", "chickweight",
             "co2_int", "co2_slope", "co2_kslope", "feedlot", "feedlot_slope")
for (name in earlier) {
  d <- read.csv(file.path(out, paste0(name, "_data.csv")), check.names = FALSE)
  lv <- read.csv(file.path(out, paste0(name, "_levels.csv")))
  for (k in seq_len(nrow(lv))) if (lv$column[k] %in% names(d))
    d[[lv$column[k]]] <- factor(d[[lv$column[k]]], levels = strsplit(lv$levels[k], "\\|")[[1]])
  f <- as.formula(read.csv(file.path(out, paste0(name, "_fit.csv")))$formula)
  fit <- best_fit(f, d)
  ref <- read.csv(file.path(out, paste0(name, "_fit.csv")))$reml_loglik
  if (abs(as.numeric(logLik(fit$model)) - ref) > 1e-6) stop(name, ": not the reference optimum")
  em <- emm_tables(fit$model, d, f)
  write.csv(em$emmeans, file.path(out, paste0(name, "_emmeans.csv")), row.names = FALSE)
  write.csv(em$contrasts, file.path(out, paste0(name, "_contrasts.csv")), row.names = FALSE)
}
