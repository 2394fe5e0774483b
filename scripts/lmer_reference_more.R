# More reference fits for emgkit's mixed models (issue 27): public datasets on which a
# single-start optimiser stops at a wrong point (ChickWeight, CO2, emmeans' feedlot).
# Each model is fitted by lme4 with several optimisers at tight tolerances (nloptwrap BOBYQA
# and Nelder-Mead with ftol_abs = xtol_abs = 1e-12, minqa bobyqa, lme4's Nelder_Mead,
# nlminb: an allFit with tight settings) and the fit with the best REML log-likelihood is
# written, in the layout of scripts/lmer_reference.R, to tests/data/lmer/:
#   <name>_{data,levels,fixef,anova,varcorr,varpar,fit}.csv  (fit.csv also names the optimiser
#   that won and the log-likelihood of every optimiser).
# Data: R's datasets (ChickWeight, CO2) and emmeans::feedlot; only the model's columns are
# written. CO2's column Treatment is written as `treatment`.
#   Rscript scripts/lmer_reference_more.R
suppressPackageStartupMessages({library(lme4); library(lmerTest)})
out <- "tests/data/lmer"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
options(contrasts = c("contr.treatment", "contr.poly"))

unorder <- function(d) {
  d <- as.data.frame(d)
  for (n in names(d)) if (is.factor(d[[n]])) d[[n]] <- factor(d[[n]], ordered = FALSE, levels = levels(d[[n]]))
  d
}
data("feedlot", package = "emmeans")
chick <- unorder(ChickWeight)[, c("weight", "Time", "Chick", "Diet")]
co2 <- unorder(CO2)
names(co2)[names(co2) == "Treatment"] <- "treatment"
co2$conc_k <- co2$conc / 1000
co2 <- co2[, c("uptake", "Type", "treatment", "conc", "conc_k", "Plant")]
feedlot <- unorder(feedlot)[, c("swt", "ewt", "diet", "herd")]

models <- list(
  chickweight    = list(chick, weight ~ Time * Diet + (Time | Chick)),
  co2_int        = list(co2, uptake ~ Type * treatment + conc + (1 | Plant)),
  co2_slope      = list(co2, uptake ~ Type * treatment + conc + (conc | Plant)),
  co2_kslope     = list(co2, uptake ~ Type * treatment * conc_k + (conc_k | Plant)),
  feedlot        = list(feedlot, swt ~ ewt + diet + (1 | herd)),
  feedlot_slope  = list(feedlot, swt ~ ewt * diet + (ewt | herd))
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

# allFit-style: every optimiser; then, from the best, each bounded theta below 1e-3 set to
# 0 and refitted (an optimiser can stop just inside a boundary optimum, e.g. co2_kslope's
# slope-diagonal at 1.4e-4 with a log-likelihood 1e-8 below the boundary's)
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

for (name in names(models)) {
  d <- models[[name]][[1]]; f <- models[[name]][[2]]
  fit <- best_fit(f, d); m <- fit$model
  write.csv(d[, all.vars(f)], file.path(out, paste0(name, "_data.csv")), row.names = FALSE)
  fac <- all.vars(f)[vapply(all.vars(f), function(n) is.factor(d[[n]]), TRUE)]
  lv <- vapply(fac, function(n) paste(levels(d[[n]]), collapse = "|"), "")
  write.csv(data.frame(column = fac, levels = unname(lv)),
            file.path(out, paste0(name, "_levels.csv")), row.names = FALSE)
  co <- summary(m)$coefficients
  write.csv(data.frame(term = rownames(co), estimate = co[, 1], se = co[, 2], df = co[, 3],
                       p = co[, 5]), file.path(out, paste0(name, "_fixef.csv")), row.names = FALSE)
  a <- anova(m, type = 3)
  write.csv(data.frame(term = rownames(a), num_df = a$NumDF, den_df = a$DenDF, F = a$`F value`,
                       p = a$`Pr(>F)`), file.path(out, paste0(name, "_anova.csv")), row.names = FALSE)
  write.csv(as.data.frame(VarCorr(m)), file.path(out, paste0(name, "_varcorr.csv")), row.names = FALSE)
  # lmerTest's numerical (numDeriv) covariance of its variance parameters (theta, sigma)
  write.csv(data.frame(m@vcov_varpar), file.path(out, paste0(name, "_varpar.csv")), row.names = FALSE)
  write.csv(data.frame(formula = deparse(f, width.cutoff = 500L), reml_loglik = as.numeric(logLik(m)),
                       singular = isSingular(m, tol = 1e-4), optimizer = fit$optimizer,
                       all_logliks = paste(sprintf("%s=%.10f", names(fit$loglik), fit$loglik), collapse = ";")),
            file.path(out, paste0(name, "_fit.csv")), row.names = FALSE)
}
writeLines(capture.output(sessionInfo()), file.path(out, "sessionInfo_more.txt"))
