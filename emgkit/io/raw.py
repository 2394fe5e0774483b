"""Read EDF/EDF+ and BioSemi BDF/BDF+ recordings through MNE.

Only the channels a config needs are loaded (MNE reads the header, the needed channels are
picked, then loaded), so a 72-channel cap file costs the memory of the few facial channels.
The header is checked against the file size first, so a truncated file is a clear
:class:`~emgkit.errors.ReadError` rather than a silent short read.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import ReadError
from .edf import read_header

logger = logging.getLogger("emgkit")

SUFFIXES = {".edf": "edf", ".bdf": "bdf"}


def read_raw(path, *, channels=None, preload=True, verbose="error"):
    """Read an EDF/EDF+/BDF/BDF+ file with MNE.

    Parameters
    ----------
    path : path-like
        The recording (``.edf`` or ``.bdf``, any case).
    channels : list of str | None
        Labels to load (exact labels as in the file); None loads all channels.
    preload : bool
        Load the data into memory.
    verbose : str
        MNE's verbosity for the read.

    Returns
    -------
    mne.io.Raw
        The recording; data in SI units (V) as MNE stores them, the trigger channel
        (``Status``/``Trigger``) as type ``stim`` in raw digital units.

    Raises
    ------
    ReadError
        Missing file, unsupported suffix, truncated or malformed file.
    """
    path = Path(path)
    if not path.is_file():
        raise ReadError(f"Recording {path} does not exist.")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ReadError(f"{path}: unsupported file type {path.suffix!r}; emgkit reads "
                        f".edf and .bdf files.")
    read_header(path)
    import mne  # imported here: the numpy reading path does not need MNE

    reader = mne.io.read_raw_bdf if kind == "bdf" else mne.io.read_raw_edf
    try:
        raw = reader(path, preload=False, verbose=verbose)
        if channels is not None:
            raw.pick(list(channels))
        if preload:
            raw.load_data(verbose=verbose)
    except ReadError:
        raise
    except Exception as exc:  # MNE raises many types for malformed files
        raise ReadError(f"{path}: MNE could not read the file ({type(exc).__name__}: "
                        f"{exc}).") from exc
    return raw


def describe(raw):
    """Summarise a recording for ``emgkit inspect``.

    Returns
    -------
    dict
        ``file``, ``sfreq`` (Hz), ``duration`` (s), ``meas_date``, ``channels`` (list of
        dicts with ``name``, ``type``, ``unit``) and ``annotations`` (text -> count).
    """
    orig = getattr(raw, "_orig_units", None) or {}
    chans = []
    for name, kind in zip(raw.ch_names, raw.get_channel_types()):
        unit = "digital" if kind == "stim" else orig.get(name, "V")
        chans.append(dict(name=name, type=kind, unit=unit))
    texts, counts = np.unique(raw.annotations.description, return_counts=True)
    return dict(file=str(raw.filenames[0]), sfreq=float(raw.info["sfreq"]),
                duration=raw.n_times / raw.info["sfreq"],
                meas_date=str(raw.info["meas_date"]), channels=chans,
                annotations=dict(zip(texts.tolist(), counts.tolist())))
