"""Satterthwaite degrees of freedom from exact derivatives of the REML criterion.

lmerTest's df for a contrast ``l`` of the fixed effects is

    ν = 2 (l'Cl)² / (g' A g),   C = (X'V⁻¹X)⁻¹,   g_a = l' (∂C/∂c_a) l,

with ``A`` the inverse of the negative Hessian of the REML log-likelihood in lmerTest's
variance parameters ``c`` (relative Cholesky factors of the random-effects covariance, then
the residual SD). Finite differences of the log-likelihood lose most of their digits to
rounding (crossed and random-slope models gave df several-fold off), so everything here is
exact: ``V = σ²I + Z G Z'`` is linear in the natural parameters ``θ = (G entries, σ²)``,
which gives closed forms

    ∂ℓ/∂θ_k   = -½ tr(P V_k) + ½ r'V_k r
    ∂²ℓ/∂θ_k∂θ_l = ½ tr(P V_k P V_l) - r'V_k P V_l r
    ∂C/∂θ_k   = C U'V_k U C

(``V_k = ∂V/∂θ_k``, ``P = V⁻¹ - UCU'``, ``U = V⁻¹X``, ``r = V⁻¹(y - Xβ̂)``), evaluated per
block from Woodbury sums, and the chain rule to ``c`` (including the gradient term, which
matters on the boundary: a variance of 0 or a correlation of ±1, where lmerTest's
parametrisation keeps the Hessian finite).
"""

from __future__ import annotations

import numpy as np


def _block_parts(crit, theta, third=True):
    """Per block (stacked): R'V⁻ᵏR for R = [Z, X, y - Xβ̂] and k = 1, 2, 3, with the
    traces of V⁻¹ and V⁻², from the criterion's per-block sums (no loop over blocks)."""
    G, s2 = crit.unpack(theta)
    beta, C = crit.gls(theta)
    RRy, counts = crit.block_sums()                 # (g, m, m) of [Z, X, y], rows per block
    q, p = crit.q, crit.p
    m = q + p + 1
    W = np.eye(m)
    W[q:q + p, -1] = -beta                         # [Z, X, y] W = [Z, X, y - Xβ̂]
    RR = W.T @ RRy @ W
    ZR = RR[:, :q, :]
    T = RR[:, :q, :q]
    M = s2 * np.eye(q) + G @ T
    K = np.linalg.solve(M, np.broadcast_to(G, M.shape))
    K = (K + np.swapaxes(K, 1, 2)) / 2              # (σ²I + GZ'Z)⁻¹G: V⁻¹ = (I - ZKZ')/σ²
    KZR = K @ ZR
    TKZR = T @ KZR
    ZRt = np.swapaxes(ZR, 1, 2)
    Q1 = (RR - ZRt @ KZR) / s2
    KTKZR = K @ TKZR
    Q2 = (RR - 2 * ZRt @ KZR + ZRt @ KTKZR) / s2 ** 2
    Q3 = ((RR - 3 * ZRt @ KZR + 3 * ZRt @ KTKZR - np.swapaxes(TKZR, 1, 2) @ KTKZR) / s2 ** 3
          if third else None)
    KT = K @ T
    trKT = np.trace(KT, axis1=1, axis2=2)
    trV1 = np.sum(counts - trKT) / s2
    trV2 = np.sum(counts - 2 * trKT + np.einsum("gab,gba->g", KT, KT)) / s2 ** 2
    return C, Q1, Q2, Q3, trV1, trV2


def natural_gradient(crit, theta):
    """∂ℓ_R/∂θ of the REML log-likelihood at natural parameters θ = (G entries, σ²), exact.

    Parameters
    ----------
    crit : RemlCriterion | CrossedReml
    theta : ndarray

    Returns
    -------
    ndarray, shape (len(theta),)
    """
    return derivatives(crit, theta, second=False)[0]


