"""The model-formula grammar: lme4/R formulas read by emgkit's own parser, never evaluated.

A formula is text from a config, the command line or a notebook, so it is parsed into a
small syntax tree here and nothing in it is ever run as code (patsy, which the designs used
to come from, ``eval``\\ s formula text). Everything that builds a design
(:mod:`emgkit.stats.formula`), the R code, the power and multiverse commands and the config
check go through :func:`parse_formula`.

Grammar (R's operators and precedence, loosest first)::

    formula := [outcome] "~" sum
    sum     := ["+" | "-"] product (("+" | "-") product)*
    product := inter (("*" | "/") inter)*
    inter   := power (":" power)*
    power   := atom ["^" integer]
    atom    := name | `any name` | 0 | 1 | "(" sum ")" | "(" sum ("|" | "||") sum ")"
             | log(name) | scale(name) | center(name) | C(name) | factor(name)
             | poly(name, integer)

Names are R names (letters, digits, ``.`` and ``_``, e.g. ``Informed.liking``) or any text
in backticks (``\\`mood (1-7)\\```); a name is always a column, so ``scale``, ``C`` or ``log``
are columns too unless followed by ``(``. Random terms ``(1 | g)``, ``(x | g)`` are read
here; :mod:`emgkit.config.random_terms` expands them as lme4 does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import FormulaError

#: functions a formula may call (resolved by emgkit; everything else is refused)
TRANSFORMS = {"log": "natural logarithm of a numeric column",
              "scale": "z-score (mean 0, SD 1 with n - 1, as R's scale())",
              "center": "mean-centred (R: scale(x, scale = FALSE))",
              "C": "the column as a factor (categorical)",
              "factor": "the column as a factor (categorical)",
              "poly": "orthogonal polynomials of a given degree, as R's poly(x, degree)"}

#: the most tokens (names, numbers, operators) and the deepest parentheses a formula may hold
MAX_TOKENS, MAX_DEPTH = 1000, 32


_HINT = ("formulas hold column names (backticks for any other name, e.g. `mood (1-7)`), the "
         "operators + - * : / ^ |, 0 and 1, and the functions "
         + ", ".join(f"{f}()" for f in TRANSFORMS))

_NAME = re.compile(r"(?:[^\W\d]|\.(?![0-9]))[\w.]*")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_OPS = ("||", "~", "+", "-", "*", "/", ":", "^", "(", ")", "|", ",")
_WHAT = {"'": "a string", '"': "a string", "[": "a subscript", "]": "a subscript",
         "{": "a brace", "}": "a brace", "=": "an assignment or keyword argument",
         "$": "element access", "@": "slot access", "%": "an R %op%", ";": "a second statement",
         "!": "a logical operator", "&": "a logical operator", "<": "a comparison",
         ">": "a comparison", "\\": "a backslash", "#": "a comment", "?": "a help query"}
_R_RESERVED = {"if", "else", "repeat", "while", "function", "for", "next", "break", "TRUE",
               "FALSE", "NULL", "Inf", "NaN", "NA", "NA_integer_", "NA_real_",
               "NA_character_", "NA_complex_", "in"}


# -- syntax tree ------------------------------------------------------------------------
@dataclass(frozen=True)
class Var:
    """A column, e.g. ``condition`` or ```mood (1-7)```."""

    name: str
    pos: int = 0


@dataclass(frozen=True)
class Num:
    """``0`` or ``1`` (intercept), or an integer argument (``^ 2``, ``poly(x, 2)``)."""

    value: int
    pos: int = 0


@dataclass(frozen=True)
class Call:
    """One of :data:`TRANSFORMS` applied to a column; ``degree`` for ``poly``."""

    func: str
    arg: Var
    degree: int | None = None
    pos: int = 0


@dataclass(frozen=True)
class Op:
    """A binary formula operator: ``+ - * / : ^``."""

    op: str
    left: object
    right: object
    pos: int = 0


@dataclass(frozen=True)
class Neg:
    """A leading ``-`` (``- 1``: no intercept) or ``+``."""

    op: str
    operand: object
    pos: int = 0


@dataclass(frozen=True)
class Random:
    """A random term ``(lhs | group)``, or ``(lhs || group)`` (uncorrelated)."""

    lhs: object
    group: object
    double: bool = False
    pos: int = 0


@dataclass(frozen=True)
class Formula:
    """A parsed formula: ``outcome`` (a :class:`Var` or None) and the right-hand side."""

    outcome: Var | None
    rhs: object
    text: str = ""

    def __str__(self):
        return deparse(self)


# -- tokens ----------------------------------------------------------------------------
def _fail(text, what, pos, problem, hint=_HINT):
    shown = text if len(text) <= 120 else text[:117] + "..."
    raise FormulaError(f"{what} = {shown!r} cannot be parsed: {problem} at character "
                       f"{pos + 1}; {hint}.")


def _tokens(text, what):
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "`":
            end = text.find("`", i + 1)
            if end < 0:
                _fail(text, what, i, "a backtick is not closed", "close it: `my column`")
            name = text[i + 1:end]
            if not name or "\n" in name or "\\" in name:
                _fail(text, what, i, f"the quoted name `{name}` is empty or holds a newline "
                      "or backslash", "rename the column")
            out.append(("name", name, i))
            i = end + 1
            continue
        if text.startswith("**", i):
            _fail(text, what, i, "'**' is not formula syntax",
                  "write ^ for crossing up to an order, e.g. (a + b + c)^2")
        m = _NUMBER.match(text, i)
        if m:
            out.append(("num", m.group(), i))
            i = m.end()
            continue
        m = _NAME.match(text, i)
        if m:
            out.append(("name", m.group(), i))
            i = m.end()
            continue
        op = next((o for o in _OPS if text.startswith(o, i)), None)
        if op is None:  # refused when the parser reaches it (an earlier error names more)
            out.append(("bad", ch, i))
            i += 1
            continue
        out.append(("op", op, i))
        i += len(op)
    out.append(("end", "", len(text)))
    _check_size(text, what, out)
    return out


def _check_size(text, what, toks):
    """Refuse formulas too long or too deeply parenthesised to parse and expand (the parser
    and the tree walks recurse: a RecursionError instead of a message)."""
    if len(toks) > MAX_TOKENS:
        _fail(text, what, toks[MAX_TOKENS][2], f"the formula has {len(toks) - 1} tokens, "
              f"more than the {MAX_TOKENS} emgkit reads", "shorten it (a model has a few "
              "terms; several models are several formulas)")
    depth = 0
    for kind, value, pos in toks:
        if kind == "op" and value == "(":
            depth += 1
            if depth > MAX_DEPTH:
                _fail(text, what, pos, f"parentheses nest deeper than {MAX_DEPTH}",
                      "remove the redundant parentheses")
        elif kind == "op" and value == ")":
            depth -= 1


# -- parser ----------------------------------------------------------------------------
class _Parser:
    def __init__(self, text, what):
        self.text, self.what = text, what
        self.toks = _tokens(text, what)
        self.k = 0

    def peek(self):
        return self.toks[self.k]

    def take(self):
        tok = self.toks[self.k]
        if tok[0] == "bad":
            kind = _WHAT.get(tok[1], "a character formulas do not use")
            self.fail(tok, f"unexpected {tok[1]!r} ({kind})")
        self.k += 1
        return tok

    def fail(self, tok, problem, hint=_HINT):
        _fail(self.text, self.what, tok[2], problem, hint)

    def describe(self, tok):
        if tok[0] == "bad":
            return f"{tok[1]!r} ({_WHAT.get(tok[1], 'a character formulas do not use')})"
        return "the end of the formula" if tok[0] == "end" else repr(tok[1])

    def expect(self, op, hint=_HINT):
        tok = self.take()
        if tok != ("op", op, tok[2]):
            self.fail(tok, f"expected {op!r}, found {self.describe(tok)}", hint)
        return tok

    def formula(self):
        outcome = None
        if self.peek()[1] != "~":
            tok = self.peek()
            lhs = self.sum(random=False)
            if not isinstance(lhs, Var):
                self.fail(tok, "the outcome (left of '~') must be one column",
                          "transform it in the table first, e.g. a column log_score")
            outcome = lhs
        self.expect("~", "a model formula reads outcome ~ predictors, e.g. "
                         "score ~ group * condition")
        rhs = self.sum(random=True)
        tok = self.peek()
        if tok[0] != "end":
            self.fail(tok, f"unexpected {self.describe(tok)}")
        return Formula(outcome, rhs, self.text)

    def sum(self, random):
        tok = self.peek()
        if tok[1] in ("+", "-") and tok[0] == "op":
            self.take()
            node = self.product(random)
            if tok[1] == "-" and not isinstance(node, Num):
                self.fail(tok, "a leading '-' removes only the intercept",
                          "write - 1 or 0 + to drop it, and leave other terms out")
            if tok[1] == "-":
                node = Neg("-", node, tok[2])
        else:
            node = self.product(random)
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-"):
            op = self.take()
            node = Op(op[1], node, self.product(random), op[2])
        return node

    def product(self, random):
        node = self.inter(random)
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/"):
            op = self.take()
            node = Op(op[1], node, self.inter(random), op[2])
        return node

    def inter(self, random):
        node = self.power(random)
        while self.peek()[0] == "op" and self.peek()[1] == ":":
            op = self.take()
            node = Op(":", node, self.power(random), op[2])
        return node

    def power(self, random):
        node = self.atom(random)
        if self.peek()[0] == "op" and self.peek()[1] == "^":
            op = self.take()
            node = Op("^", node, self.integer(low=1), op[2])
        return node

    def integer(self, low):
        tok = self.take()
        if tok[0] != "num" or not tok[1].isdigit() or int(tok[1]) < low:
            self.fail(tok, f"expected a whole number ≥ {low}, found {self.describe(tok)}")
        return Num(int(tok[1]), tok[2])

    def atom(self, random):
        tok = self.take()
        kind, val, pos = tok
        if kind == "num":
            if val not in ("0", "1"):
                self.fail(tok, f"the number {val} is not a term", "only 0 and 1 (the "
                          "intercept) stand alone; transform the column in the table instead")
            return Num(int(val), pos)
        if kind == "name":
            if self.peek()[1] == "(" and self.peek()[0] == "op":
                return self.call(tok)
            return Var(val, pos)
        if (kind, val) == ("op", "("):
            inner = self.sum(random=False)
            nxt = self.peek()
            if nxt[0] == "op" and nxt[1] in ("|", "||"):
                if not random:
                    self.fail(nxt, f"a random term ({val}... {nxt[1]} ...) is only allowed as "
                              "a term of the right-hand side", "add it with +, e.g. "
                              "score ~ condition + (1 | participant_id)")
                self.take()
                group = self.sum(random=False)
                self.expect(")")
                return Random(inner, group, nxt[1] == "||", pos)
            self.expect(")")
            return inner
        self.fail(tok, f"expected a term, found {self.describe(tok)}")

    def call(self, name_tok):
        func, pos = name_tok[1], name_tok[2]
        if func not in TRANSFORMS:
            sugg = ""
            tail = func.rsplit(".", 1)[-1]
            if tail in TRANSFORMS:
                sugg = f"write {tail}(...) (R syntax) instead of {func}(...); "
            self.fail(name_tok, f"{func!r} is not a function emgkit resolves",
                      sugg + "allowed: " + ", ".join(
                          "poly(x, degree)" if f == "poly" else f"{f}(x)" for f in TRANSFORMS))
        self.expect("(")
        arg_tok = self.take()
        if arg_tok[0] != "name" or self.peek()[1] not in (",", ")"):
            self.fail(arg_tok, f"{func}() takes one column name, found "
                      f"{self.describe(arg_tok)}", "make a column of the expression in the "
                      "table first")
        degree = None
        if func == "poly":
            self.expect(",", "write poly(x, degree), e.g. poly(age, 2)")
            degree = self.integer(low=1).value
        self.expect(")", f"{func}() takes " + ("a column and a degree" if func == "poly"
                                               else "one column name"))
        return Call(func, Var(arg_tok[1], arg_tok[2]), degree, pos)


def parse_formula(text, *, what="formula", one_sided=False):
    """Parse an lme4/R model formula (never evaluated).

    Parameters
    ----------
    text : str
        E.g. ``"score ~ group * condition + (1 | participant_id)"``; with ``one_sided``,
        ``"~ condition"`` (random slopes).
    what : str
        Names the formula's source in errors (a config key, ``--formula``, ...).
    one_sided : bool
        The formula has no outcome (a random-effects formula).

    Returns
    -------
    Formula

    Raises
    ------
    FormulaError
        (a :class:`~emgkit.errors.ConfigError` and a :class:`~emgkit.errors.ModelError`)
        naming the offending token and its position, and what formulas may hold.
    """
    if not isinstance(text, str) or not text.strip():
        raise FormulaError(f"{what} must be a formula text such as 'score ~ group * "
                           f"condition', got {text!r}.")
    if isinstance(text, str) and one_sided and "~" not in text:
        text = "~ " + text
    out = _Parser(text, what).formula()
    if one_sided and out.outcome is not None:
        raise FormulaError(f"{what} = {text!r} has an outcome; give only the right-hand side, "
                           f"e.g. '~ condition'.")
    if not one_sided and out.outcome is None:
        raise FormulaError(f"{what} = {text!r} needs one outcome on the left of '~', e.g. "
                           f"'score ~ group * condition'.")
    top = {id(t) for t in summands(out.rhs)}
    for node in walk(out.rhs):
        if isinstance(node, Random) and id(node) not in top:
            _fail(text, what, node.pos, f"the random term {deparse(node)} is combined with "
                  f"other operators than +", "add random terms with +, e.g. "
                  "score ~ condition + (1 | participant_id)")
    if one_sided:
        for node in walk(out.rhs):
            if isinstance(node, Random):
                raise FormulaError(f"{what} = {text!r}: a random term inside a random-effects "
                                   f"formula; give the slopes only, e.g. '~ condition'.")
    return out


# -- reading the tree ------------------------------------------------------------------
def walk(node):
    """Every node under ``node`` (itself first)."""
    yield node
    for child in (getattr(node, f, None) for f in ("outcome", "rhs", "left", "right", "operand",
                                                     "lhs", "group", "arg")):
        if child is not None:
            yield from walk(child)


def summands(node):
    """The top-level ``+`` operands of an expression (a leading ``-`` kept as :class:`Neg`)."""
    if isinstance(node, Op) and node.op == "+":
        return summands(node.left) + summands(node.right)
    if isinstance(node, Neg) and node.op == "+":
        return summands(node.operand)
    return [node]


def variables(node):
    """Columns an expression uses, in order of appearance."""
    out = []
    for n in walk(node):
        if isinstance(n, Var) and n.name not in out:
            out.append(n.name)
    return out


def categorical(node):
    """Columns an expression declares as factors with ``C()`` or ``factor()``."""
    return {n.arg.name for n in walk(node) if isinstance(n, Call) and n.func in ("C", "factor")}


def fixed_part(formula):
    """The right-hand side without its random terms (``1`` when nothing is left).

    Raises
    ------
    FormulaError
        A random term combined with other operators than ``+``.
    """
    kept = []
    for term in summands(formula.rhs):
        if isinstance(term, Random):
            continue
        if any(isinstance(n, Random) for n in walk(term)):
            raise FormulaError(f"formula = {formula.text!r}: a random term can only be added "
                               f"with +, e.g. 'score ~ condition + (1 | participant_id)'.")
        kept.append(term)
    if not kept:
        return Num(1)
    node = kept[0]
    for term in kept[1:]:
        node = Op("+", node, term)
    return node


# -- writing it back -------------------------------------------------------------------
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, ":": 3, "^": 5}


def r_name(name):
    """A column name as R writes it in a formula (backticks unless it is a syntactic name)."""
    ok = re.fullmatch(r"(?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*", name)
    if ok and name not in _R_RESERVED:
        return name
    escaped = name.replace("\\", "\\\\").replace("`", "\\`").replace("\n", "\\n")
    return f"`{escaped}`"


def deparse(node, prec=0, *, r=False):
    """Formula text of a tree (R syntax; parentheses only where needed).

    With ``r``, transforms are written as R calls them (``center(x)`` as ``scale(x, scale =
    FALSE)``), and ``C(x)`` / ``factor(x)`` as ``x`` (emgkit's R code turns the column into a
    factor with emgkit's levels first, so R's coefficient names are emgkit's).
    """
    if isinstance(node, Formula):
        lhs = deparse(node.outcome, r=r) + " " if node.outcome is not None else ""
        return f"{lhs}~ {deparse(node.rhs, r=r)}"
    if isinstance(node, Var):
        return r_name(node.name)
    if isinstance(node, Num):
        return str(node.value)
    if isinstance(node, Call):
        arg = r_name(node.arg.name)
        if node.func == "poly":
            return f"poly({arg}, {node.degree})"
        if r and node.func == "center":
            return f"scale({arg}, scale = FALSE)"
        if r and node.func in ("C", "factor"):  # the R code makes it a factor beforehand
            return arg
        return f"{node.func}({arg})"
    if isinstance(node, Random):
        bar = "||" if node.double else "|"
        return f"({deparse(node.lhs, r=r)} {bar} {deparse(node.group, r=r)})"
    if isinstance(node, Neg):
        text = f"{node.op}{deparse(node.operand, 4, r=r)}"
        return f"({text})" if prec > 1 else text
    p = _PREC[node.op]
    # left-associative: the right operand needs parentheses at equal precedence
    left = deparse(node.left, p, r=r)
    right = deparse(node.right, p + 1, r=r)
    text = f"{left}{node.op}{right}" if node.op in ":^" else f"{left} {node.op} {right}"
    return f"({text})" if p < prec else text

