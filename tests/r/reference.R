# Reference values from R's survey package for tests/test_weight.py and tests/test_estimate.py.
#
#   Rscript tests/r/reference.R [OUT.csv]     (from anywhere; OUT defaults to the committed file)
#
# Reads tests/r/fixture_sample.csv and data/external/margins_municipality_2022-11.csv, writes
# tests/r/reference_values.csv (or OUT). CI has no R: the CSV is committed and the Python tests compare
# against it. See tests/r/README.md for what each quantity is and which R call produced it.

suppressPackageStartupMessages(library(survey))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else file.path(getwd(), "tests", "r")
root <- normalizePath(file.path(here, "..", ".."))
trailing <- commandArgs(trailingOnly = TRUE)
out_path <- if (length(trailing)) trailing[1] else file.path(here, "reference_values.csv")

d <- read.csv(file.path(here, "fixture_sample.csv"), na.strings = "NA", stringsAsFactors = FALSE)
n <- nrow(d)
level <- 0.95

# ---------------------------------------------------------------- margins
# Municipality: the committed margin file. Respondents with no municipality form a "missing" cell
# whose target is their sample share of the total; the listed targets are scaled to the rest
# (belmig.weight's documented treatment of a missing raking variable).
mun <- read.csv(file.path(root, "data", "external", "margins_municipality_2022-11.csv"),
                stringsAsFactors = FALSE)
total <- sum(mun$target)
n_miss <- sum(is.na(d$municipality))
d$municipality_r <- ifelse(is.na(d$municipality), "(missing)", d$municipality)
pop_mun <- data.frame(municipality_r = c(mun$municipality, "(missing)"),
                      Freq = c(mun$target * (1 - n_miss / n), total * n_miss / n))
# Sex: a fixture-only margin (invented; no real sex margin exists), so that the tests exercise
# raking on two margins and its calibration-aware variance.
pop_sex <- data.frame(sex = c("female", "male"), Freq = c(24000, total - 24000))

des0 <- svydesign(ids = ~1, data = d)  # equal probabilities; no weights: the unweighted design
rk <- rake(des0, list(~municipality_r, ~sex), list(pop_mun, pop_sex),
           control = list(maxit = 1000, epsilon = 1e-12))
w <- weights(rk)

out <- list()
put <- function(quantity, value, question = "", option = "", by = "", level = "", weighted = NA,
                resp_id = "") {
  out[[length(out) + 1]] <<- data.frame(
    quantity = quantity, resp_id = resp_id, question = question, option = option, by = by,
    level = level, weighted = weighted, value = sprintf("%.17g", value), stringsAsFactors = FALSE)
}
for (i in seq_len(n)) put("weight", w[i], resp_id = d$resp_id[i], weighted = TRUE)

# ---------------------------------------------------------------- estimands
# Each estimand: an indicator (proportion) or a value (mean), NA outside its base. The design
# variables carry the value with NA replaced by 0 (rows outside the base have weight 0 in a
# subset of the calibrated design and are dropped from the unweighted one).
targets <- list()
add_target <- function(question, option, stat, x) {
  targets[[length(targets) + 1]] <<- list(question = question, option = option, stat = stat, x = x)
}
for (q in c("municipality", "sex", "age_group", "income_regular")) {
  for (o in sort(unique(na.omit(d[[q]])))) add_target(q, o, "pct", as.numeric(d[[q]] == o))
}
for (o in c("employment", "self_employed", "savings_relatives", "partner", "benefits", "other")) {
  add_target("income_source", o, "pct", as.numeric(d[[paste0("income_source__", o)]]))
}
for (v in 1:10) add_target("quality_life", paste0("v", v), "pct", as.numeric(d$quality_life == v))
add_target("quality_life", "ge8", "pct", as.numeric(d$quality_life >= 8))
add_target("quality_life", "", "mean", as.numeric(d$quality_life))

bys <- c("sex", "age_group", "income_regular")
singles <- c("municipality", "sex", "age_group", "income_regular")

# Every test of difference, for the multiplicity families (belmig/estimate/multiplicity.py):
# comparison id, role ("table" = the whole-table test of the comparison, "follow-up"), option.
tests_df <- data.frame(comparison = character(), role = character(), question = character(),
                       option = character(), by = character(), weighted = logical(), p = numeric(),
                       stringsAsFactors = FALSE)
add_test <- function(comparison, role, question, option, by, weighted, p) {
  tests_df[nrow(tests_df) + 1, ] <<- list(comparison, role, question, option, by, weighted, p)
}

