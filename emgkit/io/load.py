"""Load exactly what one recording's processing needs: the muscles' input channels (µV),
the trigger channel, analog event channels and annotations.

Continuous EDF/BDF files whose needed channels share one sampling rate are decoded
directly with numpy (only the needed channels' bytes are touched, so a 72-channel cap file
costs the memory of the few facial channels); other files (EDF+D, mixed rates,
non-voltage units, annotation events) go through MNE. BIOPAC ``.acq`` files, AcqKnowledge
text exports and generic CSV/TSV are read whole (:mod:`emgkit.io.acq`, :mod:`emgkit.io.text`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ReadError
from ..events import stim as _events
from ..signal import channels as _channels
from ..signal.artifacts import channel_bad_spans
from .edf import (
    calibration,
    check_digital_range,
    check_emg_signals,
    check_rate,
    fast_readable,
    microvolt_factor,
    rate_origin,
    read_header,
    start_datetime,
    with_units,
)
from .edf_annotations import gaps, read_annotations
from .edf_records import read_digital
from .raw import SUFFIXES, read_raw
from .source import ArraySource, DigitalSource


@dataclass
class Loaded:
    """Input of the processing steps.

    Attributes
    ----------
    source : ArraySource | DigitalSource
        One signal per muscle in µV (anode − cathode for bipolar pairs), readable block by
        block (:mod:`emgkit.io.source`).
    resolved : dict
        Muscle -> (anode, cathode).
    stim : ndarray | None
        Raw trigger values.
    annotations : DataFrame | None
        ``onset`` (s) and ``code`` (text) of annotations.
    sfreq : float
    meas_date : datetime | None
    engine : str
        "numpy", "mne", "acq" or "text".
    aux : dict
        Analog event channel label -> samples in the file's physical units.
    cms : list of (start_s, stop_s)
        BioSemi BDF: stretches (s) where the Status word's CMS-in-range bit is off, read
        from the file's own Status bytes whichever engine decoded the EMG; else empty.
    rate_source : str
        Where ``sfreq`` comes from (the header fields of an EDF/BDF file), for messages
        about settings that do not fit the rate; empty when the rate is the config's or
        a text file's.
    """

    source: object
    resolved: dict
    stim: np.ndarray | None
    annotations: pd.DataFrame | None
    sfreq: float
    meas_date: object
    engine: str
    aux: dict = field(default_factory=dict)
    cms: list = field(default_factory=list)
    rate_source: str = ""

    @property
    def n_times(self):
        return self.source.n_times

    @property
    def derived(self):
        """All samples of every muscle (µV), shape (n_muscles, n_times)."""
        if isinstance(self.source, ArraySource):
            return self.source.data
        return self.source.read(0, self.n_times)

    @property
    def spans(self):
        """Input channel label -> flat/saturated stretches ``(start, stop, kind)``."""
        return self.source.spans()


_FORMATS = {".edf": "edf", ".bdf": "bdf", ".acq": "acq", ".txt": "acq-text",
            ".csv": "delimited", ".tsv": "delimited", ".vhdr": "brainvision"}


def recording_format(path, input_config=None):
    """Return the reader for ``path``: the config's ``input.format`` or the suffix's."""
    path = Path(path)
    fmt = getattr(input_config, "format", "auto")
    if fmt != "auto":
        return fmt
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ReadError(f"{path}: unsupported file type {path.suffix!r}; emgkit reads .edf, "
                        f".bdf, .vhdr (BrainVision), .acq (BIOPAC), .txt (AcqKnowledge text "
                        f"export) and .csv/.tsv (set input.format for other suffixes).")
    return fmt


def load_recording(path, config, *, verbose="error", engine="auto"):
    """Load the channels, trigger, analog event channels and annotations that ``config``
    needs from ``path``.

    Parameters
    ----------
    path : pathlib.Path
        Recording in any format emgkit reads (see :func:`recording_format`).
    config : Config
    engine : "auto" | "numpy" | "mne"
        For EDF/BDF: ``auto`` uses the numpy decoder when the file allows it.

    Returns
    -------
    Loaded
    """
    path = Path(path)
    fmt = recording_format(path, config.input)
    if fmt not in SUFFIXES.values():
        return _load_signals(path, config, fmt)
    if not path.is_file():
        raise ReadError(f"Recording {path} does not exist.")
    header = read_header(path)
    _check_continuous(header, path)
    ev = config.events
    aux_labels = list(ev.analog_channels) if ev.source == "analog" else []
    labels_all = header.labels
    resolved = _channels.resolve_muscles(config.channels, labels_all, source=str(path))
    labels = _channels.needed_channels(resolved)
    stim = None
    if ev.source == "stim":
        stim = _events.find_stim_channel(labels_all, None, ev.stim_channel, source=str(path))
    _check_muscle_channels(resolved, stim, path)
    header = with_units(header, labels, config.input.units)
    check_emg_signals(header, labels)
    rates = {lab: check_rate(header, lab) for lab in labels}
    for name in aux_labels:  # calibrated like the EMG: a reversed range inverts them
        lab = _channels._lookup(name, labels_all)
        if lab is not None:
            check_digital_range(header, labels_all.index(lab))
    if engine in ("numpy", "auto"):
        if len(set(rates.values())) > 1:
            shown = ", ".join(f"{k} {v:g} Hz" for k, v in rates.items())
            raise ReadError(f"{path}: the EMG channels have different sampling rates "
                            f"({shown}); emgkit processes muscles at one rate. Map muscles "
                            f"to channels recorded at the same rate.")
        aux = [_channels._lookup(a, labels_all) for a in aux_labels]
        spr = {header.spr[header.labels.index(lab)] for lab in labels + ([stim] if stim
                                                                          else [])
               + [a for a in aux if a]}
        if (len(set(labels_all)) == len(labels_all) and len(spr) == 1 and all(aux)
                and fast_readable(header, labels)):
            sfreq = header.sfreq(labels[0])
            source = DigitalSource(header, resolved, sfreq, config.reject.flat)
            stim_values = read_digital(header, stim) if stim else None
            annotations = _annotations(header) if ev.source == "annotations" else None
            return Loaded(source, resolved, stim_values, annotations, sfreq,
                          start_datetime(header), "numpy",
                          {a: _physical(header, a) for a in aux},
                          _cms(header, stim, stim_values), rate_origin(header, labels[0]))
    if ev.source == "annotations":
        read_annotations(header)  # a TAL MNE would skip is an error here too
    loaded = _load_mne(path, config, verbose, header)
    loaded.cms = _cms(header, stim, None)
    if loaded.sfreq == rates[labels[0]]:  # MNE resamples mixed rates to the highest
        loaded.rate_source = rate_origin(header, labels[0])
    return loaded


def _cms(header, stim, stim_values):
    """CMS-out-of-range spans (s) of a BioSemi BDF's ``Status`` channel (none otherwise)."""
    if not header.bdf:
        return []
    status = next((lab for lab in header.labels if lab.strip().lower() == "status"), None)
    if status is None:
        return []
    values = stim_values if (stim == status and stim_values is not None) else \
        read_digital(header, status)
    return _events.cms_spans(values, header.sfreq(status))


