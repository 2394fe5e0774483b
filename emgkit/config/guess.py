"""What a recording's channel labels say: which channels record which facial muscle, and
which carry events (for ``emgkit init``).

Labels are read as a muscle stem (``Corr``, ``corrugator``, ``Zyg``, ``DAO``, ``Lev``,
``Front``, ``OOc``, ``Ment`` …) decorated with words that do not change the muscle
(``Raw``, ``EMG``, ``M.``, ``supercilii`` …), a side (``L``/``R``/``left``/``right``) and an
electrode mark (a number, ``+`` or ``-``). Two marked electrodes of one muscle and side
(``Corr1``/``Corr2``, ``Zyg+``/``Zyg-``) are a bipolar pair; an unmarked label
(``Corr Raw``) is one channel that is already bipolar, never paired with another muscle.
Labels naming a processed signal (``Corr Processed``, ``zyg_rect``, ``RMS``) are kept
apart: they are used only when no raw channel is usable.

Event channels are found by name: trigger words (``Status``, ``Trigger``, ``STI 014``),
marker channels (``Marker``, ``Event marker``, ``DIG DTRIG``) and digital-input lines
(``Digital input CH28`` …, ``D1``..``D8``, ``DIN1`` …), which are the bits of one code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: muscle -> label stems that name it (lower case, letters only, compared whole)
MUSCLE_ALIASES = {
    "corrugator": ("corrugator", "corrugatorsupercilii", "corr", "cor", "cs", "brow"),
    "zygomaticus": ("zygomaticus", "zygomaticusmajor", "zygomatic", "zygo", "zyg", "zm",
                    "cheek"),
    "depressor": ("depressor", "depressoranguli", "dao", "dep"),
    "levator": ("levator", "levatorlabii", "levatorlabiisuperioris", "lev", "lls"),
    "frontalis": ("frontalis", "front", "fm"),
    "orbicularis_oculi": ("orbicularisoculi", "oculi", "ooc", "ooci"),
    "orbicularis_oris": ("orbicularisoris", "oor", "oori"),
    "orbicularis": ("orbicularis", "orb", "oo"),
    "mentalis": ("mentalis", "ment", "mnt"),
}

#: words that do not change which muscle a label names
_NOISE = {"raw", "emg", "exg", "ch", "chan", "channel", "bip", "bipolar", "signal", "sig",
          "m", "mm", "musculus", "muscle", "mv", "uv", "v", "volts", "supercilii", "major",
          "anguli", "labii", "superioris", "alaeque", "nasi", "muscles"}
#: words that mark a processed (rectified / integrated / smoothed) signal
_PROCESSED = {"processed", "proc", "rect", "rectified", "rms", "integrated", "int", "smoothed",
              "smooth", "env", "envelope", "avg", "average", "mean", "abs", "filtered", "filt"}
_SIDES = {"l": "left", "left": "left", "lt": "left", "r": "right", "right": "right",
          "rt": "right"}
_STEM = {stem: muscle for muscle, stems in MUSCLE_ALIASES.items() for stem in stems}

#: single channels whose value is an event code
_STIM = re.compile(r"^(status|trigger|triggers|trig|sti|sti ?\d+|stim|marker|markers|"
                   r"event ?marker|events?|dig ?dtrig|dtrig|ttl|din|digital ?input)$")
#: one line of a group of digital inputs (the bits of one code)
_DIGITAL = re.compile(r"^(digital ?input|digital|dig ?in|din|di|d|ttl)\s*\d+"
                      r"(\s*ch\s*\d+)?$|^digital ?input\s*(ch\s*)?\d+$")
_CAP = re.compile(r"^[a-h]\d+$")  # BioSemi ABC cap electrodes (A1..H32): D1 is not an input
_EXG = re.compile(r"^exg\s*(\d+)$")


@dataclass
class LabelParts:
    """One channel label read as muscle, side, electrode mark and processing.

    Attributes
    ----------
    label : str
        The label as in the file.
    muscle : str
        Muscle name (a key of :data:`MUSCLE_ALIASES`).
    side : str | None
        ``"left"``, ``"right"`` or None.
    mark : str | None
        Electrode mark (``"1"``, ``"2"``, ``"+"``, ``"-"``); None for a label that names a
        channel rather than an electrode (already bipolar).
    processed : bool
        The label names a processed signal (rectified, integrated, RMS …).
    """

    label: str
    muscle: str
    side: str | None
    mark: str | None
    processed: bool


@dataclass
class MuscleGuess:
    """A muscle, the channel spec drafted for it and how sure the guess is.

    Attributes
    ----------
    muscle : str
        Muscle name for ``[channels]``.
    spec : str
        ``"anode-cathode"`` or one channel label.
    labels : tuple of str
        The labels used.
    processed : bool
        The channel is already processed (goes into ``preprocess.processed``).
    confident : bool
        False when the user must check the line (it is marked EDIT).
    note : str
        Why the guess is uncertain, or what else was found.
    """

    muscle: str
    spec: str
    labels: tuple
    processed: bool = False
    confident: bool = True
    note: str = ""


def _words(text):
    return re.findall(r"[a-z]+|\d+", text)


def _stem_muscle(name):
    """(muscle, side glued to the stem) for a run of letters, or None."""
    if name in _STEM:
        return _STEM[name], None
    for side in ("left", "right", "l", "r"):
        if name.endswith(side) and name[:-len(side)] in _STEM:
            return _STEM[name[:-len(side)]], _SIDES[side]
        if name.startswith(side) and name[len(side):] in _STEM:
            return _STEM[name[len(side):]], _SIDES[side]
    return None


def parse_label(label):
    """Read one channel label as a facial-muscle channel.

    Parameters
    ----------
    label : str
        Channel label, e.g. ``"Corr Raw"``, ``"Zyg2-L"``, ``"EMG DAO+"``.

    Returns
    -------
    LabelParts | None
        None when the label names no facial muscle.
    """
    low = str(label).strip().lower()
    mark = None
    if low[-1:] in "+-" and low[-1:]:
        mark, low = low[-1], low[:-1].strip()
    if re.search(r"[a-z0-9]\s*-\s*[a-z]", low) and mark is None:
        # "Corr1-Corr2": one label holding a bipolar derivation of one muscle
        parts = [parse_label(p) for p in re.split(r"\s*-\s*", low) if p]
        if (len(parts) == 2 and all(parts)
                and parts[0].muscle == parts[1].muscle and parts[0].mark and parts[1].mark):
            return LabelParts(str(label), parts[0].muscle, parts[0].side or parts[1].side,
                              None, parts[0].processed or parts[1].processed)
    words = _words(low)
    processed = any(w in _PROCESSED for w in words)
    side, numbers, letters = None, [], []
    for w in words:
        if w in _PROCESSED or w in _NOISE:
            continue
        if w in _SIDES:
            side = _SIDES[w]
        elif w.isdigit():
            numbers.append(w)
        else:
            letters.append(w)
    if not letters:
        return None
    if letters[0] in ("orbicularis", "orb", "oo") and len(letters) > 1:
        letters = [letters[0] + letters[1]] + letters[2:]  # orbicularis oculi / oris
    found = _stem_muscle("".join(letters))
    if found is None and len(letters) > 1:
        found = _stem_muscle(letters[0])  # "Zyg major right": extra words after the stem
        if found and any(_stem_muscle(w) for w in letters[1:]):
            found = None  # two muscles in one label
    if found is None:
        return None
    muscle, glued = found
    if len(numbers) > 1:
        return None  # "EMG1 Corr2"?: too ambiguous to guess
    if numbers:
        mark = numbers[0] if mark is None else numbers[0] + mark
    return LabelParts(str(label), muscle, side or glued, mark, processed)


def _mark_order(mark):
    digits = re.sub(r"\D", "", mark)
    return (0 if "+" in mark else 1 if "-" in mark else 0, int(digits) if digits else 0)


def _group_guess(name, parts):
    """The spec for one muscle (and side) from the labels naming it."""
    singles = [p for p in parts if p.mark is None]
    marked = sorted((p for p in parts if p.mark is not None), key=lambda p: _mark_order(p.mark))
    if singles:
        note = ""
        if len(singles) > 1:
            note = "also " + ", ".join(p.label for p in singles[1:])
        if marked:
            note = (note + "; " if note else "") + "electrodes " + ", ".join(
                p.label for p in marked)
        return MuscleGuess(name, singles[0].label, (singles[0].label,), singles[0].processed,
                           len(singles) == 1, note)
    if len(marked) == 2:
        a, c = marked
        return MuscleGuess(name, f"{a.label}-{c.label}", (a.label, c.label),
                           a.processed and c.processed)
    if len(marked) == 1:
        return MuscleGuess(name, marked[0].label, (marked[0].label,), marked[0].processed,
                           False, f"{marked[0].label} looks like one electrode: give its "
                           f"partner as \"{marked[0].label}-PARTNER\" unless it is already "
                           f"bipolar")
    a, c = marked[:2]
    return MuscleGuess(name, f"{a.label}-{c.label}", (a.label, c.label),
                       a.processed and c.processed, False,
                       "more electrodes: " + ", ".join(p.label for p in marked[2:]))


def muscle_guesses(labels, *, prefer_processed=False):
    """Draft one channel spec per muscle from channel labels.

    Parameters
    ----------
    labels : list of str
        Channel labels of the recording (event channels excluded).
    prefer_processed : bool
        Use a muscle's processed channel (``Corr Processed``, ``zyg_rect``) rather than its
        raw one, e.g. when the raw channel is sampled too slowly to filter (< 250 Hz).

    Returns
    -------
    list of MuscleGuess
        In the order of the labels; a muscle recorded on both sides gives ``<muscle>_left``
        and ``<muscle>_right``.
    """
    groups = {}
    for lab in labels:
        p = parse_label(lab)
        if p is not None:
            groups.setdefault(p.muscle, []).append(p)
    out = []
    for muscle, parts in groups.items():
        raw = [p for p in parts if not p.processed]
        proc = [p for p in parts if p.processed]
        use, spare = (proc, raw) if (prefer_processed and proc) or not raw else (raw, proc)
        sides = {p.side for p in use}
        for side in dict.fromkeys(p.side for p in use):
            name = muscle if len(sides) == 1 or side is None else f"{muscle}_{side}"
            g = _group_guess(name, [p for p in use if p.side == side])
            alt = [p.label for p in spare if p.side == side or len(sides) == 1]
            if alt:
                what = "raw" if g.processed else "processed"
                g.note = (g.note + "; " if g.note else "") + f"{what}: {', '.join(alt)}"
            out.append(g)
    return out


def guess_muscles(labels):
    """Muscle -> channel spec (``"A-B"`` for a pair, ``"A"`` for one channel) from labels.

    Parameters
    ----------
    labels : list of str
        Channel labels.

    Returns
    -------
    dict
        See :func:`muscle_guesses` for how labels are read.
    """
    return {g.muscle: g.spec for g in muscle_guesses(labels)}


def exg_pairs(labels):
    """BioSemi external channels: (consecutive ``EXGn``/``EXGn+1`` pairs with n odd, the
    EXG labels left over)."""
    exg = {int(m.group(1)): lab for lab in labels
           if (m := _EXG.match(str(lab).strip().lower()))}
    pairs, used = [], set()
    for n in sorted(exg):
        if n % 2 == 1 and n + 1 in exg:
            pairs.append((exg[n], exg[n + 1]))
            used |= {n, n + 1}
    return pairs, [exg[n] for n in sorted(exg) if n not in used]


def event_channels(labels):
    """Channels that carry events, by their labels.

    Parameters
    ----------
    labels : list of str
        Channel labels.

    Returns
    -------
    stim : list of str
        Single channels holding an event code (``Status``, ``Trigger``, ``Marker`` …).
    digital : list of str
        Digital-input lines, in label order (bit 0 first); empty unless there are two or
        more (one line alone is listed in ``stim``).
    """
    norm = {lab: re.sub(r"[\s_]+", " ", str(lab).strip().lower()) for lab in labels}
    cap = sum(bool(_CAP.match(n)) and not n.startswith("d") for n in norm.values()) > 0
    digital = [lab for lab, n in norm.items() if _DIGITAL.match(n)
               and not (cap and re.fullmatch(r"d\d+", n))]
    stim = [lab for lab, n in norm.items() if _STIM.match(n) and lab not in digital]
    if len(digital) == 1:
        stim, digital = stim + digital, []
    return stim, digital
