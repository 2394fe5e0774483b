"""Write EDF/EDF+ (16-bit) and BioSemi BDF/BDF+ (24-bit) files.

Used by the simulator and available to users who want to export data. The writer controls
what real acquisition software does and general-purpose writers do not: a BioSemi-style
``Status`` channel holding raw 24-bit words (trigger code in the low 16 bits plus high
status bits), and an EDF+/BDF+ annotation signal.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np

from .._check import check_option, check_sfreq
from .._files import atomic_path
from ..errors import ConfigError

_MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()


def _field(value, width):
    text = str(value)
    if len(text) > width:
        # numbers: shorten the representation rather than truncating silently
        try:
            num = float(text)
        except ValueError:
            text = text[:width]
        else:
            for prec in range(width, 0, -1):
                text = f"{num:.{prec}g}"
                if len(text) <= width:
                    break
    return text.ljust(width).encode("latin-1", "replace")


def _num(value):
    value = float(value)
    return str(int(value)) if value == int(value) else repr(value)


def _tal(onset, duration, text):
    dur = f"\x15{duration:g}" if duration else ""
    return f"{onset:+.6f}{dur}\x14{text}\x14\x00".encode("utf-8")


def write_edf(path, data, ch_names, sfreq, *, fmt="bdf", units="uV", stim=None,
              stim_name="Status", annotations=None, physical_range=None,
              start=None, record_duration=1.0, patient="X X X X"):
    """Write signals to an EDF/EDF+ or BDF/BDF+ file.

    Parameters
    ----------
    path : path-like
        Output file; written to a temporary name and moved into place when complete.
    data : ndarray, shape (n_channels, n_times)
        Signals in µV (or the unit given by ``units``).
    ch_names : list of str
        One label per row of ``data``.
    sfreq : float
        Sampling rate in Hz; ``sfreq * record_duration`` must be an integer.
    fmt : "bdf" | "edf"
        24-bit BioSemi BDF or 16-bit EDF.
    units : str
        Physical dimension written in the header (``"uV"``).
    stim : ndarray of int, shape (n_times,) | None
        Trigger channel in raw digital units. For BDF this is the full 24-bit Status word
        (code in bits 0-15, status flags in bits 16-23); for EDF it must fit in 16 bits.
    stim_name : str
        Label of the trigger channel.
    annotations : list of (onset_s, duration_s, text) | None
        When given, an annotation signal is added and the file is EDF+/BDF+.
    physical_range : float | None
        Symmetric physical range (± value) for all data channels; None uses BioSemi's
        ±262144 µV for BDF and the data's maximum (rounded up) for EDF.
    start : datetime.datetime | None
        Recording start; defaults to 2026-01-01 10:00:00.
    record_duration : float
        Duration of one data record in s.
    patient : str
        Patient identification field.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    fmt = check_option("fmt", fmt, ("bdf", "edf"))
    sfreq = check_sfreq(sfreq)
    data = np.asarray(data, dtype=float)
    if data.ndim != 2 or data.shape[0] != len(ch_names):
        raise ConfigError(f"data must have shape (n_channels={len(ch_names)}, n_times), "
                          f"got {data.shape}.")
    spr = sfreq * record_duration
    if abs(spr - round(spr)) > 1e-9:
        raise ConfigError(f"sfreq * record_duration = {spr:g} is not an integer; choose "
                          f"record_duration so that each record holds whole samples.")
    spr = int(round(spr))
    n_times = data.shape[1]
    n_rec = int(np.ceil(n_times / spr))
    pad = n_rec * spr - n_times
    bdf = fmt == "bdf"
    dmin, dmax = (-(2 ** 23), 2 ** 23 - 1) if bdf else (-(2 ** 15), 2 ** 15 - 1)
    nbytes = 3 if bdf else 2
    plus = annotations is not None
    start = start or _dt.datetime(2026, 1, 1, 10, 0, 0)

    if physical_range is None:
        physical_range = 262144.0 if bdf else float(np.ceil(np.max(np.abs(data)) + 1.0))
    pmin, pmax = -float(physical_range), float(physical_range)
    gain = (dmax - dmin) / (pmax - pmin)
    dig = np.round((np.clip(data, pmin, pmax) - pmin) * gain + dmin).astype(np.int64)
    signals = [(name, units, pmin, pmax, dmin, dmax, row) for name, row in zip(ch_names, dig)]
    if stim is not None:
        stim = np.asarray(stim, dtype=np.int64)
        if stim.shape != (n_times,):
            raise ConfigError(f"stim must have shape ({n_times},), got {stim.shape}.")
        if bdf:
            stim = np.where(stim >= 2 ** 23, stim - 2 ** 24, stim)  # two's complement
        elif stim.min() < dmin or stim.max() > dmax:
            raise ConfigError("stim values must fit in 16 bits for EDF.")
        signals.append((stim_name, "Boolean" if bdf else "", dmin, dmax, dmin, dmax, stim))

    # annotation signal: one TAL list per record, starting with the time-keeping TAL
    ann_bytes = []
    if plus:
        per_rec = [[_tal(r * record_duration, 0, "")] for r in range(n_rec)]
        for onset, duration, text in annotations:
            r = min(int(onset // record_duration), n_rec - 1)
            per_rec[r].append(_tal(onset, duration, text)[:-1] + b"\x00")
        ann_bytes = [b"".join(t) for t in per_rec]
        ann_spr = int(np.ceil(max(len(b) for b in ann_bytes) / nbytes)) + 1
    labels = [s[0] for s in signals] + (["BDF Annotations" if bdf else "EDF Annotations"]
                                        if plus else [])
    ns = len(labels)
    sprs = [spr] * len(signals) + ([ann_spr] if plus else [])

    hdr = bytearray()
    hdr += (b"\xffBIOSEMI" if bdf else b"0       ")
    hdr += _field(patient, 80)
    rec_id = (f"Startdate {start.day:02d}-{_MONTHS[start.month - 1]}-{start.year} X emgkit X"
              if plus else "emgkit simulated recording")
    hdr += _field(rec_id, 80)
    hdr += _field(start.strftime("%d.%m.%y"), 8) + _field(start.strftime("%H.%M.%S"), 8)
    hdr += _field(256 * (ns + 1), 8)
    reserved = ("BDF+C" if bdf else "EDF+C") if plus else ("24BIT" if bdf else "")
    hdr += _field(reserved, 44) + _field(n_rec, 8) + _field(f"{record_duration:g}", 8)
    hdr += _field(ns, 4)
    rows = [(s[1], s[2], s[3], s[4], s[5]) for s in signals]
    if plus:
        rows.append(("", -1, 1, dmin, dmax))
    hdr += b"".join(_field(lb, 16) for lb in labels)
    hdr += b"".join(_field("AgAgCl electrode" if i < len(ch_names) else "", 80)
                    for i in range(ns))
    for k in range(5):
        hdr += b"".join(_field(_num(r[k]) if k else r[k], 8) for r in rows)
    hdr += b"".join(_field("HP:DC LP:none" if i < len(ch_names) else "", 80)
                    for i in range(ns))
    hdr += b"".join(_field(s, 8) for s in sprs) + b"".join(_field("", 32) for _ in range(ns))

    # records: (n_rec, record_bytes) of uint8, signal by signal
    rec_bytes = sum(sprs) * nbytes
    out = np.zeros((n_rec, rec_bytes), dtype=np.uint8)
    col = 0
    for s in signals:
        vals = np.concatenate([s[6], np.full(pad, s[6][-1] if n_times else 0)])
        vals = vals.reshape(n_rec, spr).astype("<i4").view(np.uint8).reshape(n_rec, spr, 4)
        out[:, col:col + spr * nbytes] = vals[:, :, :nbytes].reshape(n_rec, -1)
        col += spr * nbytes
    for r, b in enumerate(ann_bytes):
        out[r, col:col + len(b)] = np.frombuffer(b, dtype=np.uint8)

    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(bytes(hdr))
        f.write(out.tobytes())
    return path
