"""argparse ``type=`` helpers shared by every command (no numpy: the command line starts fast).

A bad value stops the command before anything runs, with one line naming the option, what is
allowed and what was received (``emgkit: error: argument --seed: -1 is out of range; give a
seed at least 0``), exit code 2.
"""

from __future__ import annotations

import argparse
import math

#: bounds of the command-line numbers (values beyond them are refused before anything runs)
MAX_SUBJECTS = 1000
MAX_TRIALS = 1000
MAX_SIMULATIONS = 100_000
MAX_N_PER_GROUP = 10_000
MAX_TRIALS_PER_CELL = 10_000
MAX_PERMUTATIONS = 1_000_000
#: multiplicity corrections ``emgkit power --adjust`` accepts (statsmodels ``multipletests``
#: methods, as :func:`emgkit.stats.evidence.adjust_p` applies them)
ADJUST_METHODS = ("holm", "bonferroni", "sidak", "holm-sidak", "hommel", "fdr_bh", "none")


def _bounds_text(low, high):
    if high is None:
        return f"at least {low:g}" if low is not None else "any"
    if low is None:
        return f"at most {high:g}"
    return f"from {low:g} to {high:g}"


def arg_int(low=None, high=None, *, what="a whole number"):
    """An argparse type: a whole number within ``[low, high]`` (None: unbounded).

    Parameters
    ----------
    low, high : int | None
        Smallest and largest value accepted.
    what : str
        What the value is, named in the message (e.g. "a seed").

    Returns
    -------
    callable
        ``text -> int``, raising :class:`argparse.ArgumentTypeError` with the range.
    """
    def parse(text):
        try:
            value = int(str(text).strip().replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {what}; give a whole number "
                f"{_bounds_text(low, high)} (no decimals or exponents).") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text} is out of range; give {what} "
                                             f"{_bounds_text(low, high)}.")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse


def arg_float(low=None, high=None, *, low_inclusive=True, high_inclusive=True,
              what="a number"):
    """An argparse type: a finite number within the bounds (``nan``/``inf`` refused).

    Parameters
    ----------
    low, high : float | None
        Bounds (None: unbounded on that side).
    low_inclusive, high_inclusive : bool
        Whether the bound itself is allowed.
    what : str
        What the value is, named in the message.

    Returns
    -------
    callable
        ``text -> float``, raising :class:`argparse.ArgumentTypeError`.
    """
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}.") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed; give {what} (not nan "
                                             f"or inf).")
        below = low is not None and (value < low or (value == low and not low_inclusive))
        above = high is not None and (value > high or (value == high and not high_inclusive))
        if below or above:
            lo = "" if low is None else f"{'≥' if low_inclusive else '>'} {low:g}"
            hi = "" if high is None else f"{'≤' if high_inclusive else '<'} {high:g}"
            raise argparse.ArgumentTypeError(f"{text} is out of range; give {what} "
                                             f"{' and '.join(b for b in (lo, hi) if b)}.")
        return value

    parse.__name__ = what
    return parse


def arg_int_list(low, high, *, what="whole numbers"):
    """An argparse type: comma-separated whole numbers, each within ``[low, high]``
    (``"10,20,30"`` -> ``[10, 20, 30]``)."""
    one = arg_int(low, high, what=what)

    def parse(text):
        items = [v for v in str(text).split(",") if v.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"{text!r}: give comma-separated {what} "
                                             f"{_bounds_text(low, high)} (e.g. 10,20,30).")
        try:
            return [one(v) for v in items]
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None

    parse.__name__ = what
    return parse


#: a random seed: any whole number >= 0 (numpy's SeedSequence refuses negative ones)
arg_seed = arg_int(0, None, what="a seed")
#: worker processes
arg_jobs = arg_int(1, 1024, what="a number of worker processes")
#: a probability strictly between 0 and 1 (a test level, a target power)
arg_probability = arg_float(0, 1, low_inclusive=False, high_inclusive=False,
                            what="a probability")
#: an effect size (outcome or SD units): finite and at most 1e6 in size, so that its square
#: and the simulated data stay finite
arg_finite = arg_float(-1e6, 1e6, what="a finite number")
#: a sampling rate of simulated recordings in Hz (at least the simulator's MIN_SIM_SFREQ)
arg_sfreq = arg_float(100, 100_000, what="a sampling rate in Hz")


def arg_mask(text):
    """An argparse type: a trigger bit mask, decimal or ``0x`` hexadecimal, 1 to 0xFFFFFF."""
    try:
        value = int(str(text), 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a bit mask; give e.g. 0xFF or "
                                         f"255.") from None
    if not 0 < value <= 0xFFFFFF:
        raise argparse.ArgumentTypeError(f"{text} is out of range; give a mask from 0x1 to "
                                         f"0xFFFFFF (24 trigger bits).")
    return value
