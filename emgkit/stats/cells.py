"""The random-intercept mixed model fitted from per-participant × cell sums.

When every fixed-effect column is constant within a participant's design cell (factors such as
group × condition, participant-level covariates), the REML criterion depends on the trials only
through, per cell, the number of trials and their sum, and per participant the sum of squares.
:class:`CellReml` builds emgkit's REML criterion (:class:`~emgkit.stats.reml.RemlCriterion`)
from those sums, so a fit costs the same whether a cell holds 6 trials or 600, and power
simulations (:mod:`emgkit.power`) draw the sums instead of the trials. The optimiser, the
Newton polish and the Satterthwaite df are the ones :func:`~emgkit.stats.model.fit_model` uses,
so the results are the same to rounding error (``tests/stats/test_cells.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from .model import SINGULAR_TOL, reml_optimum
from .reml import RemlCriterion, newton_refine
from .satterthwaite import Satterthwaite


class CellReml(RemlCriterion):
    """REML criterion of ``y = Xβ + u_participant + e`` from cell sums.

    Parameters
    ----------
    participant : ndarray of int, shape (n_rows,)
        Participant index (0 .. g-1) of each cell row.
    count : ndarray, shape (n_rows,)
        Trials in the cell.
    total : ndarray, shape (n_rows,)
        Sum of the outcome over the cell's trials.
    sumsq : ndarray, shape (g,)
        Per participant, the sum of the squared outcome over all its trials.
    X : ndarray, shape (n_rows, p)
        The fixed-effects design row of each cell (the same for all its trials).
    """

    def __init__(self, participant, count, total, sumsq, X):  # noqa: D107 (no super call)
        participant = np.asarray(participant, int)
        count, total = np.asarray(count, float), np.asarray(total, float)
        X = np.asarray(X, float)
        keep = count > 0
        participant, count, total, X = participant[keep], count[keep], total[keep], X[keep]
        g = int(participant.max()) + 1
        self.n, self.p, self.q, self.n_groups = int(count.sum()), X.shape[1], 1, g
        self.ZtZ = np.bincount(participant, count, g)[:, None, None]
        self.ZtX = np.zeros((g, 1, self.p))
        np.add.at(self.ZtX[:, 0, :], participant, count[:, None] * X)
        self.Zty = np.bincount(participant, total, g)[:, None]
        XtX = np.zeros((g, self.p, self.p))
        np.add.at(XtX, participant, count[:, None, None] * X[:, :, None] * X[:, None, :])
        Xty = np.zeros((g, self.p))
        np.add.at(Xty, participant, total[:, None] * X)
        sumsq = np.asarray(sumsq, float)
        self.XtX, self.Xty, self.yty = XtX.sum(0), Xty.sum(0), float(sumsq.sum())
        self._tril = np.tril_indices(1)
        m = self.p + 2
        RR = np.zeros((g, m, m))
        RR[:, :1, :1] = self.ZtZ
        RR[:, :1, 1:-1] = self.ZtX
        RR[:, :1, -1] = self.Zty
        RR[:, 1:-1, 1:-1] = XtX
        RR[:, 1:-1, -1] = Xty
        RR[:, -1, -1] = sumsq
        RR = np.triu(RR) + np.swapaxes(np.triu(RR, 1), 1, 2)
        self._block_sums = (RR, self.ZtZ[:, 0, 0].copy())

    def __repr__(self):
        return (f"<CellReml | {self.n} trials, {self.n_groups} participants, "
                f"{self.p} fixed effects>")

    def with_design(self, X):  # pragma: no cover - the trial rows are not kept
        raise NotImplementedError("CellReml keeps cell sums only.")

    def default_starts(self):
        """None: :meth:`optimise` searches the one parameter globally."""
        return {}

    def optimise(self, starts=None):
        """The global 1-D search of :meth:`polish` (``starts`` are not needed), in the form
        of :meth:`~emgkit.stats.reml.RemlCriterion.optimise`."""
        G, s2, ok, loglik = self.polish(np.eye(self.q), 1.0)
        return {"G": G, "s2": s2, "loglik": loglik, "converged": ok, "start": "own search",
                "logliks": {"own search": loglik}}

    def polish(self, G, s2):
        """The REML optimum over the one relative SD ``l = τ/σ`` (σ² profiled): a log grid
        brackets the minimum, bounded Brent refines it (the caller's Newton steps finish);
        ``l = 0`` is the boundary (a singular fit). The start ``(G, s2)`` is not needed:
        the search is global on [0, 1e3]. Returns (G, σ², converged, loglik)."""
        f = self._profiled_at_l
        grid = np.concatenate([[0.0], np.logspace(-3, 3, 13)])
        vals = np.array([f(v) for v in grid])
        i = int(np.nanargmin(vals))
        if i == 0 and not (f(1e-7) < vals[0]):
            best_l, best = 0.0, vals[0]
        else:
            lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
            res = optimize.minimize_scalar(f, bounds=(lo, hi), method="bounded",
                                           options=dict(xatol=1e-10 * max(grid[i], 1e-3)))
            best_l, best = (res.x, res.fun) if res.fun <= vals[i] else (grid[i], vals[i])
        Grel = np.array([[best_l * best_l]])
        s2_hat = self._scale_at(Grel)
        return Grel * s2_hat, s2_hat, bool(np.isfinite(best)), -float(best)

    def _parts(self, G, s2):
        """:meth:`RemlCriterion._parts` for one random intercept, in scalars per
        participant (no stacked 1 × 1 solves)."""
        g = float(np.asarray(G).reshape(-1)[0])
        n_i = self.ZtZ[:, 0, 0]
        M = s2 + g * n_i
        if np.any(M <= 0):
            return (np.full((self.p, self.p), np.nan), np.full(self.p, np.nan), np.nan,
                    np.nan)
        w = g / M                                        # M⁻¹G per participant
        ZtX = self.ZtX[:, 0, :]
        Zty = self.Zty[:, 0]
        XVX = (self.XtX - (ZtX * w[:, None]).T @ ZtX) / s2
        XVy = (self.Xty - (ZtX * (w * Zty)[:, None]).sum(0)) / s2
        yVy = (self.yty - np.sum(w * Zty * Zty)) / s2
        logdet_v = self.n * np.log(s2) + np.sum(np.log(M)) - self.n_groups * np.log(s2)
        return XVX, XVy, yVy, logdet_v

    def _profiled_at_l(self, value):
        return self._profiled_at(np.array([[value * value]]))


@dataclass(repr=False)
class CellFit:
    """A REML fit from cell sums: ``beta``, ``C`` = Var(β̂), variances ``tau2``
    (participant intercept) and ``s2`` (residual), ``loglik``, ``converged``, ``singular``."""

    beta: np.ndarray
    C: np.ndarray
    tau2: float
    s2: float
    loglik: float
    converged: bool
    singular: bool
    sat: Satterthwaite

    def __repr__(self):
        return (f"<CellFit | {len(self.beta)} fixed effects, τ² = {self.tau2:.4g}, σ² = "
                f"{self.s2:.4g}{', singular' if self.singular else ''}>")

    def test(self, L):
        """Estimate, SE, Satterthwaite df, t and two-sided p of each contrast row of ``L``.

        Returns
        -------
        dict of ndarray
            ``estimate``, ``se``, ``df``, ``t``, ``p``.
        """
        L = np.atleast_2d(np.asarray(L, float))
        est = L @ self.beta
        se = np.sqrt(np.einsum("ip,pq,iq->i", L, self.C, L))
        df = np.array([self.sat.df(row, self.C) for row in L])
        t = est / se
        return dict(estimate=est, se=se, df=df, t=t, p=2 * stats.t.sf(np.abs(t), df))


def fit_cells(participant, count, total, sumsq, X):
    """Fit the random-intercept model from cell sums (see :class:`CellReml`).

    Returns
    -------
    CellFit
    """
    crit = CellReml(participant, count, total, sumsq, X)
    opt = reml_optimum(crit)
    G, s2, ok = opt["G"], opt["s2"], opt["converged"]
    theta, loglik = newton_refine(crit, crit.pack(G, s2))
    G, s2 = crit.unpack(theta)
    beta, C = crit.gls(theta)
    singular = bool(np.any(crit.relative_factor_diagonal(theta) < SINGULAR_TOL))
    return CellFit(beta=beta, C=C, tau2=float(G[0, 0]), s2=float(s2), loglik=float(loglik),
                   converged=bool(ok), singular=singular, sat=Satterthwaite(crit, theta))


def cell_sums(participant, cell, y, n_participants=None, n_cells=None):
    """Sums of trial-level data per participant × cell.

    Parameters
    ----------
    participant, cell : ndarray of int, shape (n,)
        Participant index and cell index of each trial.
    y : ndarray, shape (n,)
        Outcome.

    Returns
    -------
    count, total : ndarray, shape (n_participants, n_cells)
    sumsq : ndarray, shape (n_participants,)
    """
    g = n_participants or int(np.max(participant)) + 1
    c = n_cells or int(np.max(cell)) + 1
    idx = np.asarray(participant) * c + np.asarray(cell)
    count = np.bincount(idx, minlength=g * c).reshape(g, c).astype(float)
    total = np.bincount(idx, y, minlength=g * c).reshape(g, c)
    sumsq = np.bincount(participant, np.asarray(y) ** 2, minlength=g)
    return count, total, sumsq
