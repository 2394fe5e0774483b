"""A commented ``study.toml`` drafted from a recording (``emgkit init``).

Channel labels are matched to muscles (:mod:`emgkit.config.guess`: ``Corr Raw`` is one
already-bipolar channel, ``Corr1``/``Corr2`` a pair, BioSemi ``EXG`` pairs before any EEG
channel when no label names a muscle), event channels become the event source with the
codes they hold (a trigger word, a marker channel, digital-input lines read as the bits of
one code, or 0/5 V pulse channels of a text export), and the band is suggested from the
sampling rate. Everything the file cannot tell is a line marked ``EDIT``; the draft is a
valid config as written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .guess import event_channels, exg_pairs, guess_muscles, muscle_guesses, parse_label
from .input import TEXT_FORMATS, init_input
from .reference import toml_value

__all__ = ["EventSource", "draft_study", "guess_muscles", "init_input", "study_template",
           "suggested_band"]


#: below this rate (Hz) a "raw" EMG channel cannot be band-passed usefully
_MIN_RAW_SFREQ = 250.0


@dataclass
class EventSource:
    """One place events can come from, as ``[events]`` lines.

    Attributes
    ----------
    what : str
        A short description (``"trigger channel Status"``).
    settings : list of (str, str)
        ``[events]`` key -> TOML value (already quoted).
    codes : dict
        Code or text -> number of events found.
    """

    what: str
    settings: list
    codes: dict = field(default_factory=dict)

    @property
    def n_events(self):
        """Events found."""
        return int(sum(self.codes.values()))


def _toml(value):
    """``value`` as a TOML basic string (:func:`~emgkit.config.reference.toml_value`)."""
    return toml_value(str(value))


def _condition(text):
    """A condition name the config accepts, from a code or an annotation text."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", str(text)).strip("_-")
    if not name:
        return "condition"
    return f"condition_{name}" if name[0].isdigit() or name.startswith("-") else name


