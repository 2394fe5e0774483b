"""EMG-BIDS sidecars next to a recording: the ``*_emg.json`` facts checked against the file
and the config (a sampling rate that disagrees means a wrong header or the wrong sidecar;
a mains frequency that differs from the notch is worth a warning), and the muscle -> channel
map that ``*_channels.tsv`` gives through its ``target_muscle`` column."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pandas as pd

from ..errors import ReadError

logger = logging.getLogger("emgkit")


def emg_sidecar(recording):
    """The recording's ``<stem>_emg.json`` as a dict (None when there is none)."""
    rec = Path(recording)
    stem = rec.name.rsplit("_", 1)[0] if "_" in rec.stem else rec.stem
    path = rec.with_name(f"{stem}_emg.json")
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReadError(f"{path}: not readable JSON ({exc}); fix or remove the sidecar.") \
            from None
    return data if isinstance(data, dict) else None


def sidecar_mains(recording):
    """The EMG-BIDS sidecar's ``PowerLineFrequency`` (Hz) of ``recording``, or None when
    there is no sidecar or it does not give a positive number."""
    mains = (emg_sidecar(recording) or {}).get("PowerLineFrequency")
    if isinstance(mains, (int, float)) and not isinstance(mains, bool) and mains > 0:
        return float(mains)
    return None


def check_emg_sidecar(recording, sfreq, notch):
    """Compare the sidecar's ``SamplingFrequency`` with the file's rate (error beyond 0.5 %)
    and its ``PowerLineFrequency`` with the notch (warning). Returns the sidecar or None."""
    side = emg_sidecar(recording)
    if not side:
        return side
    rate = side.get("SamplingFrequency")
    if isinstance(rate, (int, float)) and rate > 0 and abs(rate - sfreq) > 0.005 * sfreq:
        raise ReadError(f"{recording}: the file is sampled at {sfreq:g} Hz but its "
                        f"*_emg.json says SamplingFrequency = {rate:g} Hz; one of them is "
                        f"wrong (check the header and the sidecar).")
    mains = side.get("PowerLineFrequency")
    if isinstance(mains, (int, float)) and mains > 0 and notch and abs(mains - notch) > 0.5:
        logger.warning("%s: *_emg.json says PowerLineFrequency = %g Hz but [preprocess] notch "
                       "is %g Hz; set notch = %g in the config if the recording was made "
                       "there.", recording, mains, notch, mains)
    return side


#: emgkit's muscle names -> the anatomical names written as ``target_muscle`` in an EMG-BIDS
#: ``*_channels.tsv`` (and read back)
TARGET_MUSCLES = {
    "corrugator": "corrugator supercilii",
    "zygomaticus": "zygomaticus major",
    "depressor": "depressor anguli oris",
    "levator": "levator labii superioris",
    "frontalis": "frontalis",
    "orbicularis_oculi": "orbicularis oculi",
    "orbicularis_oris": "orbicularis oris",
    "orbicularis": "orbicularis",
    "mentalis": "mentalis",
}
_MISSING = {"", "n/a", "na", "nan", "none"}


def channels_tsv(recording):
    """The ``<stem>_channels.tsv`` next to a BIDS recording (the path; it may not exist)."""
    rec = Path(recording)
    stem = rec.name.rsplit("_", 1)[0] if "_" in rec.stem else rec.stem
    return rec.with_name(f"{stem}_channels.tsv")


def muscle_name(target):
    """emgkit's muscle name for a ``target_muscle`` text: ``"corrugator supercilii"`` ->
    ``"corrugator"``; an unknown text becomes a name of letters, digits and ``_``."""
    text = " ".join(str(target).lower().split())
    for short, full in TARGET_MUSCLES.items():
        if text in (full, short, short.replace("_", " ")):
            return short
    return "_".join(part for part in re.split(r"[^a-z0-9]+", text) if part)


def bids_channel_map(recording):
    """The muscle -> channel map (as in ``[channels]``) that a recording's EMG-BIDS
    ``*_channels.tsv`` gives, or None when there is no such file.

    Rows of type EMG with a ``target_muscle`` (not ``n/a``) and status not ``bad`` are
    grouped by their ``group`` column (emgkit's muscle name, written by ``emgkit bids
    convert``) or else by the muscle :func:`muscle_name` reads from ``target_muscle``. One
    channel is the muscle's signal (already bipolar); two are a bipolar pair, the first row
    minus the second (``"EXG1-EXG2"``).

    Returns
    -------
    dict | None
        Muscle name -> channel label or ``"anode-cathode"``, in the table's order.

    Raises
    ------
    ReadError
        An unreadable table, one without ``name``/``target_muscle`` columns or without any
        muscle, or a muscle with more than two channels.
    """
    path = channels_tsv(recording)
    if not path.is_file():
        return None
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError,
            UnicodeDecodeError) as exc:
        raise ReadError(f"{path} cannot be read as TSV ({exc}); fix the channels table.") \
            from None
    missing = [c for c in ("name", "target_muscle") if c not in table.columns]
    if missing:
        raise ReadError(f"{path} has no {' or '.join(missing)} column, so it does not say "
                        f"which channel records which muscle; add target_muscle (e.g. "
                        f"'corrugator supercilii') or map the muscles in [channels] of the "
                        f"config.")
    groups = {}
    for row in table.to_dict("records"):
        target = row["target_muscle"].strip()
        if target.lower() in _MISSING:
            continue
        if row.get("type", "EMG").strip().upper() not in ("EMG", ""):
            continue
        if row.get("status", "good").strip().lower() == "bad":
            continue
        group = row.get("group", "").strip()
        muscle = group if group.lower() not in _MISSING else muscle_name(target)
        groups.setdefault(muscle, []).append(row["name"].strip())
    if not groups:
        raise ReadError(f"{path} names no target_muscle for any good EMG channel; fill "
                        f"target_muscle or map the muscles in [channels] of the config.")
    out = {}
    for muscle, names in groups.items():
        if len(names) > 2:
            raise ReadError(f"{path}: muscle {muscle!r} has {len(names)} channels "
                            f"({', '.join(names)}); emgkit derives a muscle from one channel "
                            f"or a bipolar pair. Give the channels distinct group values or "
                            f"map the muscles in [channels] of the config.")
        out[muscle] = "-".join(names)
    return out
