"""Design matrices from parsed formulas, built from code emgkit writes.

A formula is parsed by :func:`emgkit.config.formula.parse_formula` (never evaluated). Here
the parsed tree is compiled for patsy, which keeps the validated coding (treatment and
sum-to-zero contrasts, R's term order and marginality rules): every column the model uses
is renamed to a safe alias (``_e0``, ``_e1``, ...), the patsy formula is written from the
tree with those aliases and emgkit's own transforms only, and column and term names are
mapped back to the user's names in R's spelling. So column names may be anything a table
can hold (``Informed.liking``, ``scale``, ``C``, ``mood (1-7)``), and no user text reaches
patsy's ``eval``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import patsy

from ..config.formula import (
    Call,
    Formula,
    Neg,
    Num,
    Var,
    categorical,
    deparse,
    fixed_part,
    parse_formula,
    r_name,
    variables,
)
from ..config.random_terms import random_terms
from ..errors import ModelError


class _Poly:
    """R's ``poly(x, degree)``: orthogonal polynomials of the training data (three-term
    recurrence, as ``predict(poly(...))`` evaluates them at new values)."""

    def __init__(self):
        self._chunks = []
        self.alpha = self.norm2 = None

    def memorize_chunk(self, x, degree):
        self._chunks.append(np.asarray(x, float).ravel())

    def memorize_finish(self):
        x = np.concatenate(self._chunks)
        self._x = x

    def _fit(self, degree):
        x = self._x
        if len(np.unique(x)) <= degree:
            raise ModelError(f"poly(..., {degree}): the column has {len(np.unique(x))} "
                             f"distinct values; the degree must be lower.")
        alpha, norm2 = [], [1.0, float(len(x))]
        prev, cur = np.zeros_like(x), np.ones_like(x)
        for i in range(degree):
            alpha.append(float(np.sum(x * cur ** 2) / norm2[-1]))
            nxt = (x - alpha[-1]) * cur - (norm2[-1] / norm2[-2] if i else 0.0) * prev
            prev, cur = cur, nxt
            norm2.append(float(np.sum(cur ** 2)))
        self.alpha, self.norm2 = alpha, norm2

    def transform(self, x, degree):
        if self.alpha is None:
            self._fit(degree)
        x = np.asarray(x, float).ravel()
        cols, prev, cur = [], np.zeros_like(x), np.ones_like(x)
        for i in range(degree):
            nxt = ((x - self.alpha[i]) * cur
                   - (self.norm2[i + 1] / self.norm2[i] if i else 0.0) * prev)
            prev, cur = cur, nxt
            cols.append(cur / np.sqrt(self.norm2[i + 2]))
        return np.column_stack(cols)


#: the only names the generated patsy code calls besides patsy's C/Sum/center/standardize
_ENV = patsy.EvalEnvironment([{"_log": np.log, "_poly": patsy.stateful_transform(_Poly)}])


@dataclass(frozen=True)
class Design:
    """A design built from a parsed formula: patsy's coding, the aliases it was built with
    and the names in the user's (R's) spelling.

    Attributes
    ----------
    info : patsy.DesignInfo | None
        patsy's record of the coding (None for an intercept-only design).
    alias : dict
        Column -> alias used in the generated code.
    column_names : list of str
        R (lme4) names of the columns: ``(Intercept)``, ``groupnaltrexone``,
        ``groupnaltrexone:conditionhappy``, ``log(age)``, ``poly(age, 2)1``.
    terms : dict
        Term name (``group:condition``) -> column slice; no intercept.
    term_columns : list of set
        The data columns of each term (the intercept's set is empty).
    """

    info: object
    alias: dict
    column_names: list
    terms: dict
    term_columns: list

    def build(self, data):
        """The design of new rows (e.g. a reference grid) with this coding.

        Parameters
        ----------
        data : DataFrame
            The model's columns under the user's names.

        Returns
        -------
        ndarray
        """
        if self.info is None:
            return np.ones((len(data), 1))
        frame = data[list(self.alias)].set_axis(list(self.alias.values()), axis=1)
        return np.asarray(patsy.build_design_matrices([self.info], frame)[0])


@dataclass
class ModelFormula:
    """A parsed model formula and what a model needs from it.

    Attributes
    ----------
    formula : Formula
        The syntax tree of the whole formula.
    fixed : object
        The right-hand side without random terms.
    random : list of RandomTerm
        Random terms written in the formula (``(1 + x | g)``).
    outcome : str
        The outcome column.
    predictors : list of str
        Columns of the fixed effects, in order of appearance.
    categorical : set of str
        Columns declared factors with ``C()`` / ``factor()``.
    """

    formula: Formula
    fixed: object
    random: list
    outcome: str
    predictors: list
    categorical: set

    def __str__(self):
        return deparse(Formula(self.formula.outcome, self.fixed))

    def matrix(self, data, factors, *, rhs=None, sum_coded=False):
        """Build a design matrix from the tree (never from the formula's text).

        Parameters
        ----------
        data : DataFrame
            Model data under the user's column names (factors as ordered categoricals).
        factors : dict
            Categorical column -> levels.
        rhs : object | None
            A right-hand-side tree; None = the fixed effects.
        sum_coded : bool
            Sum-to-zero coding for every factor.

        Returns
        -------
        X : ndarray
        design : Design
        """
        return design_matrix(self.fixed if rhs is None else rhs, data, factors,
                             sum_coded=sum_coded)


def design_matrix(rhs, data, factors, *, sum_coded=False):
    """Build the design of a right-hand-side tree; see :meth:`ModelFormula.matrix`."""
    cols = variables(rhs)
    alias = {c: f"_e{k}" for k, c in enumerate(cols)}
    info = {}
    code = _code(rhs, alias, sum_coded, factors, info)
    frame = data[cols].set_axis([alias[c] for c in cols], axis=1) if cols else \
        data.iloc[:, :0]
    try:
        mat = patsy.dmatrix(code, frame, eval_env=_ENV, NA_action="raise",
                            return_type="dataframe")
    except patsy.PatsyError as exc:
        msg = str(exc.message)
        for col, a in sorted(alias.items(), key=lambda kv: -len(kv[1])):
            msg = msg.replace(a, col)
        raise ModelError(f"Cannot build the design for {deparse(rhs)!r}: {msg}.") from None
    dinfo = mat.design_info
    if not cols:
        if dinfo.column_names != ["Intercept"]:
            raise ModelError(f"The design {deparse(rhs)!r} has no columns; keep the "
                             f"intercept or add a term.")
        return np.ones((len(data), 1)), Design(None, {}, ["(Intercept)"], {}, [set()])
    shown = {key: val[0] for key, val in info.items()}
    terms = {":".join(shown[f.code] for f in t.factors): sl
             for t, sl in dinfo.term_slices.items() if t.factors}
    return mat.to_numpy(float), Design(dinfo, alias, _labels(dinfo, shown), terms,
                                          [{info[f.code][1] for f in t.factors}
                                           for t in dinfo.terms])


def _code(node, alias, sum_coded, factors, info):
    """patsy code for a tree: aliases and emgkit's transforms only; ``info`` collects
    patsy's factor code -> (name shown, column)."""
    if isinstance(node, Num):
        return str(node.value)
    if isinstance(node, Var | Call):
        var = node if isinstance(node, Var) else node.arg
        a = alias[var.name]
        func = node.func if isinstance(node, Call) else None
        if func == "log":
            code = f"_log({a})"
        elif func == "scale":
            code = f"standardize({a}, ddof=1)"
        elif func == "center":
            code = f"center({a})"
        elif func == "poly":
            code = f"_poly({a}, {node.degree})"
        elif sum_coded and var.name in factors:
            code = f"C({a}, Sum)"
        else:
            code = a
        shown = r_name(var.name) if func in (None, "C", "factor") else deparse(node)
        info.setdefault(patsy.EvalFactor(code).code, (shown, var.name))
        return code
    if isinstance(node, Neg):
        return f"-{_code(node.operand, alias, sum_coded, factors, info)}"
    left = _code(node.left, alias, sum_coded, factors, info)
    right = _code(node.right, alias, sum_coded, factors, info)
    return f"({left}) {'**' if node.op == '^' else node.op} ({right})"


def _labels(dinfo, shown):
    """R names of a patsy design's columns (patsy's order, the user's column names)."""
    out = []
    for subterms in dinfo.term_codings.values():
        for sub in subterms:
            sizes = [dinfo.factor_infos[f].num_columns
                     if dinfo.factor_infos[f].type == "numerical"
                     else sub.contrast_matrices[f].matrix.shape[1] for f in sub.factors]
            for combo in _combinations(sizes):
                pieces = []
                for f, k in zip(sub.factors, combo, strict=True):
                    fi = dinfo.factor_infos[f]
                    if fi.type == "numerical":
                        pieces.append(shown[f.code] + (str(k + 1) if fi.num_columns > 1
                                                       else ""))
                        continue
                    suffix = sub.contrast_matrices[f].column_suffixes[k]
                    for head in ("[T.", "[S.", "["):
                        if suffix.startswith(head):
                            suffix = suffix[len(head):-1]
                            break
                    pieces.append(shown[f.code] + suffix)
                out.append(":".join(pieces) if pieces else "(Intercept)")
    return out


def _combinations(sizes):
    """patsy's column order within a subterm: the left-most factor varies fastest."""
    if not sizes:
        yield ()
        return
    for rest in _combinations(sizes[1:]):
        for k in range(sizes[0]):
            yield (k, *rest)


def model_formula(formula, *, what="formula"):
    """Parse a two-sided model formula into a :class:`ModelFormula`.

    Parameters
    ----------
    formula : str | Formula | ModelFormula
    what : str
        Names the source in errors.

    Raises
    ------
    FormulaError
        Text outside the formula grammar, or a random-effects structure emgkit does not
        fit (see :func:`emgkit.config.random_terms.random_terms`).
    """
    if isinstance(formula, ModelFormula):
        return formula
    tree = formula if isinstance(formula, Formula) else parse_formula(formula, what=what)
    fixed = fixed_part(tree)
    return ModelFormula(formula=tree, fixed=fixed, random=random_terms(tree, what=what),
                        outcome=tree.outcome.name, predictors=variables(fixed),
                        categorical=categorical(fixed))
