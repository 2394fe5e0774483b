# Type III reference fits on a simulated facial-EMG table (issue 27, item 2): lmerTest's
# multi-df Satterthwaite denominator df depend on the basis of its Type III hypothesis
# matrices, so emgkit's anova() is checked against lmerTest on an unbalanced fEMG design with
# 2- and 4-df terms, random muscle slopes, a one-term model (lmerTest's Type I matrices), a
# covariate interacting with a factor, an interaction without a main effect, no intercept.
#
# Data: 32 participants (16 placebo, 16 naltrexone) x 3 conditions x 3 muscles x 3 trials,
# ~10 % of trials dropped at random (rejected trials), participant intercepts and correlated
# muscle slopes, a participant trait; seeded, so the table is regenerated exactly.
# Each model is fitted with several optimisers at tight tolerances and the best REML fit is
# written, in the layout of scripts/lmer_reference_more.R, to tests/data/lmer/:
#   femg_{data,levels}.csv (shared) and <name>_{fixef,anova,varcorr,fit}.csv.
#   Rscript scripts/lmer_reference_femg.R
suppressPackageStartupMessages({library(lme4); library(lmerTest)})
out <- "tests/data/lmer"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
options(contrasts = c("contr.treatment", "contr.poly"))

set.seed(2027)
n_part <- 32
cond <- c("neutral", "angry", "happy")
musc <- c("corrugator", "levator", "zygomaticus")
pid <- sprintf("sub-%02d", seq_len(n_part))
group <- rep(c("placebo", "naltrexone"), each = n_part / 2)
trait <- round(rnorm(n_part, 4, 1.2), 2)
# participant intercept and muscle slopes (levator, zygomaticus vs corrugator)
S <- matrix(c(0.25, 0.06, -0.04,
              0.06, 0.16, 0.02,
              -0.04, 0.02, 0.20), 3, 3)
u <- matrix(rnorm(n_part * 3), n_part, 3) %*% chol(S)
d <- expand.grid(trial = 1:3, muscle = musc, condition = cond, participant_id = pid,
                 stringsAsFactors = FALSE)
k <- match(d$participant_id, pid)
d$group <- group[k]
d$trait <- trait[k]
cell <- c(neutral = 0, angry = 0.4, happy = -0.3)[d$condition] *
  c(corrugator = 1, levator = 0.5, zygomaticus = -1)[d$muscle]
drug <- ifelse(d$group == "naltrexone" & d$condition == "happy" & d$muscle == "zygomaticus",
               -0.35, 0)
d$score <- round(0.2 + cell + drug + 0.1 * (d$trait - 4) * (d$condition == "angry") +
                   u[k, 1] + u[k, 2] * (d$muscle == "levator") +
                   u[k, 3] * (d$muscle == "zygomaticus") + rnorm(nrow(d)), 4)
d <- d[runif(nrow(d)) > 0.1, c("score", "group", "condition", "muscle", "trait",
                                "participant_id")]
rownames(d) <- NULL
write.csv(d, file.path(out, "femg_data.csv"), row.names = FALSE, quote = FALSE)
levels_of <- list(group = c("placebo", "naltrexone"), condition = cond, muscle = musc)
write.csv(data.frame(column = names(levels_of),
                     levels = vapply(levels_of, paste, "", collapse = "|")),
          file.path(out, "femg_levels.csv"), row.names = FALSE)
for (n in names(levels_of)) d[[n]] <- factor(d[[n]], levels = levels_of[[n]])
d$participant_id <- factor(d$participant_id)

models <- list(
  femg_slope  = score ~ group * condition * muscle + (muscle | participant_id),
  femg_muscle = score ~ muscle + (muscle | participant_id),
  femg_trait  = score ~ group + condition * trait + (1 | participant_id),
  # condition:group without group: condition is coded by all its levels there, and
  # lmerTest's containment leaves condition untouched
  femg_nomain = score ~ condition + muscle + condition:group + (1 | participant_id),
  femg_noint  = score ~ 0 + condition * muscle + (1 | participant_id)
)

tight <- list(
  nloptwrap_bobyqa = lmerControl(optimizer = "nloptwrap", optCtrl = list(
    algorithm = "NLOPT_LN_BOBYQA", ftol_abs = 1e-12, xtol_abs = 1e-12, maxeval = 1e5)),
  bobyqa = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10)),
  Nelder_Mead = lmerControl(optimizer = "Nelder_Mead", optCtrl = list(
    maxfun = 1e5, FtolAbs = 1e-12, XtolRel = 1e-12)),
  nlminbwrap = lmerControl(optimizer = "nlminbwrap", optCtrl = list(
    eval.max = 1e5, iter.max = 1e5, rel.tol = 1e-14)))
fit_one <- function(f, ctl) tryCatch(suppressMessages(suppressWarnings(
  lmerTest::lmer(f, data = d, REML = TRUE, control = ctl))), error = function(e) NULL)

for (name in names(models)) {
  f <- models[[name]]
  fits <- lapply(tight, function(ctl) fit_one(f, ctl))
  fits <- fits[!vapply(fits, is.null, TRUE)]
  ll <- vapply(fits, function(m) as.numeric(logLik(m)), 0)
  m <- fits[[which.max(ll)]]
  co <- summary(m)$coefficients
  write.csv(data.frame(term = rownames(co), estimate = co[, 1], se = co[, 2], df = co[, 3],
                       p = co[, 5]), file.path(out, paste0(name, "_fixef.csv")), row.names = FALSE)
  a <- anova(m, type = 3)
  write.csv(data.frame(term = rownames(a), num_df = a$NumDF, den_df = a$DenDF, F = a$`F value`,
                       p = a$`Pr(>F)`), file.path(out, paste0(name, "_anova.csv")), row.names = FALSE)
  write.csv(as.data.frame(VarCorr(m)), file.path(out, paste0(name, "_varcorr.csv")), row.names = FALSE)
  write.csv(data.frame(formula = deparse(f, width.cutoff = 500L), reml_loglik = as.numeric(logLik(m)),
                       singular = isSingular(m, tol = 1e-4), optimizer = names(fits)[which.max(ll)],
                       all_logliks = paste(sprintf("%s=%.10f", names(ll), ll), collapse = ";")),
            file.path(out, paste0(name, "_fit.csv")), row.names = FALSE)
}
writeLines(capture.output(sessionInfo()), file.path(out, "sessionInfo_femg.txt"))
