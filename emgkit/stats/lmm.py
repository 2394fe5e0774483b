"""General random-effects structures: lme4's penalised least squares, kept sparse.

Any combination of random terms ``(1 + x | g)``, ``(0 + x | g)``, ``(1 | a:b)``, crossed or
nested, is fitted as lme4 fits it (Bates, Mächler, Bolker & Walker 2015, JSS 67(1), §3):
the random effects are ``b = Λθ u`` with ``u ~ N(0, σ² I)``, ``Λθ`` block diagonal with one
lower-triangular relative Cholesky factor ``T_t`` per term repeated over its levels
(lme4's ``Lambdat``/``Lind``), and θ the lower triangles of the ``T_t`` column by column
(diagonals bounded below by 0). For given θ the penalised system

    M = Λ'Z'ZΛ + I     (q × q)

gives the profiled REML deviance ``log|M| + log|R_X|² + (n - p)(1 + log(2π r²/(n - p)))``.

``M`` is factored by block elimination instead of a general sparse Cholesky (no maintained
CHOLMOD wheel exists for this platform; scikit-sparse needs SuiteSparse headers): the term
with the most random effects (the participants, InstEval's students) has a block-diagonal
``M_AA`` (one small ``p_t × p_t`` block per level) that is inverted exactly in one batched
call; the remaining terms form a dense Schur complement ``S = M_RR - M_AR' M_AA⁻¹ M_AR``
built with sparse products (InstEval: 2,972 levels eliminated, a 1,128² Schur). When the
remainder is large (> :data:`DENSE_SCHUR_MAX`), ``scipy.sparse.linalg.splu`` (symmetric
mode, minimum-degree ordering on M + M', no pivoting: M is positive definite) factors M.

Satterthwaite df follow lmerTest (``R/lmer.R``): the Hessian of the REML deviance in
lmerTest's variance parameters ``varpar = (θ, σ)`` and the Jacobian of ``Var(β̂)`` by
Richardson extrapolation as ``numDeriv::hessian`` / ``numDeriv::jacobian`` (r = 4,
v = 2; first step 1e-3 × max(|x|, 1)).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg, optimize, sparse
from scipy.sparse.linalg import splu

from ..config.formula import Formula, Num, Op, deparse
from ..errors import ModelError
from .formula import design_matrix
from .reml import psd_cholesky
from .result import MixedResult
from .satterthwaite import Satterthwaite

#: the largest remainder (random effects outside the eliminated term) factored densely
DENSE_SCHUR_MAX = 3000

#: cross blocks Z_A'Z_R up to this many entries are kept dense
DENSE_CROSS_MAX = 250_000


@dataclass
class ReTerm:
    """One random term's design: ``values`` (n × p, the columns of its left-hand side),
    ``codes`` (level of each row, 0 … levels - 1), ``group`` (the grouping's name),
    ``names`` (column names) and ``labels`` (level labels)."""

    group: str
    values: np.ndarray
    codes: np.ndarray
    names: list
    labels: list

    @property
    def p(self):
        return self.values.shape[1]

    @property
    def levels(self):
        return len(self.labels)

    @property
    def q(self):
        return self.p * self.levels

    @property
    def n_theta(self):
        return self.p * (self.p + 1) // 2


def _tri_index(p):
    """lme4's θ order within a term: the lower triangle column by column."""
    return [(i, j) for j in range(p) for i in range(j, p)]


class _Factor:
    """``M = Λ'Z'ZΛ + I`` factored at one θ: ``logdet`` and ``solve(R)`` (q-space rows in
    the engine's internal order)."""

    def __init__(self, logdet, solve, TA, lamR):
        self.logdet, self.solve, self.TA, self.lamR = logdet, solve, TA, lamR


class SparseReml:
    """REML for any random-effects structure (lme4's penalised least squares).

    Parameters
    ----------
    y : ndarray, shape (n,)
    X : ndarray, shape (n, p)
    terms : list of ReTerm
        In the order they are reported; internally the term with the most random effects
        comes first (it is eliminated block by block).
    """

    def __init__(self, y, X, terms):
        self.y, self.X = np.asarray(y, float), np.asarray(X, float)
        self.n, self.p = self.X.shape
        self.terms = list(terms)
        big = int(np.argmax([t.q for t in self.terms]))
        self.order = [big] + [k for k in range(len(self.terms)) if k != big]
        # θ slices per term (reporting order)
        sizes = [t.n_theta for t in self.terms]
        starts = np.cumsum([0] + sizes)
        self.theta_slices = [slice(starts[k], starts[k + 1]) for k in range(len(sizes))]
        self.n_theta = int(starts[-1])
        self.lower = np.concatenate([[0.0 if i == j else -np.inf for i, j in _tri_index(t.p)]
                                     for t in self.terms])
        W = np.column_stack([self.X, self.y])
        self.WtW = W.T @ W
        A = self.terms[self.order[0]]
        self.A = A
        blocks = np.zeros((A.levels, A.p, A.p))
        np.add.at(blocks, A.codes, A.values[:, :, None] * A.values[:, None, :])
        self.ZAZA = blocks
        ZAW = np.zeros((A.levels, A.p, W.shape[1]))
        np.add.at(ZAW, A.codes, A.values[:, :, None] * W[:, None, :])
        self.ZAW = ZAW
        rest = [self.terms[k] for k in self.order[1:]]
        self.qR = sum(t.q for t in rest)
        self.q = A.q + self.qR
        ZA = self._z(A)
        self.dense = False
        if rest:
            ZR = sparse.hstack([self._z(t) for t in rest]).tocsc()
            self.ZAR = (ZA.T @ ZR).tocsr()
            self.ZRR = (ZR.T @ ZR).tocsc()
            self.ZRW = np.asarray(ZR.T @ W)
            self._lind = self._lambda_pattern(self.order[1:])
            # small cross blocks are faster dense (sparse products cost overhead per call)
            self.dense = A.q * self.qR <= DENSE_CROSS_MAX
            if self.dense:
                self.ZAR, self.ZRR = self.ZAR.toarray(), self.ZRR.toarray()
        self._ZA, self._ZR = ZA, (ZR if rest else None)
        self.scalar = bool(rest) and not self.dense and A.p == 1 and all(
            t.p == 1 for t in rest) and self.qR <= DENSE_SCHUR_MAX
        if self.scalar:
            self._scalar_setup()

    def _scalar_setup(self):
        """Scalar terms only (crossed intercepts, InstEval's case): ``M_AR' M_AA⁻¹ M_AR =
        t_A² diag(λ) N' W N diag(λ)`` with ``N = Z_A'Z_R`` fixed and ``W`` diagonal, so its
        entries are one sparse product ``K w`` (``K[(j, k), i] = N_ij N_ik``), built once."""
        N = self.ZAR.tocsr()
        rows, cols = [], []
        vals = []
        for i in range(N.shape[0]):
            c = N.indices[N.indptr[i]:N.indptr[i + 1]]
            v = N.data[N.indptr[i]:N.indptr[i + 1]]
            rows.append((c[:, None] * self.qR + c[None, :]).ravel())
            cols.append(np.full(len(c) ** 2, i))
            vals.append(np.outer(v, v).ravel())
        self._K = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows),
                                                            np.concatenate(cols))),
                                    shape=(self.qR * self.qR, N.shape[0]))
        self._N, self._NT = N, N.T.tocsr()
        self._ZRRd = self.ZRR.toarray()

    # -- designs ---------------------------------------------------------------------------
    @staticmethod
    def _z(term):
        """The term's sparse n × q design (levels outer, columns inner, as lme4)."""
        n, p = term.values.shape
        rows = np.repeat(np.arange(n), p)
        cols = (term.codes[:, None] * p + np.arange(p)[None, :]).ravel()
        return sparse.csc_matrix((term.values.ravel(), (rows, cols)), shape=(n, term.q))

    def _lambda_pattern(self, rest):
        # rest: positions (in self.terms) of the terms after the eliminated one
        """Λ of the remaining terms as a sparse pattern and ``Lind`` (θ index of each
        stored entry, in the full θ), as lme4's ``Lambdat``/``Lind``."""
        rows, cols, lind, off = [], [], [], 0
        for k in rest:
            t = self.terms[k]
            base = self.theta_slices[k].start
            for idx, (i, j) in enumerate(_tri_index(t.p)):
                lv = np.arange(t.levels)
                rows.append(off + lv * t.p + i)
                cols.append(off + lv * t.p + j)
                lind.append(np.full(t.levels, base + idx))
            off += t.q
        rows, cols, lind = map(np.concatenate, (rows, cols, lind))
        pattern = sparse.csc_matrix((np.arange(1, len(rows) + 1, dtype=float), (rows, cols)),
                                    shape=(self.qR, self.qR))
        self._lam_shape = pattern
        return lind[pattern.data.astype(int) - 1]

    def _tri(self, theta, k):
        t = self.terms[k]
        T = np.zeros((t.p, t.p))
        for v, (i, j) in zip(theta[self.theta_slices[k]], _tri_index(t.p)):
            T[i, j] = v
        return T

    def _lambda_R(self, theta):
        lam = self._lam_shape.copy()
        lam.data = np.asarray(theta, float)[self._lind]
        return lam

    # -- the factorisation -------------------------------------------------------------------
    def factor(self, theta):
        """Factor ``M`` at θ; returns an object with ``logdet`` (log|M|), ``solve`` and the
        right-hand sides ``rhs`` = Λ'Z'[X, y] (q × (p + 1))."""
        theta = np.asarray(theta, float)
        A = self.A
        TA = self._tri(theta, self.order[0])
        BA = TA.T @ self.ZAZA @ TA + np.eye(A.p)
        try:
            LA = np.linalg.cholesky(BA)
        except np.linalg.LinAlgError:
            return None
        logdet = 2 * np.log(np.diagonal(LA, axis1=1, axis2=2)).sum()
        BinvA = np.linalg.inv(BA)
        rA = (TA.T @ self.ZAW).reshape(A.q, -1)
        if not self.qR:
            def solve(R):
                R = np.asarray(R, float).reshape(A.levels, A.p, -1)
                return (BinvA @ R).reshape(A.q, -1)
            return _Factor(logdet, solve, TA, None), rA
        lamR = self._lambda_R(theta)
        if self.scalar:
            return self._scalar_factor(TA, BA[:, 0, 0], lamR, logdet, rA)
        rR = lamR.T @ self.ZRW
        if self.dense:
            lamRd = lamR.toarray()
            MAR = (TA.T @ self.ZAR.reshape(A.levels, A.p, -1)).reshape(A.q, -1) @ lamRd
            MRR = lamRd.T @ self.ZRR @ lamRd + np.eye(self.qR)
        else:
            lamA_t = sparse.bsr_matrix((np.broadcast_to(TA.T, (A.levels, A.p, A.p)).copy(),
                                        np.arange(A.levels), np.arange(A.levels + 1)),
                                       shape=(A.q, A.q))
            MAR = (lamA_t @ self.ZAR @ lamR).tocsr()
            MRR = (lamR.T @ self.ZRR @ lamR).toarray() + np.eye(self.qR)
        rhs = np.vstack([rA, rR])
        if self.qR > DENSE_SCHUR_MAX:
            MAA = sparse.bsr_matrix((BA, np.arange(A.levels), np.arange(A.levels + 1)),
                                    shape=(A.q, A.q))
            M = sparse.bmat([[MAA, sparse.csr_matrix(MAR)],
                             [sparse.csr_matrix(MAR).T, sparse.csr_matrix(MRR)]]).tocsc()
            lu = splu(M, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                      options={"SymmetricMode": True})
            d = lu.U.diagonal()
            if np.any(d <= 0):
                return None
            return _Factor(float(np.log(d).sum()), lambda R: lu.solve(
                np.asarray(R, float).reshape(self.q, -1)), TA, lamR), rhs
        if self.dense:
            BM = (BinvA @ MAR.reshape(A.levels, A.p, -1)).reshape(A.q, -1)
            S = MRR - MAR.T @ BM
        else:
            Binv = sparse.bsr_matrix((BinvA, np.arange(A.levels), np.arange(A.levels + 1)),
                                     shape=(A.q, A.q))
            BM = (Binv @ MAR).tocsr()
            S = MRR - (MAR.T @ BM).toarray()
        try:
            cho = linalg.cho_factor(S, lower=True, check_finite=False)
        except linalg.LinAlgError:
            return None
        logdet += 2 * np.log(np.diag(cho[0])).sum()

        def solve(R):
            R = np.asarray(R, float).reshape(self.q, -1)
            t = (BinvA @ R[:A.q].reshape(A.levels, A.p, -1)).reshape(A.q, -1)
            uR = linalg.cho_solve(cho, R[A.q:] - MAR.T @ t, check_finite=False)
            return np.vstack([t - BM @ uR, uR])

        return _Factor(logdet, solve, TA, lamR), rhs

    def _scalar_factor(self, TA, d, lamR, logdet, rA):
        """:meth:`factor` for scalar terms (see :meth:`_scalar_setup`)."""
        tA, lam = TA[0, 0], lamR.diagonal()
        w = 1.0 / d
        NWN = (self._K @ w).reshape(self.qR, self.qR)
        S = lam[:, None] * (self._ZRRd - tA ** 2 * NWN) * lam[None, :] + np.eye(self.qR)
        try:
            cho = linalg.cho_factor(S, lower=True, check_finite=False)
        except linalg.LinAlgError:
            return None
        logdet += 2 * np.log(np.diag(cho[0])).sum()
        rhs = np.vstack([rA, lam[:, None] * self.ZRW])
        qA = self.A.q

        def solve(R):
            R = np.asarray(R, float).reshape(self.q, -1)
            t = w[:, None] * R[:qA]
            uR = linalg.cho_solve(cho, R[qA:] - tA * lam[:, None] * (self._NT @ t),
                                  check_finite=False)
            return np.vstack([t - w[:, None] * (tA * (self._N @ (lam[:, None] * uR))), uR])

        return _Factor(logdet, solve, TA, lamR), rhs

    def _rss(self, theta):
        """(β̂, Cholesky of X'V⁻¹X relative, penalised RSS, log|M|, log|R_X|²) at θ. The
        penalised RSS ``‖y - Xβ̂ - ZΛû‖² + ‖û‖²`` is computed from the residuals, as lme4
        does (``y'y - …`` would lose digits the numerical derivatives need)."""
        out = self.factor(theta)
        if out is None:
            return None
        fac, rhs = out
        Q = rhs.T @ fac.solve(rhs)
        R = self.WtW - (Q + Q.T) / 2
        p = self.p
        try:
            cf = linalg.cho_factor(R[:p, :p], lower=True, check_finite=False)
        except linalg.LinAlgError:
            return None
        beta = linalg.cho_solve(cf, R[:p, p], check_finite=False)
        r = self.y - self.X @ beta
        u = fac.solve(self._lam_zt(fac, r))[:, 0]
        e = r - self._z_lam(fac, u)
        return beta, cf, float(e @ e + u @ u), fac.logdet, 2 * np.log(np.diag(cf[0])).sum()

    def _lam_zt(self, fac, r):
        """Λ'Z'r (internal order)."""
        A = self.A
        zr = np.asarray(self._ZA.T @ r).reshape(A.levels, A.p) @ fac.TA
        if not self.qR:
            return zr.ravel()
        return np.concatenate([zr.ravel(), fac.lamR.T @ (self._ZR.T @ r)])

    def _z_lam(self, fac, u):
        """ZΛu for u in internal order."""
        A = self.A
        out = self._ZA @ (u[:A.q].reshape(A.levels, A.p) @ fac.TA.T).ravel()
        if self.qR:
            out = out + self._ZR @ (fac.lamR @ u[A.q:])
        return out

    # -- criteria ------------------------------------------------------------------------------
    def profiled(self, theta):
        """The REML deviance with σ² profiled out (lme4's ``devfun``); inf where undefined."""
        out = self._rss(theta)
        if out is None or not out[2] > 0:
            return np.inf
        _, _, rss, logdet, logdet_x = out
        m = self.n - self.p
        return float(logdet + logdet_x + m * (1 + np.log(2 * np.pi * rss / m)))

    def deviance(self, varpar):
        """REML deviance at lmerTest's ``varpar = (θ, σ)`` (``devfun_vp``)."""
        theta, sigma2 = np.asarray(varpar[:-1], float), float(varpar[-1]) ** 2
        out = self._rss(theta)
        if out is None:
            return np.inf
        _, _, rss, logdet, logdet_x = out
        return float(logdet + logdet_x + rss / sigma2
                     + (self.n - self.p) * np.log(2 * np.pi * sigma2))

    def covbeta(self, varpar):
        """Var(β̂) at ``varpar = (θ, σ)`` (lmerTest's ``get_covbeta``)."""
        out = self._rss(np.asarray(varpar[:-1], float))
        return float(varpar[-1]) ** 2 * linalg.cho_solve(out[1], np.eye(self.p))

    def fit_at(self, theta):
        """(β̂, Var(β̂), σ², REML log-likelihood) at θ."""
        beta, cf, rss, _, _ = self._rss(theta)
        s2 = rss / (self.n - self.p)
        C = s2 * linalg.cho_solve(cf, np.eye(self.p))
        return beta, (C + C.T) / 2, float(s2), -0.5 * self.profiled(theta)

    def blups(self, theta, r):
        """``Zb̂`` (the random effects' part of the fitted values) for residuals
        ``r = y - Xβ̂``: ``b̂ = Λ M⁻¹ Λ'Z'r``."""
        fac, _ = self.factor(theta)
        return self._z_lam(fac, fac.solve(self._lam_zt(fac, r))[:, 0])

    def ranef(self, theta, r):
        """The conditional modes ``b̂ = Λ M⁻¹ Λ'Z'r`` per term (lme4's ``ranef``), for
        residuals ``r = y - Xβ̂``.

        Returns
        -------
        list of ndarray
            One ``levels × p`` array per term (reporting order; rows follow the term's
            ``labels``, columns its ``names``; outcome units).
        """
        fac, _ = self.factor(theta)
        u = fac.solve(self._lam_zt(fac, r))[:, 0]
        A = self.A
        out = [None] * len(self.terms)
        out[self.order[0]] = u[:A.q].reshape(A.levels, A.p) @ fac.TA.T
        if self.qR:
            bR, off = fac.lamR @ u[A.q:], 0
            for k in self.order[1:]:
                t = self.terms[k]
                out[k] = bR[off:off + t.q].reshape(t.levels, t.p)
                off += t.q
        return out

    # -- optimisation -------------------------------------------------------------------------
    def start(self, scale):
        """θ with every relative Cholesky factor ``scale × I`` (lme4's start: 1)."""
        return np.concatenate([[scale if i == j else 0.0 for i, j in _tri_index(t.p)]
                               for t in self.terms])

    def default_starts(self):
        """lme4's start (identity factors), and 0.1 and 10 × identity."""
        return {"lme4": self.start(1.0), "small": self.start(0.1), "large": self.start(10.0)}

    def _grad(self, x, f0=None):
        """Central-difference gradient of :meth:`profiled` (forward differences from
        ``f0`` = f(x) when given: half the evaluations, for the descent)."""
        h = 1e-6 * np.maximum(np.abs(x), 0.1)
        g = np.empty(len(x))
        for k in range(len(x)):
            e = np.zeros(len(x))
            e[k] = h[k]
            if f0 is None:
                g[k] = (self.profiled(x + e) - self.profiled(x - e)) / (2 * h[k])
            else:
                g[k] = (self.profiled(x + e) - f0) / h[k]
        return g

    def _fun_grad(self, x):
        f = self.profiled(x)
        return f, self._grad(x, f0=f) if np.isfinite(f) else np.zeros(len(x))

    def _bounds(self):
        return [(0.0, None) if np.isfinite(lo) else (None, None) for lo in self.lower]

    def theta_from_start(self, start):
        """θ of a start: a θ vector, or a relative covariance ``G/σ²`` (the terms' blocks on
        its diagonal, in term order, as :func:`fit_general`'s ``G``; a larger matrix, e.g.
        the q × q one other criteria take, gives its leading blocks)."""
        start = np.asarray(start, float)
        if start.ndim == 1:
            return start
        out, off = [], 0
        for t in self.terms:
            L = psd_cholesky(start[off:off + t.p, off:off + t.p], tol=0.0)
            out.append([L[i, j] for i, j in _tri_index(t.p)])
            off += t.p
        return np.concatenate(out)

    def _descend(self, x0, ftol):
        x0 = np.maximum(self.theta_from_start(x0), self.lower)
        if not np.isfinite(self.profiled(x0)):
            return x0, np.inf
        res = optimize.minimize(self._fun_grad, x0, jac=True, method="L-BFGS-B",
                                bounds=self._bounds(),
                                options={"ftol": ftol, "gtol": 1e-10, "maxiter": 2000})
        x = np.maximum(np.asarray(res.x, float), self.lower)
        return x, self.profiled(x)

    def _below(self):
        """θ position of each bounded diagonal -> positions of its column below it."""
        out = {}
        for k, t in enumerate(self.terms):
            base = self.theta_slices[k].start
            pairs = _tri_index(t.p)
            for a, (i, j) in enumerate(pairs):
                if i == j:
                    out[base + a] = [base + b for b, (ii, jj) in enumerate(pairs)
                                     if jj == j and ii > i]
        return out

    def _escape(self, x, f):
        """A point inside from a solution with bounded parameters at (or within 1e-4 of) 0,
        where the gradient of an even function vanishes, from which the criterion
        still falls into the interior; None if none. Tried along a geometric grid: each such
        diagonal alone (its column below as it is, and reflected: a column ``(0, v)`` is the
        same factor as ``(0, -v)``, but only one side descends) and all of them together."""
        best, fbest = None, f - 1e-10 * max(1.0, abs(f))
        at = list(np.flatnonzero(np.isfinite(self.lower) & (x <= 1e-4)))
        below = self._below()
        moves = [[(k, 1.0)] for k in at] + [[(k, -1.0)] for k in at if np.any(x[below[k]])]
        if len(at) > 1:
            moves.append([(k, 1.0) for k in at])
        for move in moves:
            for t in 10.0 ** np.arange(-6, 1.0):
                xt = x.copy()
                for k, sign in move:
                    xt[k] = t
                    xt[below[k]] *= sign
                ft = self.profiled(xt)
                if ft < fbest:
                    best, fbest = xt, ft
        return best

    def _newton(self, x, f, steps=8):
        """Newton steps on the free parameters (central differences: gradient and Hessian)."""
        free = np.flatnonzero(~(np.isfinite(self.lower) & (x <= 0)))
        for _ in range(steps):
            if not len(free):
                break
            g = self._grad(x)[free]
            H = np.empty((len(free), len(free)))
            h = 1e-4 * np.maximum(np.abs(x[free]), 0.05)
            for a, k in enumerate(free):
                e = np.zeros(len(x))
                e[k] = h[a]
                H[a, a] = (self.profiled(x + e) - 2 * f + self.profiled(x - e)) / h[a] ** 2
                for b in range(a):
                    e2 = e.copy()
                    e2[free[b]] = h[b]
                    e3 = e.copy()
                    e3[free[b]] = -h[b]
                    H[a, b] = H[b, a] = (self.profiled(x + e2) - self.profiled(x + e3)
                                         - self.profiled(x - e3) + self.profiled(x - e2)) \
                        / (4 * h[a] * h[b])
            H = (H + H.T) / 2
            try:
                if np.linalg.eigvalsh(H).min() <= 0:
                    break
                step = np.linalg.solve(H, g)
            except np.linalg.LinAlgError:
                break
            t, moved = 1.0, False
            for _ in range(10):
                new = x.copy()
                new[free] -= t * step
                if np.all(new >= self.lower):
                    fn = self.profiled(new)
                    if fn <= f:
                        moved = fn < f
                        x, f = new, fn
                        break
                t /= 2
            if not moved or np.abs(t * step).max() <= 1e-9 * max(1.0, np.abs(x).max()):
                break
        return x, f

    def converged_at(self, x, f, tol=1e-5):
        """The projected gradient is small and no bounded parameter at 0 can move inside."""
        g = self._grad(x)
        at = np.isfinite(self.lower) & (x <= 0)
        pg = np.where(at, np.minimum(g, 0.0), g)
        return bool(np.isfinite(f) and np.all(np.abs(pg) <= tol * max(1.0, abs(f)))
                    and self._escape(x, f) is None)

    def optimise(self, starts=None):
        """Minimise the profiled REML deviance from several starts (θ vectors).

        From each start L-BFGS-B (forward-difference gradient; the first start to a relative
        1e-10, the others to 1e-7 and the winner refined); solutions with a bounded
        parameter at 0 from which the deviance still falls are moved inside and descended
        again; the best is polished by Newton steps on its free parameters.

        Returns
        -------
        dict
            ``theta``, ``loglik`` (REML), ``converged``, ``start`` (winning start's name),
            ``logliks`` (start -> REML log-likelihood reached), ``G`` (the terms'
            covariances, block diagonal in term order) and ``s2``.
        """
        starts = self.default_starts() if starts is None else dict(starts)
        runs = {}
        for i, (name, x0) in enumerate(starts.items()):
            # the first start to 1e-10, the others to 1e-7 (refined below if one wins)
            x, f = self._descend(x0, 1e-10 if i == 0 else 1e-7)
            for _ in range(10):
                x1 = self._escape(x, f) if np.isfinite(f) else None
                if x1 is None:
                    break
                x1, f1 = self._descend(x1, 1e-10)
                if not f1 < f:
                    break
                x, f = x1, f1
            runs[name] = (x, f)
        fmin = min(f for _, f in runs.values())
        if not np.isfinite(fmin):
            return {"theta": None, "loglik": -np.inf, "converged": False, "start": None,
                    "logliks": {k: -f / 2 for k, (_, f) in runs.items()}}
        name = next(k for k, (_, f) in runs.items() if f <= fmin + 1e-9 * max(1.0, abs(fmin)))
        x, f = runs[name]
        if name != next(iter(runs)):
            x1, f1 = self._descend(x, 1e-10)
            if f1 < f:
                x, f = x1, f1
        x, f = self._newton(x, f)
        s2 = self.fit_at(x)[2]
        return {"theta": x, "loglik": -f / 2, "converged": self.converged_at(x, f),
                "start": name, "logliks": {k: -float(v) / 2 for k, (_, v) in runs.items()},
                "G": linalg.block_diag(*self.covariances(x, s2)), "s2": s2}

    # -- reporting -----------------------------------------------------------------------------
    def singular(self, theta, tol=1e-4):
        """lme4's ``isSingular``: a bounded θ (a relative Cholesky diagonal) below ``tol``."""
        theta = np.asarray(theta, float)
        return bool(np.any(theta[np.isfinite(self.lower)] < tol))

    def covariances(self, theta, s2):
        """Per term (reporting order): its covariance matrix ``σ² T T'``."""
        out = []
        for k in range(len(self.terms)):
            T = self._tri(theta, k)
            out.append(s2 * T @ T.T)
        return out

    def components(self, theta, s2):
        """(group, term, variance, sd) rows: per term its variances and covariances (as
        ``cov(a, b)``), then the residual."""
        rows = []
        for t, G in zip(self.terms, self.covariances(theta, s2)):
            rows += [(t.group, n, G[i, i], np.sqrt(max(G[i, i], 0)))
                     for i, n in enumerate(t.names)]
            rows += [(t.group, f"cov({t.names[j]}, {t.names[i]})", G[i, j], np.nan)
                     for i in range(t.p) for j in range(i)]
        return rows + [("Residual", "", s2, np.sqrt(s2))]


