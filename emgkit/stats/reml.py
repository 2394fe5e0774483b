"""The REML criterion of a linear mixed model with one grouping factor (or crossed random
intercepts), and its parametrisations (Satterthwaite df: :mod:`emgkit.stats.satterthwaite`).

Model: ``y_i = X_i β + Z_i b_i + e_i`` for each group (participant) ``i``, with
``b_i ~ N(0, G)`` and ``e_i ~ N(0, σ² I)``. The REML log-likelihood is the one lme4 reports:

    ℓ_R = -½ [(n - p) log 2π + log|V| + log|X'V⁻¹X| + r'V⁻¹r],   r = y - Xβ̂(θ)

computed from per-group sufficient statistics (Woodbury identities), so one evaluation
costs O(groups × q³ + p³) whatever the number of trials.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from .satterthwaite import derivatives, natural_gradient


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
        self.X = X
        self._tril = np.tril_indices(self.q)
        self._inv = inv

    def block_sums(self):
        """Per group: R'R of R = [Z, X, y] (g, m, m) and the number of rows (g,)."""
        if not hasattr(self, "_block_sums"):
            RR = np.zeros((self.n_groups, self.q + self.p + 1, self.q + self.p + 1))
            RR[:, :self.q, :self.q] = self.ZtZ
            RR[:, :self.q, self.q:-1] = self.ZtX
            RR[:, :self.q, -1] = self.Zty
            R = np.column_stack([self.X, self.y])
            for g, rows in enumerate(self._rows()):
                RR[g, self.q:, self.q:] = R[rows].T @ R[rows]
            RR[:, self.q:, :self.q] = np.swapaxes(RR[:, :self.q, self.q:], 1, 2)
            self._block_sums = (RR, np.bincount(self._inv).astype(float))
        return self._block_sums

    def _rows(self):
        order = np.argsort(self._inv, kind="stable")
        return np.split(order, np.flatnonzero(np.diff(self._inv[order])) + 1)

    def dG(self):
        """∂G/∂θ_k for the covariance parameters (the residual excluded), (n, q, q);
        constant, built once."""
        if not hasattr(self, "_dG"):
            D = np.zeros((len(self._tril[0]), self.q, self.q))
            for k, (i, j) in enumerate(zip(*self._tril)):
                D[k, i, j] = D[k, j, i] = 1.0
            self._dG = D
        return self._dG

    def relative_factor_diagonal(self, theta):
        """Diagonal of the relative Cholesky factor of G/σ² (lme4's bounded θ)."""
        G, s2 = self.unpack(theta)
        return np.diag(psd_cholesky(G / s2))

    def lmer_derivatives(self, theta):
        """Jacobian and second derivatives of θ (natural) with respect to lmerTest's
        parameters ``c`` = (lower triangle of the Cholesky factor of G/σ², σ).

        Returns
        -------
        J : ndarray, shape (n, n)
            ∂θ_k/∂c_a.
        S : ndarray, shape (n, n, n)
            ∂²θ_k/∂c_a∂c_b.
        """
        G, s2 = self.unpack(theta)
        sd = np.sqrt(s2)
        L = psd_cholesky(G / s2)
        LL = L @ L.T
        pairs = [(int(i), int(j)) for i, j in zip(*self._tril)]
        m = len(pairs)
        J, S = np.zeros((m + 1, m + 1)), np.zeros((m + 1, m + 1, m + 1))
        for k, (u, v) in enumerate(pairs):
            for a, (i, j) in enumerate(pairs):
                J[k, a] = s2 * ((u == i) * L[v, j] + (v == i) * L[u, j])
                S[k, a, m] = S[k, m, a] = 2 * sd * ((u == i) * L[v, j] + (v == i) * L[u, j])
                for b, (kk, ll) in enumerate(pairs):
                    if j == ll:
                        S[k, a, b] = s2 * ((u == i) * (v == kk) + (v == i) * (u == kk))
            J[k, m] = 2 * sd * LL[u, v]
            S[k, m, m] = 2 * LL[u, v]
        J[m, m], S[m, m, m] = 2 * sd, 2.0
        return J, S

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
        XtZ = np.swapaxes(self.ZtX, 1, 2)
        MGZy = MG @ self.Zty[..., None]                 # (g, q, 1)
        XVX = (self.XtX - (XtZ @ MG @ self.ZtX).sum(0)) / s2
        XVy = (self.Xty - (XtZ @ MGZy)[..., 0].sum(0)) / s2
        yVy = (self.yty - (self.Zty[:, None, :] @ MGZy).sum()) / s2
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

    def profiled_grad(self, lvec):
        """Gradient of :meth:`profiled` (exact, by the envelope theorem over σ²)."""
        L = np.zeros((self.q, self.q))
        L[self._tril] = lvec
        s2 = self._scale_at(L @ L.T)
        if not (np.isfinite(s2) and s2 > 0):
            return np.zeros_like(np.asarray(lvec, float))
        g = natural_gradient(self, self.pack(s2 * (L @ L.T), s2))[:-1]
        out = np.zeros(len(lvec))
        for a, (i, j) in enumerate(zip(*self._tril)):
            dG = np.zeros((self.q, self.q))
            dG[i, :] += L[:, j]
            dG[:, i] += L[:, j]
            out[a] = -s2 * (g @ dG[self._tril])
        return out

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

    # -- multi-start optimisation with boundary checks ------------------------------------
    def x_bounds(self):
        """Bounds of the optimiser's parameters ``x`` (vech of the relative Cholesky factor:
        diagonals ≥ 0, lme4's lower bounds)."""
        return [(0.0, None) if i == j else (None, None) for i, j in zip(*self._tril)]

    def x_from_rel(self, Grel):
        """Optimiser parameters ``x`` of a relative covariance ``G/σ²``."""
        return psd_cholesky(np.asarray(Grel, float), tol=0.0)[self._tril]

    def rel_from_x(self, x):
        """Relative covariance ``G/σ²`` of optimiser parameters ``x``."""
        L = np.zeros((self.q, self.q))
        L[self._tril] = x
        return L @ L.T

    def _square_slopes(self, x):
        """∂f/∂(x_k²) at ``x`` for each bounded parameter: the one-sided derivative of the
        profiled criterion into the interior where ``x_k = 0`` and its first derivative
        vanishes (a last Cholesky column, or a column that is 0 below its diagonal).

        Where column ``j`` of L is 0 below the diagonal, raising ``L_jj`` from 0 to ``t``
        adds ``t²`` to ``(G/σ²)_jj`` only, so the derivative in ``t²`` is ``∂f/∂(G/σ²)_jj``,
        exact from the natural gradient. NaN where it does not apply."""
        Grel = self.rel_from_x(x)
        s2 = self._scale_at(Grel)
        out = np.full(len(x), np.nan)
        if not (np.isfinite(s2) and s2 > 0):
            return out
        g = natural_gradient(self, self.pack(s2 * Grel, s2))[:-1]
        L = np.zeros((self.q, self.q))
        L[self._tril] = x
        for k, (i, j) in enumerate(zip(*self._tril)):
            if i == j and not np.any(L[j + 1:, j]):
                out[k] = -s2 * g[k]
        return out

    def moment_start(self):
        """A moment estimate of ``G/σ²`` (a start value): per-group least-squares fits of
        the OLS residuals on Z, the covariance of their coefficients less the mean sampling
        covariance, floored to positive definite."""
        beta = np.linalg.lstsq(self.X, self.y, rcond=None)[0]
        r = self.y - self.X @ beta
        Zr = self.Zty - self.ZtX @ beta
        rr = np.bincount(self._inv, weights=r * r, minlength=self.n_groups)
        counts = np.bincount(self._inv, minlength=self.n_groups)
        ok = (counts > self.q) & (np.linalg.matrix_rank(self.ZtZ) == self.q)
        if ok.sum() < 2:
            return np.eye(self.q)
        b = np.linalg.solve(self.ZtZ[ok], Zr[ok][..., None])[..., 0]
        rss = rr[ok] - np.einsum("ga,ga->g", b, Zr[ok])
        s2 = max(rss.sum() / (counts[ok] - self.q).sum(), 1e-12 * max(r @ r, 1e-300))
        G = np.cov(b.T).reshape(self.q, self.q) - s2 * np.linalg.inv(self.ZtZ[ok]).mean(0)
        evals, evecs = np.linalg.eigh((G + G.T) / 2 / s2)
        floor = 1e-2 * max(evals.max(), 1e-2)
        return (evecs * np.maximum(evals, floor)) @ evecs.T

    def default_starts(self):
        """lme4's start (relative Cholesky factor = identity), the factor at 0.1 and 10 ×
        identity (``G/σ²`` = 0.01 I and 100 I), and the moment estimate (:meth:`moment_start`).
        """
        eye = np.eye(self.q)
        return {"lme4": eye, "small": 0.01 * eye, "large": 100 * eye,
                "moments": self.moment_start()}

    def _descend(self, x0, ftol=1e-13):
        """L-BFGS-B on :meth:`profiled` with its exact gradient from ``x0``; (x, f)."""
        bounds = self.x_bounds()
        x0 = np.array([max(v, lo) if lo is not None else v
                       for v, (lo, _) in zip(np.asarray(x0, float), bounds)])
        if not np.isfinite(self.profiled(x0)):
            return x0, np.inf
        res = optimize.minimize(self.profiled, x0, jac=self.profiled_grad, method="L-BFGS-B",
                                bounds=bounds,
                                options={"ftol": ftol, "gtol": 1e-9, "maxiter": 5000})
        return np.asarray(res.x, float), float(res.fun)

    def _below(self, k):
        """Positions in ``x`` of the Cholesky column below the diagonal parameter ``k``."""
        i, j = self._tril[0][k], self._tril[1][k]
        return [a for a, (ii, jj) in enumerate(zip(*self._tril)) if jj == j and ii > i]

    def _zero_column(self, x, k):
        """For a diagonal ``k`` whose Cholesky column is 0: the most negative derivative of
        the criterion in ``t²`` when the column becomes ``t v`` (G/σ² gains ``t² v v'``, so
        the derivative is ``v'Γv`` with Γ = ∂f/∂(G/σ²), the smallest eigenvalue of Γ over
        the rows from the diagonal on); returns (derivative, v over those rows)."""
        Grel = self.rel_from_x(x)
        s2 = self._scale_at(Grel)
        j = self._tril[1][k]
        if not (np.isfinite(s2) and s2 > 0):
            return np.nan, None
        g = natural_gradient(self, self.pack(s2 * Grel, s2))[:-1]
        gamma = np.zeros((self.q, self.q))
        gamma[self._tril] = -s2 * g
        gamma = (gamma + gamma.T) / 2  # an off-diagonal θ is G_ij = G_ji: half to each
        evals, evecs = np.linalg.eigh(gamma[j:, j:])
        v = evecs[:, 0] * (1.0 if evecs[0, 0] >= 0 else -1.0)
        return float(evals[0]), v

    def _violations(self, x, f, tol=1e-6):
        """Bounded parameters at 0 where moving into the interior lowers the criterion.

        Returns ``(k, reflect)`` pairs: ``reflect`` when the descent is on the other sign of
        the Cholesky column below ``k`` (with a zero diagonal, the column's sign does not
        change G/σ², so both signs are the same point; the gradient of the diagonal flips
        with it). A parameter counts when its first derivative into the interior is
        negative on either sign, or vanishes with a zero column along which the criterion
        falls (:meth:`_zero_column`; then the direction is returned instead of ``reflect``)."""
        scale = tol * max(1.0, abs(f))
        g = self.profiled_grad(x)
        out = []
        for k, (lo, _) in enumerate(self.x_bounds()):
            if lo is None or x[k] > 0:
                continue
            below = self._below(k)
            if g[k] < -scale:
                out.append((k, False))
            elif below and np.any(x[below]):
                xr = x.copy()
                xr[below] = -xr[below]
                if self.profiled_grad(xr)[k] < -scale:
                    out.append((k, True))
            elif abs(g[k]) <= scale:
                lam, v = self._zero_column(x, k)
                if lam < -scale:
                    out.append((k, v))
        return out

    def _escape(self, x, f, violations):
        """Move the parameters of ``violations`` (at 0) into the interior (on the descending
        sign of their column): the best of a geometric grid of values; None when none
        lowers the criterion."""
        x = x.copy()
        for k, how in violations:
            if how is True:
                x[self._below(k)] *= -1
        best_x, best_f = None, f - 1e-12 * max(1.0, abs(f))
        span = max(1.0, np.abs(x).max())
        for t in span * 10.0 ** np.arange(-8, 1):
            xt = x.copy()
            for k, how in violations:
                if how is True or how is False:
                    xt[k] = t
                else:  # a zero column along its descent direction
                    xt[[k] + self._below(k)] = t * how
            ft = self.profiled(xt)
            if ft < best_f:
                best_x, best_f = xt, ft
        return best_x

    def _descend_escape(self, x0, ftol):
        """:meth:`_descend` from ``x0``, then moved off boundary saddles
        (:meth:`_violations`, :meth:`_escape`) and descended again while that helps."""
        x, f = self._descend(x0, ftol)
        for _ in range(5):
            if not np.isfinite(f):
                break
            bad = self._violations(x, f)
            x1 = self._escape(x, f, bad) if bad else None
            if x1 is None:
                break
            x1, f1 = self._descend(x1, ftol)
            if not f1 < f:
                break
            x, f = x1, f1
        return x, f

    def _newton_free(self, x, f, steps=10):
        """Newton steps on the free parameters (those not at a bound) with a Hessian from
        central differences of the exact gradient: the polish of interior and singular fits
        alike. Steps that leave the bounds or do not lower the criterion are halved."""
        bounds = self.x_bounds()
        free = np.array([not (lo is not None and xi <= 0) for (lo, _), xi in zip(bounds, x)])
        idx = np.flatnonzero(free)
        if not len(idx):
            return x, f
        for _ in range(steps):
            g = self.profiled_grad(x)[idx]
            H = np.empty((len(idx), len(idx)))
            for a, k in enumerate(idx):
                h = 1e-5 * max(abs(x[k]), 1e-3)
                xp, xm = x.copy(), x.copy()
                xp[k] += h
                xm[k] -= h
                H[a] = (self.profiled_grad(xp)[idx] - self.profiled_grad(xm)[idx]) / (2 * h)
            H = (H + H.T) / 2
            evals, evecs = np.linalg.eigh(H)
            if not np.all(np.isfinite(evals)) or evals.min() <= 0:
                break  # not locally convex in the free parameters: leave it to L-BFGS-B
            step = evecs @ ((evecs.T @ g) / evals)
            t, moved = 1.0, False
            for _ in range(12):
                new = x.copy()
                new[idx] -= t * step
                if all(lo is None or new[k] > 0 for k, (lo, _) in zip(idx, np.array(
                        bounds, dtype=object)[idx])):
                    fn = self.profiled(new)
                    if fn <= f:
                        moved = fn < f
                        x, f = new, fn
                        break
                t /= 2
            if not moved or np.abs(t * step).max() <= 1e-12 * max(np.abs(x).max(), 1e-300):
                break
        return x, f

    def converged_at(self, x, f, tol=1e-5):
        """Convergence: the projected gradient is small relative to the criterion and no
        bounded parameter at 0 can move into the interior to lower it."""
        g = self.profiled_grad(x)
        pg = np.array([min(gk, 0.0) if lo is not None and xk <= 0 else gk
                       for gk, xk, (lo, _) in zip(g, x, self.x_bounds())])
        return bool(np.isfinite(f) and np.all(np.abs(pg) <= tol * max(1.0, abs(f)))
                    and not self._violations(x, f))

    def optimise(self, starts=None):
        """Minimise the profiled REML criterion from several starts.

        From each start: L-BFGS-B with the exact gradient (to a relative 1e-9); a solution
        with a bounded parameter at 0 from which the criterion still falls into the interior
        (the gradient of a Cholesky diagonal vanishes at 0, a saddle L-BFGS-B cannot leave)
        is moved inside and the descent resumed. The best solution is refined (L-BFGS-B to
        a relative 1e-13, the boundary checks again) and polished by Newton steps on its
        free parameters (singular fits included).

        Parameters
        ----------
        starts : dict | None
            Name -> relative covariance ``G/σ²`` to start from (in the order given; ties go
            to the first). None: :meth:`default_starts`.

        Returns
        -------
        dict
            ``G``, ``s2`` (σ²), ``loglik`` (REML), ``converged``, ``start`` (the name of the
            winning start) and ``logliks`` (name -> REML log-likelihood reached).
        """
        starts = self.default_starts() if starts is None else dict(starts)
        runs = {}
        for name, Grel in starts.items():
            runs[name] = self._descend_escape(self.x_from_rel(Grel), 1e-9)
        fmin = min(f for _, f in runs.values())
        if not np.isfinite(fmin):
            return {"G": np.full((self.q, self.q), np.nan), "s2": np.nan, "loglik": -np.inf,
                    "converged": False, "start": None,
                    "logliks": {k: -f for k, (_, f) in runs.items()}}
        name = next(k for k, (_, f) in runs.items()
                    if f <= fmin + 1e-10 * max(1.0, abs(fmin)))
        x, f = self._descend_escape(runs[name][0], 1e-13)
        if not f <= runs[name][1]:
            x, f = runs[name]
        x, f = self._newton_free(x, f)
        converged = self.converged_at(x, f)
        if not converged:  # a derivative-free polish from there
            res = optimize.minimize(self.profiled, x, method="Nelder-Mead",
                                    options={"xatol": 1e-10, "fatol": 1e-12 * abs(f),
                                                 "maxiter": 20000})
            xr = np.array([max(v, lo) if lo is not None else v
                           for v, (lo, _) in zip(res.x, self.x_bounds())])
            fr = self.profiled(xr)
            if fr < f:
                x, f = self._newton_free(xr, fr)
            converged = self.converged_at(x, f, tol=1e-4)
        Grel = self.rel_from_x(x)
        s2 = self._scale_at(Grel)
        return {"G": Grel * s2, "s2": s2, "loglik": -float(f), "converged": converged,
                "start": name, "logliks": {k: -float(v) for k, (_, v) in runs.items()}}

    def polish(self, G, s2):
        """Refine a fit to the REML optimum from ``(G, σ²)`` alone; returns
        (G, σ², converged, loglik)."""
        out = self.optimise({"given": np.asarray(G, float) / s2})
        return out["G"], out["s2"], out["converged"], out["loglik"]


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
        self.X = X
        self._starts = np.cumsum([0] + sizes[:-1])

    def block_sums(self):
        if not hasattr(self, "_block_sums"):
            R = np.column_stack([self.Z, self.X, self.y])
            self._block_sums = ((R.T @ R)[None], np.array([float(len(self.y))]))
        return self._block_sums

    def dG(self):
        if not hasattr(self, "_dG"):
            D = np.zeros((len(self.sizes), self.q, self.q))
            for k, (start, size) in enumerate(zip(self._starts, self.sizes)):
                idx = np.arange(start, start + size)
                D[k, idx, idx] = 1.0
            self._dG = D
        return self._dG

    def relative_factor_diagonal(self, theta):
        theta = np.asarray(theta, float)
        return np.sqrt(np.clip(theta[:-1], 0, None) / theta[-1])

    def lmer_derivatives(self, theta):
        """As :meth:`RemlCriterion.lmer_derivatives`, with ``c`` = (τ_f/σ per factor, σ)."""
        theta = np.asarray(theta, float)
        s2 = theta[-1]
        sd = np.sqrt(s2)
        t = np.sqrt(np.clip(theta[:-1], 0, None) / s2)
        F = len(t)
        J, S = np.zeros((F + 1, F + 1)), np.zeros((F + 1, F + 1, F + 1))
        for f in range(F):
            J[f, f], J[f, F] = 2 * s2 * t[f], 2 * sd * t[f] ** 2
            S[f, f, f] = 2 * s2
            S[f, f, F] = S[f, F, f] = 4 * sd * t[f]
            S[f, F, F] = 2 * t[f] ** 2
        J[F, F], S[F, F, F] = 2 * sd, 2.0
        return J, S

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

    def profiled_grad(self, x):
        x = np.asarray(x, float)
        Grel = np.diag(np.repeat(x ** 2, self.sizes))
        s2 = self._scale_at(Grel)
        if not (np.isfinite(s2) and s2 > 0):
            return np.zeros_like(x)
        g = natural_gradient(self, np.concatenate([s2 * x ** 2, [s2]]))[:-1]
        return -g * 2 * s2 * x

    def x_bounds(self):
        return [(0.0, None)] * len(self.sizes)

    def x_from_rel(self, Grel):
        return np.sqrt(np.clip(np.diag(np.asarray(Grel, float))[self._starts], 0, None))

    def rel_from_x(self, x):
        return np.diag(np.repeat(np.asarray(x, float) ** 2, self.sizes))

    def _below(self, k):
        return []

    def _zero_column(self, x, k):
        return float(self._square_slopes(x)[k]), np.array([1.0])

    def _square_slopes(self, x):
        x = np.asarray(x, float)
        s2 = self._scale_at(self.rel_from_x(x))
        if not (np.isfinite(s2) and s2 > 0):
            return np.full(len(x), np.nan)
        return -s2 * natural_gradient(self, np.concatenate([s2 * x ** 2, [s2]]))[:-1]

    def moment_start(self):
        """Moment estimates of the relative variances: the variance of each factor's level
        means of the OLS residuals less their mean sampling variance, floored at 0.01."""
        beta = np.linalg.lstsq(self.X, self.y, rcond=None)[0]
        r = self.y - self.X @ beta
        s2 = max(r @ r / max(self.n - self.p, 1), 1e-300)
        out = []
        for f in self.factors:
            _, inv = np.unique(f, return_inverse=True)
            counts = np.bincount(inv)
            means = np.bincount(inv, weights=r) / counts
            out.append(max(means.var(ddof=1) - s2 * np.mean(1.0 / counts), 0.01 * s2) / s2
                       if len(counts) > 1 else 1.0)
        return np.diag(np.repeat(out, self.sizes))