def _check_muscle_channels(resolved, stim, path):
    """Refuse muscle channels that cannot carry EMG: the annotation signal, the trigger
    channel, or a bipolar pair of one electrode (its difference is zero)."""
    for muscle, (anode, cathode) in resolved.items():
        for lab in (anode, cathode):
            if lab is None:
                continue
            low = lab.strip().lower()
            if low in ("edf annotations", "bdf annotations"):
                raise ReadError(f"{path}: {lab!r} is the annotation signal, not an EMG "
                                f"channel; fix [channels] {muscle}.")
            if lab == stim or low in _events.STIM_NAMES:
                raise ReadError(f"{path}: muscle {muscle!r} is mapped to the trigger channel "
                                f"{lab!r}; fix [channels] {muscle}.")
        if cathode is not None and anode == cathode:
            raise ReadError(f"{path}: muscle {muscle!r} is the bipolar pair {anode}-{cathode} "
                            f"of one electrode, whose difference is zero; fix [channels] "
                            f"{muscle}.")


def _mne_scale(unit):
    """The factor MNE's EDF/BDF reader divides a signal by to give volts: µV and mV are
    recognised, any other unit is taken as volts (``mne.io.read_raw_edf``)."""
    unit = unit.strip()
    if unit in ("\u03bcV", "\u00b5V", "uV"):
        return 1e-6
    return 1e-3 if unit == "mV" else 1.0


