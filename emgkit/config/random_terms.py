"""Random terms as lme4 reads them: ``(x || g)``, ``(0 + x | g)``, ``(1 | a/b)`` and
``(1 | a:b)`` expanded into :class:`RandomTerm` s (lme4's ``expandDoubleVerts`` and
``findbars``), from a formula parsed by :func:`emgkit.config.formula.parse_formula` or from
the ``re_formula`` shorthand. Which of them a model fits, and how, is decided in
:mod:`emgkit.stats.model`."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import FormulaError
from .formula import Neg, Num, Op, Random, Var, deparse, parse_formula, r_name, summands

#: the most random terms (after lme4's expansion of ``/`` and ``||``) a formula may hold
MAX_RANDOM_TERMS = 16


@dataclass(frozen=True)
class RandomTerm:
    """A random term read from a formula: ``(1 + slopes | group)``, after lme4's expansions
    (``||`` into one term per part of the left-hand side, ``a/b`` into ``a`` and ``b:a``).

    Attributes
    ----------
    group : str
        The grouping's name: a column, or ``a:b`` for the interaction of columns.
    slopes : object | None
        Expression of the slope terms (None: none).
    pos : int
        Position in the formula's text.
    intercept : bool
        The term has a random intercept (``(0 + x | g)`` has not).
    columns : tuple of str
        The grouping columns (one, or several for an interaction ``a:b``).
    """

    group: str
    slopes: object | None
    pos: int = 0
    intercept: bool = True
    columns: tuple = ()

    @property
    def grouping(self):
        """The grouping columns (``(group,)`` for a plain term)."""
        return self.columns or (self.group,)

    def lhs(self):
        """The left-hand side as lme4 reads it (``1``, ``1 + x``, ``0 + x``)."""
        head = "1" if self.intercept else "0"
        return head if self.slopes is None else f"{head} + {deparse(self.slopes, r=True)}"

    def __str__(self):
        lhs = self.lhs()
        return f"({lhs} | {':'.join(r_name(c) for c in self.grouping)})"


def _groupings(node, formula, what, shown):
    """The grouping column tuples of a random term's right-hand side: ``g`` -> [(g,)],
    ``a:b`` -> [(a, b)], ``a/b`` -> [(a,), (b, a)] (lme4's ``b:a``), ``a/b/c`` -> three."""
    if isinstance(node, Var):
        return [(node.name,)]
    if isinstance(node, Op) and node.op == ":":
        left = _groupings(node.left, formula, what, shown)
        right = _groupings(node.right, formula, what, shown)
        if len(left) == 1 and len(right) == 1:
            return [left[0] + right[0]]
    if isinstance(node, Op) and node.op == "/":
        outer = _groupings(node.left, formula, what, shown)
        inner = _groupings(node.right, formula, what, shown)
        if len(inner) == 1:
            return outer + [inner[0] + outer[-1]]
    raise FormulaError(f"{what} = {formula.text!r}: the grouping of {shown} is not a column, "
                       f"an interaction a:b or a nesting a/b; write e.g. (1 | school/class) "
                       f"or (1 | school:class).")


def _join(parts):
    node = None
    for s in parts:
        node = s if node is None else Op("+", node, s)
    return node


def random_terms(formula, *, what="formula"):
    """The random terms of a formula, expanded as lme4 expands them.

    ``(x || g)`` becomes ``(1 | g) + (0 + x | g)`` (one term per part of the left-hand
    side, as lme4's ``||``: a factor's columns stay correlated with each other);
    ``(1 | a/b)`` becomes ``(1 | a) + (1 | b:a)``; ``(1 | a:b)`` groups by the combination
    of the columns. The same grouping may carry several terms.

    Returns
    -------
    list of RandomTerm

    Raises
    ------
    FormulaError
        A grouping that is not a column, an interaction or a nesting, one that names a
        column twice (``(1 | a/b/a)``), a term without any random effect (``(0 | g)``), or
        more than :data:`MAX_RANDOM_TERMS` terms after the expansion.
    """
    out = []
    for term in summands(formula.rhs):
        if not isinstance(term, Random):
            continue
        shown = deparse(term)
        groupings = _groupings(term.group, formula, what, shown)
        intercept, slopes = _lhs_parts(term.lhs)
        if not intercept and not slopes:
            raise FormulaError(f"{what} = {formula.text!r}: {shown} has no random effect; "
                               f"write (1 | g) or (0 + x | g).")
        if term.double:  # lme4's expandDoubleVerts: one term per part
            parts = ([(True, None)] if intercept else []) + [(False, s) for s in slopes]
        else:
            parts = [(intercept, _join(slopes))]
        for cols in groupings:
            if len(set(cols)) < len(cols):
                raise FormulaError(f"{what} = {formula.text!r}: {shown} names a column twice "
                                   f"in one grouping ({':'.join(cols)}); each column once, "
                                   f"e.g. (1 | school/class).")
            for icpt, sl in parts:
                out.append(RandomTerm(":".join(cols), sl, term.pos, icpt,
                                      cols if len(cols) > 1 else ()))
        if len(out) > MAX_RANDOM_TERMS:
            raise FormulaError(f"{what} = {formula.text!r}: the random part expands to "
                               f"{len(out)} terms (lme4's expansion of / and ||); emgkit "
                               f"fits at most {MAX_RANDOM_TERMS}; simplify the random "
                               f"structure, e.g. (1 | participant_id) + (1 | stimulus).")
    return out


def re_formula_term(re_formula, group, *, what="re_formula"):
    """The random term of the ``re_formula`` shorthand: ``"~ condition"`` is ``(1 + condition
    | group)``, ``"~ 0 + day"`` is ``(0 + day | group)`` (no random intercept, as lme4).

    Returns
    -------
    RandomTerm

    Raises
    ------
    FormulaError
        Not in the grammar, or ``"~ 0"`` (no random effect at all).
    """
    tree = parse_formula(re_formula, what=what, one_sided=True)
    intercept, slopes = _lhs_parts(tree.rhs)
    if not intercept and not slopes:
        raise FormulaError(f"{what} = {re_formula!r} has no random effect; give slopes, e.g. "
                           f"'~ 0 + condition', or leave it out.")
    return RandomTerm(group, _join(slopes), 0, intercept)


def _lhs_parts(tree):
    """A random term's left side as lme4 reads it: (intercept?, slope terms); ``1``/``0``/
    ``-1`` switch the intercept on or off."""
    slopes, intercept = [], True
    for part in summands(tree):
        if isinstance(part, Num):
            intercept = part.value == 1
        elif isinstance(part, Neg) and isinstance(part.operand, Num):
            intercept = part.operand.value == 0
        else:
            slopes.append(part)
    return intercept, slopes
