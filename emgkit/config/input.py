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

from dataclasses import dataclass

from .._check import check_keys, check_number, check_option, config_key
from ..errors import ConfigError

FORMATS = ("auto", "edf", "bdf", "acq", "acq-text", "delimited", "brainvision")
TIME_UNITS = ("s", "ms", "min")


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
