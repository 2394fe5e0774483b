"""BrainVision recordings (``.vhdr`` + ``.vmrk`` + ``.eeg``; an EMG-BIDS format) through MNE,
with the ``.vmrk`` markers as events (``code`` = MNE's annotation text, e.g.
``"Stimulus/S  1"``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ReadError
from .signals import Signals


def read_brainvision(path):
    """Read a BrainVision header file's recording whole.

    Returns
    -------
    Signals
        Channels in µV (MNE scales each channel by the unit in the header), markers as
        ``onset`` (s) and ``code`` (annotation text).
    """
    from configparser import Error as HeaderError

    import mne

    path = Path(path)
    if not path.is_file():
        raise ReadError(f"Recording {path} does not exist.")
    try:
        raw = mne.io.read_raw_brainvision(path, preload=True, verbose="error")
    # mne < 1.7 lets the header parser's NoSectionError through
    except (OSError, ValueError, KeyError, RuntimeError, HeaderError) as exc:
        raise ReadError(f"{path}: not a readable BrainVision recording ({type(exc).__name__}: "
                        f"{exc}); check that the .vhdr names its .eeg and .vmrk files.") \
            from None
    ann = raw.annotations
    markers = pd.DataFrame({"onset": np.asarray(ann.onset, float),
                            "code": [str(d) for d in ann.description]})
    return Signals(source=str(path), labels=list(raw.ch_names), units=["uV"] * len(raw.ch_names),
                   data=raw.get_data() * 1e6, sfreq=float(raw.info["sfreq"]), markers=markers,
                   meas_date=raw.info["meas_date"])
