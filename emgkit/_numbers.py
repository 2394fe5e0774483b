"""Numbers as a report prints them: one helper, so that a sentence, a table and a figure
title show the same value with the same digits.

Values shown together (an estimate with its confidence interval, a table column) share one
number of decimals, chosen from their magnitude so the typical value has ``digits``
significant digits ("b = 0.50, 95 % CI [1.24, 2.70]", never "b = 0.5, [1.24, 2.7]");
p-values follow APA style ("< .001", ".042", "1.000").
"""

from __future__ import annotations

import math

import numpy as np

#: the fewest and most decimals a shared format uses
_MIN_DEC, _MAX_DEC = 0, 6
#: below this magnitude (or at 1e6 and above) a lone value is printed in scientific notation
_TINY, _HUGE = 1e-4, 1e6


def decimals_for(values, digits=3):
    """Decimals that give the typical (median nonzero absolute) value ``digits``
    significant digits, and the smallest at least two (so a df of 3.95 in a column of
    129s prints "4.0", "129.0" rather than "4", "129"); the same for every value passed.

    Parameters
    ----------
    values : array-like of float
        The values printed together (NaN and inf ignored).
    digits : int
        Significant digits of the typical value.

    Returns
    -------
    int
        Decimals, between 0 and 6.
    """
    v = np.abs(np.asarray(values, float).ravel())
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return min(max(digits - 1, _MIN_DEC), _MAX_DEC)
    typical = float(np.median(v))
    dec = digits - 1 - math.floor(math.log10(typical))
    dec = max(dec, min(digits, 2) - 1 - math.floor(math.log10(float(v.min()))))
    return int(min(max(dec, _MIN_DEC), _MAX_DEC))


def fmt_num(value, digits=3, *, decimals=None):
    """One number with ``digits`` significant digits (trailing zeros kept: "0.50", "2.70"),
    or with ``decimals`` fixed decimals when given (shared with its neighbours).

    NaN and None print as "–"; integers print as integers; magnitudes below 1e-4 or from
    1e6 up in scientific notation with ``digits`` significant digits.
    """
    if value is None:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    v = float(value)
    if not math.isfinite(v):
        return "–" if math.isnan(v) else ("∞" if v > 0 else "−∞")
    if decimals is None:
        if v != 0 and (abs(v) < _TINY or abs(v) >= _HUGE):
            return f"{v:.{max(digits - 1, 0)}e}"
        decimals = decimals_for([v], digits)
    out = f"{v:.{decimals}f}"
    return "0" + out[2:] if out.startswith("-0") and float(out) == 0 else out


def fmt_nums(values, digits=3):
    """Several numbers shown together (an estimate and its CI) with one number of
    decimals; returns a list of strings."""
    vals = [float(v) if v is not None else np.nan for v in values]
    dec = decimals_for(vals, digits)
    return [fmt_num(v, digits, decimals=dec) for v in vals]


def fmt_p(p, *, prefix=False):
    """A p-value in APA style: "< .001", else three decimals without the leading zero
    (".042", "1.000"); ``prefix=True`` gives "p < .001" / "p = .042"."""
    if p is None or not math.isfinite(float(p)):
        return "p = –" if prefix else "–"
    p = float(p)
    if p < 0.001:
        return "p < .001" if prefix else "< .001"
    s = f"{p:.3f}"
    s = s.removeprefix("0")
    return f"p = {s}" if prefix else s


def is_p_column(name):
    """True for columns holding p-values (``p``, ``p_adj``, ``p_equiv``,
    ``primary_p_adj``, ``Pr(>F)``, …)."""
    n = str(name).lower()
    return (n in ("p", "pr(>f)", "pr(>|t|)", "pvalue", "p_value") or n.startswith("p_")
            or n.endswith(("_p", "_p_adj")))


#: columns printed with one number of decimals per row family: an estimate, its SE and CI
#: ("0.689  0.122  0.443  0.936", never "0.689  0.122  0.4432  0.936")
_FAMILIES = (frozenset({"estimate", "emmean", "power", "r", "se", "ci_low", "ci_high"}),)
#: columns sharing a prefix share their decimals (snr_db_<muscle>, share_<what>)
_PREFIXES = ("snr_db_", "share_")


def _floats(values):
    return [v for v in values if isinstance(v, (float, np.floating))]


def shared_decimals(columns, digits=3):
    """Decimals shared by related columns of one table: an estimate with its SE and CI
    limits, and columns with a common prefix (``snr_db_<muscle>``).

    Parameters
    ----------
    columns : dict of str to list
        Column name -> values.
    digits : int

    Returns
    -------
    dict of str to int
        Decimals per column of a family of two or more float columns; other columns are
        absent (each keeps its own, :func:`format_column`).
    """
    families = [[c for c in columns if c in fam] for fam in _FAMILIES]
    families += [[c for c in columns if c.startswith(pre)] for pre in _PREFIXES]
    # one quantity as the primary specification's and as the median: primary_x, median_x
    stems = [c.split("_", 1)[1] for c in columns if c.startswith(("primary_", "median_"))]
    families += [[c for c in columns if c in (f"primary_{s}", f"median_{s}")]
                 for s in dict.fromkeys(stems)]
    out = {}
    for fam in families:
        fam = [c for c in fam if c not in out and _floats(columns[c])
               and not is_p_column(c)]
        if len(fam) < 2:
            continue
        arr = np.abs(np.asarray([v for c in fam for v in _floats(columns[c])], float))
        arr = arr[np.isfinite(arr) & (arr > 0)]
        if arr.size and (arr.max() / arr.min() > 1e4 or arr.max() >= _HUGE):
            continue  # orders of magnitude apart: each column its own digits
        if arr.size and np.all(arr == np.round(arr)):
            continue  # whole numbers
        dec = decimals_for(arr, digits)
        out.update(dict.fromkeys(fam, dec))
    return out


def format_column(name, values, digits=3, *, decimals=None):
    """The strings of one table column: p-values in APA style, other floats with the
    column's shared decimals (see :func:`decimals_for`), everything else as text.

    A column whose values span more than four orders of magnitude (e.g. F from 0.01 to
    900) is printed per value with ``digits`` significant digits instead. ``decimals``
    (from :func:`shared_decimals`) sets the decimals of a column printed beside related
    ones.
    """
    vals = list(values)
    floats = _floats(vals)
    if not floats:
        return [fmt_num(v, digits) if isinstance(v, (int, np.integer)) else
                ("–" if v is None else str(v)) for v in vals]
    if is_p_column(name):
        return [fmt_p(v) if isinstance(v, (float, np.floating, int, np.integer))
                else str(v) for v in vals]
    arr = np.abs(np.asarray(floats, float))
    arr = arr[np.isfinite(arr) & (arr > 0)]
    wide = arr.size and (arr.max() / arr.min() > 1e4 or arr.max() >= _HUGE)
    dec = None if wide else decimals_for(arr, digits)
    integral = arr.size and bool(np.all(arr == np.round(arr))) and arr.max() < _HUGE
    if decimals is not None:
        dec, integral = decimals, False
    out = []
    for v in vals:
        if isinstance(v, (float, np.floating)):
            if integral and math.isfinite(v):
                out.append(str(int(v)))
            else:
                out.append(fmt_num(v, digits, decimals=dec))
        else:
            out.append(fmt_num(v, digits) if isinstance(v, (int, np.integer)) else str(v))
    return out
