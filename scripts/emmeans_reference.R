# emmeans references for MixedResult.emmeans / emm_contrasts (issue 27, item 6): specs with
# and without `|` (by-groups), averaging over the other factors with equal weights, and the
# contrast methods by their emmeans names (pairwise, revpairwise, trt.vs.ctrl with ref,
# consec, poly), with emmeans' row order, labels, Satterthwaite df and p values under
# emmeans' default adjustment for each method, no adjustment and Holm.
# Models (femg_data.csv, written by scripts/lmer_reference_femg.R): femg_slope
# (score ~ group * condition * muscle + (muscle | participant_id)) and femg_trait
# (score ~ group + condition * trait + (1 | participant_id), the trait at its mean).
# Written to tests/data/lmer/:
#   emm_specs_emmeans.csv   model, spec, group, condition, muscle, emmean, se, df, ci_low, ci_high
#   emm_specs_contrasts.csv model, spec, method, ref, contrast, group, condition, muscle,
#                           estimate, se, df, t, p_default, adjust_default, p_none, p_holm,
#                           p_holm_all (Holm over all rows: by = NULL), ci_low, ci_high
#   Rscript scripts/emmeans_reference.R
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(emmeans)})
out <- "tests/data/lmer"
options(contrasts = c("contr.treatment", "contr.poly"))
emm_options(lmer.df = "satterthwaite", lmerTest.limit = 1e6, pbkrtest.limit = 0)
d <- read.csv(file.path(out, "femg_data.csv"))
lv <- read.csv(file.path(out, "femg_levels.csv"))
lv <- rbind(lv, data.frame(column = "muscle", levels = "corrugator|levator|zygomaticus"))
for (k in seq_len(nrow(lv))) d[[lv$column[k]]] <- factor(d[[lv$column[k]]],
                                                          levels = strsplit(lv$levels[k], "\\|")[[1]])
d$participant_id <- factor(d$participant_id)
ctl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10))
models <- list(
  femg_slope = lmer(score ~ group * condition * muscle + (muscle | participant_id), d, control = ctl),
  femg_trait = lmer(score ~ group + condition * trait + (1 | participant_id), d, control = ctl))
specs <- list(
  femg_slope = c("~ group | condition", "~ condition | muscle", "~ group", "~ condition",
                 "~ group * condition", "~ muscle | group * condition"),
  femg_trait = c("~ group", "~ condition", "~ condition | group"))
methods <- list(pairwise = list("pairwise", NA), revpairwise = list("revpairwise", NA),
                trt.vs.ctrl = list("trt.vs.ctrl", NA), trt.vs.ctrl2 = list("trt.vs.ctrl", 2),
                consec = list("consec", NA), poly = list("poly", NA))
facs <- c("group", "condition", "muscle")
fill <- function(x) { for (f in facs) if (!f %in% names(x)) x[[f]] <- NA; x }
emm_rows <- list(); con_rows <- list()
for (name in names(models)) {
  m <- models[[name]]
  for (s in specs[[name]]) {
    em <- suppressMessages(emmeans(m, as.formula(s)))
    e <- fill(as.data.frame(summary(em)))
    emm_rows[[length(emm_rows) + 1]] <- data.frame(
      model = name, spec = s, group = e$group, condition = e$condition, muscle = e$muscle,
      emmean = e$emmean, se = e$SE, df = e$df, ci_low = e$lower.CL, ci_high = e$upper.CL)
    for (mn in names(methods)) {
      meth <- methods[[mn]][[1]]; ref <- methods[[mn]][[2]]
      con <- if (is.na(ref)) contrast(em, method = meth) else contrast(em, method = meth, ref = ref)
      def <- summary(con, infer = c(FALSE, TRUE))
      adj <- attr(def, "mesg"); adj <- adj[grepl("P value adjustment", adj)]
      adj <- if (length(adj)) sub("P value adjustment: ([^ ]+) .*", "\\1", adj) else "none"
      none <- summary(con, adjust = "none", infer = TRUE)
      holm <- summary(con, adjust = "holm")
      holm_all <- summary(con, adjust = "holm", by = NULL)
      x <- fill(as.data.frame(none))
      con_rows[[length(con_rows) + 1]] <- data.frame(
        model = name, spec = s, method = meth, ref = ifelse(is.na(ref), NA, ref),
        contrast = as.character(x$contrast),
        group = x$group, condition = x$condition, muscle = x$muscle,
        estimate = x$estimate, se = x$SE, df = x$df, t = x$t.ratio,
        p_default = def$p.value, adjust_default = adj, p_none = x$p.value,
        p_holm = holm$p.value, p_holm_all = holm_all$p.value,
        ci_low = x$lower.CL, ci_high = x$upper.CL)
    }
  }
}
write.csv(do.call(rbind, emm_rows), file.path(out, "emm_specs_emmeans.csv"), row.names = FALSE)
write.csv(do.call(rbind, con_rows), file.path(out, "emm_specs_contrasts.csv"), row.names = FALSE)
writeLines(capture.output(sessionInfo()), file.path(out, "sessionInfo_emmeans.txt"))
