"""Small validation helpers shared by all modules (modelled on ``mne/utils/check.py``).

Each helper raises :class:`~emgkit.errors.ConfigError` (or the class given) with a message
that names the parameter, what is allowed, what was received and what to do.
"""

from __future__ import annotations

import numbers

import numpy as np

from .errors import ConfigError


def check_option(name, value, allowed, *, error=ConfigError):
    """Return ``value`` if it is one of ``allowed``, else raise naming the options."""
    if value not in allowed:
        opts = ", ".join(repr(a) for a in allowed)
        raise error(f"{name}={value!r} is not allowed; use one of {opts}.")
    return value


def check_number(name, value, *, low=None, high=None, low_inclusive=True,
                 high_inclusive=True, error=ConfigError):
    """Return ``float(value)`` if it is a finite real number within the given range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise error(f"{name} must be a number, got {value!r} ({type(value).__name__}).")
    value = float(value)
    if not np.isfinite(value):
        raise error(f"{name} must be finite, got {value!r}.")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise error(f"{name}={value:g} is out of range; it must be {op} {low:g}.")
    if high is not None and (value > high or (value == high and not high_inclusive)):
        op = "<=" if high_inclusive else "<"
        raise error(f"{name}={value:g} is out of range; it must be {op} {high:g}.")
    return value


def check_sfreq(sfreq, *, error=ConfigError):
    """Return the sampling rate as a float, rejecting missing or non-positive values."""
    if sfreq is None:
        raise error("sfreq (Hz) is required; emgkit never assumes a sampling rate.")
    return check_number("sfreq", sfreq, low=0, low_inclusive=False, error=error)


def check_window(name, window, *, tmin=None, tmax=None, error=ConfigError):
    """Return ``(start, stop)`` in s, checking order and (optionally) the epoch limits."""
    if not isinstance(window, (list, tuple)) or len(window) != 2:
        raise error(f"{name} must be a pair [start, stop] in s, got {window!r}.")
    start = check_number(f"{name}[0]", window[0], error=error)
    stop = check_number(f"{name}[1]", window[1], error=error)
    if stop <= start:
        raise error(f"{name}={[start, stop]} is empty; stop must be greater than start.")
    if tmin is not None and start < tmin - 1e-9:
        raise error(f"{name} starts at {start:g} s, before the epoch start tmin={tmin:g} s; "
                    f"widen the epoch or shorten the window.")
    if tmax is not None and stop > tmax + 1e-9:
        raise error(f"{name} ends at {stop:g} s, after the epoch end tmax={tmax:g} s; "
                    f"widen the epoch or shorten the window.")
    return start, stop


def config_key(src, key):
    """Name a config key with its file, for messages: ``"events.mask (in study.toml)"``."""
    return f"{key} (in {src})" if src else key


def check_keys(section, allowed, src, prefix=""):
    """Raise :class:`ConfigError` for a key of a config table that is not ``allowed``."""
    for key in section:
        if key not in allowed:
            where = f" in {src}" if src else ""
            raise ConfigError(f"Unknown config key {prefix + key!r}{where}; allowed keys "
                              f"{'in [' + prefix[:-1] + '] ' if prefix else ''}are: "
                              f"{', '.join(sorted(allowed))}.")