def derivatives(crit, theta, second=True):
    """Exact gradient, Hessian and ∂C of the REML log-likelihood in natural parameters.

    Parameters
    ----------
    crit : RemlCriterion | CrossedReml
    theta : ndarray
        Natural parameters (G entries as ``crit.pack`` orders them, σ²).
    second : bool
        Also the Hessian and ∂C (else None for both).

    Returns
    -------
    gradient : ndarray, shape (k,)
    hessian : ndarray, shape (k, k) | None
    dC : ndarray, shape (k, p, p) | None
        ∂(X'V⁻¹X)⁻¹/∂θ_k.
    """
    theta = np.asarray(theta, float)
    C, Q1, Q2, Q3, trV1, trV2 = _block_parts(crit, theta, third=second)
    D = crit.dG()                                   # (k-1, q, q): ∂G/∂θ_k
    q, p = crit.q, crit.p
    z, x, e = slice(0, q), slice(q, q + p), q + p
    nk = len(D) + 1
    A, B, zr = Q1[:, z, z], Q1[:, z, x], Q1[:, z, e]
    DB = np.einsum("kab,gbp->gkap", D, B)          # D_k B
    Dzr = np.einsum("kab,gb->gka", D, zr)          # D_k Z'r
    UVU = np.empty((nk, p, p))                      # Σ U'V_kU
    UVU[:-1] = np.einsum("gap,gkaq->kpq", B, DB)
    UVU[-1] = Q2[:, x, x].sum(0)
    rVr = np.empty(nk)                              # Σ r'V_k r
    rVr[:-1] = np.einsum("gka,ga->k", Dzr, zr)
    rVr[-1] = Q2[:, e, e].sum()
    trVk = np.empty(nk)                             # Σ tr(V⁻¹V_k)
    trVk[:-1] = np.einsum("gab,kba->k", A, D)
    trVk[-1] = trV1
    gradient = -0.5 * (trVk - np.einsum("pq,kqp->k", C, UVU)) + 0.5 * rVr
    if not second:
        return gradient, None, None
    A2, B2, zr2 = Q2[:, z, z], Q2[:, z, x], Q2[:, z, e]
    UVr = np.empty((nk, p))                         # Σ U'V_k r
    UVr[:-1] = np.einsum("gap,gka->kp", B, Dzr)
    UVr[-1] = Q2[:, x, e].sum(0)
    trkl = np.empty((nk, nk))                       # Σ tr(V⁻¹V_kV⁻¹V_l)
    AD = np.einsum("gab,kbc->gkac", A, D)
    trkl[:-1, :-1] = np.einsum("gkab,glba->kl", AD, AD)
    trkl[:-1, -1] = trkl[-1, :-1] = np.einsum("kab,gba->k", D, A2)
    trkl[-1, -1] = trV2
    UkVlU = np.empty((nk, nk, p, p))                # Σ U'V_kV⁻¹V_lU
    ADB = np.einsum("gab,glbp->glap", A, DB)
    UkVlU[:-1, :-1] = np.einsum("gkap,glaq->klpq", DB, ADB)
    ks = np.einsum("gkap,gaq->kpq", DB, B2)
    UkVlU[:-1, -1] = ks
    UkVlU[-1, :-1] = np.swapaxes(ks, 1, 2)
    UkVlU[-1, -1] = Q3[:, x, x].sum(0)
    rkVlr = np.empty((nk, nk))                      # Σ r'V_kV⁻¹V_l r
    ADzr = np.einsum("gab,glb->gla", A, Dzr)
    rkVlr[:-1, :-1] = np.einsum("gka,gla->kl", Dzr, ADzr)
    rkVlr[:-1, -1] = rkVlr[-1, :-1] = np.einsum("gka,ga->k", Dzr, zr2)
    rkVlr[-1, -1] = Q3[:, e, e].sum()
    CUVU = np.einsum("pq,kqr->kpr", C, UVU)
    trP = (trkl - 2 * np.einsum("pq,klqp->kl", C, UkVlU)
           + np.einsum("kpq,lqp->kl", CUVU, CUVU))
    rPr = rkVlr - UVr @ C @ UVr.T
    H = 0.5 * trP - rPr
    return gradient, (H + H.T) / 2, np.einsum("kpq,qr->kpr", CUVU, C)