# -- lmerTest's numerical derivatives ------------------------------------------------------------
def _h0(x, d=1e-3):
    """First step ``d × max(|x|, 1)``: numDeriv's ``1e-4 |x|`` for a small θ (sleepstudy's
    correlation parameter 0.015 gives 1.5e-6) leaves the second difference to rounding
    (its df off by 4e-4); with d = 1e-3 Richardson's extrapolation still removes the
    truncation error and the df agree with lmerTest's to 5e-7."""
    return d * np.maximum(np.abs(x), 1.0)


def _extrapolate(a):
    """numDeriv's Richardson extrapolation over the last axis (steps halved each time)."""
    a = list(a)
    for m in range(1, len(a)):
        a = [(a[k + 1] * 4 ** m - a[k]) / (4 ** m - 1) for k in range(len(a) - 1)]
    return a[0]


def richardson_hessian(f, x, r=4, v=2):
    """``numDeriv::hessian(f, x)`` (method "Richardson", numDeriv's ``genD``)."""
    x = np.asarray(x, float)
    n = len(x)
    f0 = f(x)
    h0 = _h0(x)
    Hd = np.empty(n)
    H = np.empty((n, n))
    for i in range(n):
        h, approx = h0.copy(), []
        for _ in range(r):
            e = np.zeros(n)
            e[i] = h[i]
            approx.append((f(x + e) - 2 * f0 + f(x - e)) / h[i] ** 2)
            h = h / v
        Hd[i] = H[i, i] = _extrapolate(approx)
    for i in range(n):
        for j in range(i):
            h, approx = h0.copy(), []
            for _ in range(r):
                e = np.zeros(n)
                e[i], e[j] = h[i], h[j]
                approx.append((f(x + e) - 2 * f0 + f(x - e) - Hd[i] * h[i] ** 2
                               - Hd[j] * h[j] ** 2) / (2 * h[i] * h[j]))
                h = h / v
            H[i, j] = H[j, i] = _extrapolate(approx)
    return H


