"""A methods paragraph generated from the settings actually used."""

from __future__ import annotations

from .._version import __version__

_MODES = {
    "subtract": "the difference from the baseline mean (µV)",
    "ratio": "the ratio to the baseline mean",
    "percent": "the percentage change from the baseline mean",
    "logratio": "the base-10 logarithm of the ratio to the baseline mean",
    "zscore": "z-scores relative to the baseline mean and standard deviation",
}


def _fmt(v):
    return f"{v:g}"


def methods_text(config, sfreq=None, version=None):
    """Return a paragraph describing the processing, for a paper's methods section.

    Parameters
    ----------
    config : Config
        The settings used.
    sfreq : float | None
        Sampling rate (Hz) of the recording(s).
    version : str | None
        emgkit version (defaults to the installed one).

    Returns
    -------
    str
    """
    if version is None:
        version = __version__
    pp, ep, rj, ev = config.preprocess, config.epochs, config.reject, config.events
    muscles = list(config.channels)
    bip = [m for m, c in config.channels.items() if "-" in c]
    parts = []
    rate = f" at {_fmt(sfreq)} Hz" if sfreq else ""
    parts.append(f"Facial EMG was recorded{rate} over {', '.join(muscles[:-1])}"
                 f"{' and ' if len(muscles) > 1 else ''}{muscles[-1]}.")
    if bip:
        parts.append("For each muscle the bipolar derivation (difference of the two monopolar "
                     "electrodes) was computed before any filtering.")
    processed = [m for m in muscles if m in set(pp.processed or ())]
    filtered = [m for m in muscles if m not in processed]
    if processed:
        parts.append(f"The {_list(processed)} channel{'s' if len(processed) > 1 else ''} "
                     f"already held an envelope computed by the acquisition software and "
                     f"{'were' if len(processed) > 1 else 'was'} used as recorded (no "
                     f"filtering, rectification or smoothing).")
    if filtered:
        parts += _filter_sentences(pp, filtered if processed else None)
    shift = ""
    if ev.shift:
        shift = " (onsets shifted by " + ", ".join(f"{_fmt(v)} s for {c}" for c, v in
                                                  ev.shift.items()) + ")"
    parts.append(f"Epochs from {_fmt(ep.tmin)} to {_fmt(ep.tmax)} s around stimulus "
                 f"onset{shift} were expressed as {_MODES[ep.baseline_mode]} of a baseline "
                 f"from {_fmt(ep.baseline[0])} to {_fmt(ep.baseline[1])} s.")
    bl = config.blocks
    if bl.baseline:
        pairs = ", ".join(f"{b} against {r}" for b, r in bl.baseline.items())
        how = ("the mean response-window level of all trials of the matched baseline block"
               if bl.match == "block" else
               "the response-window level of the trial at the same position in the matched "
               "baseline block")
        parts.append(f"For trials in blocks with a designated baseline block ({pairs}), the "
                     f"baseline was not the pre-stimulus window but {how}; the trials of "
                     f"other blocks kept the pre-stimulus baseline.")
    if ep.baseline_mode == "logratio":
        parts.append(f"Each trial's score was the base-10 logarithm of the ratio of its mean "
                     f"envelope from {_fmt(ep.response[0])} to {_fmt(ep.response[1])} s to "
                     f"its baseline level; time courses used the same ratio in "
                     f"{_fmt(ep.bin * 1000)} ms bins.")
    else:
        parts.append(f"Each trial's score was the mean from {_fmt(ep.response[0])} to "
                     f"{_fmt(ep.response[1])} s; time courses were averaged in "
                     f"{_fmt(ep.bin * 1000)} ms bins.")
    if ep.standardise == "participant_muscle":
        parts.append("Trial scores were then standardised (z) within each participant and "
                     "muscle over the kept trials; this removes differences in overall "
                     "level between participants and groups, so unstandardised levels by "
                     "group are reported separately.")
    on = config.onsets
    if on.method == "neurokit2":
        parts.append(f"Onset latencies were detected with NeuroKit2's emg_activation "
                     f"({on.neurokit_method} method"
                     + (f", threshold the baseline mean + {_fmt(on.k)} SD"
                        if on.neurokit_method == "threshold" else "")
                     + f", activations of at least {_fmt(on.min_duration * 1000)} ms).")
    else:
        parts.append(f"Onset latencies were the first time after stimulus onset from which the "
                     f"envelope stayed above the baseline mean + {_fmt(on.k)} SD for at least "
                     f"{_fmt(on.min_duration * 1000)} ms, moved back to where it left the "
                     f"baseline mean.")
    rules = []
    if rj.flat:
        rules.append(f"an input channel stayed constant for at least {_fmt(rj.flat * 1000)} "
                     f"ms within the epoch (flat or saturated signal)")
    if rj.method == "kunecke2014":
        rules.append("the envelope's range (maximum − minimum) within any 50 ms sliding window "
                     "of the epoch exceeded 3 SDs of all clean epochs' envelope samples of "
                     "that muscle (after Künecke et al., 2014)")
    elif rj.method == "dignath2019":
        rules.append("more than half of the epoch's bins had a baseline-corrected value, or a "
                     "difference from the previous bin, beyond ±3.5 SDs of all clean trials' "
                     "bins of that muscle (after Dignath et al., 2019)")
    elif rj.threshold:
        rules.append(f"the log baseline level deviated by more than {_fmt(rj.threshold)} "
                     f"robust SDs (1.4826 × MAD) from the participant's median for that "
                     f"muscle, or the log response level by more than {_fmt(rj.threshold)} "
                     f"robust SDs from the participant's median for that condition")
    rules.append("the epoch extended beyond the recording")
    parts.append("Trials were excluded per muscle when " + "; or when ".join(rules) + ".")
    parts.append(f"Processing used emgkit {version} (configuration {config.digest()}).")
    return " ".join(parts)


def _list(items):
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _filter_sentences(pp, muscles=None):
    """Band-pass, notch and envelope sentences; ``muscles`` names the filtered muscles when
    only some are (the others were processed by the acquisition software)."""
    out = []
    if pp.l_freq and pp.h_freq:
        band = f"band-pass filtered between {_fmt(pp.l_freq)} and {_fmt(pp.h_freq)} Hz"
    elif pp.l_freq:
        band = f"high-pass filtered at {_fmt(pp.l_freq)} Hz"
    else:
        band = f"low-pass filtered at {_fmt(pp.h_freq)} Hz"
    out.append(f"Signals were {band} with a Butterworth filter of order {pp.order} applied "
               f"forward and backward (zero phase, effective order {2 * pp.order}).")
    if pp.notch:
        harm = " and its harmonics" if pp.notch_harmonics else ""
        out.append(f"Line noise was removed with second-order notch filters (Q = 30, zero "
                   f"phase) at {_fmt(pp.notch)} Hz{harm}.")
    smooth = (f"a {_fmt(pp.smooth * 1000)} ms moving average" if pp.envelope == "mean"
              else f"the root mean square in a {_fmt(pp.smooth * 1000)} ms moving window")
    out.append(f"The signals were full-wave rectified and smoothed with {smooth}."
               if pp.envelope == "mean" else f"The amplitude envelope was {smooth}.")
    if muscles:
        out[0] = out[0].replace("Signals were", f"The {_list(muscles)} signals were", 1)
    return out
