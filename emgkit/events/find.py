"""Events of one recording, from whichever source the config names: the trigger channel,
annotations, analog pulse channels, the BIDS sidecar ``*_events.tsv`` or a log file."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from ..errors import EventError
from .logs import map_events, read_events_tsv
from .pulses import analog_events
from .stim import DEFAULT_MIN_DURATION, stim_events

logger = logging.getLogger("emgkit")


def sidecar_events(path):
    """Return the BIDS ``*_events.tsv`` path belonging to a recording."""
    path = Path(path)
    stem = path.name.rsplit("_", 1)[0] if "_" in path.stem else path.stem
    return path.with_name(f"{stem}_events.tsv")


def find_events(loaded, config, path, participant_id):
    """Find the events of one recording from the source ``config.events`` names.

    Parameters
    ----------
    loaded : emgkit.io.load.Loaded
        The loaded recording (trigger channel, annotations, analog channels, ``sfreq`` in Hz).
    config : Config
        ``config.events`` says where events come from and how codes map to conditions.
    path : pathlib.Path
        The recording (for sidecar logs and messages).
    participant_id : str
        Replaces ``{participant_id}`` in an event-log path.

    Returns
    -------
    DataFrame
        Mapped events, one row per trial (see :func:`emgkit.events.map_events`).
    """
    ev = config.events
    src = ev.source
    short, first_line = None, None
    if src == "stim":
        min_samples, seconds = trigger_min_samples(ev.min_duration, loaded.sfreq)
        counts = {}
        samples, codes, idle = stim_events(loaded.stim, ev.mask, ev.idle,
                                           min_samples=min_samples, short=counts)
        found = pd.DataFrame({"onset": samples / loaded.sfreq, "code": codes.astype(str)})
        where = f"{path} (trigger channel, mask {ev.mask:#x}, idle level {idle})"
        short = _short_codes(counts, seconds, min_samples, idle, where)
    elif src == "annotations":
        found = loaded.annotations
        where = f"{path} (annotations)"
    elif src == "analog":
        found = analog_events(loaded.aux, loaded.sfreq, mode=ev.analog_mode,
                              threshold=ev.threshold, edge=ev.edge,
                              level_step=ev.level_step, source=str(path))
        where = f"{path} (analog channels {', '.join(loaded.aux)}, {ev.edge} edges)"
    else:
        tsv = sidecar_events(path) if src == "events.tsv" else \
            config.resolve(src.replace("{participant_id}", participant_id))
        found = read_events_tsv(tsv)
        where = str(tsv)
        first_line = 2  # the header is line 1
        keys = set(map(str, ev.conditions))
        if "value" in found.columns and not found["code"].isin(keys).any():
            # BIDS events.tsv: the config may map trigger values rather than trial types
            values = found["value"].astype(str).str.replace(r"\.0$", "", regex=True)
            if values.isin(keys).any():
                found = found.assign(trial_type=found["code"], code=values)
    try:
        out = map_events(found, ev.conditions, shift=ev.shift, min_interval=ev.min_interval,
                         source=where, first_line=first_line)
    except EventError as exc:
        if short is None or not str(exc).startswith("No events"):
            raise
        raise EventError(f"{exc} {short['count']} trigger value(s) held shorter than "
                         f"events.min_duration = {short['min_duration_s']:g} s were ignored "
                         f"as glitches; if they are your triggers, lower "
                         f"events.min_duration.") from None
    if short:
        out.attrs["short_codes"] = short
    return out


def trigger_min_samples(min_duration, sfreq):
    """Shortest run (samples) a trigger code must last, from ``[events] min_duration``.

    Parameters
    ----------
    min_duration : float | None
        Seconds; None takes :data:`~emgkit.events.stim.DEFAULT_MIN_DURATION`.
    sfreq : float
        The trigger channel's rate (Hz).

    Returns
    -------
    min_samples : int
        At least 1 (1 = every change counts).
    seconds : float
        The duration used (s).
    """
    seconds = DEFAULT_MIN_DURATION if min_duration is None else float(min_duration)
    return max(1, round(seconds * sfreq)), seconds


def _short_codes(counts, seconds, min_samples, idle, where):
    """Warn about trigger codes ignored as too short; return what ``run.json`` records."""
    if not counts:
        return None
    total = sum(counts.values())
    shown = ", ".join(f"{'idle ' if v == idle else ''}{v} ×{n}"
                      for v, n in sorted(counts.items()))
    logger.warning("%s: %d trigger value(s) held shorter than events.min_duration = %g s "
                   "(%d samples) were ignored as glitches (%s); set events.min_duration = 0 "
                   "to keep them.", where, total, seconds, min_samples, shown)
    return {"count": total, "min_duration_s": seconds, "min_samples": min_samples,
            "codes": {str(v): n for v, n in sorted(counts.items())}}
