"""A commented ``study.toml`` drafted from a recording (``emgkit init``).

Channel labels are matched to muscles by common abbreviations (``Corr``, ``Zyg``, ``DAO``,
``Front``, ``OO`` …; a pair such as ``Corr1``/``Corr2`` becomes a bipolar derivation), the
trigger codes found become placeholder conditions, and the band is suggested from the
sampling rate. Everything the file cannot tell is left as a comment to edit.
"""

from __future__ import annotations

import re

#: muscle -> label stems that name it (lower case, matched at the start of a label)
MUSCLE_ALIASES = {
    "corrugator": ("corrugator", "corr", "cs", "brow"),
    "zygomaticus": ("zygomaticus", "zygo", "zyg", "zm", "cheek"),
    "depressor": ("depressor", "dao", "dep"),
    "frontalis": ("frontalis", "front", "fm"),
    "orbicularis": ("orbicularis", "orb", "oo"),
    "levator": ("levator", "lev"),
}


def guess_muscles(labels):
    """Muscle -> channel spec (``"A-B"`` for a pair, ``"A"`` for one channel) from labels."""
    found = {}
    for muscle, stems in MUSCLE_ALIASES.items():
        hits = []
        for lab in labels:
            low = re.sub(r"[^a-z0-9]", "", lab.lower())
            for stem in stems:
                rest = low[len(stem):] if low.startswith(stem) else None
                # the stem, then nothing, a side/number or a polarity mark
                if rest is not None and re.fullmatch(r"(l|r|left|right)?\d*", rest):
                    hits.append(lab)
                    break
        if len(hits) >= 2:
            found[muscle] = f"{hits[0]}-{hits[1]}"
        elif hits:
            found[muscle] = hits[0]
    return found


def suggested_band(sfreq):
    """(low, high) Hz: 20 Hz to 500 Hz, or 45 % of the sampling rate when that is lower."""
    return 20.0, float(min(500.0, round(0.45 * sfreq / 10) * 10))


def study_template(info):
    """The text of a commented ``study.toml`` for the recording described by ``info``
    (:class:`emgkit.io.inspect.RecordingInfo`)."""
    trig = info.trigger
    labels = [str(x) for x in info.channels["label"]
              if not (trig and str(x) == trig.get("label"))]
    rates = sorted(set(float(r) for r in info.channels["sfreq"]))
    sfreq = max(rates) if rates else 0.0
    muscles = guess_muscles(labels)
    lo, hi = suggested_band(sfreq) if sfreq else (20.0, 500.0)
    lines = [f"# emgkit study config drafted by `emgkit init` from {info.file}",
             f"# {info.format.upper()}, {len(labels)} channels, {sfreq:g} Hz, "
             f"{info.duration:.1f} s. Edit every line marked EDIT, then run",
             "#   emgkit process RECORDING --config study.toml --out out",
             "", "[channels]   # muscle = \"anode-cathode\" (bipolar) or one channel label"]
    if muscles:
        lines += [f'{m} = "{spec}"' for m, spec in muscles.items()]
        others = [lab for lab in labels if not any(lab in spec.split("-")
                                                   for spec in muscles.values())]
    else:
        lines.append("# EDIT: no label looked like a facial muscle; e.g.")
        lines.append('corrugator = "' + "-".join(labels[:2]) + '"   # EDIT')
        others = labels[2:]
    if others:
        lines.append(f"# other channels: {', '.join(others[:40])}"
                     + (" …" if len(others) > 40 else ""))
    lines += ["", "[events]"]
    if trig and trig.get("codes"):
        lines += ['source = "stim"', f'stim_channel = "{trig["label"]}"',
                  f"mask = {trig['mask']}",
                  "[events.conditions]   # EDIT: name the condition of each trigger code"]
        lines += [f'"{code}" = "condition_{code}"   # {n} events'
                  for code, n in sorted(trig["codes"].items())]
    elif len(info.annotations):
        texts = info.annotations["text"].value_counts()
        lines += ['source = "annotations"',
                  "[events.conditions]   # EDIT: keep the annotations that mark stimuli"]
        lines += [f'"{t}" = "{t}"   # {n} events' for t, n in texts.items()][:30]
    else:
        lines += ['source = "events.tsv"   # EDIT: no trigger channel or annotations found; '
                  'a BIDS *_events.tsv next to the recording', "[events.conditions]",
                  '"happy" = "happy"   # EDIT']
    lines += ["", "[preprocess]",
              f"band = [{lo:g}, {hi:g}]   # Hz (upper edge below Nyquist, {sfreq / 2:g} Hz)",
              "notch = 50.0             # Hz mains (60.0 in the Americas; 0 = none)",
              "smooth = 0.05            # s, moving-average envelope window",
              "", "[epochs]",
              "tmin = -1.0", "tmax = 6.0", "baseline = [-1.0, 0.0]",
              'baseline_mode = "ratio"   # ratio, percent, logratio, subtract or zscore',
              "response = [0.5, 3.0]", "bin = 0.5",
              "", "[reject]", "threshold = 3.5   # robust SDs", "flat = 0.1        # s", ""]
    return "\n".join(lines)
