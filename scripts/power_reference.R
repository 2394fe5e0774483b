# Reference power for tests/power/test_power.py and the speed ratio in benchmarks/power_speed.py:
# the simr-style loop (simulate trials, lmer, emmeans treatment-vs-control contrasts of group
# within condition with Satterthwaite df, Holm over all rows) for one design point.
#
# Usage: Rscript scripts/power_reference.R N_PER_GROUP TRIALS SIMS SEED OUT.tsv
# Model (the same as tests/power/test_power.py's MODEL): groups placebo (reference) and
# naltrexone; conditions neutral, angry, happy, sad; cell means below; participant
# random-intercept SD 0.3, residual SD 0.5.
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(emmeans)})
args <- commandArgs(trailingOnly = TRUE)
n_per <- as.integer(args[1]); k <- as.integer(args[2]); sims <- as.integer(args[3])
seed <- as.integer(args[4]); out <- args[5]
conds <- c("neutral", "angry", "happy", "sad")
means <- rbind(placebo = c(1.0, 1.3, 1.1, 1.2), naltrexone = c(1.05, 1.35, 1.45, 1.2))
tau <- 0.3; sigma <- 0.5
# Satterthwaite df whatever the number of rows (emmeans falls back to asymptotic z above
# lmerTest.limit = 3000 rows)
emm_options(lmer.df = "satterthwaite", lmerTest.limit = 1e7)
set.seed(seed)
reject_holm <- logical(sims); reject_raw <- logical(sims); est <- numeric(sims)
t0 <- proc.time()[["elapsed"]]
for (s in seq_len(sims)) {
  pid <- rep(seq_len(2 * n_per), each = length(conds) * k)
  grp <- ifelse(pid <= n_per, "placebo", "naltrexone")
  cond <- rep(rep(conds, each = k), times = 2 * n_per)
  u <- rnorm(2 * n_per, 0, tau)
  mu <- means[cbind(match(grp, rownames(means)), match(cond, conds))]
  d <- data.frame(score = mu + u[pid] + rnorm(length(pid), 0, sigma),
                  group = factor(grp, levels = c("placebo", "naltrexone")),
                  condition = factor(cond, levels = conds), pid = factor(pid))
  m <- suppressMessages(lmer(score ~ group * condition + (1 | pid), data = d, REML = TRUE))
  emm <- emmeans(m, ~ group | condition)
  con <- contrast(emm, "trt.vs.ctrl")
  tab <- as.data.frame(summary(con, by = NULL, adjust = "holm"))
  raw <- as.data.frame(summary(con, by = NULL, adjust = "none"))
  row <- which(tab$condition == "happy")
  reject_holm[s] <- tab$p.value[row] < 0.05
  reject_raw[s] <- raw$p.value[row] < 0.05
  est[s] <- tab$estimate[row]
}
elapsed <- proc.time()[["elapsed"]] - t0
write.table(data.frame(n_per_group = n_per, trials_per_cell = k, simulations = sims, seed = seed,
                       power_holm = mean(reject_holm), power_unadjusted = mean(reject_raw),
                       mean_estimate = mean(est), seconds_per_simulation = elapsed / sims),
            out, sep = "\t", row.names = FALSE, quote = FALSE)
