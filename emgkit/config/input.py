"""The ``[input]`` config section: how to read recordings that are not EDF/BDF, and the
analog-event keys of ``[events]``.

Example (the Nilsonne oxazepam AcqKnowledge exports, no header block):

.. code-block:: toml

    [input]
    format = "acq-text"
    sfreq = 100.0
    columns = ["scr", "zyg", "corr", "zyg_rect", "corr_rect", "angry", "happy", "neutral"]
    units = "mV"
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._check import check_keys, check_number, check_option, config_key
from ..errors import ConfigError

FORMATS = ("auto", "edf", "bdf", "acq", "acq-text", "delimited", "brainvision")
TIME_UNITS = ("s", "ms", "min")
#: text formats whose rate, column names and units may have to come from ``[input]``
TEXT_FORMATS = ("acq-text", "delimited")


@dataclass(frozen=True)
class InputConfig:
    """How to read the recordings.

    Attributes
    ----------
    format : str
        ``"auto"`` (from the suffix: ``.edf``, ``.bdf``, ``.acq``; ``.txt`` is an
        AcqKnowledge export, ``.csv``/``.tsv`` generic delimited text), or one of
        ``"edf"``, ``"bdf"``, ``"acq"``, ``"acq-text"``, ``"delimited"``, ``"brainvision"``.
    sfreq : float or None
        Sampling rate (Hz) for text files that do not state it.
    columns : tuple of str or None
        Column names for text files without a header (one per column).
    units : str, dict or None
        Unit of every column (e.g. ``"mV"``) or column -> unit; overrides the file.
    delimiter : str or None
        Column delimiter of delimited text; None guesses tab, comma or semicolon.
    header : bool or "auto"
        Whether delimited text starts with a row of column names.
    time_column : str or None
        Column of sample times (dropped from the channels; sets the rate when ``sfreq``
        is not given).
    time_unit : str
        Unit of ``time_column``: ``"s"``, ``"ms"`` or ``"min"``.
    """

    format: str = "auto"
    sfreq: float | None = None
    columns: tuple | None = None
    units: object = None
    delimiter: str | None = None
    header: object = "auto"
    time_column: str | None = None
    time_unit: str = "s"


def input_config(d, src):
    """Validate the ``[input]`` table of config ``d`` read from file ``src``."""
    def where(key):
        return config_key(src, key)

    inp = d.get("input", {})
    if not isinstance(inp, dict):
        raise ConfigError(f"{where('input')} must be a table ([input]), got {inp!r}.")
    check_keys(inp, set(InputConfig.__dataclass_fields__), src, "input.")
    kw = {}
    if "format" in inp:
        kw["format"] = check_option(where("input.format"), inp["format"], FORMATS)
    if "sfreq" in inp:
        kw["sfreq"] = check_number(where("input.sfreq"), inp["sfreq"], low=0,
                                   low_inclusive=False)
    if "columns" in inp:
        cols = inp["columns"]
        if (not isinstance(cols, list) or not cols
                or not all(isinstance(c, str) and c.strip() for c in cols)
                or len(set(cols)) != len(cols)):
            raise ConfigError(f"{where('input.columns')} must be a list of distinct column "
                              f"names, got {cols!r}.")
        kw["columns"] = tuple(c.strip() for c in cols)
    if "units" in inp:
        units = inp["units"]
        ok = isinstance(units, str) or (isinstance(units, dict) and all(
            isinstance(v, str) for v in units.values()))
        if not ok:
            raise ConfigError(f"{where('input.units')} must be a unit (\"mV\") or a table "
                              f"column -> unit, got {units!r}.")
        kw["units"] = units if isinstance(units, str) else dict(units)
    if "delimiter" in inp:
        if not isinstance(inp["delimiter"], str) or not inp["delimiter"]:
            raise ConfigError(f"{where('input.delimiter')} must be a string such as \"\\t\" "
                              f"or \",\", got {inp['delimiter']!r}.")
        kw["delimiter"] = inp["delimiter"]
    if "header" in inp:
        if inp["header"] not in (True, False, "auto"):
            raise ConfigError(f"{where('input.header')} must be true, false or \"auto\", got "
                              f"{inp['header']!r}.")
        kw["header"] = inp["header"]
    if "time_column" in inp:
        if not isinstance(inp["time_column"], str):
            raise ConfigError(f"{where('input.time_column')} must be a column name.")
        kw["time_column"] = inp["time_column"]
    if "time_unit" in inp:
        kw["time_unit"] = check_option(where("input.time_unit"), inp["time_unit"],
                                       TIME_UNITS)
    return InputConfig(**kw)


def init_input(path, *, sfreq=None, columns=None, units=None):
    """The ``[input]`` settings given to ``emgkit init`` for a text export.

    Parameters
    ----------
    path : path-like
        The recording.
    sfreq : float | None
        ``--sfreq``: sampling rate (Hz).
    columns : str | None
        ``--columns``: comma-separated column names, one per column.
    units : str | None
        ``--units``: one unit for every column (``"mV"``) or ``col=unit,col=unit``.

    Returns
    -------
    InputConfig | None
        None when no option was given.

    Raises
    ------
    ConfigError
        For a value that is not usable, or options given for a format that states its own
        rate, channel names and units (EDF/BDF, ``.acq``, BrainVision).
    """
    from ..io.load import recording_format

    given = [name for name, v in (("--sfreq", sfreq), ("--columns", columns),
                                  ("--units", units)) if v is not None]
    if not given:
        return None
    fmt = recording_format(path)
    if fmt not in TEXT_FORMATS:
        raise ConfigError(f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} for "
                          f"text exports only; {path} is "
                          f"{fmt.upper()}, which states its own rate, channel names and "
                          f"units: drop {' and '.join(given)}.")
    if sfreq is not None and not (math.isfinite(sfreq) and sfreq > 0):
        raise ConfigError(f"--sfreq {sfreq:g}: the sampling rate must be a positive number "
                          f"of Hz, e.g. --sfreq 1000.")
    cols = None
    if columns is not None:
        cols = tuple(c.strip() for c in str(columns).split(","))
        if not all(cols) or len(set(cols)) != len(cols):
            raise ConfigError(f"--columns {columns!r}: give one distinct, non-empty name per "
                              f"column, separated by commas, e.g. --columns "
                              f"scr,zyg_raw,corr_raw.")
    unit = units
    if units is not None and "=" in units:
        pairs = [p.split("=", 1) for p in units.split(",")]
        if any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
            raise ConfigError(f"--units {units!r}: give one unit for every column (mV) or "
                              f"column=unit pairs separated by commas (zyg=mV,corr=mV).")
        unit = {k.strip(): v.strip() for k, v in pairs}
        if cols is not None and set(unit) - set(cols):
            raise ConfigError(f"--units {units!r} names {', '.join(sorted(set(unit) - set(cols)))}"
                              f", which is not in --columns ({', '.join(cols)}).")
    elif units is not None and not units.strip():
        raise ConfigError("--units '': give a unit such as mV or uV.")
    return InputConfig(format=fmt, sfreq=None if sfreq is None else float(sfreq),
                       columns=cols, units=unit.strip() if isinstance(unit, str) else unit)
