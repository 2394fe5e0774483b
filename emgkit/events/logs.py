"""Event logs: BIDS ``*_events.tsv`` or any TSV with ``onset`` and ``trial_type``, and the
mapping of codes or annotation texts to conditions, with per-condition onset shifts (dynamic
faces)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import EventError

logger = logging.getLogger("emgkit")


def read_events_tsv(path):
    """Read a BIDS-style events TSV with ``onset`` (s) and ``trial_type`` columns.

    Returns
    -------
    DataFrame
        ``onset`` (s) and ``code`` (the trial_type as str), plus any other columns.
    """
    path = Path(path)
    if not path.is_file():
        raise EventError(f"Events file {path} does not exist; fix events.source or write "
                         f"the TSV (columns onset, trial_type).")
    try:
        df = pd.read_csv(path, sep="\t", na_values=["n/a"], keep_default_na=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise EventError(f"Events file {path} cannot be parsed as TSV: {exc}.") from None
    missing = [c for c in ("onset", "trial_type") if c not in df.columns]
    if missing:
        raise EventError(f"Events file {path} lacks column(s) {', '.join(missing)}; it has "
                         f"{', '.join(map(str, df.columns))}.")
    onset = pd.to_numeric(df["onset"], errors="coerce")
    bad = ~np.isfinite(onset.to_numpy(dtype=float))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise EventError(f"Events file {path}, line {row + 2}: onset "
                         f"{df['onset'].iloc[row]!r} is not a finite number of seconds; fix "
                         f"or remove that row.")
    out = df.drop(columns=["onset", "trial_type"]).copy()
    out.insert(0, "code", df["trial_type"].astype(str).str.strip())
    out.insert(0, "onset", onset.astype(float))
    return out


def map_events(found, conditions, *, shift=None, min_interval=0.0, source=""):
    """Map raw events to conditions.

    Parameters
    ----------
    found : DataFrame
        ``onset`` (s) and ``code`` (str) per raw event; extra columns are kept.
    conditions : dict
        Code or annotation text -> condition name.
    shift : dict | None
        Condition -> onset shift in s, added to the onset.
    min_interval : float
        Events within this many s of the previous kept event are dropped.
    source : str
        Where the events came from, for messages.

    Returns
    -------
    DataFrame
        ``trial`` (1-based, in time order), ``onset_s``, ``condition``, ``code`` and extra
        columns.

    Raises
    ------
    EventError
        When no event maps to a condition; the message lists the codes that were seen.
    """
    shift = shift or {}
    keys = {str(k).strip(): v for k, v in conditions.items()}
    df = found.drop(columns=[c for c in ("trial", "condition", "onset_s") if c in found])
    df["code"] = df["code"].astype(str).str.strip()
    df["condition"] = df["code"].map(keys)
    df = df[df["condition"].notna()].sort_values("onset", kind="stable")
    onsets = pd.to_numeric(df["onset"], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(onsets).all():
        bad = df["onset"].iloc[int(np.flatnonzero(~np.isfinite(onsets))[0])]
        raise EventError(f"{source or 'Events'}: onset {bad!r} is not a finite number of "
                         f"seconds; fix the event log.")
    dup = df["onset"].duplicated(keep=False).to_numpy()
    if dup.any():
        shown = ", ".join(f"{o:g} s ({c})" for o, c in
                          zip(df["onset"][dup].iloc[:6], df["code"][dup].iloc[:6]))
        raise EventError(f"{source or 'Events'}: {int(dup.sum())} events share an onset "
                         f"({shown}); one stimulus cannot start twice at once. Remove the "
                         f"duplicated rows from the event log.")
    if df.empty:
        seen = found["code"].astype(str).value_counts()
        listing = ", ".join(f"{c!r} ×{n}" for c, n in seen.items()) or "none"
        raise EventError(f"No events matching events.conditions "
                         f"({', '.join(map(repr, keys))}) found in {source or 'the recording'}. "
                         f"Codes seen: {listing}. Fix [events.conditions] or events.mask.")
    if min_interval > 0:
        keep, last = [], -np.inf
        for onset in df["onset"].to_numpy():
            ok = onset - last >= min_interval
            keep.append(ok)
            if ok:
                last = onset
        df = df[np.array(keep)]
    df["onset_s"] = df["onset"] + df["condition"].map(lambda c: shift.get(c, 0.0))
    df = df.drop(columns="onset").reset_index(drop=True)
    df.insert(0, "trial", np.arange(1, len(df) + 1))
    cols = ["trial", "onset_s", "condition", "code"]
    out = df[cols + [c for c in df.columns if c not in cols]]
    out.attrs["mapping"] = mapping_check(found, keys, source)
    return out


def mapping_check(found, keys, source=""):
    """Codes seen but not mapped (with counts) and mapped codes never seen; warned once.

    Returns
    -------
    dict
        ``unmapped`` (code -> count) and ``absent`` (code -> condition); empty when every
        code seen is mapped and every mapped code occurs.
    """
    seen = found["code"].astype(str).str.strip().value_counts()
    unmapped = {str(c): int(n) for c, n in seen.items() if c not in keys}
    absent = {c: keys[c] for c in keys if c not in seen.index}
    if unmapped or absent:
        parts = []
        if unmapped:
            parts.append("codes seen but not mapped to a condition: "
                         + ", ".join(f"{c!r} ×{n}" for c, n in unmapped.items()))
        if absent:
            parts.append("mapped codes never seen: "
                         + ", ".join(f"{c!r} ({v})" for c, v in absent.items()))
        logger.warning("%s: %s; check [events.conditions] and events.mask.",
                       source or "Events", "; ".join(parts))
    return {k: v for k, v in (("unmapped", unmapped), ("absent", absent)) if v}
