"""Read physiological recordings stored as delimited text.

Two layouts:

* **AcqKnowledge text export** (BIOPAC): a header block — the source ``.acq`` name, the
  sample interval (``1 msec/sample``), ``N channels``, then name and unit of each channel,
  a line of channel ids (``CH1,CH2,…``) and a line of sample counts — followed by one row
  per sample. Exports without the header block (``Include header`` unticked, e.g. the
  Nilsonne oxazepam data) are plain columns: the config gives names, units and the rate.
* **Generic CSV/TSV**: optional header row of column names, optional time column; the
  rate comes from the config or from the time column.

Both return a :class:`~emgkit.io.signals.Signals` in physical units. Trailing delimiters
(AcqKnowledge ends every line with one) are ignored.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, ReadError
from .signals import Signals, dedupe

logger = logging.getLogger("emgkit")

_INTERVAL = re.compile(r"^\s*([0-9.eE+-]+)\s*(msec|ms|sec|s|usec|µsec|us)\s*/\s*sample",
                       re.IGNORECASE)
_RATE = re.compile(r"^\s*([0-9.eE+-]+)\s*(samples\s*/\s*sec|hz)", re.IGNORECASE)
_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "min": 60.0}
_MAX_HEADER_LINES = 4096


def _sniff_delimiter(line):
    for d in ("\t", ",", ";"):
        if d in line:
            return d
    return r"\s+"


def _interval_s(line):
    try:
        return _parse_interval(line)
    except ValueError:  # e.g. "e msec/sample"
        return None


def _parse_interval(line):
    m = _INTERVAL.match(line)
    if m:
        scale = {"msec": 1e-3, "ms": 1e-3, "sec": 1.0, "s": 1.0}.get(m.group(2).lower(), 1e-6)
        return float(m.group(1)) * scale
    m = _RATE.match(line)
    if m:
        rate = float(m.group(1))
        return 1.0 / rate if rate > 0 else 0.0
    return None


def is_acq_text(path):
    """True when ``path`` starts with an AcqKnowledge text-export header block."""
    try:
        with open(path, encoding="latin-1") as f:
            first = [f.readline() for _ in range(3)]
    except OSError:
        return False
    return (len(first) == 3 and _interval_s(first[1]) is not None
            and re.match(r"^\s*\d+\s+channels?\s*$", first[2], re.IGNORECASE) is not None)


def _read_table(path, skip, delimiter, dtype):
    try:
        return pd.read_csv(path, sep=delimiter, header=None, skiprows=skip, dtype=dtype,
                           engine="c" if delimiter != r"\s+" else "python",
                           skip_blank_lines=True, encoding="latin-1")
    except pd.errors.EmptyDataError:
        raise ReadError(f"{path}: no data rows after the header.") from None
    except pd.errors.ParserError as exc:
        raise ReadError(f"{path}: rows have different numbers of columns ({exc}). The file "
                        f"is truncated or not a rectangular export.") from None


def _trim(df, n_columns, names, path):
    # trailing delimiters give empty last columns
    while df.shape[1] > 1 and df.iloc[:, -1].isna().all():
        df = df.iloc[:, :-1]
    if df.shape[1] != n_columns:
        raise ReadError(f"{path}: the data rows have {df.shape[1]} columns but "
                        f"{n_columns} channel names are given ({', '.join(names)}); fix "
                        f"input.columns or check the export.")
    return df


def _numeric_block(path, skip, delimiter, n_columns, names):
    """Parse the numeric rows after ``skip`` header lines into (n_columns, n_rows)."""
    try:  # fast path: the C parser straight to floats
        values = _trim(_read_table(path, skip, delimiter, float), n_columns, names, path)
    except ValueError:  # a cell that is not a number: read as text to name it
        df = _trim(_read_table(path, skip, delimiter, str), n_columns, names, path)
        bad = (df.apply(pd.to_numeric, errors="coerce").isna() & df.notna()).to_numpy()
        row, col = np.argwhere(bad)[0]
        raise ReadError(f"{path}: line {skip + row + 1}, column {names[col]!r}: value "
                        f"{df.iat[row, col]!r} is not a number.") from None
    missing = values.isna().to_numpy()
    if missing.any():
        row, col = np.argwhere(missing)[0]
        last = missing.any(axis=1)
        if last[-1] and not last[:-1].any():  # an incomplete last line: cut export
            logger.warning("%s: the last line is incomplete and was dropped.", path)
            values = values.iloc[:-1]
        else:
            raise ReadError(f"{path}: line {skip + row + 1}, column {names[col]!r} is "
                            f"empty.")
    if len(values) == 0:
        raise ReadError(f"{path}: no data rows after the header.")
    return np.ascontiguousarray(values.to_numpy(dtype=float).T)


def read_acq_text(path, *, sfreq=None, columns=None, units=None):
    """Read an AcqKnowledge text export (with or without its header block).

    Parameters
    ----------
    path : path-like
        The ``.txt`` export.
    sfreq : float | None
        Sampling rate (Hz); required when the file has no header block, otherwise it must
        agree with the header's sample interval.
    columns : list of str | None
        Channel names, required without a header block (one per column).
    units : str | dict | None
        Unit of every channel (str) or channel -> unit; overrides the header.

    Returns
    -------
    Signals
    """
    path = Path(path)
    if not path.is_file():
        raise ReadError(f"Recording {path} does not exist.")
    if not is_acq_text(path):
        if columns is None or sfreq is None:
            raise ConfigError(f"{path} has no AcqKnowledge header block (sample interval, "
                              f"channel names); give input.sfreq (Hz) and input.columns "
                              f"(one name per column) in the config.")
        return read_delimited(path, sfreq=sfreq, columns=columns, units=units, header=False)
    with open(path, encoding="latin-1") as f:
        lines = [f.readline().rstrip("\r\n") for _ in range(3)]
        n = int(lines[2].split()[0])
        if not 0 < n <= 1024:
            raise ReadError(f"{path}: the header declares {n} channels.")
        lines += [f.readline().rstrip("\r\n") for _ in range(2 * n + 2)]
    names, file_units = lines[3:3 + 2 * n:2], lines[4:4 + 2 * n:2]
    delimiter = _sniff_delimiter(lines[3 + 2 * n])
    ids = [c.strip() for c in lines[3 + 2 * n].split(delimiter)][:n]
    counts_line = [c.strip() for c in lines[4 + 2 * n].split(delimiter) if c.strip()]
    if len(ids) != n or not all(re.fullmatch(r"CH\d+", c, re.IGNORECASE) for c in ids):
        raise ReadError(f"{path}: expected {n} channel ids (CH1, CH2, …) after the channel "
                        f"names, got {lines[3 + 2 * n][:80]!r}; the header is malformed.")
    labels = dedupe([x.strip() for x in names], ids)
    interval = _interval_s(lines[1])
    if not np.isfinite(interval) or interval <= 0:
        raise ReadError(f"{path}: the sample interval {lines[1].strip()!r} is not a positive "
                        f"number; the header is corrupt.")
    file_sfreq = 1.0 / interval
    if sfreq is not None and not np.isclose(sfreq, file_sfreq, rtol=1e-6):
        raise ConfigError(f"input.sfreq = {sfreq:g} Hz contradicts the header of {path} "
                          f"({lines[1].strip()!r} = {file_sfreq:g} Hz); remove input.sfreq.")
    data = _numeric_block(path, 5 + 2 * n, delimiter, n, labels)
    if counts_line and all(c.isdigit() for c in counts_line):
        declared = max(int(c) for c in counts_line)
        if declared != data.shape[1]:
            logger.warning("%s: the header declares %d samples but %d rows are present "
                           "(an excerpt or a truncated export); reading %d.", path,
                           declared, data.shape[1], data.shape[1])
    unit_list = _units(units, labels, [u.strip() for u in file_units], path)
    return Signals(str(path), labels, unit_list, data, file_sfreq,
                   aliases={i: lab for i, lab in zip(ids, labels)})


def _units(units, labels, default, path):
    if units is None:
        return list(default)
    if isinstance(units, str):
        return [units] * len(labels)
    unknown = [k for k in units if k not in labels]
    if unknown:
        raise ConfigError(f"input.units names {unknown}, which are not channels of {path} "
                          f"({', '.join(labels)}).")
    return [units.get(lab, d) for lab, d in zip(labels, default)]


def read_delimited(path, *, sfreq=None, columns=None, units=None, delimiter=None,
                   header="auto", time_column=None, time_unit="s"):
    """Read a generic CSV/TSV recording: one column per channel, one row per sample.

    Parameters
    ----------
    path : path-like
    sfreq : float | None
        Sampling rate (Hz); None derives it from ``time_column``.
    columns : list of str | None
        Names of the columns (replacing a header row); None takes the header row.
    units : str | dict | None
        Unit of every channel, or channel -> unit (e.g. ``"mV"``); needed to turn the EMG
        columns into µV.
    delimiter : str | None
        None guesses tab, comma or semicolon from the first line.
    header : bool | "auto"
        Whether the first line holds column names; "auto" checks if it is numeric.
    time_column : str | None
        Column holding the sample times; it is dropped from the channels and, without
        ``sfreq``, sets the rate (it must be uniform).
    time_unit : "s" | "ms" | "min"
        Unit of ``time_column``.

    Returns
    -------
    Signals
    """
    path = Path(path)
    if not path.is_file():
        raise ReadError(f"Recording {path} does not exist.")
    if sfreq is None and time_column is None:
        raise ConfigError(f"{path}: the sampling rate is unknown; set input.sfreq (Hz) or "
                          f"input.time_column.")
    with open(path, encoding="latin-1") as f:
        first = f.readline().rstrip("\r\n")
    if not first.strip():
        raise ReadError(f"{path} is empty.")
    delimiter = delimiter or _sniff_delimiter(first)
    cells = [c.strip() for c in re.split(delimiter, first)] if delimiter == r"\s+" else \
        [c.strip() for c in first.split(delimiter)]
    while cells and cells[-1] == "":
        cells.pop()
    if header == "auto":
        header = not all(_is_number(c) for c in cells)
    names = list(columns) if columns is not None else (
        cells if header else [f"column{i + 1}" for i in range(len(cells))])
    if columns is not None and header and len(columns) != len(cells):
        raise ConfigError(f"input.columns has {len(columns)} names but {path} has "
                          f"{len(cells)} columns ({', '.join(cells)}).")
    data = _numeric_block(path, 1 if header else 0, delimiter, len(names), names)
    if time_column is not None:
        if time_column not in names:
            raise ConfigError(f"input.time_column {time_column!r} is not a column of {path} "
                              f"({', '.join(names)}).")
        k = names.index(time_column)
        t = data[k] * _TIME_UNITS[time_unit]
        step = np.diff(t)
        if sfreq is None:
            if step.size == 0 or not np.all(step > 0):
                raise ReadError(f"{path}: column {time_column!r} does not increase; give "
                                f"input.sfreq.")
            dt = float(np.median(step))
            if np.max(np.abs(step - dt)) > 0.01 * dt + 1e-9:
                raise ReadError(f"{path}: the samples in {time_column!r} are not evenly "
                                f"spaced (steps {step.min():g}..{step.max():g} s); emgkit "
                                f"needs a constant sampling rate.")
            sfreq = 1.0 / dt
        data = np.delete(data, k, axis=0)
        names = names[:k] + names[k + 1:]
    if sfreq is None:
        raise ConfigError(f"{path}: the sampling rate is unknown; set input.sfreq (Hz) or "
                          f"input.time_column.")
    labels = dedupe(names, [""] * len(names))
    return Signals(str(path), labels, _units(units, labels, [""] * len(labels), path),
                   data, float(sfreq))


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True
