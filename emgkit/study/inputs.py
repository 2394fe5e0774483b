"""Which files a recording's results depend on: the recording, its BIDS sidecars and the
event log its config names (for the resume key of ``emgkit run`` and the output guard of
every command that reads a recording). A module of its own so that ``emgkit process`` finds
them without loading the study runner."""

from __future__ import annotations

import re
from pathlib import Path


def participant_inputs(recording, config, participant_id):
    """Every file besides the config that determines a participant's results: the
    recording, its BIDS sidecars (``*_events.tsv``, ``*_channels.tsv``, ``*_emg.json``) and
    the event log named by ``events.source``."""
    from ..events import sidecar_events

    rec = Path(recording)
    stem = rec.name.rsplit("_", 1)[0] if "_" in rec.stem else rec.stem
    files = [rec] + [rec.with_name(f"{stem}_{s}") for s in ("events.tsv", "channels.tsv",
                                                             "emg.json")]
    src = config.events.source
    if src not in ("stim", "annotations", "analog", "events.tsv"):
        files.append(config.resolve(src.replace("{participant_id}", participant_id)))
    elif src == "events.tsv":
        files.append(sidecar_events(rec))
    return list(dict.fromkeys(p for p in files if p.is_file()))


def glob_escape(text):
    """Escape glob metacharacters in a file-name part."""
    return re.sub(r"([*?\[])", r"[\1]", text)
