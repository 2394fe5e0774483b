"""Events of one recording, from whichever source the config names: the trigger channel,
annotations, analog pulse channels, the BIDS sidecar ``*_events.tsv`` or a log file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .logs import map_events, read_events_tsv
from .pulses import analog_events
from .stim import stim_events


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
    if src == "stim":
        samples, codes, idle = stim_events(loaded.stim, ev.mask, ev.idle)
        found = pd.DataFrame({"onset": samples / loaded.sfreq, "code": codes.astype(str)})
        where = f"{path} (trigger channel, mask {ev.mask:#x}, idle level {idle})"
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
        keys = set(map(str, ev.conditions))
        if "value" in found.columns and not found["code"].isin(keys).any():
            # BIDS events.tsv: the config may map trigger values rather than trial types
            values = found["value"].astype(str).str.replace(r"\.0$", "", regex=True)
            if values.isin(keys).any():
                found = found.assign(trial_type=found["code"], code=values)
    return map_events(found, ev.conditions, shift=ev.shift,
                              min_interval=ev.min_interval, source=where)
