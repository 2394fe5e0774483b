"""emmeans' vocabulary for marginal means and their contrasts: specs, methods, p adjustments.

R users write ``emmeans(m, pairwise ~ group | condition)``; this module reads such specs
(through emgkit's formula grammar, never evaluated), builds the cells' equal-weight
averages of the reference grid (emmeans' default ``weights = "equal"``), the contrast
coefficients of emmeans' methods (``pairwise``, ``revpairwise``, ``trt.vs.ctrl``,
``consec``, ``poly``) with emmeans' row order and labels, and emmeans' p-value adjustments
(``tukey``, ``dunnettx``, ``sidak``, ``mvt`` and R's ``p.adjust`` methods), as emmeans 1.8
computes them. :class:`~emgkit.stats.result.MixedResult` uses it for
:meth:`~emgkit.stats.result.MixedResult.emmeans` and
:meth:`~emgkit.stats.result.MixedResult.contrasts`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..config.formula import parse_formula, variables
from ..errors import FormulaError, ModelError

#: emmeans' contrast methods -> emmeans' default p-value adjustment
METHODS = {"pairwise": "tukey", "revpairwise": "tukey", "trt.vs.ctrl": "dunnettx",
           "consec": "mvt", "poly": "none"}
#: R's p.adjust methods -> statsmodels multipletests names
P_ADJUST = {"holm": "holm", "hochberg": "simes-hochberg", "hommel": "hommel",
            "bonferroni": "bonferroni", "BH": "fdr_bh", "fdr": "fdr_bh", "BY": "fdr_by",
            "fdr_bh": "fdr_bh", "fdr_by": "fdr_by"}
#: every adjustment :func:`adjust_p` knows
ADJUSTMENTS = ("none", "tukey", "dunnettx", "sidak", "mvt") + tuple(P_ADJUST)
_POLY_NAMES = ["linear", "quadratic", "cubic", "quartic"] + [f"degree {d}" for d in range(5, 21)]


def parse_specs(specs, factors):
    """Read an emmeans ``specs`` formula.

    Parameters
    ----------
    specs : str | list of str
        ``"~ group"``, ``"~ group | condition"``, ``"~ group * condition"``,
        ``"~ muscle | group * condition"``, or with a method on the left as emmeans' two-sided
        form (``"pairwise ~ group | condition"``); or a list of factor names (no ``by``).
    factors : dict
        The model's factors (name -> levels).

    Returns
    -------
    tuple
        (method or None, list of factors compared, list of ``by`` factors).
    """
    if isinstance(specs, (list, tuple)):
        method, left, right = None, [str(s) for s in specs], []
    elif isinstance(specs, str):
        text = specs.strip()
        if "~" not in text:
            text = "~ " + text
        head, _, body = text.partition("~")
        method = head.strip() or None
        if method is not None and method not in METHODS:
            raise ModelError(f"specs={specs!r}: {method!r} on the left of '~' is not an "
                             f"emmeans method; use one of {', '.join(METHODS)}.")
        if body.count("|") > 1:
            raise ModelError(f"specs={specs!r} has more than one '|'; write e.g. "
                             f"\"~ group | condition * muscle\".")
        sides = _split_bar(body)
        parts = []
        for side in sides:
            try:
                node = parse_formula("~ " + side, what="specs", one_sided=True)
            except FormulaError as err:
                raise ModelError(f"specs={specs!r} is not an emmeans spec: {err}") from None
            parts.append(list(dict.fromkeys(variables(node.rhs))))
        left, right = parts[0], (parts[1] if len(parts) > 1 else [])
    else:
        raise ModelError(f"specs={specs!r} must be a string such as \"~ group | condition\" "
                         f"or a list of factor names.")
    unknown = [v for v in left + right if v not in factors]
    if unknown or not left:
        raise ModelError(f"specs={specs!r}: {', '.join(map(repr, unknown)) or 'nothing'} "
                         f"{'is' if len(unknown) == 1 else 'are'} not a factor of the model; "
                         f"its factors are {', '.join(factors) or 'none'}.")
    if set(left) & set(right):
        raise ModelError(f"specs={specs!r} names {sorted(set(left) & set(right))} on both "
                         f"sides of '|'.")
    return method, left, right


def _split_bar(body):
    """Split ``body`` at a '|' outside backticks."""
    inside, cut = False, None
    for i, ch in enumerate(body):
        if ch == "`":
            inside = not inside
        elif ch == "|" and not inside:
            cut = i
    return [body] if cut is None else [body[:cut], body[cut + 1:]]


def emm_cells(grid, Xg, factors, specs, by):
    """The marginal means' rows: one per combination of ``specs`` and ``by`` levels.

    Each row of the returned matrix is the equal-weight mean of the reference grid's rows in
    that cell (emmeans' default ``weights = "equal"``). Order: emmeans' grid, the first
    factor of ``specs`` varying fastest, then the others, then the ``by`` factors.

    Returns
    -------
    cells : DataFrame
        One column per factor of ``specs`` + ``by`` (levels as str).
    L : ndarray, shape (n_cells, p)
    """
    names = list(specs) + list(by)
    g = grid[names].astype(str)
    combos = pd.MultiIndex.from_product([list(map(str, factors[f])) for f in reversed(names)])
    rows, L = [], []
    for combo in combos:
        key = dict(zip(reversed(names), combo))
        mask = np.ones(len(g), bool)
        for f in names:
            mask &= g[f].to_numpy() == key[f]
        if not mask.any():
            continue
        rows.append({f: key[f] for f in names})
        L.append(Xg[mask].mean(axis=0))
    return pd.DataFrame(rows, columns=names), np.array(L)


def enhanced_labels(cells):
    """emmeans' ``enhance.levels``: a factor whose levels are all numbers (``1``, ``200``) is
    labelled with its name in front (``Diet1 - Diet2``), as emmeans 1.8 does in contrasts."""
    out = cells.copy()
    for f in out.columns:
        if all(_is_number(v) for v in out[f]):
            out[f] = f + out[f].astype(str)
    return out


def _is_number(text):
    try:
        float(str(text))
    except ValueError:
        return False
    return True


def method_matrix(method, labels, ref=None):
    """emmeans' contrast coefficients (``<method>.emmc``) over ``labels``.

    Parameters
    ----------
    method : str
        ``"pairwise"`` (every earlier level minus every later one: "a - b", "a - c",
        "b - c"), ``"revpairwise"`` (later minus earlier: "b - a", "c - a", "c - b"),
        ``"trt.vs.ctrl"`` (each level minus ``ref``), ``"consec"`` (each level minus the
        previous one), ``"poly"`` (orthogonal polynomials, integer coefficients, degree up
        to min(6, k - 1)).
    labels : list of str
        The means compared, in grid order.
    ref : int | str | None
        ``trt.vs.ctrl``'s reference: a label or emmeans' 1-based index; None: the first.

    Returns
    -------
    names : list of str
    K : ndarray, shape (n_contrasts, len(labels))
    """
    k = len(labels)
    eye = np.eye(k)
    if method == "pairwise":
        pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    elif method == "revpairwise":
        pairs = [(i, j) for i in range(1, k) for j in range(i)]
    elif method == "consec":
        pairs = [(i, i - 1) for i in range(1, k)]
    elif method == "trt.vs.ctrl":
        r = _ref_index(ref, labels)
        pairs = [(i, r) for i in range(k) if i != r]
    elif method == "poly":
        return _poly(labels)
    else:
        raise ModelError(f"method={method!r} is not an emmeans contrast method; use one of "
                         f"{', '.join(METHODS)}.")
    names = [f"{labels[i]} - {labels[j]}" for i, j in pairs]
    K = np.array([eye[i] - eye[j] for i, j in pairs]).reshape(len(pairs), k)
    return names, K


def _ref_index(ref, labels):
    if ref is None:
        return 0
    if isinstance(ref, (int, np.integer)) and not isinstance(ref, bool):
        if 1 <= ref <= len(labels):
            return int(ref) - 1
    elif str(ref) in labels:
        return labels.index(str(ref))
    raise ModelError(f"ref={ref!r} is not one of the means compared ({', '.join(labels)}) nor "
                     f"their 1-based index (1..{len(labels)}).")


def _poly(labels):
    """emmeans' ``poly.emmc``: R's ``poly(1:k, d)`` scaled to integers."""
    k = len(labels)
    deg = min(6, k - 1)
    if deg < 1:
        return [], np.zeros((0, k))
    x = np.arange(1, k + 1, dtype=float)
    Q, _ = np.linalg.qr(np.vander(x - x.mean(), deg + 1, increasing=True))
    out = []
    for d in range(1, deg + 1):
        con = Q[:, d] * np.sign(Q[-1, d])  # R: positive leading coefficient
        con = con / con[con > 0.01].min()
        z = np.max(np.abs(con - np.round(con)))
        while z > 0.05:
            con = con / z
            z = np.max(np.abs(con - np.round(con)))
        out.append(np.round(con))
    return _POLY_NAMES[:deg], np.array(out)


def adjust_p(t, df, p, adjust, families, *, n_means=None, pairwise=False, corr=None):
    """emmeans' p-value adjustment (``emmeans:::.adj.p.value``) of two-sided t tests.

    Parameters
    ----------
    t, df, p : ndarray
        t ratios, (Satterthwaite) df and unadjusted two-sided p of every row.
    adjust : str
        ``"none"``, ``"tukey"`` (Studentized range over ``n_means``; only for pairwise
        families, otherwise ``"sidak"`` as emmeans does), ``"dunnettx"`` (emmeans'
        approximation of Dunnett's test), ``"sidak"``, ``"mvt"`` (multivariate t of the
        family's correlation ``corr``; numerical integration, ~1e-4), or an R ``p.adjust``
        method (``"holm"``, ``"bonferroni"``, ``"BH"``/``"fdr"``, ``"BY"``, ``"hochberg"``,
        ``"hommel"``).
    families : list of index arrays
        The rows adjusted together (emmeans: one family per ``by`` group).
    n_means : int | None
        Means compared in each family (Tukey's range).
    pairwise : bool
        The family holds pairwise comparisons (Tukey applies).
    corr : ndarray | None
        Correlation matrix of all rows' estimates (``mvt``).

    Returns
    -------
    p_adj : ndarray
    adjust : str
        The adjustment applied ("none" when every family has one row, as emmeans).
    """
    from .evidence import adjust_p as p_adjust

    if adjust not in ADJUSTMENTS:
        raise ModelError(f"adjust={adjust!r} is not an emmeans adjustment; use one of "
                         f"{', '.join(ADJUSTMENTS)}.")
    if adjust == "tukey" and not pairwise:
        adjust = "sidak"  # emmeans: "only appropriate for one set of pairwise comparisons"
    t, df, p = (np.asarray(a, float) for a in (t, df, p))
    out = p.copy()
    if adjust == "none" or all(len(f) <= 1 for f in families):
        return out, "none"
    for rows in families:
        rows = np.asarray(rows, int)
        n = len(rows)
        if n == 0:
            continue
        a, d = np.abs(t[rows]), df[rows]
        if adjust in P_ADJUST:
            out[rows] = p_adjust(p[rows], P_ADJUST[adjust])[0]
        elif adjust == "sidak":
            out[rows] = 1 - (1 - p[rows]) ** n
        elif adjust == "tukey":
            out[rows] = stats.studentized_range.sf(np.sqrt(2) * a, n_means, d)
        elif adjust == "dunnettx":
            out[rows] = 1 - _pdunnx(a, n, d)
        elif adjust == "mvt":
            out[rows] = [_mvt_p(x, dd, corr[np.ix_(rows, rows)]) for x, dd in zip(a, d)]
    return np.clip(out, 0, 1), adjust


def _pdunnx(x, k, df):
    """emmeans' ``.pdunnx``: a Tukey/Sidak blend approximating Dunnett's distribution."""
    twt = (k - 1) / k
    tukey = stats.studentized_range.cdf(np.sqrt(2) * x, (1 + np.sqrt(1 + 8 * k)) / 2, df)
    sidak = stats.f.cdf(x ** 2, 1, df) ** k
    return twt * tukey + (1 - twt) * sidak


def _mvt_p(x, df, corr):
    """P(max |T_i| >= x) for a multivariate t with integer ``df`` (emmeans: mvtnorm::pmvt)."""
    k = len(corr)
    dist = stats.multivariate_t(loc=np.zeros(k), shape=corr, df=max(int(df), 1))
    inside = dist.cdf(np.full(k, x), lower_limit=np.full(k, -x), maxpts=50_000 * k,
                      random_state=np.random.default_rng(0))
    return float(1 - inside)


def family_rows(keys):
    """Index arrays of the rows sharing each ``by`` key, in order of first appearance."""
    keys = list(keys)
    order = list(dict.fromkeys(keys))
    return [np.flatnonzero([k == o for k in keys]) for o in order]