def _physical(header, label):
    """One signal in the physical units of its header."""
    gain, offset = calibration(header, label)
    return read_digital(header, label) * gain + offset


def _find_aux(labels, wanted, source, find):
    out = []
    for name in wanted:
        lab = find(name)
        if lab is None:
            raise ReadError(f"Analog event channel {name!r} not found in {source}; channels: "
                            f"{', '.join(labels)}. Fix events.analog_channels.")
        out.append(lab)
    return out


def read_signals(path, fmt, input_config=None, channels=None):
    """Read a BIOPAC ``.acq``, an AcqKnowledge text export or a CSV/TSV recording whole.

    Parameters
    ----------
    path : pathlib.Path
    fmt : "acq" | "acq-text" | "delimited" | "brainvision"
    input_config : InputConfig | None
        Rate, column names, units … for text files (defaults when None).
    channels : list of str | None
        ``.acq``: the channels whose rate sets the output rate.

    Returns
    -------
    Signals
    """
    from .acq import read_acq
    from .text import read_acq_text, read_delimited

    if fmt == "acq":
        return read_acq(path, channels=channels)
    if fmt == "brainvision":
        from .brainvision import read_brainvision

        return read_brainvision(path)
    if input_config is None:  # every setting from the file (the readers' defaults)
        return read_acq_text(path) if fmt == "acq-text" else read_delimited(path)
    inp = input_config
    if fmt == "acq-text":
        return read_acq_text(path, sfreq=inp.sfreq, columns=inp.columns, units=inp.units)
    return read_delimited(path, sfreq=inp.sfreq, columns=inp.columns, units=inp.units,
                          delimiter=inp.delimiter, header=inp.header,
                          time_column=inp.time_column, time_unit=inp.time_unit)


def _load_signals(path, config, fmt):
    """Load a BIOPAC ``.acq``, an AcqKnowledge text export or a CSV/TSV recording."""
    ev = config.events
    sig = read_signals(path, fmt, config.input)
    names = sig.labels + list(sig.aliases)
    resolved = _channels.resolve_muscles(config.channels, names, source=str(path))
    resolved = {m: tuple(sig.aliases.get(x, x) if x else x for x in pair)
                for m, pair in resolved.items()}
    labels = _channels.needed_channels(resolved)
    if any(sig.rates.get(lab, sig.sfreq) != sig.sfreq for lab in labels):
        # .acq with the EMG channels stored below the base rate: read at their rate
        sig = read_signals(path, fmt, channels=labels)
    data = np.stack([sig.microvolts(lab) for lab in labels])
    spans = {lab: channel_bad_spans(x, sig.sfreq, config.reject.flat)
             for lab, x in zip(labels, data)}
    stim_values = None
    if ev.source == "stim":
        stim = _events.find_stim_channel(sig.labels, None, ev.stim_channel, source=str(path))
        stim_values = np.rint(sig.get(stim)).astype(np.int64)
    aux = {}
    if ev.source == "analog":
        for lab in _find_aux(sig.labels, ev.analog_channels, path, sig.label):
            aux[lab] = sig.get(lab)
    return Loaded(ArraySource(_channels.derive(data, labels, resolved), spans, str(path)),
                  resolved, stim_values, sig.markers, sig.sfreq, sig.meas_date,
                  {"acq": "acq", "brainvision": "brainvision"}.get(fmt, "text"), aux)


