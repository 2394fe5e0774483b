"""What is in a recording: channels, rates, duration, start, annotations, trigger codes
(before and after masking), BioSemi CMS drop-outs and EDF+D gaps — for ``emgkit inspect``
and for checking files before a study is run.

EDF/BDF files are described from their headers, annotation signals and the raw digital
trigger word, without decoding any EEG/EMG channel, so a large cap file costs almost
nothing. Other formats are read with their reader.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import EmgkitError, EventError
from ..events import stim as _events
from ..events.stim import cms_spans, warn_cms
from .edf import read_header, start_datetime
from .edf_annotations import annotation_signals, gaps, read_annotations
from .edf_records import read_digital

logger = logging.getLogger("emgkit")


@dataclass
class RecordingInfo:
    """Summary of one recording (see :func:`inspect_recording`).

    Attributes
    ----------
    file : str
    format : str
    channels : DataFrame
        ``label``, ``unit``, ``sfreq`` (Hz) and ``n_samples`` per data channel (annotation
        signals excluded).
    duration : float
        Seconds of data.
    start : datetime | None
        Recording start (None when the header's date is invalid).
    annotations : DataFrame
        ``onset`` (s from the first sample), ``duration`` (s) and ``text``.
    trigger : dict | None
        ``label``, ``mask``, ``idle``, ``raw_values`` (value -> samples, unmasked),
        ``codes`` (masked code -> events), ``events`` (DataFrame sample/onset/code).
    cms_spans : list of (start_s, stop_s)
        BioSemi: stretches with the CMS-in-range bit off.
    gaps : list of (at_s, missing_s)
        EDF+D discontinuities (data time, length of the gap).
    notes : list of str
        Oddities worth knowing (stray bytes, invalid start date, duplicate labels …).
    """

    file: str
    format: str
    channels: pd.DataFrame
    duration: float
    start: object = None
    annotations: pd.DataFrame = field(default_factory=pd.DataFrame)
    trigger: dict | None = None
    cms_spans: list = field(default_factory=list)
    gaps: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def sfreqs(self):
        """Distinct sampling rates (Hz), sorted."""
        return sorted(set(self.channels["sfreq"].round(9)))

    def __repr__(self):
        rates = ", ".join(f"{r:g}" for r in self.sfreqs) or "-"
        trig = ""
        if self.trigger:
            trig = f" | {self.trigger['label']}: {len(self.trigger['events'])} events"
        return (f"<emgkit RecordingInfo | {Path(self.file).name} ({self.format}) | "
                f"{len(self.channels)} channels at {rates} Hz | {self.duration:.3f} s | "
                f"{len(self.annotations)} annotations{trig}"
                f"{' | ' + str(len(self.notes)) + ' notes' if self.notes else ''}>")

    def text(self):
        """A plain-text listing (what ``emgkit inspect`` prints)."""
        lines = [f"file        {self.file} ({self.format})",
                 f"duration    {self.duration:.3f} s",
                 f"start       {self.start}",
                 f"channels    {len(self.channels)}"]
        for row in self.channels.itertuples():
            lines.append(f"  {row.label:<24} {row.unit or '?':<8} {row.sfreq:g} Hz")
        if self.trigger:
            t = self.trigger
            raw = ", ".join(f"{v:#x} ×{n}" for v, n in list(t["raw_values"].items())[:12])
            lines.append(f"trigger     {t['label']}: raw values (before masking) {raw}")
            codes = ", ".join(f"{c} ×{n}" for c, n in t["codes"].items()) or "none"
            lines.append(f"            mask {t['mask']:#x}, idle {t['idle']}: "
                         f"{len(t['events'])} events, codes {codes}")
        for a, b in self.cms_spans:
            lines.append(f"CMS         out of range {a:.3f}–{b:.3f} s")
        for at, miss in self.gaps:
            lines.append(f"gap         {miss:g} s missing after {at:g} s of data")
        if len(self.annotations):
            counts = self.annotations["text"].value_counts()
            lines.append("annotations " + ", ".join(f"{k!r} ×{v}" for k, v in
                                                    counts.items()))
        lines += [f"note        {n}" for n in self.notes]
        return "\n".join(lines)


def inspect_recording(path, *, mask=0xFFFF, stim_channel=None, input_config=None,
                      signals=None):
    """Describe a recording without processing it.

    Parameters
    ----------
    path : path-like
        EDF/EDF+/BDF/BDF+, ``.acq``, AcqKnowledge text export or CSV/TSV.
    mask : int
        Trigger bit mask (BioSemi: ``0xFFFF``, or ``0xFF`` for 8-bit ports).
    stim_channel : str | None
        Trigger channel; None looks for ``Status``/``Trigger``/``STI 014``.
    input_config : InputConfig | None
        How to read text files (rate, column names, units).
    signals : Signals | None
        The file's signals when already read (not EDF/BDF), so it is not read twice.

    Returns
    -------
    RecordingInfo

    Raises
    ------
    ReadError
        When the file is missing, truncated or malformed (the message says what is wrong).
    """
    from .load import recording_format

    path = Path(path)
    fmt = recording_format(path, input_config)
    if fmt in ("edf", "bdf"):
        info = _inspect_edf(path, mask, stim_channel)
    else:
        info = _inspect_signals(path, fmt, mask, stim_channel, input_config, signals)
    warn_cms(info.cms_spans, path)
    return info


def channel_values(path, labels=None, *, input_config=None, digital=False):
    """Read some channels in their physical units, as the pipeline reads analog event
    channels (``events.source = "analog"``).

    Parameters
    ----------
    path : path-like
        Any recording :func:`inspect_recording` describes.
    labels : list of str | None
        Exact labels; None reads every channel of a text or ``.acq`` file (not allowed for
        EDF/BDF, whose channels are decoded one by one).
    input_config : InputConfig | None
        How to read text files (rate, column names, units).
    digital : bool
        EDF/BDF: the raw digital values (BDF as the unsigned 24-bit word), as the pipeline
        reads a trigger channel (``events.source = "stim"``).

    Returns
    -------
    values : dict
        Label -> ndarray (physical units of the file, e.g. V); EDF/BDF channels at another
        rate than the first label's are left out.
    sfreq : float
        Sampling rate (Hz) of the returned channels.
    """
    from .load import _physical, read_signals, recording_format

    path = Path(path)
    fmt = recording_format(path, input_config)
    if fmt in ("edf", "bdf"):
        if labels is None:
            raise EmgkitError(f"channel_values({path}): give the labels to read from an "
                              f"EDF/BDF file.")
        header = read_header(path)
        rates = {lab: header.sfreq(lab) for lab in labels}
        sfreq = rates[labels[0]] if labels else 0.0
        def read(lab):
            if not digital:
                return _physical(header, lab)
            raw = read_digital(header, lab)
            return raw & 0xFFFFFF if header.bdf else raw

        return {lab: read(lab) for lab in labels if rates[lab] == sfreq}, float(sfreq)
    sig = read_signals(path, fmt, input_config)
    wanted = sig.labels if labels is None else labels
    return {lab: np.asarray(sig.get(lab), float) for lab in wanted}, float(sig.sfreq)


def trigger_summary(values, label, mask, sfreq):
    """Describe one trigger channel like :attr:`RecordingInfo.trigger`.

    Parameters
    ----------
    values : ndarray
        Trigger values (rounded to integers).
    label : str
        Channel label.
    mask : int
        Trigger bit mask.
    sfreq : float
        Sampling rate (Hz).

    Returns
    -------
    dict
        ``label``, ``mask``, ``idle``, ``raw_values``, ``codes`` and ``events``.
    """
    return _trigger(np.rint(np.asarray(values, float)), label, mask, sfreq)


def _trigger(values, label, mask, sfreq):
    values = np.asarray(values, np.int64)
    uniq, counts = np.unique(values, return_counts=True)
    order = np.argsort(-counts)
    samples, codes, idle = _events.stim_events(values, mask)
    c, n = np.unique(codes, return_counts=True)
    return dict(label=label, mask=mask, idle=idle,
                raw_values={int(uniq[i]): int(counts[i]) for i in order},
                codes={int(a): int(b) for a, b in zip(c, n)},
                events=pd.DataFrame({"sample": samples, "onset": samples / sfreq,
                                     "code": codes}))


def _inspect_edf(path, mask, stim_channel):
    header = read_header(path)
    notes = []
    ann_idx = set(annotation_signals(header))
    data_idx = [i for i in range(len(header.labels)) if i not in ann_idx]
    dur = header.record_duration
    rates = [header.spr[i] / dur if dur > 0 else 0.0 for i in data_idx]
    channels = pd.DataFrame({"label": [header.labels[i] for i in data_idx],
                             "unit": [header.units[i] for i in data_idx],
                             "sfreq": rates,
                             "n_samples": [header.spr[i] * header.n_records
                                           for i in data_idx]})
    extra = path.stat().st_size - header.header_bytes - header.n_records * header.record_bytes
    if extra > 0:
        notes.append(f"{extra} byte(s) after the last data record (ignored)")
    start = start_datetime(header)
    if start is None:
        notes.append(f"invalid start date/time {header.start!r}")
    labels = channels["label"].tolist()
    dups = sorted({x for x in labels if labels.count(x) > 1})
    if dups:
        notes.append(f"duplicate channel labels: {', '.join(dups)}")
    odd = sorted({r for r in rates if r > 0 and abs(r - round(r)) > 1e-9})
    if odd:
        notes.append(f"non-integer sampling rate(s): {', '.join(f'{r:g}' for r in odd)} Hz")
    if not data_idx:
        notes.append("annotation-only file: no signals")
    ann, record_onsets = read_annotations(header)
    first = 0.0
    if record_onsets is not None and len(record_onsets) and np.isfinite(record_onsets[0]):
        first = float(record_onsets[0])
    ann = ann.assign(onset=ann["onset"] - first)
    found_gaps = gaps(header, record_onsets)
    trigger, cms = None, []
    try:
        stim = _events.find_stim_channel(labels, None, stim_channel, source=str(path))
    except EmgkitError:
        stim = None
    if stim is not None and not dups and dur > 0:
        values = read_digital(header, stim)
        sfreq = header.sfreq(stim)
        if header.bdf:
            values = values & 0xFFFFFF  # the unsigned 24-bit word
            if stim.lower() == "status":
                cms = cms_spans(values, sfreq)
        trigger = _trigger(values, stim, mask, sfreq)
    return RecordingInfo(str(path), "bdf" if header.bdf else "edf", channels,
                         header.n_records * dur if data_idx else 0.0, start,
                         ann.reset_index(drop=True), trigger, cms, found_gaps, notes)


def _inspect_signals(path, fmt, mask, stim_channel, input_config, sig=None):
    from .load import read_signals

    if sig is None:
        sig = read_signals(path, fmt, input_config)
    channels = pd.DataFrame({"label": sig.labels, "unit": sig.units,
                             "sfreq": [sig.sfreq] * len(sig.labels),
                             "n_samples": [sig.n_times] * len(sig.labels)})
    trigger = None
    if stim_channel is not None:
        lab = sig.label(stim_channel)
        if lab is None:
            raise EventError(f"Trigger channel {stim_channel!r} not found in {path}; "
                                     f"channels: {', '.join(sig.labels)}.")
        trigger = _trigger(np.rint(sig.get(lab)), lab, mask, sig.sfreq)
    ann = sig.markers.assign(duration=np.nan).rename(columns={"code": "text"})
    return RecordingInfo(str(path), fmt, channels, sig.n_times / sig.sfreq, sig.meas_date,
                         ann[["onset", "duration", "text"]], trigger)