def psd_cholesky(M, tol=1e-10):
    """Lower Cholesky factor of a positive semi-definite matrix (zero columns where the
    matrix is singular, as lme4's relative covariance factor on the boundary)."""
    M = np.asarray(M, float)
    q = M.shape[0]
    L = np.zeros_like(M)
    scale = max(np.abs(np.diag(M)).max(), 1e-300)
    for j in range(q):
        d = M[j, j] - L[j, :j] @ L[j, :j]
        if d <= tol * scale:
            continue
        L[j, j] = np.sqrt(d)
        L[j + 1:, j] = (M[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]) / L[j, j]
    return L


def newton_refine(crit, theta, steps=4):
    """Newton steps on the exact REML gradient and Hessian from an interior optimum.

    Derivative-free or quasi-Newton optimisers stop a little short (a relative 1e-5 in the
    variances moves p-values in the fourth digit); from there Newton converges in one or two
    steps. Boundary fits (a variance of 0, a singular G) and steps that lower the
    log-likelihood or leave the parameter space are not taken.

    Returns
    -------
    theta : ndarray
    loglik : float
    """
    theta = np.asarray(theta, float)
    best = crit.loglik(theta)
    G, _ = crit.unpack(theta)
    if not np.isfinite(best) or np.linalg.eigvalsh(G).min() <= 1e-8 * max(np.diag(G).max(), 0):
        return theta, best
    for _ in range(steps):
        g, H, _ = derivatives(crit, theta)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        new = theta - step
        G_new, s2_new = crit.unpack(new)
        if s2_new <= 0 or np.linalg.eigvalsh(G_new).min() <= 0:
            break
        ll = crit.loglik(new)
        if not np.isfinite(ll) or ll < best - 1e-12 * abs(best):
            break
        theta, best = new, ll
        if np.abs(step).max() <= 1e-12 * max(np.abs(theta).max(), 1e-300):
            break
    return theta, best