def _check_continuous(header, path):
    """Refuse EDF+D/BDF+D files with real gaps (epochs would straddle missing time)."""
    if not header.reserved.upper().startswith(("EDF+D", "BDF+D")):
        return
    _, onsets = read_annotations(header)
    found = gaps(header, onsets)
    if found:
        shown = ", ".join(f"{miss:g} s after {at:g} s" for at, miss in found[:5])
        raise ReadError(f"{path}: EDF+D file with {len(found)} gap(s) in the recording "
                        f"({shown}{' …' if len(found) > 5 else ''}); emgkit needs continuous "
                        f"data. Export the recording as one continuous (EDF+C) file or one "
                        f"file per segment.")


def _annotations(header):
    """Annotations with onsets (s) relative to the first sample."""
    ann, onsets = read_annotations(header)
    first = float(onsets[0]) if onsets is not None and len(onsets) else 0.0
    return pd.DataFrame({"onset": ann["onset"].to_numpy(float) - (first if np.isfinite(
        first) else 0.0), "code": ann["text"].astype(str).to_numpy()})


def _load_mne(path, config, verbose, header):
    raw = read_raw(path, preload=False, verbose=verbose)
    resolved = _channels.resolve_muscles(config.channels, raw.ch_names, source=str(path))
    labels = _channels.needed_channels(resolved)
    stim = None
    if config.events.source == "stim":
        stim = _events.find_stim_channel(raw.ch_names, raw.get_channel_types(),
                                         config.events.stim_channel, source=str(path))
    annotations = pd.DataFrame({"onset": np.asarray(raw.annotations.onset, float)
                                - raw.first_time,
                                "code": [str(d) for d in raw.annotations.description]})
    aux = []
    if config.events.source == "analog":
        aux = _find_aux(raw.ch_names, config.events.analog_channels, path,
                        lambda a: _channels._lookup(a, raw.ch_names))
    extra = [c for c in ([stim] if stim else []) + aux if c not in labels]
    try:
        raw.pick(labels + list(dict.fromkeys(extra)))
        raw.load_data(verbose=verbose)
    except Exception as exc:  # MNE raises many types for malformed data
        raise ReadError(f"{path}: MNE could not load the channels {', '.join(labels)} "
                        f"({type(exc).__name__}: {exc}).") from exc
    # back to the file's physical values, then to µV by the (possibly overridden) unit
    data = raw.get_data(picks=labels)
    orig = getattr(raw, "_orig_units", None) or {}
    units = dict(zip(header.labels, header.units))
    for i, lab in enumerate(labels):
        unit = units.get(lab, orig.get(lab, ""))
        factor = microvolt_factor(unit)
        if factor is None:
            raise ReadError(f"{path}: channel {lab!r} has physical dimension {unit!r}, which "
                            f"is not a voltage; set [input] units in the config.")
        data[i] *= factor / _mne_scale(orig.get(lab, unit))
    stim_values = raw.get_data(picks=[stim])[0] if stim else None
    sfreq = float(raw.info["sfreq"])
    spans = {lab: channel_bad_spans(x, sfreq, config.reject.flat)
             for lab, x in zip(labels, data)}
    aux_values = {}
    for a in aux:  # back to the file's physical units (MNE scales voltages to V)
        aux_values[a] = raw.get_data(picks=[a])[0] / _mne_scale(orig.get(a, ""))
    return Loaded(ArraySource(_channels.derive(data, labels, resolved), spans, str(path)),
                  resolved, stim_values, annotations, sfreq, raw.info["meas_date"], "mne",
                  aux_values)
