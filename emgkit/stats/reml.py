"""The REML criterion of a linear mixed model with one grouping factor, and the
Satterthwaite degrees of freedom built on it.

Model: ``y_i = X_i β + Z_i b_i + e_i`` for each group (participant) ``i``, with
``b_i ~ N(0, G)`` and ``e_i ~ N(0, σ² I)``. The REML log-likelihood is the one lme4 reports:

    ℓ_R = -½ [(n - p) log 2π + log|V| + log|X'V⁻¹X| + r'V⁻¹r],   r = y - Xβ̂(θ)

computed from per-group sufficient statistics (Woodbury identities), so one evaluation
costs O(groups × q³ + p³) whatever the number of trials.

Satterthwaite's df for a contrast ``l`` (as lmerTest computes it):
``ν = 2 (l'Cl)² / (g' A g)`` with ``C = (X'V⁻¹X)⁻¹``, ``g_k = l' (∂C/∂θ_k) l`` and ``A`` the
asymptotic covariance of the variance parameters ``θ = (vech G, σ²)`` (inverse of the
negative Hessian of ℓ_R). At the REML optimum the result does not depend on how θ is
parametrised, so it matches lmerTest's (θ, σ) parametrisation.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize


class RemlCriterion:
    """REML machinery for data ``y``, fixed design ``X``, random design ``Z`` and groups.

    Parameters
    ----------
    y : ndarray, shape (n,)
    X : ndarray, shape (n, p)
    Z : ndarray, shape (n, q)
    groups : ndarray, shape (n,)
        Group label of each row.
    """

    def __init__(self, y, X, Z, groups):
        y, X, Z = (np.asarray(a, float) for a in (y, X, Z))
        self.y, self.Z, self.groups = y, Z, np.asarray(groups)
        _, inv = np.unique(np.asarray(groups), return_inverse=True)
        self.n, self.p = X.shape
        self.q = Z.shape[1]
        g = inv.max() + 1
        self.n_groups = g
        self.ZtZ = np.zeros((g, self.q, self.q))
        self.ZtX = np.zeros((g, self.q, self.p))
        self.Zty = np.zeros((g, self.q))
        np.add.at(self.ZtZ, inv, Z[:, :, None] * Z[:, None, :])
        np.add.at(self.ZtX, inv, Z[:, :, None] * X[:, None, :])
        np.add.at(self.Zty, inv, Z * y[:, None])
        self.XtX, self.Xty, self.yty = X.T @ X, X.T @ y, y @ y
        self._tril = np.tril_indices(self.q)

    def with_design(self, X):
        """The same random-effects structure with another fixed design ``X``."""
        return RemlCriterion(self.y, X, self.Z, self.groups)

    def variance_indices(self):
        """Positions in θ of variances (not covariances), the residual excluded."""
        return [k for k, (i, j) in enumerate(zip(*self._tril)) if i == j]

    def components(self, G, s2, group, names):
        """(group, term, variance, sd) rows of the variance components."""
        rows = [(group, n, G[i, i], np.sqrt(max(G[i, i], 0))) for i, n in enumerate(names)]
        rows += [(group, f"cov({names[j]}, {names[i]})", G[i, j], np.nan)
                 for i in range(len(names)) for j in range(i)]
        return rows + [("Residual", "", s2, np.sqrt(s2))]

    def blups(self, G, s2, r):
        """Conditional modes of the random effects given residuals ``r`` = y - Xβ̂,
        returned as their contribution Zb̂ to the fitted values."""
        out = np.zeros_like(r)
        for g in np.unique(self.groups):
            m = self.groups == g
            Zi = self.Z[m]
            M = s2 * np.eye(self.q) + G @ (Zi.T @ Zi)
            out[m] = Zi @ np.linalg.solve(M, G @ (Zi.T @ r[m]))
        return out

    # -- parameters ---------------------------------------------------------------------
    def unpack(self, theta):
        """θ = (lower triangle of G row by row, σ²) -> (G, σ²)."""
        G = np.zeros((self.q, self.q))
        G[self._tril] = theta[:-1]
        G = G + np.tril(G, -1).T
        return G, float(theta[-1])

    def pack(self, G, s2):
        """(G, σ²) -> θ."""
        return np.concatenate([np.asarray(G)[self._tril], [s2]])

    # -- core algebra -------------------------------------------------------------------
    def _parts(self, G, s2):
        eye = np.eye(self.q)
        M = s2 * eye + G @ self.ZtZ                      # (g, q, q)
        MG = np.linalg.solve(M, np.broadcast_to(G, M.shape))   # M⁻¹G, symmetric
        XVX = (self.XtX - np.einsum("gqp,gqr,grs->ps", self.ZtX, MG, self.ZtX)) / s2
        XVy = (self.Xty - np.einsum("gqp,gqr,gr->p", self.ZtX, MG, self.Zty)) / s2
        yVy = (self.yty - np.einsum("gq,gqr,gr->", self.Zty, MG, self.Zty)) / s2
        sign, logdet_m = np.linalg.slogdet(M)
        logdet_v = self.n * np.log(s2) + np.sum(logdet_m) - self.n_groups * self.q * np.log(s2)
        if np.any(sign <= 0):
            logdet_v = np.nan
        return XVX, XVy, yVy, logdet_v

    def loglik(self, theta):
        """REML log-likelihood at θ (NaN where V is not positive definite)."""
        G, s2 = self.unpack(theta)
        if s2 <= 0:
            return np.nan
        XVX, XVy, yVy, logdet_v = self._parts(G, s2)
        sign, logdet_a = np.linalg.slogdet(XVX)
        if sign <= 0:
            return np.nan
        beta = np.linalg.solve(XVX, XVy)
        rvr = yVy - XVy @ beta
        return -0.5 * ((self.n - self.p) * np.log(2 * np.pi) + logdet_v + logdet_a + rvr)

    def gls(self, theta):
        """Return (β̂, C = (X'V⁻¹X)⁻¹) at θ."""
        G, s2 = self.unpack(theta)
        XVX, XVy, _, _ = self._parts(G, s2)
        C = np.linalg.inv(XVX)
        return C @ XVy, (C + C.T) / 2

    # -- optimisation -------------------------------------------------------------------
    def profiled(self, lvec):
        """Negative REML log-likelihood with σ² profiled out; ``lvec`` = vech of the
        Cholesky factor of G/σ²."""
        L = np.zeros((self.q, self.q))
        L[self._tril] = lvec
        return self._profiled_at(L @ L.T)

    def _profiled_at(self, Grel):
        """Negative profiled REML log-likelihood at relative covariance ``G/σ²``."""
        XVX, XVy, yVy, logdet_v = self._parts(Grel, 1.0)
        sign, logdet_a = np.linalg.slogdet(XVX)
        if sign <= 0 or not np.isfinite(logdet_v):
            return np.inf
        beta = np.linalg.solve(XVX, XVy)
        s2 = (yVy - XVy @ beta) / (self.n - self.p)
        if s2 <= 0:
            return np.inf
        return 0.5 * ((self.n - self.p) * (1 + np.log(2 * np.pi * s2)) + logdet_v + logdet_a)

    def _scale_at(self, Grel):
        """REML estimate of σ² given the relative covariance ``G/σ²``."""
        XVX, XVy, yVy, _ = self._parts(Grel, 1.0)
        beta = np.linalg.solve(XVX, XVy)
        return float((yVy - XVy @ beta) / (self.n - self.p))

    def _minimise(self, x0, bounds):
        """L-BFGS-B then Nelder-Mead polishing of :meth:`profiled`; returns (best, ok)."""
        res = optimize.minimize(self.profiled, x0, method="L-BFGS-B", bounds=bounds,
                                options=dict(ftol=1e-15, gtol=1e-10, maxiter=2000))
        res2 = optimize.minimize(self.profiled, res.x, method="Nelder-Mead",
                                 options=dict(xatol=1e-12, fatol=1e-13, maxiter=20000))
        best = res2 if res2.fun <= res.fun else res
        return best, bool(res.success or res2.success) and np.isfinite(best.fun)

    def polish(self, G, s2):
        """Refine a fit to the REML optimum; returns (G, σ², converged, loglik)."""
        rel = np.asarray(G) / s2
        try:
            L0 = np.linalg.cholesky(rel + 1e-12 * np.eye(self.q))
        except np.linalg.LinAlgError:
            L0 = np.diag(np.sqrt(np.clip(np.diag(rel), 0, None)))
        x0 = L0[self._tril]
        diag = [i == j for i, j in zip(*self._tril)]
        bounds = [(0, None) if d else (None, None) for d in diag]
        best, converged = self._minimise(x0, bounds)
        x = best.x.copy()
        for k, d in enumerate(diag):
            if d and x[k] < 0:
                x[k] = -x[k]  # sign of a Cholesky column is not identified
        L = np.zeros((self.q, self.q))
        L[self._tril] = x
        Grel = L @ L.T
        s2_hat = self._scale_at(Grel)
        return Grel * s2_hat, s2_hat, converged, -float(best.fun)


class Satterthwaite:
    """Satterthwaite df for contrasts of β at a REML optimum θ̂.

    Variance parameters on the boundary (a random-effect variance of 0) are held fixed,
    as they carry no sampling variance to first order.
    """

    def __init__(self, crit, theta, rel_step=1e-4):
        self.crit, self.theta = crit, np.asarray(theta, float)
        G, _ = crit.unpack(self.theta)
        diag_idx = crit.variance_indices()
        scale = max(np.abs(self.theta).max(), 1e-300)
        self.active = [k for k in range(len(self.theta))
                       if not (k in diag_idx and self.theta[k] <= 1e-8 * scale)]
        self.steps = np.array([rel_step * max(abs(t), 1e-6 * scale) for t in self.theta])
        self.A = self._vcov_theta()
        self.dC = self._jacobian_C()

    def _shift(self, **moves):
        t = self.theta.copy()
        for k, m in moves.items():
            t[int(k[1:])] += m * self.steps[int(k[1:])]
        return t

    def _vcov_theta(self):
        f = self.crit.loglik
        act = self.active
        H = np.zeros((len(act), len(act)))
        f0 = f(self.theta)
        for a, i in enumerate(act):
            for b, j in enumerate(act):
                if b < a:
                    continue
                if i == j:
                    fp, fm = f(self._shift(**{f"k{i}": 1})), f(self._shift(**{f"k{i}": -1}))
                    H[a, a] = (fp - 2 * f0 + fm) / self.steps[i] ** 2
                else:
                    fpp = f(self._shift(**{f"k{i}": 1, f"k{j}": 1}))
                    fpm = f(self._shift(**{f"k{i}": 1, f"k{j}": -1}))
                    fmp = f(self._shift(**{f"k{i}": -1, f"k{j}": 1}))
                    fmm = f(self._shift(**{f"k{i}": -1, f"k{j}": -1}))
                    H[a, b] = H[b, a] = (fpp - fpm - fmp + fmm) / (4 * self.steps[i] *
                                                                 self.steps[j])
        return np.linalg.inv(-H)

    def _jacobian_C(self):
        out = []
        for k in self.active:
            cp = self.crit.gls(self._shift(**{f"k{k}": 1}))[1]
            cm = self.crit.gls(self._shift(**{f"k{k}": -1}))[1]
            out.append((cp - cm) / (2 * self.steps[k]))
        return np.array(out)                               # (k, p, p)

    def df(self, contrast, C):
        """Satterthwaite df of the contrast ``contrast @ β`` (``C`` = Var(β̂))."""
        c = np.asarray(contrast, float)
        var = c @ C @ c
        g = np.einsum("p,kpq,q->k", c, self.dC, c)
        denom = g @ self.A @ g
        return float(2 * var ** 2 / denom) if denom > 0 else np.inf

    def df_F(self, L, beta, C):
        """F test of ``L @ β = 0`` with lmerTest's multi-df Satterthwaite method.

        Returns
        -------
        F : float
        num_df : int
        den_df : float
        """
        L = np.atleast_2d(np.asarray(L, float))
        LCL = L @ C @ L.T
        evals, evecs = np.linalg.eigh(LCL)
        keep = evals > evals.max() * 1e-10
        evals, evecs = evals[keep], evecs[:, keep]
        q = len(evals)
        PL = evecs.T @ L
        F = float(np.sum((PL @ beta) ** 2 / evals) / q)
        nus = np.array([self.df(row, C) for row in PL])
        if q == 1:
            return F, 1, float(nus[0])
        if np.any(nus <= 2):
            return F, q, 2.0
        E = np.sum(nus / (nus - 2))
        return F, q, float(2 * E / (E - q)) if E > q else np.inf


class CrossedReml(RemlCriterion):
    """Random intercepts for two or more crossed factors (e.g. participant and stimulus).

    ``V = σ² I + Σ_f τ_f² Z_f Z_f'`` with ``Z_f`` the indicator matrix of factor ``f``;
    θ = (τ²_1, …, τ²_F, σ²). All random effects form one block, so the algebra runs on the
    (Σ levels)² matrix ``Z'Z``.
    """

    def __init__(self, y, X, factors):
        self.factors = [np.asarray(f) for f in factors]
        blocks, sizes = [], []
        for f in self.factors:
            _, inv = np.unique(f, return_inverse=True)
            Zf = np.zeros((len(f), inv.max() + 1))
            Zf[np.arange(len(f)), inv] = 1.0
            blocks.append(Zf)
            sizes.append(Zf.shape[1])
        Z = np.hstack(blocks)
        y, X = np.asarray(y, float), np.asarray(X, float)
        self.y, self.Z, self.groups = y, Z, np.zeros(len(y), int)
        self.n, self.p = X.shape
        self.q, self.n_groups = Z.shape[1], 1
        self.sizes = sizes
        self.ZtZ = (Z.T @ Z)[None]
        self.ZtX = (Z.T @ X)[None]
        self.Zty = (Z.T @ y)[None]
        self.XtX, self.Xty, self.yty = X.T @ X, X.T @ y, y @ y
        self._starts = np.cumsum([0] + sizes[:-1])

    def with_design(self, X):
        return CrossedReml(self.y, X, self.factors)

    def variance_indices(self):
        return list(range(len(self.sizes)))

    def unpack(self, theta):
        return np.diag(np.repeat(np.asarray(theta[:-1], float), self.sizes)), float(theta[-1])

    def pack(self, G, s2):
        return np.concatenate([np.diag(G)[self._starts], [s2]])

    def components(self, G, s2, group, names):
        rows = [(name, "(Intercept)", G[k, k], np.sqrt(max(G[k, k], 0)))
                for name, k in zip(names, self._starts)]
        return rows + [("Residual", "", s2, np.sqrt(s2))]

    def blups(self, G, s2, r):
        M = s2 * np.eye(self.q) + G @ self.ZtZ[0]
        return self.Z @ np.linalg.solve(M, G @ (self.Z.T @ r))

    def profiled(self, x):
        """Negative profiled REML log-likelihood; ``x`` = relative SDs per factor."""
        return self._profiled_at(np.diag(np.repeat(np.asarray(x, float) ** 2, self.sizes)))

    def polish(self, G, s2):
        x0 = np.sqrt(np.clip(np.diag(G)[self._starts] / s2, 1e-4, None))
        best, converged = self._minimise(x0, [(0, None)] * len(x0))
        Grel = np.diag(np.repeat(np.abs(best.x) ** 2, self.sizes))
        s2_hat = self._scale_at(Grel)
        return Grel * s2_hat, s2_hat, converged, -float(best.fun)
