"""lmerTest's Type III hypothesis matrices, built from the design.

A multi-df F test's Satterthwaite denominator df depends on the basis of the hypothesis
(the rows of ``L``), not only on the hypothesis it spans: lmerTest's ``contestMD`` gives each
row of ``L`` (after an eigen-rotation of ``L C L'``) its own df and pools them. So
emgkit uses lmerTest's own Type III matrices (``get_contrasts_type3``, SAS's "Type III
estimable functions"), whatever coding the fitted design uses:

1. ``X``: the design in treatment coding (the first level of each factor as reference);
   ``R``: the "complete", rank-deficient design — an intercept, then for every term all its
   cells (``model.matrix(~ 0 + term)``: an indicator per level combination, times the
   term's covariates).
2. ``L₀ = (X⁺ R)'``: each column of ``R`` written in the columns of ``X``.
3. Highest-order terms first, the columns of ``L₀`` that belong to a term contained in
   others (SAS containment: the other term has all its variables and more, with the same
   covariates) are replaced by their residuals after regression on the columns of the terms
   that contain it.
4. The rows of ``L₀`` that are the columns of ``X`` themselves give ``L`` (square); a term's
   hypothesis is the transposed block of its columns, zero rows dropped.
5. For another coding of the same column space, ``L X⁺ X_other``.

A model with one term (or one column) gets lmerTest's Type I (sequential) matrices instead,
as lmerTest does: the rows of the unit-triangular Doolittle factor of ``X'X``.

Single-df tests do not depend on the basis, so only multi-df denominator df change; F, the
numerator df and the tested hypothesis are those of any Type III coding.
"""

from __future__ import annotations

import numpy as np
import patsy
from scipy.linalg import solve_triangular

from ..errors import ModelError
from .formula import _ENV

_ZAP = 1e-7   # relative size below which an entry is 0 (R's zapsmall at 7 digits)
_DOOLITTLE_EPS = 1e-6  # lmerTest's doolittle(eps)


def _zap(a):
    """Entries below 1e-7 × the largest set to 0 (R's ``zapsmall`` without its rounding of
    the other entries to 7 significant digits)."""
    a = np.array(a, float)
    big = np.max(np.abs(a)) if a.size else 0.0
    if big > 0:
        a[np.abs(a) < _ZAP * big] = 0.0
    return a


def _coef(X, Y):
    """Least-squares coefficients of ``Y`` on a full-column-rank ``X`` (Householder QR: as
    accurate as an SVD here, and much faster for tall designs)."""
    Q, R = np.linalg.qr(X)
    return solve_triangular(R, Q.T @ Y)


def doolittle(x, eps=_DOOLITTLE_EPS):
    """Doolittle LU factorisation without pivoting, as lmerTest's ``doolittle``.

    Parameters
    ----------
    x : ndarray, shape (n, n)
    eps : float
        Pivots below ``eps`` give 0 multipliers; entries of both factors below ``eps`` (in
        absolute value) are set to 0.

    Returns
    -------
    L : ndarray
        Unit lower-triangular.
    U : ndarray
        Upper-triangular (not unit).
    """
    x = np.asarray(x, float)
    n = len(x)
    L, U = np.eye(n), np.zeros((n, n))
    for i in range(n):
        U[i] = x[i] - L[i, :i] @ U[:i]
        if i + 1 < n:
            col = x[i + 1:, i] - L[i + 1:, :i] @ U[:i, i]
            L[i + 1:, i] = 0.0 if abs(U[i, i]) < eps else col / U[i, i]
    L[np.abs(L) < eps] = 0.0
    U[np.abs(U) < eps] = 0.0
    return L, U


def type1_contrasts(X, terms):
    """lmerTest's Type I (sequential) hypothesis matrices: rows of the transposed unit
    lower Doolittle factor of ``X'X``.

    Parameters
    ----------
    X : ndarray, shape (n, p)
    terms : dict
        Term name -> column slice of ``X``.

    Returns
    -------
    dict
        Term name -> ndarray (rows, p).
    """
    X = np.asarray(X, float)
    if X.shape[1] == 1:
        T = np.ones((1, 1))
    else:
        T = doolittle(X.T @ X)[0].T
    return {term: T[sl] for term, sl in terms.items()}


def _numeric(info, factor):
    """True for a covariate that R's ``dataClasses`` calls "numeric": one column, and not
    ``scale()`` or ``poly()``, which return matrices in R ("nmatrix"; grouped with the
    factors by lmerTest's containment)."""
    fi = info.factor_infos[factor]
    code = factor.code
    return (fi.type == "numerical" and fi.num_columns == 1
            and not code.startswith(("standardize(", "_poly(")))


def _contrast_coded(terms):
    """Per term, the variables R codes by contrasts (1 in ``attr(terms, "factors")``; 2, for
    dummy coding of all levels, is left out by lmerTest's containment).

    R's rule (``TermCode``): variable ``v`` of term ``T`` is coded by contrasts when ``T``
    without ``v`` is empty or lies within a term before ``T`` (terms in R's order: by
    degree, then as written)."""
    order = sorted(terms, key=lambda t: len(t.factors))  # stable: patsy's order within
    out = {}
    for k, t in enumerate(order):
        own = set(t.factors)
        out[t] = {v for v in own
                  if not own - {v} or any(own - {v} <= set(p.factors) for p in order[:k])}
    return out


