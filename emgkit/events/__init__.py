"""Events: trigger words and BioSemi Status bits (:mod:`.stim`), analog pulse channels
(:mod:`.pulses`), event logs and BIDS ``*_events.tsv`` (:mod:`.logs`), and the one dispatch
over these sources (:mod:`.find`)."""

from .find import find_events, sidecar_events
from .logs import map_events, read_events_tsv
from .pulses import analog_events
from .stim import STIM_NAMES, changes, cms_spans, find_stim_channel, stim_events, warn_cms

__all__ = ["STIM_NAMES", "analog_events", "changes", "cms_spans", "find_events",
           "find_stim_channel", "map_events", "read_events_tsv", "sidecar_events",
           "stim_events", "warn_cms"]
