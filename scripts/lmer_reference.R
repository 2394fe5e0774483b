# Reference fits for emgkit's mixed models: lme4 + lmerTest (Satterthwaite) on public
# datasets shipped with R packages (lme4, lmerTest, nlme; GPL). Writes, per model, the data
# (CSV), factor levels, REML log-likelihood, fixed effects, Type III anova, variance
# components and lme4's isSingular to tests/data/lmer/.
#   Rscript scripts/lmer_reference.R
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(nlme, include.only = NULL)})
out <- "tests/data/lmer"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
options(contrasts = c("contr.treatment", "contr.poly"))

data("sleepstudy", package = "lme4"); data("Dyestuff2", package = "lme4")
data("Penicillin", package = "lme4"); data("cake", package = "lme4")
data("ham", package = "lmerTest"); data("TVbo", package = "lmerTest")
data("Machines", package = "nlme"); data("Oats", package = "nlme"); data("Orthodont", package = "nlme")

unorder <- function(d) { for (n in names(d)) if (is.factor(d[[n]])) d[[n]] <- factor(d[[n]], ordered = FALSE, levels = levels(d[[n]])); as.data.frame(d) }
cake <- unorder(cake); Machines <- unorder(Machines); Oats <- unorder(Oats)
Orthodont <- unorder(Orthodont); Oats$nitro <- as.numeric(Oats$nitro)
TVbo$AT <- interaction(TVbo$Assessor, TVbo$TVset, sep = "_")
TVbo$AP <- interaction(TVbo$Assessor, TVbo$Picture, sep = "_")
Machines$WM <- interaction(Machines$Worker, Machines$Machine, sep = "_")
Oats$BV <- interaction(Oats$Block, Oats$Variety, sep = "_")
cake$RR <- interaction(cake$recipe, cake$replicate, sep = "_")

models <- list(
  sleep_int   = list(sleepstudy, Reaction ~ Days + (1 | Subject)),
  sleep_slope = list(sleepstudy, Reaction ~ Days + (Days | Subject)),
  dyestuff2   = list(Dyestuff2, Yield ~ 1 + (1 | Batch)),
  penicillin  = list(Penicillin, diameter ~ 1 + (1 | plate) + (1 | sample)),
  cake        = list(cake, angle ~ recipe * temperature + (1 | RR)),
  ham_slope   = list(ham, Informed.liking ~ Product * Information + (Information | Consumer)),
  tvbo        = list(TVbo, Coloursaturation ~ TVset * Picture + (1 | Assessor) + (1 | AT) + (1 | AP)),
  machines    = list(Machines, score ~ Machine + (1 | Worker) + (1 | WM)),
  oats        = list(Oats, yield ~ nitro * Variety + (1 | Block) + (1 | BV)),
  orthodont   = list(Orthodont, distance ~ age * Sex + (age | Subject))
)
for (name in names(models)) {
  d <- models[[name]][[1]]; f <- models[[name]][[2]]
  m <- lmerTest::lmer(f, data = d, REML = TRUE,
                      control = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
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
  vc <- as.data.frame(VarCorr(m))
  write.csv(vc, file.path(out, paste0(name, "_varcorr.csv")), row.names = FALSE)
  write.csv(data.frame(formula = deparse(f, width.cutoff = 500L), reml_loglik = as.numeric(logLik(m)),
                       singular = isSingular(m, tol = 1e-4)),
            file.path(out, paste0(name, "_fit.csv")), row.names = FALSE)
}
writeLines(capture.output(sessionInfo()), file.path(out, "sessionInfo.txt"))

# emmeans contrasts with a factor that does not interact with group (averaged over) and a
# covariate (at its mean); Holm over all rows and within condition
d <- read.csv(file.path(out, "emm_data.csv"))
d$group <- factor(d$group, levels = c("placebo", "naltrexone"))
d$condition <- factor(d$condition, levels = c("angry", "happy", "neutral"))
d$wave <- factor(d$wave)
m <- lmerTest::lmer(score ~ group * condition + wave + trait + (1 | participant_id), data = d)
em <- emmeans::emmeans(m, trt.vs.ctrl ~ group | condition, lmer.df = "satterthwaite")
all <- as.data.frame(summary(em$contrasts, by = NULL, adjust = "holm", infer = TRUE))
per <- as.data.frame(summary(em$contrasts, adjust = "holm", infer = TRUE))
write.csv(data.frame(condition = all$condition, estimate = all$estimate, se = all$SE, df = all$df,
                     t = all$t.ratio, p_adj_all = all$p.value, p_adj_by = per$p.value,
                     ci_low = as.data.frame(summary(em$contrasts, by = NULL, adjust = "none", infer = TRUE))$lower.CL),
          file.path(out, "emm_contrasts.csv"), row.names = FALSE)

# evidence for nulls: equivalence tests (delta = 0.3 in score units) and JZS Bayes factors
# of participant means per condition (mean over the wave cells), naltrexone vs placebo
eq <- as.data.frame(emmeans::test(em$contrasts, delta = 0.3, side = "equivalence", adjust = "none"))
suppressPackageStartupMessages(library(BayesFactor))
bf <- sapply(levels(d$condition), function(cond) {
  s <- d[d$condition == cond, ]
  cellm <- aggregate(score ~ participant_id + group + wave, data = s, FUN = mean)
  pm <- aggregate(score ~ participant_id + group, data = cellm, FUN = mean)
  x <- pm$score[pm$group == "naltrexone"]; y <- pm$score[pm$group == "placebo"]
  exp(ttestBF(x = x, y = y, rscale = sqrt(2) / 2)@bayesFactor$bf)
})
write.csv(data.frame(condition = eq$condition, p_equiv = eq$p.value, bf10 = unname(bf)),
          file.path(out, "emm_evidence.csv"), row.names = FALSE)
