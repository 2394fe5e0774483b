"""Evidence for null results: equivalence tests against a smallest effect of interest, and
JZS Bayes factors for two-group comparisons of participant means."""

from __future__ import annotations

import numpy as np
from scipy import integrate, stats

#: default scale of the Cauchy prior on the standardised effect (BayesFactor's "medium")
JZS_SCALE = np.sqrt(2) / 2


def equivalence_p(estimate, se, df, delta):
    """p-value of the equivalence test |effect| < ``delta`` (two one-sided tests).

    As ``emmeans::test(..., delta = delta, side = "equivalence")``: ``t = (|estimate| -
    delta) / se`` referred to the lower tail of t(df); a small p says the effect lies within
    ±``delta``.

    Parameters
    ----------
    estimate, se, df : array-like
        Contrast estimates, standard errors and (Satterthwaite) df.
    delta : float
        Smallest effect of interest (> 0), in the estimate's units.

    Returns
    -------
    ndarray
    """
    estimate, se, df = (np.asarray(a, float) for a in (estimate, se, df))
    return stats.t.cdf((np.abs(estimate) - delta) / se, df)


def jzs_bf10(t, n1, n2, r=JZS_SCALE):
    """JZS Bayes factor BF10 of a two-sample t test (Rouder et al., 2009).

    The same quantity as R's ``BayesFactor::ttestBF(x, y, rscale = r)``: a Cauchy(0, r) prior
    on the standardised difference; computed by numerical integration (scipy ``quad``).

    Parameters
    ----------
    t : float
        Student's two-sample t statistic (pooled variance).
    n1, n2 : int
        Group sizes.
    r : float
        Prior scale (√2/2 "medium", 1 "wide", √2 "ultrawide").

    Returns
    -------
    float
        BF10 (> 1 favours a difference, < 1 the null); NaN without two per group.
    """
    if n1 < 2 or n2 < 2 or not np.isfinite(t):
        return np.nan
    n = n1 * n2 / (n1 + n2)
    nu = n1 + n2 - 2

    def integrand(g):
        a = 1 + n * g * r ** 2
        return (a ** -0.5 * (1 + t ** 2 / (a * nu)) ** (-(nu + 1) / 2)
                * (2 * np.pi) ** -0.5 * g ** -1.5 * np.exp(-1 / (2 * g)))

    value = integrate.quad(integrand, 0, np.inf, epsabs=0, epsrel=1e-10, limit=200)[0]
    return float(value / (1 + t ** 2 / nu) ** (-(nu + 1) / 2))


def adjust_p(p, method):
    """Adjusted p-values along the last axis (rows = simulated studies).

    ``method`` is a ``statsmodels.stats.multitest.multipletests`` method or "none". "holm"
    (step-down) and "bonferroni" give multipletests' numbers, vectorised over the rows and
    without its cost: every holm call of multipletests runs a full garbage collection
    (0.1–0.5 s each in a process holding pandas and matplotlib); other methods are applied
    row by row with multipletests.

    Returns
    -------
    ndarray, shape (n_rows, m)
        Adjusted p-values (a 1-D ``p`` gives one row).
    """
    p = np.atleast_2d(np.asarray(p, float))
    m = p.shape[-1]
    if method == "none" or m == 1:
        return p
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    if method == "holm":
        order = np.argsort(p, axis=-1, kind="stable")
        ranked = np.take_along_axis(p, order, -1) * (m - np.arange(m))
        ranked = np.minimum(np.maximum.accumulate(ranked, axis=-1), 1.0)
        out = np.empty_like(p)
        np.put_along_axis(out, order, ranked, -1)
        return out
    from statsmodels.stats.multitest import multipletests

    return np.vstack([multipletests(row, method=method)[1] for row in p])