def richardson_jacobian(f, x, r=4, v=2):
    """``numDeriv::jacobian(f, x)`` for an array-valued ``f``: (len(x), *f(x).shape)."""
    x = np.asarray(x, float)
    h0 = _h0(x)
    out = []
    for i in range(len(x)):
        h, approx = h0.copy(), []
        for _ in range(r):
            e = np.zeros(len(x))
            e[i] = h[i]
            approx.append((f(x + e) - f(x - e)) / (2 * h[i]))
            h = h / v
        out.append(_extrapolate(approx))
    return np.array(out)


class NumericSatterthwaite(Satterthwaite):
    """Satterthwaite df as lmerTest computes them: ``A = 2 H⁻¹`` with ``H`` the Richardson
    Hessian of the REML deviance in ``varpar = (θ, σ)`` and ``dC`` the Richardson Jacobian
    of Var(β̂) (:meth:`~Satterthwaite.df` and :meth:`~Satterthwaite.df_F` as there).

    Parameters
    ----------
    crit : SparseReml
    theta : ndarray
        θ at the optimum.
    sigma : float
        Residual SD at the optimum.
    """

    def __init__(self, crit, theta, sigma):
        self.crit = crit
        self.varpar = np.concatenate([np.asarray(theta, float), [float(sigma)]])
        H = richardson_hessian(crit.deviance, self.varpar)
        self.hessian = (H + H.T) / 2
        try:
            self.A = 2 * np.linalg.inv(self.hessian)
        except np.linalg.LinAlgError:
            self.A = 2 * np.linalg.pinv(self.hessian)
        self.dC = richardson_jacobian(crit.covbeta, self.varpar)


