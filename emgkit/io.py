"""Read EDF/EDF+ and BioSemi BDF/BDF+ recordings through MNE.

Only the channels a config needs are loaded (MNE reads the header, the needed channels are
picked, then loaded), so a 72-channel cap file costs the memory of the few facial channels.
The header is checked against the file size first, so a truncated file is a clear
:class:`~emgkit.errors.ReadError` rather than a silent short read.
"""

from __future__ import annotations

import logging
from pathlib import Path

import mne
import numpy as np

from .errors import ReadError

logger = logging.getLogger("emgkit")

SUFFIXES = {".edf": "edf", ".bdf": "bdf"}


def _header_check(path):
    """Parse the fixed header and compare the declared data size with the file size."""
    size = path.stat().st_size
    if size < 256:
        raise ReadError(f"{path}: only {size} bytes; an EDF/BDF header alone is 256 bytes. "
                        f"The file is truncated or not an EDF/BDF file.")
    with open(path, "rb") as f:
        head = f.read(256)
        try:
            n_bytes_hdr = int(head[184:192].decode("ascii").strip())
            n_rec = int(head[236:244].decode("ascii").strip())
            ns = int(head[252:256].decode("ascii").strip())
        except ValueError:
            raise ReadError(f"{path}: the header's size fields are not numbers; this is not "
                            f"a valid EDF/BDF file.") from None
        if ns < 1 or ns > 10000 or n_bytes_hdr != 256 * (ns + 1):
            raise ReadError(f"{path}: the header declares {ns} signals and {n_bytes_hdr} "
                            f"header bytes, which do not fit; the file is malformed.")
        sig = f.read(256 * ns)
    if len(sig) < 256 * ns:
        raise ReadError(f"{path}: the file ends inside its signal headers (truncated).")
    try:
        spr = [int(sig[216 * ns + 8 * i: 216 * ns + 8 * i + 8].decode("ascii").strip())
               for i in range(ns)]
    except ValueError:
        raise ReadError(f"{path}: a samples-per-record field is not a number.") from None
    sample_bytes = 3 if head[:1] == b"\xff" else 2
    rec_bytes = sum(spr) * sample_bytes
    data_bytes = size - n_bytes_hdr
    if n_rec > 0 and rec_bytes > 0 and data_bytes < n_rec * rec_bytes:
        have = data_bytes // rec_bytes
        raise ReadError(f"{path}: truncated: the header declares {n_rec} data records "
                        f"({n_rec * rec_bytes} bytes) but the file holds {data_bytes} bytes "
                        f"({have} complete records). Re-export or re-copy the file.")


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
    _header_check(path)
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


def channel_labels(path, *, verbose="error"):
    """Return the channel labels of a recording without loading its data."""
    return read_raw(path, preload=False, verbose=verbose).ch_names


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
