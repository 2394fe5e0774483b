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


def _powers(RR, ZR, T, K, third=True):
    """R'V⁻ᵏR·σ²ᵏ for k = 1, 2, 3 of one block from R'R, Z'R, Z'Z and K = (σ²I + GZ'Z)⁻¹G
    (V⁻¹ = (I - ZKZ')/σ²)."""
    KZR = K @ ZR
    TKZR = T @ KZR
    Q1 = RR - ZR.T @ KZR
    Q2 = RR - 2 * ZR.T @ KZR + ZR.T @ K @ TKZR
    if not third:
        return Q1, Q2, None
    Q3 = RR - 3 * ZR.T @ KZR + 3 * ZR.T @ K @ TKZR - TKZR.T @ (K @ TKZR)
    return Q1, Q2, Q3


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
    G, s2 = crit.unpack(np.asarray(theta, float))
    beta, C = crit.gls(theta)
    D = crit.dG()
    q, p = crit.q, crit.p
    z, x, e = slice(0, q), slice(q, q + p), q + p
    nk = len(D) + 1
    UVU, rVr, trVk = np.zeros((nk, p, p)), np.zeros(nk), np.zeros(nk)
    for Zb, Xb, yb in crit.blocks():
        R = np.column_stack([Zb, Xb, yb - Xb @ beta])
        RR, ZR = R.T @ R, Zb.T @ R
        T = ZR[:, z]
        K = np.linalg.solve(s2 * np.eye(q) + G @ T, G)
        K = (K + K.T) / 2
        Q1, Q2, _ = _powers(RR, ZR, T, K, third=False)
        Q1, Q2 = Q1 / s2, Q2 / s2 ** 2
        A, B, zr = Q1[z, z], Q1[z, x], Q1[z, e]
        DB = np.einsum("kab,bp->kap", D, B)
        UVU[:-1] += np.einsum("ap,kaq->kpq", B, DB)
        UVU[-1] += Q2[x, x]
        rVr[:-1] += (D @ zr) @ zr
        rVr[-1] += Q2[e, e]
        trVk[:-1] += np.einsum("ab,kba->k", A, D)
        trVk[-1] += (len(yb) - np.trace(K @ T)) / s2
    return -0.5 * (trVk - np.einsum("pq,kqp->k", C, UVU)) + 0.5 * rVr


def derivatives(crit, theta):
    """Exact gradient, Hessian and ∂C of the REML log-likelihood in natural parameters.

    Parameters
    ----------
    crit : RemlCriterion | CrossedReml
    theta : ndarray
    Natural parameters (G entries as ``crit.pack`` orders them, σ²).

    Returns
    -------
    gradient : ndarray, shape (k,)
    hessian : ndarray, shape (k, k)
    dC : ndarray, shape (k, p, p)
    ∂(X'V⁻¹X)⁻¹/∂θ_k.
    """
    theta = np.asarray(theta, float)
    G, s2 = crit.unpack(theta)
    beta, C = crit.gls(theta)
    D = crit.dG()                              # (n_G, q, q): ∂G/∂θ_k
    q, p = crit.q, crit.p
    nk = len(D) + 1
    z, x, e = slice(0, q), slice(q, q + p), q + p
    trV1 = trV2 = 0.0
    S = dict(xx2=np.zeros((p, p)), xe2=np.zeros(p), ee2=0.0, xx3=np.zeros((p, p)),
             xe3=np.zeros(p), ee3=0.0)
    UVU = np.zeros((nk, p, p))                # Σ U'V_kU
    UVr = np.zeros((nk, p))                   # Σ U'V_k r
    rVr = np.zeros(nk)                        # Σ r'V_k r
    trVk = np.zeros(nk)                       # Σ tr(V⁻¹V_k)
    trkl = np.zeros((nk, nk))                 # Σ tr(V⁻¹V_kV⁻¹V_l)
    UkVlU = np.zeros((nk, nk, p, p))          # Σ U'V_kV⁻¹V_lU
    rkVlr = np.zeros((nk, nk))                # Σ r'V_kV⁻¹V_l r
    for Zb, Xb, yb in crit.blocks():
        R = np.column_stack([Zb, Xb, yb - Xb @ beta])
        RR, ZR = R.T @ R, Zb.T @ R
        T = ZR[:, z]
        K = np.linalg.solve(s2 * np.eye(q) + G @ T, G)
        K = (K + K.T) / 2
        Q1, Q2, Q3 = _powers(RR, ZR, T, K)
        Q1, Q2, Q3 = Q1 / s2, Q2 / s2 ** 2, Q3 / s2 ** 3
        n_b = len(yb)
        KT = K @ T
        trV1 = (n_b - np.trace(KT)) / s2
        trV2 += (n_b - 2 * np.trace(KT) + np.trace(KT @ KT)) / s2 ** 2
        A, B, zr = Q1[z, z], Q1[z, x], Q1[z, e]
        A2, B2, zr2 = Q2[z, z], Q2[z, x], Q2[z, e]
        S["xx2"] += Q2[x, x]
        S["xe2"] += Q2[x, e]
        S["ee2"] += Q2[e, e]
        S["xx3"] += Q3[x, x]
        S["xe3"] += Q3[x, e]
        S["ee3"] += Q3[e, e]
        DB = np.einsum("kab,bp->kap", D, B)   # D_k B
        Dzr = D @ zr                           # D_k zr
        UVU[:-1] += np.einsum("ap,kaq->kpq", B, DB)
        UVr[:-1] += np.einsum("ap,ka->kp", B, Dzr)
        rVr[:-1] += Dzr @ zr
        trVk[:-1] += np.einsum("ab,kba->k", A, D)
        trVk[-1] += trV1
        AD = np.einsum("ab,kbc->kac", A, D)   # A D_k
        trkl[:-1, :-1] += np.einsum("kab,lba->kl", AD, AD)
        t_ks = np.einsum("kab,ba->k", D, A2)
        trkl[:-1, -1] += t_ks
        trkl[-1, :-1] += t_ks
        ADB = np.einsum("ab,lbp->lap", A, DB)  # A D_l B
        UkVlU[:-1, :-1] += np.einsum("kap,laq->klpq", DB, ADB)
        ks = np.einsum("kap,aq->kpq", DB, B2)  # B'D_k Z'V⁻²X
        UkVlU[:-1, -1] += ks
        UkVlU[-1, :-1] += np.transpose(ks, (0, 2, 1))
        ADzr = A @ Dzr.T                        # (q, k)
        rkVlr[:-1, :-1] += Dzr @ ADzr
        k_s = Dzr @ zr2
        rkVlr[:-1, -1] += k_s
        rkVlr[-1, :-1] += k_s
    UVU[-1], UVr[-1], rVr[-1] = S["xx2"], S["xe2"], S["ee2"]
    trkl[-1, -1] = trV2
    UkVlU[-1, -1] = S["xx3"]
    rkVlr[-1, -1] = S["ee3"]
    # natural-parameter gradient, Hessian and ∂C
    gradient = -0.5 * (trVk - np.einsum("pq,kqp->k", C, UVU)) + 0.5 * rVr
    CUVU = np.einsum("pq,kqr->kpr", C, UVU)
    trP = (trkl - 2 * np.einsum("pq,klqp->kl", C, UkVlU)
           + np.einsum("kpq,lqp->kl", CUVU, CUVU))
    rPr = rkVlr - UVr @ C @ UVr.T
    H = 0.5 * trP - rPr
    H = (H + H.T) / 2
    dC_nat = np.einsum("kpq,qr->kpr", CUVU, C)
    return gradient, H, dC_nat


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
