"""EMG-BIDS sidecars next to a recording: the ``*_emg.json`` facts checked against the file
and the config (a sampling rate that disagrees means a wrong header or the wrong sidecar;
a mains frequency that differs from the notch is worth a warning)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

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


def sidecar_notch(recording, preprocess):
    """The notch (Hz) for ``recording``: the sidecar's ``PowerLineFrequency`` when the config
    did not set ``[preprocess] notch`` (``preprocess.notch_from_sidecar``), else the
    config's."""
    if not preprocess.notch_from_sidecar:
        return preprocess.notch
    mains = sidecar_mains(recording)
    return preprocess.notch if mains is None else mains


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