# -- fit_model's general path ----------------------------------------------------------------
@dataclass(repr=False)
class GeneralResult(MixedResult):
    """A :class:`~emgkit.stats.result.MixedResult` fitted by the sparse engine: variance
    components per random term, BLUPs and the lme4 formula from its terms."""

    re_terms: list = field(default_factory=list)

    def variance(self):
        """Variance components per random term (lme4's ``VarCorr``).

        Returns
        -------
        DataFrame
            ``group`` (grouping, e.g. ``participant_id`` or ``cask:batch``; "Residual"),
            ``term`` ("(Intercept)", slope names, or "cov(a, b)"), ``variance``, ``sd``.
        """
        rows = self.crit.components(self.theta, self.s2)
        return pd.DataFrame(rows, columns=["group", "term", "variance", "sd"])

    def residuals(self):
        """Return (fitted, conditional residuals): fitted = Xβ̂ + Zb̂ (BLUPs)."""
        y = self.data[self.outcome].to_numpy(float)
        fitted = self.X @ self.beta
        fitted = fitted + self.crit.blups(self.theta, y - fitted)
        return fitted, y - fitted

    def random_intercepts(self):
        """The participants' random intercepts (conditional modes, BLUPs; outcome units):
        the intercept of the first term grouped by the participant column alone, 0 for
        every participant when no such term has one (``(0 + x | participant_id)``).

        Returns
        -------
        pandas.Series
            One value per participant, indexed by the participant column's values.
        """
        r = self.data[self.outcome].to_numpy(float) - self.X @ self.beta
        levels = np.unique(self.data[self.groups].astype(str))
        for t, b in zip(self.crit.terms, self.crit.ranef(self.theta, r)):
            if t.group == self.groups and "(Intercept)" in t.names:
                return pd.Series(b[:, t.names.index("(Intercept)")], index=list(t.labels),
                                 name="random_intercept")
        return pd.Series(np.zeros(len(levels)), index=levels, name="random_intercept")

    def diagnostics_table(self):
        """As :meth:`MixedResult.diagnostics_table` (participant = the ``groups`` column, as
        text, the level labels of the random terms)."""
        fitted, resid = self.residuals()
        pid = self.data[self.groups].astype(str).to_numpy()
        ri = self.random_intercepts()
        return pd.DataFrame({"participant_id": pid, "fitted": fitted, "residual": resid,
                             "random_intercept": ri.reindex(pid).to_numpy(float)})

    def effect_sd(self):
        """SD for standardised effects: sqrt(residual + the participants' random-intercept
        variance; 0 when their terms have no intercept)."""
        icpt = [row[2] for row in self.crit.components(self.theta, self.s2)
                if row[0] == self.groups and row[1] == "(Intercept)"]
        return float(np.sqrt(self.s2 + (icpt[0] if icpt else 0.0)))

    def lme4_formula(self):
        """The equivalent lme4 formula (R syntax), with every random term."""
        fixed = deparse(Formula(self.model_formula.formula.outcome, self.model_formula.fixed),
                        r=True)
        return fixed + "".join(f" + {t}" for t in self.re_terms)