class Satterthwaite:
    """Satterthwaite df for contrasts of β at a REML optimum θ̂ (exact derivatives).

    Parameters
    ----------
    crit : RemlCriterion | CrossedReml
        The model's REML criterion (data, designs, parametrisation).
    theta : ndarray
        Natural variance parameters at the optimum (see ``crit.pack``).

    Attributes
    ----------
    A : ndarray
        Asymptotic covariance of lmerTest's variance parameters ``c``.
    dC : ndarray, shape (n_c, p, p)
        ∂Var(β̂)/∂c.
    gradient : ndarray
        ∂ℓ/∂θ (natural parameters): 0 at an interior optimum, pointing out of the
        parameter space on the boundary.
    """

    def __init__(self, crit, theta):
        self.crit, self.theta = crit, np.asarray(theta, float)
        self.gradient, H, dC_nat = derivatives(crit, self.theta)
        self.hessian = H
        # to lmerTest's parameters c (chain rule, with the gradient term)
        J, S2 = crit.lmer_derivatives(self.theta)
        Hc = J.T @ H @ J + np.einsum("k,kab->ab", self.gradient, S2)
        Hc = (Hc + Hc.T) / 2
        try:
            self.A = np.linalg.inv(-Hc)
        except np.linalg.LinAlgError:
            self.A = np.linalg.pinv(-Hc)
        self.dC = np.einsum("kpq,ka->apq", dC_nat, J)

    def df(self, contrast, C):
        """Satterthwaite df of the contrast ``contrast @ β`` (``C`` = Var(β̂))."""
        c = np.asarray(contrast, float)
        var = c @ C @ c
        g = np.einsum("p,kpq,q->k", c, self.dC, c)
        denom = g @ self.A @ g
        return float(2 * var ** 2 / denom) if denom > 0 else np.inf

    def df_F(self, L, beta, C):
        """F test of ``L @ β = 0`` with lmerTest's multi-df Satterthwaite method.

        ``L C L'`` is eigen-decomposed; the rows of ``L`` rotated onto its eigenvectors with
        eigenvalues above √ε × the largest (the test's rank ``q``) are independent t tests
        with Satterthwaite df ``ν_m``; the F test's denominator df is ``2E / (E - q)`` with
        ``E = Σ ν_m / (ν_m - 2)`` (2 when any ``ν_m ≤ 2``; their mean when they agree to
        1e-8), as lmerTest's ``contestMD`` and ``get_Fstat_ddf``. The df depend on the rows
        of ``L``, not only on the hypothesis they span (see :mod:`emgkit.stats.type3`).

        Parameters
        ----------
        L : ndarray, shape (k, p)
        beta : ndarray, shape (p,)
        C : ndarray, shape (p, p)
            Var(β̂).

        Returns
        -------
        F : float
        num_df : int
        den_df : float
        """
        L = np.atleast_2d(np.asarray(L, float))
        LCL = L @ C @ L.T
        evals, evecs = np.linalg.eigh((LCL + LCL.T) / 2)
        order = np.argsort(evals)[::-1]
        evals, evecs = evals[order], evecs[:, order]
        keep = evals > max(np.sqrt(np.finfo(float).eps) * evals[0], 0.0)
        evals, evecs = evals[keep], evecs[:, keep]
        q = len(evals)
        PL = evecs.T @ L
        F = float(np.sum((PL @ beta) ** 2 / evals) / q)
        nus = np.array([self.df(row, C) for row in PL])
        if q == 1:
            return F, 1, float(nus[0])
        if np.all(np.abs(np.diff(nus)) < 1e-8):
            return F, q, float(np.mean(nus))
        if np.any(nus <= 2):
            return F, q, 2.0
        E = np.sum(nus / (nus - 2))
        return F, q, float(2 * E / (E - q)) if E > q else np.inf