one <- function(des, tg, keep, weighted, by = "", lev = "") {
  sub <- subset(des, keep)
  if (tg$stat == "mean") {
    m <- svymean(~y0, sub)
    ci <- confint(m, level = level)  # normal quantile, as confint(svymean) does by default
    ct <- confint(m, level = level, df = degf(sub))  # t with the design degrees of freedom
    put("estimate", coef(m)[1], tg$question, tg$option, by, lev, weighted)
    put("se", SE(m)[1], tg$question, tg$option, by, lev, weighted)
    put("normal_low", ci[1], tg$question, tg$option, by, lev, weighted)
    put("normal_high", ci[2], tg$question, tg$option, by, lev, weighted)
    put("t_low", ct[1], tg$question, tg$option, by, lev, weighted)
    put("t_high", ct[2], tg$question, tg$option, by, lev, weighted)
    put("degf", degf(sub), tg$question, tg$option, by, lev, weighted)
    return(invisible())
  }
  m <- svymean(~y0, sub)
  p <- coef(m)[1]
  put("estimate", p, tg$question, tg$option, by, lev, weighted)
  put("se", SE(m)[1], tg$question, tg$option, by, lev, weighted)
  if (p <= 0 || p >= 1) return(invisible())  # R's intervals are undefined (NaN / non-converged glm)
  cl <- attr(svyciprop(~y0, sub, method = "logit", level = level), "ci")
  cb <- attr(svyciprop(~y0, sub, method = "beta", level = level), "ci")
  put("logit_low", cl[1], tg$question, tg$option, by, lev, weighted)
  put("logit_high", cl[2], tg$question, tg$option, by, lev, weighted)
  put("beta_low", cb[1], tg$question, tg$option, by, lev, weighted)
  put("beta_high", cb[2], tg$question, tg$option, by, lev, weighted)
}

for (tg in targets) {
  has <- !is.na(tg$x)
  for (weighted in c(FALSE, TRUE)) {
    des <- if (weighted) rk else des0
    des <- update(des, y0 = ifelse(is.na(tg$x), 0, tg$x))
    one(des, tg, has, weighted)
    for (b in bys) {
      if (b == tg$question) next
      for (lev in sort(unique(na.omit(d[[b]])))) {
        one(des, tg, has & !is.na(d[[b]]) & d[[b]] == lev, weighted, b, lev)
      }
      # Test of difference between the levels of b, on the base with b known.
      keep <- has & !is.na(d[[b]])
      sub <- subset(update(des, g = factor(d[[b]])), keep)
      if (tg$stat == "mean") {
        fit <- svyglm(y0 ~ g, design = sub)
        tt <- regTermTest(fit, ~g)  # Wald F on the level contrasts
        put("wald_F", tt$Ftest, tg$question, tg$option, b, "", weighted)
        put("wald_ddf", tt$ddf, tg$question, tg$option, b, "", weighted)
        put("wald_p", tt$p, tg$question, tg$option, b, "", weighted)
        add_test(paste(tg$question, "", b, sep = "|"), "table", tg$question, "", b, weighted, tt$p)
        if (nlevels(factor(d[[b]][keep])) == 2) {
          st <- svyttest(y0 ~ g, sub)
          put("ttest_p", st$p.value, tg$question, tg$option, b, "", weighted)
        }
      } else {
        yk <- tg$x[keep]
        if (length(unique(yk)) < 2) next  # no variation: the test is undefined
        ch <- svychisq(~y0 + g, sub, statistic = "F")  # Rao-Scott second-order (F) correction
        put("raoscott_F", ch$statistic, tg$question, tg$option, b, "", weighted)
        put("raoscott_ndf", ch$parameter[1], tg$question, tg$option, b, "", weighted)
        put("raoscott_ddf", ch$parameter[2], tg$question, tg$option, b, "", weighted)
        put("raoscott_p", ch$p.value, tg$question, tg$option, b, "", weighted)
        multi <- tg$question == "income_source"
        add_test(paste(tg$question, if (multi) tg$option else "", b, sep = "|"),
                 if (multi) "table" else "follow-up", tg$question, tg$option, b, weighted, ch$p.value)
      }
    }
  }
}

