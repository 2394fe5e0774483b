"""Load exactly what one recording's processing needs: the muscles' input channels (µV),
the trigger channel and annotations.

Continuous EDF/BDF files whose needed channels share one sampling rate are decoded
directly with numpy (only the needed channels' bytes are touched, so a 72-channel cap file
costs the memory of the few facial channels); other files (EDF+D, mixed rates,
non-voltage units, annotation events) go through MNE.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import channels as _channels
from . import events as _events
from .edfheader import calibration_uv, fast_readable, read_digital, read_header, start_datetime
from .errors import ReadError
from .io import SUFFIXES, read_raw
from .reject import channel_bad_spans


@dataclass
class Loaded:
    """Input of the processing steps.

    Attributes
    ----------
    derived : ndarray, shape (n_muscles, n_times)
        One signal per muscle in µV (anode − cathode for bipolar pairs).
    spans : dict
        Input channel label -> flat/saturated stretches ``(start, stop, kind)`` (samples).
    resolved : dict
        Muscle -> (anode, cathode).
    stim : ndarray | None
        Raw trigger values.
    annotations : DataFrame | None
        ``onset`` (s) and ``code`` (text) of annotations.
    sfreq : float
    meas_date : datetime | None
    engine : str
        "numpy" or "mne".
    """

    derived: np.ndarray
    spans: dict
    resolved: dict
    stim: np.ndarray | None
    annotations: pd.DataFrame | None
    sfreq: float
    meas_date: object
    engine: str

    @property
    def n_times(self):
        return self.derived.shape[1]


def load_recording(path, config, *, verbose="error", engine="auto"):
    """Load the channels, trigger and annotations that ``config`` needs from ``path``.

    Parameters
    ----------
    engine : "auto" | "numpy" | "mne"
        ``auto`` uses the numpy decoder when the file allows it.
    """
    if path.suffix.lower() not in SUFFIXES:
        raise ReadError(f"{path}: unsupported file type {path.suffix!r}; emgkit reads "
                        f".edf and .bdf files.")
    header = read_header(path)
    ev = config.events
    if engine in ("numpy", "auto"):
        labels_all = header.labels
        resolved = _channels.resolve_muscles(config.channels, labels_all, source=str(path))
        labels = _channels.needed_channels(resolved)
        stim = None
        if ev.source == "stim":
            stim = _events.find_stim_channel(labels_all, None, ev.stim_channel,
                                             source=str(path))
        spr = {header.spr[header.labels.index(lab)] for lab in labels + ([stim] if stim
                                                                          else [])}
        if (len(set(labels_all)) == len(labels_all) and len(spr) == 1
                and fast_readable(header, labels)):
            sfreq = header.sfreq(labels[0])
            derived, spans = _derive_digital(header, resolved, sfreq, config.reject.flat)
            stim_values = read_digital(header, stim) if stim else None
            annotations = _annotations(path) if ev.source == "annotations" else None
            return Loaded(derived, spans, resolved, stim_values, annotations, sfreq,
                          start_datetime(header), "numpy")
    return _load_mne(path, config, verbose)


def _derive_digital(header, resolved, sfreq, flat):
    """Decode each muscle's channels, find flat/saturated runs on the digital values and
    form the µV signal (anode − cathode), one muscle per thread, never holding all
    monopolar channels in memory at once."""
    n = header.spr[header.labels.index(next(iter(resolved.values()))[0])] * header.n_records
    derived = np.empty((len(resolved), n))
    spans = {}

    def one(m, pair):
        for sign, label in zip((1.0, -1.0), pair):
            if label is None:
                continue
            digital = read_digital(header, label)
            if label not in spans:
                spans[label] = channel_bad_spans(digital, sfreq, flat)
            gain, offset = calibration_uv(header, label)
            if sign > 0:
                np.multiply(digital, gain, out=derived[m])
                derived[m] += offset
            else:
                for a in range(0, n, 1 << 20):  # chunks: no full-length temporaries
                    derived[m, a:a + (1 << 20)] -= digital[a:a + (1 << 20)] * gain + offset

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda item: one(*item), enumerate(resolved.values())))
    return derived, spans


def _annotations(path):
    import mne

    try:
        ann = mne.read_annotations(path)
    except Exception as exc:  # MNE raises many types for malformed annotation signals
        raise ReadError(f"{path}: annotations cannot be read ({type(exc).__name__}: "
                        f"{exc}).") from exc
    return pd.DataFrame({"onset": np.asarray(ann.onset, float),
                         "code": [str(d) for d in ann.description]})


def _load_mne(path, config, verbose):
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
    raw.pick(labels + ([stim] if stim and stim not in labels else []))
    raw.load_data(verbose=verbose)
    data = raw.get_data(picks=labels) * 1e6  # V -> µV
    stim_values = raw.get_data(picks=[stim])[0] if stim else None
    sfreq = float(raw.info["sfreq"])
    spans = {lab: channel_bad_spans(x, sfreq, config.reject.flat)
             for lab, x in zip(labels, data)}
    return Loaded(_channels.derive(data, labels, resolved), spans, resolved, stim_values,
                  annotations, sfreq, raw.info["meas_date"], "mne")