def containment(info):
    """SAS/lmerTest containment of a patsy design's terms.

    Term ``F1`` is contained in ``F2`` when every variable of ``F1`` is in ``F2``, ``F2``
    has more variables, and both have the same covariates; as lmerTest, a term's variables
    are those R codes by contrasts in it (see :func:`_contrast_coded`), so ``condition`` is
    not contained in ``condition:group`` when ``group`` has no main effect.

    Parameters
    ----------
    info : patsy.DesignInfo

    Returns
    -------
    dict
        Term (patsy ``Term``) -> list of the terms that contain it.
    """
    terms = [t for t in info.terms if t.factors]
    var = _contrast_coded(terms)
    num = {t: {f for f in var[t] if _numeric(info, f)} for t in terms}
    return {t1: [t2 for t2 in terms if var[t1] < var[t2] and num[t1] == num[t2]]
            for t1 in terms}


def _complete_design(info, frame):
    """The intercept and every term's cells (``model.matrix(~ 0 + term)``), with each
    column's term."""
    blocks, owner = [], []
    for t in info.terms:
        if not t.factors:  # the intercept
            blocks.append(np.ones((len(frame), 1)))
            owner.append(None)
            continue
        m = np.asarray(patsy.dmatrix(patsy.ModelDesc([], [t]), frame, eval_env=_ENV,
                                     NA_action="raise"), float)
        blocks.append(m)
        owner += [t] * m.shape[1]
    return np.hstack(blocks), owner


def type3_contrasts(design, X, data, X_fit=None):
    """lmerTest's Type III hypothesis matrices (``anova(m, type = 3)``) for each term.

    Parameters
    ----------
    design : emgkit.stats.formula.Design
        The fixed-effects design in treatment coding (as :func:`emgkit.stats.formula.
        design_matrix` builds it by default).
    X : ndarray, shape (n, p)
        Its matrix; full column rank.
    data : DataFrame
        The model's rows under the user's column names.
    X_fit : ndarray, shape (n, p) | None
        The design the model was fitted with, in another coding of the same column space
        (e.g. sum-to-zero); the matrices are returned for its coefficients. None: ``X``'s.

    Returns
    -------
    dict
        Term name (as ``design.terms``) -> ndarray (rows, p): the hypothesis ``L β = 0``
        for the coefficients of ``X_fit`` (or ``X``); rows that are zero (e.g. cells without
        data) are dropped.

    Raises
    ------
    ModelError
        ``X_fit`` does not span the column space of ``X``, or ``X`` is not treatment-coded
        (a column that is none of its term's cells).
    """
    X = np.asarray(X, float)
    info = design.info
    if info is None or not design.terms:
        return {}
    names = {t: name for t, name in zip([t for t in info.terms if t.factors],
                                        design.terms, strict=True)}
    if X.shape[1] <= 1 or len(design.terms) <= 1:  # lmerTest: Type I for one term
        Xc = X if X_fit is None else np.asarray(X_fit, float)
        return type1_contrasts(Xc, design.terms)
    frame = data[list(design.alias)].set_axis(list(design.alias.values()), axis=1)
    R, owner = _complete_design(info, frame)
    L0 = _zap(_coef(X, R).T)          # (m, p): R = X L0'
    cols = {t: np.arange(X.shape[1])[info.term_slices[t]] for t in names}
    contained = containment(info)
    for t in sorted(names, key=lambda t: -len(t.factors)):      # higher order first
        if contained[t]:
            basis = L0[:, np.concatenate([cols[c] for c in contained[t]])]
            y = L0[:, cols[t]]
            L0[:, cols[t]] = _zap(y - basis @ np.linalg.lstsq(basis, y, rcond=None)[0])
    # the rows of L0 that are X's own columns (each treatment-coded column is one cell
    # column of its term in R)
    col_term = [None] * X.shape[1]
    for t, js in cols.items():
        for j in js:
            col_term[j] = t
    rows = []
    for j, t in enumerate(col_term):
        own = [k for k, o in enumerate(owner) if o is t]
        gap = np.abs(R[:, own] - X[:, [j]]).max(axis=0)
        if not own or gap.min() > 1e-12 * (1 + np.abs(X[:, j]).max()):
            raise ModelError(f"Type III hypotheses: column {design.column_names[j]!r} of "
                             f"the treatment-coded design is not one of its term's cells; "
                             f"pass the default (treatment-coded) design.")
        rows.append(own[int(np.argmin(gap))])
    L = L0[rows]                                                # (p, p)
    if X_fit is not None:
        X_fit = np.asarray(X_fit, float)
        mapping = _zap(_coef(X, X_fit))
        if not np.allclose(X @ mapping, X_fit, atol=1e-8 * (1 + np.abs(X_fit).max())):
            raise ModelError("Type III hypotheses: X_fit does not span the columns of the "
                             "treatment-coded design; give the same terms in another coding.")
    out = {}
    for t, name in names.items():
        Lt = L[:, cols[t]].T
        if X_fit is not None:
            Lt = Lt @ mapping
        out[name] = Lt[np.abs(Lt).sum(axis=1) > 1e-8]
    return out