def _group_labels(column):
    """A grouping column's level labels (numbers as R's ``factor()``: 15 significant
    digits, so 0.07 and 0.07000000000000001 are one level)."""
    if pd.api.types.is_float_dtype(column):
        return column.map(lambda v: f"{v:.15g}")
    return column.astype(str)


def _z_cols(reterms):
    """The columns of all terms' designs (the size of ``G``)."""
    return [n for t in reterms for n in t.names]


def _re_design(term, data, factors):
    """A random term's columns and names (``0 + x``: every level of a factor x)."""
    if term.slopes is None:
        return np.ones((len(data), 1)), ["(Intercept)"]
    rhs = Op("+", Num(1 if term.intercept else 0), term.slopes)
    Z, info = design_matrix(rhs, data, factors)
    return Z, list(info.column_names)


def fit_general(data, factors, mf, text, terms, groups, X, dinfo, y, *, start=None, tag="",
                small_groups=None, equivalence=None, reference=None):
    """Fit any random-effects structure with :class:`SparseReml` (``fit_model``'s path for
    what the specialised criteria do not fit, and for large crossed designs).

    Parameters
    ----------
    data : DataFrame
        Model data (from :func:`~emgkit.stats.design.prepare_data`).
    factors : dict
        Categorical column -> levels.
    mf : ModelFormula
    text : str
        The formula as given (for messages).
    terms : list of RandomTerm
        The random terms, lme4's expansions applied.
    groups : str
        The participant column.
    X : ndarray
    dinfo : Design
    y : ndarray
    start : MixedResult | ndarray | None
        A previous fit of the same structure (its θ is tried first) or a θ vector.

    Returns
    -------
    GeneralResult

    Raises
    ------
    ModelError
        A grouping with one level or with as many levels as rows, or no optimum found.
    """
    from .model import SINGULAR_TOL, logger

    reterms = []
    for t in terms:
        key = _group_labels(data[t.grouping[0]])
        for c in t.grouping[1:]:
            key = key + ":" + _group_labels(data[c])
        codes, labels = pd.factorize(key, sort=True)
        if len(labels) < 2:
            raise ModelError(f"{tag}The random term {t} has one level of {t.group!r} only; "
                             f"drop it from the formula.")
        if len(labels) >= len(y):
            raise ModelError(f"{tag}The random term {t} has {len(labels)} levels of "
                             f"{t.group!r} for {len(y)} rows; a grouping needs fewer levels "
                             f"than observations (as lme4 requires).")
        values, names = _re_design(t, data, factors)
        if len(labels) * values.shape[1] >= len(y):  # lme4's checkZdims
            raise ModelError(f"{tag}The random term {t} has {len(labels) * values.shape[1]} "
                             f"random effects ({len(labels)} levels of {t.group!r} × "
                             f"{values.shape[1]} columns) for {len(y)} rows; the variance "
                             f"components are not identifiable (lme4 refuses it too); "
                             f"drop slopes or use a grouping with fewer levels.")
        reterms.append(ReTerm(t.group, values, np.asarray(codes), names, list(labels)))
    crit = SparseReml(y, X, reterms)
    starts = crit.default_starts()
    if start is not None:
        given = getattr(start, "theta", start)
        if hasattr(start, "G") and np.shape(given) != (crit.n_theta,):
            given = np.asarray(start.G) / start.s2
        if given is not None and (np.shape(given) == (crit.n_theta,)
                                  or np.ndim(given) == 2 and len(given) >= len(_z_cols(reterms))):
            starts = {"given": crit.theta_from_start(given), **starts}
    opt = crit.optimise(starts)
    if opt["theta"] is None:
        raise ModelError(f"{tag}No optimum of the REML criterion was found for {text!r} "
                         f"(the penalised system is not positive definite at any start).")
    theta = opt["theta"]
    beta, C, s2, loglik = crit.fit_at(theta)
    singular = crit.singular(theta, SINGULAR_TOL)
    if singular:
        logger.warning("%s: the random-effects fit is singular (a variance of 0 or a "
                       "correlation of ±1, as lme4's isSingular); its variance components are "
                       "at the boundary and the fixed-effects inference leans on them; "
                       "consider a simpler random-effects structure.", tag + text)
    G = linalg.block_diag(*crit.covariances(theta, s2))  # term order
    Z = np.column_stack([t.values for t in reterms])
    z_names = [n for t in reterms for n in t.names]
    re_text = " + ".join(str(t) for t in terms)
    fit = {"reml_loglik": float(loglik), "n_obs": len(y), "singular": singular,
           "small_groups": small_groups or {}, "n_groups": int(data[groups].nunique()),
           "converged": bool(opt["converged"]),
           "optimizer": "L-BFGS-B on lme4's profiled REML deviance (sparse penalised least "
                        "squares, multi-start) + Newton",
           "start": opt["start"], "start_logliks": opt["logliks"], "statsmodels_loglik": {},
           "statsmodels_converged": {}, "formula": text, "re_formula": re_text,
           "groups": groups, "crossed": [], "engine": "sparse",
           "random_terms": [str(t) for t in terms]}
    others = list(dict.fromkeys(c for t in terms for c in t.grouping if c != groups))
    return GeneralResult(data=data, formula=str(mf), outcome=mf.outcome, factors=factors,
                         covariates=[p for p in mf.predictors if p not in factors],
                         groups=groups, X=X, dinfo=dinfo, Z=Z, z_names=z_names, crit=crit,
                         theta=theta, beta=beta, C=C, G=G, s2=s2, fit=fit,
                         sat=NumericSatterthwaite(crit, theta, np.sqrt(s2)), crossed=others,
                         equivalence=tuple(equivalence) if equivalence else None,
                         model_formula=mf, slopes=None,
                         reference=None if reference is None else str(reference),
                         re_terms=list(terms))
