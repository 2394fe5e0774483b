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


def map_events(found, conditions, *, shift=None, min_interval=0.0, source="",
               first_line=None):
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
        Shortest time (s) between two mapped events; 0 = no check. An event closer than
        this to the previous kept event with the same code is merged into it (the same
        stimulus logged or triggered twice) with a warning; with another code it is an
        error.
    source : str
        Where the events came from, for messages.
    first_line : int | None
        Line of the file holding ``found``'s first row (2 for a TSV with a header): messages
        then name events by line; None names them by their number in ``found``.

    Returns
    -------
    DataFrame
        ``trial`` (1-based, in time order), ``onset_s``, ``condition``, ``code`` and extra
        columns.

    Raises
    ------
    EventError
        When no event maps to a condition (the message lists the codes that were seen),
        two events share an onset, or two events with different codes are closer than
        ``min_interval`` (the message names both).

    Notes
    -----
    ``attrs["mapping"]`` of the result holds :func:`mapping_check`'s findings and
    ``attrs["merged"]`` (when events were merged) ``count``, ``min_interval_s`` and
    ``pairs`` (the first ten as ``[kept onset, merged onset, code]``).
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
    merged = {}
    if min_interval > 0:
        df, merged = _merge_close(df, min_interval, source, first_line)
    df["onset_s"] = df["onset"] + df["condition"].map(lambda c: shift.get(c, 0.0))
    df = df.drop(columns="onset").reset_index(drop=True)
    df.insert(0, "trial", np.arange(1, len(df) + 1))
    cols = ["trial", "onset_s", "condition", "code"]
    out = df[cols + [c for c in df.columns if c not in cols]]
    out.attrs["mapping"] = mapping_check(found, keys, source)
    if merged:
        out.attrs["merged"] = merged
    return out


def _merge_close(df, min_interval, source, first_line):
    """Drop events closer than ``min_interval`` (s) to the previous kept event with the
    same code (warned); raise :class:`EventError` when the codes differ."""
    def name(i):
        row = df.index[i]
        at = f"line {row + first_line}" if first_line is not None else f"event {row + 1}"
        return f"{at} (onset {onsets[i]:.6g} s, code {codes[i]!r})"

    onsets, codes = df["onset"].to_numpy(float), df["code"].to_numpy()
    keep = np.ones(len(df), bool)
    pairs, last = [], None
    for i in range(len(df)):
        if last is not None and onsets[i] - onsets[last] < min_interval:
            if codes[i] != codes[last]:
                raise EventError(
                    f"{source or 'Events'}: {name(i)} starts "
                    f"{(onsets[i] - onsets[last]) * 1e3:.3g} ms after {name(last)}, closer "
                    f"than events.min_interval = {min_interval:g} s, with another code; "
                    f"one of them is wrong. Remove it from the event log, or lower "
                    f"events.min_interval if both are real trials.")
            keep[i] = False
            pairs.append([float(onsets[last]), float(onsets[i]), str(codes[i])])
            continue
        last = i
    if not pairs:
        return df, {}
    shown = ", ".join(f"{b:.6g} s into {a:.6g} s ({c!r})" for a, b, c in pairs[:5])
    logger.warning("%s: %d event(s) closer than events.min_interval = %g s to an event with "
                   "the same code were merged into it (%s%s); the same stimulus was logged "
                   "or triggered twice.", source or "Events", len(pairs), min_interval,
                   shown, " …" if len(pairs) > 5 else "")
    return df[keep], {"count": len(pairs), "min_interval_s": float(min_interval),
                      "pairs": pairs[:10]}


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
