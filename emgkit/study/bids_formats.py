"""Recordings in formats EMG-BIDS does not allow, as an ``mne.io.Raw`` to export to BDF.

EMG-BIDS stores data as EDF or BDF only. ``emgkit bids convert`` copies EDF/BDF files
unchanged and converts the others to 24-bit BDF through mne-bids (MNE's export with edfio):
BrainVision (``.vhdr``), BIOPAC AcqKnowledge (``.acq``), AcqKnowledge text exports and
CSV/TSV. Each channel is scaled to its own physical range (``physical_range =
"channelwise"``), so the quantisation step of a channel is ``(max - min) / (2**24 - 2)`` of
its own data: far below an amplifier's noise for any EMG recording.

Channel types in the written file: the channels the config's muscles use are ``emg`` (in V,
written as µV), the trigger channel that ``[events]`` decodes is ``stim`` (integer codes), and
every other channel is ``misc`` with its values as recorded (its unit goes to the
``units`` column of ``*_channels.tsv``). Labels a BDF header cannot hold (more than 16
ASCII characters) are shortened (:func:`bdf_label`), the label as recorded kept in the
channel's ``description``.

The conversion is recorded per file in ``sub-*_scans.tsv`` (``source_file``,
``source_format``, described in ``sub-*_scans.json``: :func:`record_source`), and for the
dataset in ``dataset_description.json`` ``GeneratedBy`` and the README
(:mod:`emgkit.study.bids_convert`). The BIDS specification leaves the source files to
``sourcedata/`` as an option; they are not copied.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..errors import ReadError
from ..io.edf import microvolt_factor
from ..io.load import read_signals, recording_format

#: emgkit's reader names (:func:`emgkit.io.load.recording_format`) -> the format's name in
#: the conversion record
CONVERTED = {"brainvision": "BrainVision", "acq": "BIOPAC AcqKnowledge",
             "acq-text": "AcqKnowledge text export", "delimited": "delimited text"}
#: formats EMG-BIDS stores as they are
COPIED = ("edf", "bdf")
#: ``Manufacturer`` of ``*_emg.json`` for a converted format whose maker the format names
MANUFACTURERS = {"BIOPAC AcqKnowledge": "BIOPAC Systems",
                 "AcqKnowledge text export": "BIOPAC Systems", "BrainVision": "Brain Products"}


def bids_format(path, config):
    """``"copy"`` for EDF/BDF, else the converted format's name (``"BIOPAC AcqKnowledge"``).

    Raises
    ------
    ReadError
        A suffix emgkit does not read (the message lists the formats).
    """
    fmt = recording_format(path, config.input)
    if fmt in COPIED:
        return "copy"
    if fmt not in CONVERTED:  # pragma: no cover - recording_format knows no other reader
        raise ReadError(f"{path}: format {fmt!r} cannot be converted to EMG-BIDS.")
    return CONVERTED[fmt]


def converted_raw(path, config, loaded, *, verbose="error"):
    """The recording at ``path`` as a preloaded ``mne.io.Raw`` ready for BDF export.

    Parameters
    ----------
    path : pathlib.Path
        A BrainVision, ``.acq``, AcqKnowledge text or CSV/TSV recording.
    config : Config
        ``[input]`` (rate, columns and units of text files), ``[events]`` (the trigger
        channel) as emgkit reads the file.
    loaded : emgkit.io.load.Loaded
        The recording as emgkit loaded it (its muscles' channels and rate).
    verbose : str
        MNE's verbosity.

    Returns
    -------
    raw : mne.io.RawArray | mne.io.Raw
        EMG channels in V (type ``emg``), the trigger channel (``stim``) and the others
        (``misc``, values as recorded); annotations removed.
    units : dict
        Channel -> unit as recorded (for ``*_channels.tsv``; "" when unknown).
    renamed : dict
        Label as recorded -> label in the BDF, for the labels a BDF header cannot hold
        (:func:`bdf_label`).
    """
    import mne

    fmt = recording_format(path, config.input)
    if fmt == "brainvision":
        raw = mne.io.read_raw_brainvision(path, preload=True, verbose=verbose)
        raw.set_annotations(None)
        return _short_labels(raw, {}, verbose)
    labels = [lab for pair in loaded.resolved.values() for lab in pair if lab]
    sig = read_signals(path, fmt, config.input)
    if any(sig.rates.get(lab, sig.sfreq) != sig.sfreq for lab in labels):
        sig = read_signals(path, fmt, channels=labels)  # .acq: the EMG channels' own rate
    if abs(sig.sfreq - loaded.sfreq) > 1e-9 * loaded.sfreq:  # pragma: no cover - same reader
        raise ReadError(f"{path}: read at {sig.sfreq:g} Hz for conversion but "
                        f"{loaded.sfreq:g} Hz for the events; report this.")
    stim = _stim_label(sig.labels, config)
    data, types, units = [], [], {}
    for k, lab in enumerate(sig.labels):
        unit = sig.units[k] or ""
        units[lab] = unit
        if lab in labels:
            data.append(sig.microvolts(lab) * 1e-6)
            types.append("emg")
        elif lab == stim:
            data.append(np.rint(sig.data[k]))
            types.append("stim")
        else:
            factor = microvolt_factor(unit) if unit else None
            data.append(sig.data[k] * factor * 1e-6 if factor else sig.data[k])
            types.append("misc")
            if factor:
                units[lab] = "V"
    info = mne.create_info(list(sig.labels), sig.sfreq, types, verbose=verbose)
    raw = mne.io.RawArray(np.asarray(data, float), info, verbose=verbose)
    if sig.meas_date is not None:
        raw.set_meas_date(sig.meas_date)
    return _short_labels(raw, units, verbose)


#: the longest channel label an EDF/BDF header holds
LABEL_CHARS = 16


def bdf_label(label, taken=()):
    """A channel label an EDF/BDF header can hold (printable ASCII, at most 16 characters,
    not in ``taken``): the label itself when it fits, else its text before a bracket
    (``"EMG (30 - 500 Hz)"`` -> ``"EMG"``) cut to 16 characters, numbered when taken."""
    import re

    ok = label.isascii() and label.isprintable() and len(label) <= LABEL_CHARS
    if ok and label not in taken:
        return label
    text = label.encode("ascii", "ignore").decode()
    text = re.split(r"[([{]", text)[0].strip() or "CH"
    text = " ".join(c for c in text.split() if c.isprintable())[:LABEL_CHARS].strip() or "CH"
    candidate, k = text, 1
    while candidate in taken:
        k += 1
        candidate = f"{text[:LABEL_CHARS - len(str(k)) - 1].rstrip()}_{k}"
    return candidate


def _short_labels(raw, units, verbose):
    """Rename channels whose labels a BDF header cannot hold; returns ``raw``, ``units``
    (by the new labels) and ``renamed`` (old label -> new, only the changed ones)."""
    renamed, taken = {}, set()
    for lab in raw.ch_names:
        new = bdf_label(lab, taken)
        taken.add(new)
        if new != lab:
            renamed[lab] = new
    if renamed:
        raw.rename_channels(renamed, verbose=verbose)
    return raw, {renamed.get(k, k): v for k, v in units.items()}, renamed


def _stim_label(labels, config):
    """The trigger channel ``[events]`` decodes (``source = "stim"``), else None."""
    from ..events.stim import find_stim_channel

    if config.events.source != "stim":
        return None
    return find_stim_channel(labels, None, config.events.stim_channel)


def hardware_filters(raw):
    """``HardwareFilters`` of ``*_emg.json`` from an EDF/BDF header's prefilter field (as
    MNE reads it into ``highpass``/``lowpass``), or ``"n/a"`` when the file does not say.

    A low-pass at the Nyquist frequency and a high-pass of 0 Hz are MNE's defaults for "no
    filter recorded", not a filter."""
    hp, lp = float(raw.info["highpass"]), float(raw.info["lowpass"])
    nyquist = raw.info["sfreq"] / 2.0
    found = {}
    if hp > 0:
        found["HighpassFilter"] = {"CutoffFrequency": hp}
    if lp < nyquist - 1e-9:
        found["LowpassFilter"] = {"CutoffFrequency": lp}
    return found or "n/a"


