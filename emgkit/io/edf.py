"""Parse and check EDF/BDF headers: the header is checked against the file size before
anything reads samples (truncated files are a clear error, not a short read), and units and
calibration are validated per signal. Samples are decoded by :mod:`.edf_records`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ReadError

logger = logging.getLogger("emgkit")


@dataclass(frozen=True)
class EdfHeader:
    """The parts of an EDF/BDF header emgkit uses.

    Attributes
    ----------
    path : pathlib.Path
    bdf : bool
        24-bit BioSemi format.
    labels : list of str
    units : list of str
        Physical dimension per signal.
    spr : list of int
        Samples per data record, per signal.
    n_records : int
    record_duration : float
        Seconds per record.
    header_bytes : int
    physical_min, physical_max, digital_min, digital_max : list of float
    start : str
        ``dd.mm.yy hh.mm.ss`` as written.
    reserved : str
        The reserved field (``EDF+C``, ``EDF+D``, ``24BIT`` ...).
    """

    path: Path
    bdf: bool
    labels: list
    units: list
    spr: list
    n_records: int
    record_duration: float
    header_bytes: int
    physical_min: list
    physical_max: list
    digital_min: list
    digital_max: list
    start: str
    reserved: str = ""

    @property
    def sample_bytes(self):
        """Bytes per sample (3 for BDF, 2 for EDF)."""
        return 3 if self.bdf else 2

    @property
    def record_bytes(self):
        """Bytes per data record."""
        return sum(self.spr) * self.sample_bytes

    def sfreq(self, label):
        """Sampling rate (Hz) of one signal."""
        if self.record_duration <= 0:
            raise ReadError(f"{self.path}: the record duration is {self.record_duration:g} "
                            f"s, so the file holds no sampled signals (an annotation-only "
                            f"EDF+ file?).")
        return self.spr[self.labels.index(label)] / self.record_duration


#: sampling rates (Hz) emgkit accepts for EMG channels of an EDF/BDF file: outside them the
#: header's record duration or samples per record is wrong
RATE_RANGE = (1.0, 200_000.0)


def rate_origin(header, label):
    """Describe where a signal's sampling rate comes from, for messages.

    Returns
    -------
    str
        E.g. ``"2048 samples per record (signal 1 'EXG1') / 1 s record duration in the
        header of rec.bdf"``.
    """
    k = header.labels.index(label)
    return (f"{header.spr[k]} samples per data record (header field 'nr of samples' of "
            f"signal {k + 1}, {label!r}) / {header.record_duration:g} s record duration "
            f"(header field 'duration of a data record', bytes 244-251) in {header.path}")


def check_rate(header, label):
    """Return a signal's sampling rate (Hz), refusing one no EMG amplifier records at.

    Raises
    ------
    ReadError
        When the rate lies outside :data:`RATE_RANGE`, naming the file and the two header
        fields it comes from.
    """
    sfreq = header.sfreq(label)
    lo, hi = RATE_RANGE
    if not lo <= sfreq <= hi:
        raise ReadError(f"{header.path}: signal {label!r} would be sampled at {sfreq:g} Hz "
                        f"= {rate_origin(header, label)}; no EMG is recorded below {lo:g} "
                        f"Hz or above {hi:g} Hz, so one of these header fields is wrong. "
                        f"Re-export the file (or fix the field).")
    return sfreq


def _fields(block, ns, width, offset):
    return [block[offset + width * i: offset + width * (i + 1)].decode("latin-1").strip()
            for i in range(ns)]


def read_header(path):
    """Parse and check an EDF/BDF header against the file size.

    Raises
    ------
    ReadError
        Too short, malformed numeric fields, or fewer data bytes than the header declares.
    """
    path = Path(path)
    if not path.is_file():
        raise ReadError(f"Recording {path} does not exist.")
    size = path.stat().st_size
    if size < 256:
        raise ReadError(f"{path}: only {size} bytes; an EDF/BDF header alone is 256 bytes. "
                        f"The file is truncated or not an EDF/BDF file.")
    with open(path, "rb") as f:
        head = f.read(256)
        _check_version(path, head)
        try:
            n_bytes_hdr = int(head[184:192].decode("ascii").strip())
            n_rec = int(head[236:244].decode("ascii").strip())
            ns = int(head[252:256].decode("ascii").strip())
            duration = float(head[244:252].decode("ascii").strip())
        except ValueError:
            raise ReadError(f"{path}: the header's size fields are not numbers; this is not "
                            f"a valid EDF/BDF file.") from None
        if not np.isfinite(duration) or duration < 0:
            raise ReadError(f"{path}: the record duration {duration!r} s in the header is not "
                            f"a finite, non-negative number; the header is corrupt.")
        if n_rec < -1:
            raise ReadError(f"{path}: the header declares {n_rec} data records; the header "
                            f"is corrupt.")
        if ns < 1 or ns > 10000 or n_bytes_hdr != 256 * (ns + 1):
            raise ReadError(f"{path}: the header declares {ns} signals and {n_bytes_hdr} "
                            f"header bytes, which do not fit; the file is malformed.")
        sig = f.read(256 * ns)
    if len(sig) < 256 * ns:
        raise ReadError(f"{path}: the file ends inside its signal headers (truncated).")
    try:
        spr = [int(v) for v in _fields(sig, ns, 8, 216 * ns)]
        nums = [[float(v) for v in _fields(sig, ns, 8, off * ns)] for off in (104, 112, 120,
                                                                             128)]
    except ValueError:
        raise ReadError(f"{path}: a numeric signal-header field (samples per record or "
                        f"range) is not a number.") from None
    if any(v < 0 for v in spr):
        raise ReadError(f"{path}: negative samples per record {min(spr)} in the signal "
                        f"headers; the header is corrupt.")
    if not all(np.isfinite(v) for group in nums for v in group):
        raise ReadError(f"{path}: a physical or digital range in the signal headers is not "
                        f"finite; the header is corrupt.")
    data_bytes = size - n_bytes_hdr
    rec = sum(spr) * (3 if head[:1] == b"\xff" else 2)
    if n_rec == -1:  # allowed while recording: the count was never written
        n_rec = data_bytes // rec if rec > 0 else 0
        logger.warning("%s: the header does not give the number of data records (-1); "
                       "using the %d complete records in the file.", path, n_rec)
    hdr = EdfHeader(path=path, bdf=head[:1] == b"\xff", labels=_fields(sig, ns, 16, 0),
                    units=_fields(sig, ns, 8, 96 * ns), spr=spr, n_records=n_rec,
                    record_duration=duration, header_bytes=n_bytes_hdr,
                    physical_min=nums[0], physical_max=nums[1], digital_min=nums[2],
                    digital_max=nums[3],
                    start=f"{head[168:176].decode('latin-1')} {head[176:184].decode('latin-1')}",
                    reserved=head[192:236].decode("latin-1").strip())
    if n_rec > 0 and rec > 0 and data_bytes < n_rec * rec:
        raise ReadError(f"{path}: truncated: the header declares {n_rec} data records "
                        f"({n_rec * rec} bytes) but the file holds {data_bytes} bytes "
                        f"({data_bytes // rec} complete records). Re-export or re-copy the "
                        f"file.")
    extra = data_bytes - n_rec * rec
    if rec > 0 and extra >= rec:
        raise ReadError(f"{path}: the header declares {n_rec} data records of {rec} bytes, "
                        f"but the file holds {data_bytes // rec} complete records; the header "
                        f"(number of data records, field 236-244) or the signals' samples per "
                        f"record do not match the data. Re-export the file.")
    if extra > 0:
        # EDF: only complete data records are data; a partial record at the end (a writer
        # stopped mid-record) is ignored
        logger.warning("%s: %d byte(s) after the last of the %d data records (a partial "
                       "record) are ignored.", path, extra, n_rec)
    return hdr


def _check_version(path, head):
    """The version field must say EDF (``0``) or BDF (``\xffBIOSEMI``) and agree with the
    suffix: a ``.bdf`` read as EDF (or the reverse) gives wrong numbers, not an error."""
    first = head[:1]
    kind = {b"0": "EDF", b"\xff": "BDF"}.get(first)
    if kind is None:
        raise ReadError(f"{path}: the version field (byte 0) is {head[:8]!r}, neither EDF "
                        f"('0') nor BioSemi BDF ('\\xffBIOSEMI'); this is not an EDF/BDF "
                        f"file.")
    suffix = path.suffix.lower()
    if suffix in (".edf", ".bdf") and suffix[1:].upper() != kind:
        raise ReadError(f"{path}: the file is named {suffix} but its version field says "
                        f"{kind} ({head[:8]!r}); rename it to .{kind.lower()} if the content "
                        f"is right, or re-export it.")


_UNIT_TO_UV = {"uv": 1.0, "mv": 1e3, "v": 1e6, "nv": 1e-3}


def microvolt_factor(unit):
    """Factor converting a physical dimension to µV, or None when it is not a voltage.

    Accepts ``uV``/``µV``/``mV``/``V``/``nV`` and spelled-out forms (``Volts``,
    ``millivolts``) as AcqKnowledge writes them.
    """
    u = unit.strip().lower().replace("micro", "u").replace("milli", "m").replace("nano", "n")
    u = u.replace("\u03bc", "u").replace("volts", "v").replace("volt", "v")
    return _UNIT_TO_UV.get(u.replace("µ", "u"))


def with_units(header, labels, units):
    """Return ``header`` with the units of ``labels`` replaced by ``[input] units``.

    Parameters
    ----------
    header : EdfHeader
    labels : list of str
        The EMG channels (file labels).
    units : str | dict | None
        One unit for every EMG channel, or channel label -> unit; None keeps the file's.

    Raises
    ------
    ReadError
        When ``units`` names a channel that is not among ``labels``.
    """
    if units is None:
        return header
    if isinstance(units, str):
        units = {lab: units for lab in labels}
    folded = {k.strip().lower(): v for k, v in units.items()}
    unknown = [k for k in units if k.strip().lower() not in {lab.lower() for lab in labels}]
    if unknown:
        raise ReadError(f"input.units names {unknown}, which are not EMG channels of "
                        f"{header.path} ({', '.join(labels)}).")
    new = [folded.get(lab.strip().lower(), u) if lab in labels else u
           for lab, u in zip(header.labels, header.units)]
    return dataclasses.replace(header, units=new)


def check_emg_signals(header, labels):
    """Refuse EMG channels whose header fields would give wrong numbers.

    Raises
    ------
    ReadError
        Naming the file, the signal and the field: no samples per record, digital
        minimum >= maximum, physical minimum = maximum, or a unit that is not a voltage
        (blank or unknown: set ``[input] units``).
    """
    for lab in labels:
        k = header.labels.index(lab)
        where = f"{header.path}: signal {k + 1} ({lab!r})"
        if header.spr[k] <= 0:
            raise ReadError(f"{where} has {header.spr[k]} samples per data record (field "
                            f"'nr of samples'), so it holds no data; map the muscle to "
                            f"another channel.")
        check_digital_range(header, k)
        if header.physical_max[k] == header.physical_min[k]:
            raise ReadError(f"{where} has physical minimum = maximum "
                            f"({header.physical_min[k]:g}); every sample would calibrate to "
                            f"the same value. The header is corrupt: re-export the file.")
        if microvolt_factor(header.units[k]) is None:
            raise ReadError(f"{where} has physical dimension {header.units[k]!r}, which is "
                            f"not a voltage emgkit knows (uV, mV, V, nV); set [input] units "
                            f"= \"uV\" (or a table channel -> unit) in the config if you "
                            f"know the unit.")


def check_digital_range(header, k):
    """Refuse signal ``k`` when its digital range is empty or reversed.

    EDF and BDF require digital minimum < digital maximum; a reversed range would give an
    inverted gain (every sample's sign flipped), an empty one no calibration at all.

    Raises
    ------
    ReadError
        Naming the file, the signal's number and label and both header fields.
    """
    lo, hi = header.digital_min[k], header.digital_max[k]
    if lo < hi:
        return
    where = f"{header.path}: signal {k + 1} ({header.labels[k]!r})"
    if lo == hi:
        raise ReadError(f"{where} has digital minimum = maximum ({lo:.10g}) in its header "
                        f"(both fields); its values cannot be calibrated. The header is corrupt: "
                        f"re-export the file.")
    raise ReadError(f"{where} has digital minimum {lo:.10g} > digital maximum {hi:.10g} in its "
                    f"header; calibrating with it would invert the signal. The header is "
                    f"corrupt (the two fields swapped?): re-export the file, or fix the "
                    f"signal header fields 'digital minimum' and 'digital maximum'.")


def fast_readable(header, labels):
    """True when ``labels`` can be decoded directly: one sampling rate, voltage units,
    a continuous (not EDF+D) file with positive record duration and a sane range."""
    idx = [header.labels.index(lab) for lab in labels]
    return (header.n_records > 0 and header.record_duration > 0
            and not header.reserved.upper().startswith(("EDF+D", "BDF+D"))
            and len({header.spr[i] for i in idx}) == 1
            and all(microvolt_factor(header.units[i]) for i in idx)
            and all(header.digital_max[i] > header.digital_min[i] for i in idx))


def calibration(header, label):
    """(gain, offset) turning a signal's digital values into its physical unit:
    ``physical = d * gain + offset``.

    Raises
    ------
    ReadError
        When the digital range is empty or reversed (digital minimum >= maximum).
    """
    k = header.labels.index(label)
    check_digital_range(header, k)
    gain = (header.physical_max[k] - header.physical_min[k]) / (
        header.digital_max[k] - header.digital_min[k])
    return gain, header.physical_min[k] - header.digital_min[k] * gain


def calibration_uv(header, label):
    """(gain, offset) turning a voltage signal's digital values into µV."""
    gain, offset = calibration(header, label)
    scale = microvolt_factor(header.units[header.labels.index(label)])
    return gain * scale, offset * scale


def start_datetime(header):
    """Recording start as a timezone-aware UTC datetime, or None when invalid."""
    import datetime as dt

    try:
        d, t = header.start.split()
        day, month, year = (int(v) for v in d.split("."))
        hh, mm, ss = (int(v) for v in t.split("."))
        year += 1900 if year >= 85 else 2000
        return dt.datetime(year, month, day, hh, mm, ss, tzinfo=dt.timezone.utc)
    except (ValueError, TypeError):
        return None
