# Reference fits for emgkit's general random-effects structures (stats/lmm.py): lme4 +
# lmerTest (Satterthwaite) with tight optimiser tolerances. Writes, per model, the data (CSV;
# simulated tables made here with a fixed seed), factor levels, REML log-likelihood,
# isSingular, fixed effects, Type III anova, variance components and theta into
# tests/data/lmer/ (prefix gen_).
#   Rscript scripts/lmer_reference_general.R
suppressPackageStartupMessages({library(lme4); library(lmerTest)})
out <- "tests/data/lmer"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
options(contrasts = c("contr.treatment", "contr.poly"))
data("sleepstudy", package = "lme4"); data("Pastes", package = "lme4")
Pastes <- as.data.frame(Pastes)[, c("strength", "batch", "cask")]
Pastes$batch <- factor(Pastes$batch, ordered = FALSE); Pastes$cask <- factor(Pastes$cask)
machines <- read.csv(file.path(out, "machines_data.csv"), stringsAsFactors = TRUE)[, c("score", "Machine", "Worker")]

# a simulated fEMG table: 24 participants (two groups) x 3 conditions x 2 muscles x 24
# stimuli (8 per condition), one trial per participant x stimulus x muscle; random
# intercepts and muscle slopes per participant, a stimulus intercept, group slopes per stimulus
set.seed(27)
np <- 24; ns <- 24
part <- data.frame(participant_id = sprintf("sub-%02d", 1:np),
                   group = rep(c("control", "patient"), each = np / 2))
stim <- data.frame(stimulus = sprintf("s%02d", 1:ns),
                   condition = rep(c("neutral", "angry", "happy"), each = ns / 3))
d <- merge(merge(part, stim), data.frame(muscle = c("corrugator", "zygomaticus")))
u0 <- rnorm(np, 0, 0.5); u1 <- rnorm(np, 0, 0.4); v0 <- rnorm(ns, 0, 0.3); v1 <- rnorm(ns, 0, 0.25)
ip <- match(d$participant_id, part$participant_id); is <- match(d$stimulus, stim$stimulus)
d$score <- with(d, 0.3 * (condition == "angry") * (muscle == "corrugator") +
                  0.4 * (condition == "happy") * (muscle == "zygomaticus") +
                  0.2 * (group == "patient") + u0[ip] + u1[ip] * (muscle == "zygomaticus") +
                  v0[is] + v1[is] * (group == "patient") + rnorm(nrow(d), 0, 1))
d$score <- round(d$score, 6)
d$condition <- factor(d$condition, levels = c("neutral", "angry", "happy"))
d$muscle <- factor(d$muscle); d$group <- factor(d$group)
d$participant_id <- factor(d$participant_id); d$stimulus <- factor(d$stimulus)
femg <- d[order(d$participant_id, d$stimulus, d$muscle),
          c("participant_id", "group", "stimulus", "condition", "muscle", "score")]

models <- list(
  gen_sleep_uncorr = list(sleepstudy, Reaction ~ Days + (Days || Subject)),
  gen_pastes       = list(Pastes, strength ~ 1 + (1 | batch/cask)),
  gen_machines_ab  = list(machines, score ~ Machine + (1 | Worker) + (1 | Worker:Machine)),
  gen_femg_crossed = list(femg, score ~ group * condition * muscle + (muscle | participant_id) + (1 | stimulus)),
  gen_femg_stimslope = list(femg, score ~ group * condition + muscle + (1 | participant_id) + (group | stimulus),
                            "gen_femg_crossed")  # same data file
)
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-12))
for (name in names(models)) {
  d <- models[[name]][[1]]; f <- models[[name]][[2]]
  m <- lmerTest::lmer(f, data = d, REML = TRUE, control = ctrl)
  if (length(models[[name]]) < 3)
    write.csv(d, file.path(out, paste0(name, "_data.csv")), row.names = FALSE)
  lv <- sapply(names(d)[sapply(d, is.factor)], function(n) paste(levels(d[[n]]), collapse = "|"))
  write.csv(data.frame(column = names(lv), levels = unname(lv)),
            file.path(out, paste0(name, "_levels.csv")), row.names = FALSE)
  co <- summary(m)$coefficients
  write.csv(data.frame(term = rownames(co), estimate = co[, 1], se = co[, 2], df = co[, 3],
                       p = co[, 5]), file.path(out, paste0(name, "_fixef.csv")), row.names = FALSE)
  if (ncol(model.matrix(m)) > 1) {
    a <- anova(m, type = 3)
    write.csv(data.frame(term = rownames(a), num_df = a$NumDF, den_df = a$DenDF, F = a$`F value`,
                         p = a$`Pr(>F)`), file.path(out, paste0(name, "_anova.csv")), row.names = FALSE)
  }
  write.csv(as.data.frame(VarCorr(m)), file.path(out, paste0(name, "_varcorr.csv")), row.names = FALSE)
  write.csv(data.frame(formula = deparse(f, width.cutoff = 500L), reml_loglik = as.numeric(logLik(m)),
                       singular = isSingular(m, tol = 1e-4)),
            file.path(out, paste0(name, "_fit.csv")), row.names = FALSE)
}
writeLines(capture.output(sessionInfo()), file.path(out, "sessionInfo_general.txt"))