# ---------------------------------------------------------------- whole-table tests
# Rao-Scott F of the full option x level table of each single-choice question, on the base with
# both answers known; the factor holds only the options chosen in that base.
for (weighted in c(FALSE, TRUE)) {
  des <- if (weighted) rk else des0
  for (q in singles) for (b in bys) {
    if (b == q) next
    keep <- !is.na(d[[q]]) & !is.na(d[[b]])
    des2 <- update(des, yf = factor(ifelse(keep, d[[q]], NA)), g = factor(ifelse(keep, d[[b]], NA)))
    if (nlevels(factor(d[[q]][keep])) < 2) next
    ch <- svychisq(~yf + g, subset(des2, keep), statistic = "F")
    put("table_raoscott_F", ch$statistic, q, "", b, "", weighted)
    put("table_raoscott_ndf", ch$parameter[1], q, "", b, "", weighted)
    put("table_raoscott_ddf", ch$parameter[2], q, "", b, "", weighted)
    put("table_raoscott_p", ch$p.value, q, "", b, "", weighted)
    add_test(paste(q, "", b, sep = "|"), "table", q, "", b, weighted, ch$p.value)
  }
}

# ---------------------------------------------------------------- multiplicity
# Family 1: every whole-table test (per weighting); family 2: the follow-ups of one comparison,
# adjusted within it and gated by the comparison's adjusted p (pmax).
for (method in c("holm", "BH")) {
  tag <- if (method == "holm") "holm" else "bh"
  for (weighted in c(FALSE, TRUE)) {
    tw <- tests_df[tests_df$weighted == weighted, ]
    tab <- tw[tw$role == "table", ]
    tab$adj <- p.adjust(tab$p, method)
    for (i in seq_len(nrow(tab))) {
      put(paste0(tag, "_table_p"), tab$adj[i], tab$question[i], tab$option[i], tab$by[i], "", weighted)
      if (tab$option[i] != "" || tab$question[i] == "quality_life") {  # a multi option, a scale mean
        put(paste0(tag, "_p"), tab$adj[i], tab$question[i], tab$option[i], tab$by[i], "", weighted)
      }
    }
    fu <- tw[tw$role == "follow-up", ]
    for (cmp in unique(fu$comparison)) {
      f <- fu[fu$comparison == cmp, ]
      gate <- tab$adj[tab$comparison == cmp]
      adj <- pmax(p.adjust(f$p, method), gate)
      for (i in seq_len(nrow(f))) put(paste0(tag, "_p"), adj[i], f$question[i], f$option[i], f$by[i], "", weighted)
    }
  }
}

# ---------------------------------------------------------------- bounded calibration
# Planted extreme cells: a fixture-only sex margin far from the sample's sex mix (female 36,000
# of 45,398; the sample is 53 women, 43 men), with the municipality margin. Unbounded raking gives
# weight / mean weight from 0.28 to 2.71; calibration keeps it within [0.4, 3.0] and meets both
# margins. Starting weights N/n, so the bounds are on weight / mean weight (R rescales starting
# weights below 1/20 of the targets, which would move the bounds).
pop_sex_x <- data.frame(sex = c("female", "male"), Freq = c(36000, total - 36000))
d$w0 <- total / n
desw <- svydesign(ids = ~1, weights = ~w0, data = d)
for (cf in c("logit", "raking")) {
  cal <- calibrate(desw, list(~municipality_r, ~sex), list(pop_mun, pop_sex_x), bounds = c(0.4, 3.0),
                   calfun = cf, maxit = 500, epsilon = 1e-13)
  wc <- weights(cal)
  for (i in seq_len(n)) put(paste0("bcal_", cf, "_weight"), wc[i], resp_id = d$resp_id[i], weighted = TRUE)
  for (tg in targets[sapply(targets, function(t) t$question %in% c("income_regular", "quality_life"))]) {
    has <- !is.na(tg$x)
    sub <- subset(update(cal, y0 = ifelse(is.na(tg$x), 0, tg$x)), has)
    m <- svymean(~y0, sub)
    put(paste0("bcal_", cf, "_estimate"), coef(m)[1], tg$question, tg$option, "", "", TRUE)
    put(paste0("bcal_", cf, "_se"), SE(m)[1], tg$question, tg$option, "", "", TRUE)
  }
}
# Infeasible bounds: R's calibrate fails (the Python side must report non-convergence too).
bad <- try(calibrate(desw, list(~municipality_r, ~sex), list(pop_mun, pop_sex_x), bounds = c(0.5, 2.5),
                     calfun = "logit", maxit = 200, epsilon = 1e-13), silent = TRUE)
put("bcal_infeasible_failed", as.numeric(inherits(bad, "try-error")))

res <- do.call(rbind, out)
res$weighted <- ifelse(is.na(res$weighted), "", ifelse(res$weighted, "true", "false"))
write.csv(res, out_path, row.names = FALSE, quote = TRUE)
cat(sprintf("survey %s, R %s: wrote %d reference values\n", packageVersion("survey"),
            getRversion(), nrow(res)))