def unit_text(unit):
    """A recorded unit for ``*_channels.tsv``: ASCII text as written, else ``n/a``."""
    unit = str(unit).strip().replace("\u00b5", "u").replace("\u03bc", "u")
    return unit if unit and unit.isascii() and unit.isprintable() else "n/a"


#: ``*_scans.json``: the columns emgkit adds to ``*_scans.tsv`` to record a conversion
SCANS_COLUMNS = {
    "source_file": {"Description": "Name of the recording this file was converted from "
                                   "(n/a: the file is the recording as recorded)."},
    "source_format": {"Description": "Format of the source recording; converted to 24-bit "
                                     "BDF by emgkit bids convert through MNE-BIDS (each "
                                     "channel scaled to its own physical range)."},
}


def record_source(path, rec, fmt):
    """Name the source recording and its format in the participant's ``*_scans.tsv``
    (columns described in ``*_scans.json``), the per-file record of the conversion."""
    scans = path.copy().update(datatype=None, task=None, run=None, acquisition=None,
                               suffix="scans", extension=".tsv").fpath
    table = pd.read_csv(scans, sep="\t", dtype=str, keep_default_na=False)
    for col in SCANS_COLUMNS:
        if col not in table:
            table[col] = "n/a"
    row = table["filename"] == f"emg/{path.basename}_emg.bdf"
    table.loc[row, "source_file"] = rec.name
    table.loc[row, "source_format"] = fmt
    table.to_csv(scans, sep="\t", index=False, lineterminator="\n")
    scans.with_suffix(".json").write_text(json.dumps(SCANS_COLUMNS, indent=4) + "\n",
                                          encoding="utf-8")