def suggested_band(sfreq):
    """Suggested band-pass edges for a sampling rate.

    Parameters
    ----------
    sfreq : float
        Sampling rate (Hz).

    Returns
    -------
    (float, float)
        20 Hz to 500 Hz, or to 45 % of the sampling rate (rounded down to 10 Hz) when that
        is lower; for very slow recordings the low edge drops to half the high one, so the
        band stays valid.
    """
    high = 0.45 * sfreq
    high = float(min(500.0, high // 10 * 10)) if high >= 20 else np.floor(high * 10) / 10
    return min(20.0, high / 2), float(high)


def _toml_list(items, indent):
    """A TOML array of strings, wrapped to stay under 100 characters a line."""
    lines, line = [], "["
    for i, item in enumerate(items):
        piece = _toml(item) + ("]" if i == len(items) - 1 else ",")
        if len(line) + len(piece) + (0 if lines else indent) > 95 and line != "[":
            lines.append(line.rstrip())
            line = " " * indent
        line += piece + " "
    return "\n".join(lines + [line.rstrip()])


def _codes_line(codes, limit=12):
    shown = ", ".join(f"{c} ×{n}" for c, n in list(codes.items())[:limit])
    return shown + (" …" if len(codes) > limit else "") if codes else "no events"


def _stim_source(trig):
    return EventSource(f"trigger channel {trig['label']}",
                       [("source", '"stim"'), ("stim_channel", _toml(trig["label"])),
                        ("mask", str(trig["mask"]))],
                       {str(c): n for c, n in sorted(trig["codes"].items())})


def _event_sources(path, info, labels, mask, sig):
    """Every event source found in the recording, best first (``sig``: the signals of a
    file that is not EDF/BDF, read once)."""
    from ..events.pulses import analog_events
    from ..io.inspect import channel_values, trigger_summary

    stim, digital = event_channels(labels)
    trig = info.trigger
    markers = [lab for lab in stim if not (trig and lab == trig["label"])]
    text = sig is not None
    values, sfreq = {}, 0.0
    if text:
        values, sfreq = {lab: np.asarray(sig.get(lab), float) for lab in labels}, sig.sfreq
    sources = [_stim_source(trig)] if trig else []
    if len(digital) >= 2:
        lines, rate = (values, sfreq) if text else channel_values(path, digital)
        if all(lab in lines for lab in digital):
            found = analog_events({lab: lines[lab] for lab in digital}, rate, mode="bits",
                                  source=str(path))
            counts = found["code"].value_counts(sort=False)
            sources.append(EventSource(
                f"digital-input lines {digital[0]} … {digital[-1]} (bits of one code)",
                [("source", '"analog"'), ("analog_mode", '"bits"'),
                 ("analog_channels", _toml_list(digital, len("analog_channels = ")))],
                {str(c): int(n) for c, n in sorted(counts.items(), key=lambda x: int(x[0]))}))
    for lab in markers:
        raw, rate = (values, sfreq) if text else channel_values(path, [lab], digital=True)
        sources.append(_stim_source(trigger_summary(raw[lab], lab, mask, rate)))
    if text:
        pulses = [lab for lab in labels if lab not in stim + digital
                  and parse_label(lab) is None and _is_pulse(values[lab])]
        if pulses:
            found = analog_events({lab: values[lab] for lab in pulses}, sfreq,
                                  mode="channels", source=str(path))
            counts = found["code"].value_counts()
            sources.append(EventSource(
                f"pulse channels {', '.join(pulses)} (one per condition)",
                [("source", '"analog"'),
                 ("analog_channels", _toml_list(pulses, len("analog_channels = "))),
                 ("# edge", '"falling"   # when the stimulus starts at the end of a pulse')],
                {lab: int(counts.get(lab, 0)) for lab in pulses}))
    if len(info.annotations):
        counts = info.annotations["text"].value_counts()
        sources.append(EventSource("annotations", [("source", '"annotations"')],
                                   {str(t): int(n) for t, n in counts.items()}))
    return sources


def _is_pulse(x):
    """Two levels and at least one step between them: a 0/5 V pulse or reference wave."""
    x = np.asarray(x, float)
    levels = np.unique(x[np.isfinite(x)])
    return len(levels) == 2 and np.count_nonzero(np.diff(x)) >= 1


def draft_study(path, *, mask=0xFFFF, input_config=None):
    """Draft a commented ``study.toml`` for one recording.

    Parameters
    ----------
    path : path-like
        EDF/BDF, BrainVision, ``.acq``, AcqKnowledge text export or CSV/TSV.
    mask : int
        Trigger bit mask (BioSemi ``0xFFFF``; ``0xFF`` for 8-bit ports).
    input_config : InputConfig | None
        Rate (Hz), column names and units of a text export that does not state them; they
        are written to the draft's ``[input]`` table.

    Returns
    -------
    str
        The config text (valid for :func:`~emgkit.config.load_config` as drafted).

    Raises
    ------
    ConfigError
        When the file holds no signals, or a text export needs a rate or column names.
    """
    from ..io.inspect import inspect_recording
    from ..io.load import read_signals, recording_format

    fmt = recording_format(path, input_config)
    try:
        sig = None if fmt in ("edf", "bdf") else read_signals(Path(path), fmt, input_config)
        info = inspect_recording(path, mask=mask, input_config=input_config, signals=sig)
    except ConfigError as err:
        if fmt not in TEXT_FORMATS:
            raise
        raise ConfigError(f"emgkit init cannot read {path} as it stands: give the missing "
                          f"settings as options, e.g. emgkit init {path} --sfreq HZ "
                          f"--columns name1,name2,… --units mV (the reader said: {err})"
                          ) from None
    if not len(info.channels):
        raise ConfigError(f"{path} holds no signals (an annotation-only file?); run emgkit "
                          f"init on the recording itself.")
    labels = [str(x) for x in info.channels["label"]]
    sources = _event_sources(path, info, labels, mask, sig)
    return study_template(info, sources=sources, input_config=input_config)


def _channel_lines(info, labels):
    """``[channels]`` lines, the muscles whose channels are processed, the labels used and
    the rate (Hz) of the muscle channels."""
    rates = dict(zip(info.channels["label"].astype(str), info.channels["sfreq"]))
    slow = max(rates.values(), default=0.0) < _MIN_RAW_SFREQ
    guesses = muscle_guesses(labels, prefer_processed=slow)
    lines, used, processed = [], [], []
    for g in guesses:
        lines.append(f"{g.muscle} = {_toml(g.spec)}"
                     + (f"   # EDIT: {g.note}" if not g.confident else
                        f"   # {g.note}" if g.note else ""))
        used += g.labels
        processed += [g.muscle] if g.processed else []
    if not guesses:  # channels at the top rate, each label once: a pair that can load
        top = max((rates.get(lab, 0.0) for lab in labels), default=0.0)
        lines, used = _placeholder_lines([lab for lab in labels if rates.get(lab) == top
                                          and labels.count(lab) == 1])
    sfreq = max((rates[lab] for lab in used if lab in rates), default=0.0) or \
        max(rates.values(), default=0.0)
    return lines, processed, used, float(sfreq)


def _placeholder_lines(labels):
    pairs, spare = exg_pairs(labels)
    if pairs or spare:
        lines, used = [], []
        names = ["corrugator", "zygomaticus"]
        for i, (a, c) in enumerate(pairs):
            text = f"{names[i] if i < 2 else 'muscle' + str(i + 1)} = {_toml(a + '-' + c)}"
            lines.append(text + "   # EDIT: BioSemi external pair; name its muscle"
                         if i < 2 else f"# {text}   # EDIT: name the muscle and uncomment")
            used += [a, c] if i < 2 else []
        if not pairs:
            pick = spare[:2]
            lines.append(f"corrugator = {_toml('-'.join(pick))}   # EDIT: BioSemi external "
                         f"channels ({', '.join(spare)}) that are not EXGn/EXGn+1 pairs: "
                         f"give the two electrodes of each muscle")
            used += pick
        return lines, used
    emg = [lab for lab in labels if "emg" in re.findall(r"[a-z]+", lab.lower())]
    pick = emg[:1] or labels[:2]
    why = ("a channel labelled EMG, but not which muscle" if emg
           else "no label looked like a facial muscle or an EMG channel")
    return [f"corrugator = {_toml('-'.join(pick))}   # EDIT: {why}"], pick


def _input_lines(info, input_config, used):
    if info.format not in TEXT_FORMATS and input_config is None:
        return []
    lines = ["", "[input]", f"format = {_toml(info.format)}"]
    inp = input_config
    if inp is not None and inp.sfreq is not None:
        lines.append(f"sfreq = {float(inp.sfreq)!r}   # Hz")
    if inp is not None and inp.columns:
        lines.append("columns = " + _toml_list(inp.columns, len("columns = ")))
    if inp is not None and inp.units is not None:
        units = inp.units
        lines.append(f"units = {_toml(units)}" if isinstance(units, str) else
                     "units = {" + ", ".join(f"{_toml(k)} = {_toml(v)}"
                                             for k, v in units.items()) + "}")
    else:
        units = dict(zip(info.channels["label"].astype(str), info.channels["unit"]))
        if any(not str(units.get(lab) or "").strip() for lab in used):
            lines.append('units = "mV"   # EDIT: the file does not state the unit of the '
                         'EMG columns (emgkit init --units)')
    return lines


def _event_lines(sources):
    active = next((s for s in sources if s.n_events), None)
    lines = ["", "[events]"]
    if active is None and sources and sources[0].settings[0][1] == '"stim"':
        active = sources[0]  # a trigger channel without events (yet): still the source
    if active is None:
        lines += [('source = "events.tsv"   # EDIT: no events found in the file; a BIDS '
                   '*_events.tsv next to the recording'), "[events.conditions]",
                  '"happy" = "happy"   # EDIT']
    else:
        lines += [f"{k} = {v}" for k, v in active.settings]
        kind = {"annotations": "text"}.get(active.what, "channel" if active.what.startswith(
            "pulse") else "code")
        lines.append(f"[events.conditions]   # EDIT: name the condition of each {kind} "
                     f"({active.what})")
        if active.codes:
            lines += [f"{_toml(code)} = {_toml(_condition(code))}   # {n} events"
                      for code, n in list(active.codes.items())[:30]]
        else:
            lines.append('"1" = "happy"   # EDIT: no events found in this file')
    others = [s for s in sources if s is not active]
    if others:
        lines.append("# other event sources in this file (to use one, replace the [events] "
                     "lines above):")
        for s in others:
            keys = ", ".join(k + " = " + " ".join(v.split()) for k, v in s.settings
                             if not k.startswith("#"))
            lines.append(f"#   {keys}   ({s.what}: {_codes_line(s.codes)})")
    return lines


def study_template(info, *, sources=None, input_config=None):
    """The text of a commented ``study.toml`` for one recording.

    Parameters
    ----------
    info : RecordingInfo
        What :func:`emgkit.io.inspect.inspect_recording` found.
    sources : list of EventSource | None
        Event sources found (see :func:`draft_study`); None uses the trigger channel and
        annotations of ``info`` only.
    input_config : InputConfig | None
        Rate, columns and units given for a text export (written to ``[input]``).

    Returns
    -------
    str
    """
    labels = [str(x) for x in info.channels["label"]]
    stim, digital = event_channels(labels)
    if sources is None:
        sources = [_stim_source(info.trigger)] if info.trigger else []
        if len(info.annotations):
            counts = info.annotations["text"].value_counts()
            sources.append(EventSource("annotations", [("source", '"annotations"')],
                                       {str(t): int(n) for t, n in counts.items()}))
    events = {lab for lab in stim + digital}
    for s in sources:
        for k, v in s.settings:
            if k in ("stim_channel", "analog_channels"):
                events |= set(json.loads(v if v.startswith("[") else f"[{v}]"))  # TOML = JSON
    data = [lab for lab in labels if lab not in events]
    chan, processed, used, sfreq = _channel_lines(info, data)
    lo, hi = suggested_band(sfreq) if sfreq else (20.0, 500.0)
    lines = [f"# emgkit study config drafted by `emgkit init` from {info.file}",
             (f"# {info.format.upper()}, {len(labels)} channels, {sfreq:g} Hz, "
              f"{info.duration:.1f} s. Edit every line marked EDIT, then run"),
             "#   emgkit process RECORDING --config study.toml --out out"]
    lines += _input_lines(info, input_config, used)
    lines += ["", "[channels]   # muscle = \"anode-cathode\" (bipolar) or one channel label"]
    lines += chan
    others = [lab for lab in data if lab not in used]
    if others:
        lines.append(f"# other channels: {', '.join(others[:40])}"
                     + (" …" if len(others) > 40 else ""))
    lines += _event_lines(sources)
    lines += ["", "[preprocess]",
              f"band = [{lo:g}, {hi:g}]   # Hz (upper edge below Nyquist, {sfreq / 2:g} Hz)",
              ("notch = 50.0             # Hz mains (60.0 in the Americas; 0 = none)"
               if sfreq / 2 > 50 else
               f"notch = 0                # Hz: mains (50/60 Hz) is at or above Nyquist "
               f"({sfreq / 2:g} Hz)"),
              "smooth = 0.05            # s, moving-average envelope window"]
    if processed:
        lines.append("processed = [" + ", ".join(map(_toml, processed)) + "]   # already "
                     "rectified/smoothed by the acquisition software: no filter or envelope")
    lines += ["", "[epochs]",
              "tmin = -1.0", "tmax = 6.0", "baseline = [-1.0, 0.0]",
              'baseline_mode = "ratio"   # ratio, percent, logratio, subtract or zscore',
              "response = [0.5, 3.0]", "bin = 0.5",
              "", "[reject]", "threshold = 3.5   # robust SDs", "flat = 0.1        # s", ""]
    return "\n".join(lines)
