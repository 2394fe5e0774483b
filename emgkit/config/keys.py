"""Every key of ``study.toml`` in one declarative table: name, type, default, unit, allowed
values, help and an example.

:mod:`emgkit.config.load` takes the keys each section accepts from this table
(:func:`section_keys`), ``docs/config.md`` is generated from it
(:mod:`emgkit.config.reference`), and the tests check it against the dataclasses of
:mod:`emgkit.config.schema` (fields and defaults), the ``[power]`` and ``[multiverse]``
readers, and ``load_config`` (every example is accepted and changes the config). A key that
is parsed but not listed here is refused as unknown; one listed but ignored fails a test.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..epochs.baseline import BASELINE_MODES
from ..epochs.onsets import NEUROKIT_METHODS
from ..epochs.reject import METHODS as REJECT_METHODS
from ..epochs.standardise import STANDARDISE
from ..events.pulses import EDGES, MODES
from .blocks import MATCHES
from .input import FORMATS, TIME_UNITS
from .schema import ENVELOPES

#: a key without a default value
REQUIRED = "required"


@dataclass(frozen=True)
class Key:
    """One config key.

    Attributes
    ----------
    section : str
        TOML table (``"preprocess"``).
    name : str
        Key inside the table; ``<muscle>`` stands for any muscle name.
    type : str
        TOML type as a user writes it (``"float"``, ``"[float, float]"``, ``"table"`` …).
    default : object
        The value used when the key is omitted (TOML spelling), None for "none", or
        :data:`REQUIRED`.
    unit : str
        Unit of the value ("" when it has none).
    allowed : tuple
        The allowed values when they are a fixed list (empty: see ``help``).
    help : str
        What the key does (one or two sentences, Markdown).
    example : object
        A value ``load_config`` accepts for this key on its own (TOML spelling).
    note : str
        Text shown beside the default when it depends on something else.
    """

    section: str
    name: str
    type: str
    default: object
    unit: str
    allowed: tuple
    help: str
    example: object
    note: str = ""


_S = "s"


def _axis(name, type_, unit, allowed, what, example):
    """A ``[multiverse]`` axis: a list of values of ``what``."""
    return Key("multiverse", name, type_, None, unit, allowed, f"Values of {what}.", example,
               note="not varied (the config's own value)")


#: section -> one-line description, in the order of the reference page
SECTIONS = {
    "channels": "Which channel carries each muscle (required, unless every recording is "
                "EMG-BIDS whose `*_channels.tsv` names a `target_muscle`: `emgkit bids "
                "convert` writes such datasets).",
    "events": "Where events come from and how codes map to conditions.",
    "input": "How to read recordings that are not EDF/BDF (text exports, AcqKnowledge).",
    "preprocess": "Filtering and envelope.",
    "epochs": "Epochs, baseline correction, trial score and time bins (times relative to "
              "event onset).",
    "reject": "Trial rejection rules.",
    "onsets": "Onset-latency detection (`latency_s` in `trials.tsv`).",
    "blocks": "Baselines taken from designated baseline blocks.",
    "study": "The participants and recordings of `emgkit run`, manual review.",
    "model": "The group model of `emgkit run` (one model per muscle unless the formula "
             "has `muscle`).",
    "report": "Report options.",
    "power": "A power model declared without a pilot (`emgkit power CONFIG`); see "
             "`emgkit.power.config`.",
    "multiverse": "The choices `emgkit multiverse` varies: every key is a list (one axis); "
                  "each combination is a specification. Omitted axes keep the config's "
                  "own value.",
}

KEYS = (
    # [channels]
    Key("channels", "<muscle>", "str", REQUIRED, "", (),
        "A channel label, or a bipolar pair `\"anode-cathode\"`; the key is the muscle name "
        "(letters, digits, `_`, `-`).",
        {"corrugator": "EXG1-EXG2", "zygomaticus": "EXG3-EXG4"}),
    # [events]
    Key("events", "source", "str", "stim", "",
        ("stim", "annotations", "analog", "events.tsv", "a TSV path"),
        "`stim`: a trigger channel; `annotations`: EDF+/BDF+ annotations or `.acq` markers; "
        "`analog`: pulses on analog channels; `events.tsv`: the BIDS `*_events.tsv` next to "
        "the recording; or a TSV with `onset` (s) and `trial_type` (`{participant_id}` is "
        "replaced).", "annotations"),
    Key("events", "stim_channel", "str", None, "", (),
        "Trigger channel label; none finds `Status`, `Trigger` or `STI 014`.", "Status"),
    Key("events", "mask", "int", 65535, "", (),
        "Bit mask applied to trigger values, 1..16777215 (BioSemi: 65535 or 255).", 255),
    Key("events", "idle", "int", None, "", (),
        "Masked trigger value between events; none takes the first sample's value.", 0),
    Key("events", "conditions", "table", REQUIRED, "", (),
        "Trigger code or annotation text -> condition name (letters, digits, `_`, `-`).",
        {"1": "happy", "2": "angry", "3": "neutral"}),
    Key("events", "shift", "float or table", {}, _S, (),
        "Onset shift added to each event (e.g. expression onset in dynamic faces): one "
        "number for all conditions, or a table condition -> s.", {"happy": 0.5}),
    Key("events", "min_interval", "float", 0.05, _S, (),
        "Shortest time between two events (>= 0; 0 = no check): a same-code event closer "
        "than this to the previous kept one is merged into it (warned, counted in "
        "`run.json`); with another code it is an error naming both events.", 0.5),
    Key("events", "min_duration", "float", None, _S, (),
        "`source = \"stim\"`: shortest time a trigger code must be held to count; shorter "
        "codes (Status glitches) are ignored, warned about and counted in `run.json`. None: "
        "5 ms, or no filtering when one sample is longer; an explicit value must be at least "
        "one sample (0 = keep every code).", 0.01, "5 ms (none when one sample is longer)"),
    Key("events", "analog_channels", "list of str", [], "", (),
        "`source = \"analog\"`: the channels carrying event pulses (required then).",
        ["angry_ref", "happy_ref"]),
    Key("events", "analog_mode", "str", "channels", "", MODES,
        "`channels`: one channel per condition (the code is the channel label); `level`: "
        "pulse height codes the condition; `bits`: the lines are bits of the code.", "level"),
    Key("events", "threshold", "float", None, "channel units", (),
        "Pulse threshold; none = half-way between each channel's minimum and maximum.", 2.5),
    Key("events", "edge", "str", "rising", "", EDGES,
        "Which pulse edge is the event onset.", "falling"),
    Key("events", "level_step", "float", 1.0, "channel units", (),
        "Physical units per code step (`analog_mode = \"level\"`, > 0).", 0.5),
    # [input]
    Key("input", "format", "str", "auto", "", FORMATS,
        "`auto` decides from the suffix (`.edf`, `.bdf`, `.acq`; `.txt` is an AcqKnowledge "
        "export, `.csv`/`.tsv` delimited text).", "acq-text"),
    Key("input", "sfreq", "float", None, "Hz", (),
        "Sampling rate of text files that do not state it (> 0).", 100.0),
    Key("input", "columns", "list of str", None, "", (),
        "Column names of text files without a header (one per column, distinct).",
        ["zyg", "corr", "happy"]),
    Key("input", "units", "str or table", None, "", (),
        "Unit of every column (e.g. `\"mV\"`), or a table column -> unit; overrides the "
        "file.", "mV"),
    Key("input", "delimiter", "str", None, "", (),
        "Column delimiter of delimited text; none guesses tab, comma or semicolon.", ","),
    Key("input", "header", "bool or \"auto\"", "auto", "", (True, False, "auto"),
        "Whether delimited text starts with a row of column names.", True),
    Key("input", "time_column", "str", None, "", (),
        "Column of sample times (dropped from the channels; sets the rate when `sfreq` is "
        "not given).", "time"),
    Key("input", "time_unit", "str", "s", "", TIME_UNITS, "Unit of `time_column`.", "ms"),
    # [preprocess]
    Key("preprocess", "band", "[float, float] or [float]", [20.0, 500.0], "Hz", (),
        "Band-pass edges `[l_freq, h_freq]`; `[l_freq]` is high-pass only.", [15.0, 350.0]),
    Key("preprocess", "order", "int", 4, "", (), "Butterworth filter order, 1..10.", 2),
    Key("preprocess", "notch", "float", 50.0, "Hz", (),
        "Mains frequency removed (with harmonics); 0 = none.", 60.0,
        note="or the recording's EMG-BIDS `PowerLineFrequency` when its `*_emg.json` "
             "gives one"),
    Key("preprocess", "notch_harmonics", "bool", True, "", (),
        "Whether the notch also removes the mains harmonics.", False),
    Key("preprocess", "envelope", "str", "mean", "", ENVELOPES,
        "`mean`: moving mean of the rectified signal; `rms`: root mean square.", "rms"),
    Key("preprocess", "smooth", "float", 0.05, _S, (),
        "Envelope window; 0 = rectification only.", 0.1),
    Key("preprocess", "processed", "list of str", [], "", (),
        "Muscles (of `[channels]`) whose channel already holds an envelope (e.g. BIOPAC "
        "\"average rectified EMG\"): taken as is, without filter, rectification or "
        "smoothing.", ["corrugator"]),
    # [epochs]
    Key("epochs", "tmin", "float", -1.0, _S, (), "Epoch start.", -2.0),
    Key("epochs", "tmax", "float", 6.0, _S, (),
        "Epoch end (> `tmin`; epochs of at most 600 s).", 8.0),
    Key("epochs", "baseline", "[float, float]", [-1.0, 0.0], _S, (),
        "Baseline window (inside the epoch).", [-0.5, 0.0]),
    Key("epochs", "baseline_mode", "str", "ratio", "", BASELINE_MODES,
        "How a level is expressed against the baseline level m: `subtract` x - m (µV), "
        "`ratio` x / m, `percent` 100 (x - m) / m, `logratio` log10(x / m), `zscore` "
        "(x - m) / baseline SD.", "logratio"),
    Key("epochs", "response", "[float, float]", [0.5, 3.0], _S, (),
        "Response window whose mean corrected level is the trial `score`.", [0.5, 2.0]),
    Key("epochs", "bin", "float", 0.5, _S, (),
        "Width of the time bins of `timecourses.tsv` (> 0, at most the epoch).", 0.25),
    Key("epochs", "standardise", "str", "none", "", STANDARDISE,
        "`participant_muscle` z-scores the trial scores within participant × muscle (the "
        "baseline-mode score is kept as `score_raw`).", "participant_muscle"),
    # [reject]
    Key("reject", "threshold", "float", 3.5, "robust SD", (),
        "`method = \"robust\"`: reject a trial × muscle whose baseline or response level "
        "lies more than this many robust SDs (1.4826 × MAD, log level) from the median; "
        "0 = off.", 3.0),
    Key("reject", "flat", "float", 0.1, _S, (),
        "Reject when an input channel stays constant this long inside the epoch (flat or "
        "saturated); 0 = off. Applies with every method.", 0.2),
    Key("reject", "method", "str", "robust", "", REJECT_METHODS,
        "`robust`: emgkit's rule on levels; `kunecke2014`: the envelope's range in a 50-ms "
        "window above 3 SDs of the session; `dignath2019`: ±3.5 SD on bin values and "
        "bin-to-bin differences.", "kunecke2014"),
    # [onsets]
    Key("onsets", "method", "str", "emgkit", "", ("emgkit", "neurokit2"),
        "emgkit's detector, or NeuroKit2's `emg_activation`.", "neurokit2"),
    Key("onsets", "neurokit_method", "str", "threshold", "", NEUROKIT_METHODS,
        "NeuroKit2's activation method (`method = \"neurokit2\"` only).", "mixture"),
    Key("onsets", "k", "float", 3.0, "baseline SD", (),
        "Threshold: baseline mean + `k` baseline SDs (>= 0).", 2.5),
    Key("onsets", "min_duration", "float", 0.1, _S, (), "Shortest activation (> 0).", 0.05),
    # [blocks]
    Key("blocks", "column", "str", "block", "", (),
        "Events column with each trial's block label.", "block_name"),
    Key("blocks", "baseline", "table", {}, "", (),
        "Block -> its matched baseline block; empty: every trial uses its pre-stimulus "
        "window.", {"rejection": "neutral_1", "acceptance": "neutral_2"}),
    Key("blocks", "match", "str", "block", "", MATCHES,
        "`block`: the baseline block's mean response-window level; `position`: the trial "
        "at the same position in the baseline block.", "position"),
    # [study]
    Key("study", "participants", "str", None, "", (),
        "The participants table (`participant_id`, `group`, covariates), relative to the "
        "config; required by `emgkit run`.", "participants.tsv"),
    Key("study", "recordings", "str", None, "", (),
        "Path pattern of each participant's recording, containing `{participant_id}`; "
        "required by `emgkit run`.",
        "{participant_id}/emg/{participant_id}_task-faces_emg.bdf"),
    Key("study", "task", "str", None, "", (),
        "Task label, for the record (with `--bids`, pass `--task`).", "faces"),
    Key("study", "order", "str", None, "", (),
        "Participants column with the block order, checked for balance across groups; "
        "`\"derived\"` derives it from the trials' `[blocks] column`.", "order"),
    Key("study", "overrides", "str", None, "", (),
        "Manual review table (`participant_id, trial, muscle, action, reason, reviewer`).",
        "overrides.tsv"),
    Key("study", "exclude_participants", "list of str", [], "", (),
        "Participants left out of the analysis (recorded in `run.json`).", ["sub-03"]),
    # [model]
    Key("model", "formula", "str", "score ~ group * condition", "", (),
        "The model as lme4 writes it: fixed effects, and random terms such as "
        "`(muscle | participant_id) + (1 | stimulus)`, `(x || g)`, `(1 | a/b)`; without random "
        "terms a random intercept per participant is included.",
        "score ~ condition"),
    Key("model", "re_formula", "str", None, "", (),
        "Random slopes per participant, e.g. `\"~ condition\"` (`\"~ 0 + x\"`: no intercept); "
        "none = intercept only; not with random terms in `formula`.", "~ condition"),
    Key("model", "crossed", "str", None, "", (),
        "Column with a crossed random intercept (lme4 `(1 | stimulus_id)`); not with random "
        "terms in `formula`.", "stimulus_id"),
    Key("model", "equivalence", "float", None, "`equivalence_scale`", (),
        "Equivalence bound (> 0) for TOST tests of the contrasts; none = no test.", 0.3),
    Key("model", "equivalence_scale", "str", "sd", "", ("sd", "raw"),
        "`sd`: `equivalence` in SDs of the score (sqrt of residual + participant "
        "variance); `raw`: in score units.",
        "raw"),
    Key("model", "reference", "str", None, "", (),
        "Level every other level of a within-participant factor is compared with in "
        "`contrasts.tsv` (emmeans `trt.vs.ctrl`), e.g. `\"neutral\"`; `\"pairwise\"`: all "
        "pairs, earlier minus later level (emmeans `pairwise`); `\"revpairwise\"`: later "
        "minus earlier (emmeans `revpairwise`); none = the factor's first level when it is "
        "`neutral`, else `revpairwise`. p values: Holm over a factor's rows (emmeans "
        "`adjust = \"holm\"`, `by = NULL`).",
        "neutral", note="`neutral` when present, else revpairwise"),
    # [report]
    Key("report", "blinded", "bool", False, "", (),
        "Participant reports show the group as \"blinded\" (see `emgkit blind`).", True),
    Key("report", "traits", "list of str", [], "", (),
        "Participants columns correlated with the responses (`group/traits.tsv`).",
        ["ego_resiliency"]),
    # [power]
    Key("power", "groups", "list of str", REQUIRED, "", (),
        "At least two group names, the reference first.", ["placebo", "drug"]),
    Key("power", "conditions", "list of str", None, "", (),
        "The conditions, in the order of the means.", ["happy", "angry", "neutral"],
        note="the values of `[events.conditions]`"),
    Key("power", "tau", "float or table", REQUIRED, "score units", (),
        "Participant SD of the score (>= 0), or a table muscle -> SD.", 0.3),
    Key("power", "sigma", "float or table", REQUIRED, "score units", (),
        "Trial SD of the score (> 0), or a table muscle -> SD.", 0.5),
    Key("power", "means", "table", REQUIRED, "score units", (),
        "`[power.means.<muscle>]`: per group a list of cell means, one per condition.",
        {"corrugator": {"placebo": [1.0, 1.3, 1.1], "drug": [1.05, 1.45, 1.1]}}),
    # [multiverse]
    _axis("band_low", "list of float", "Hz", (), "`preprocess.band`'s low edge", [15.0, 20.0]),
    _axis("band_high", "list of float", "Hz", (), "`preprocess.band`'s high edge",
          [350.0, 500.0]),
    _axis("smooth", "list of float", _S, (), "`preprocess.smooth`", [0.05]),
    _axis("envelope", "list of str", "", ENVELOPES, "`preprocess.envelope`", ["mean", "rms"]),
    _axis("baseline_mode", "list of str", "", BASELINE_MODES, "`epochs.baseline_mode`",
          ["ratio", "logratio"]),
    _axis("baseline", "list of [float, float]", _S, (), "`epochs.baseline`", [[-1.0, 0.0]]),
    _axis("response", "list of [float, float]", _S, (), "`epochs.response`",
          [[0.5, 3.0], [1.0, 4.0]]),
    _axis("reject_threshold", "list of float", "robust SD", (), "`reject.threshold` (0 = off)",
          [3.5]),
    _axis("reject_method", "list of str", "", REJECT_METHODS, "`reject.method`", ["robust"]),
    _axis("standardise", "list of str", "", STANDARDISE, "`epochs.standardise`", ["none"]),
)


def section_keys(section):
    """The key names of config table ``section`` (as :mod:`emgkit.config.load` accepts them).

    Parameters
    ----------
    section : str
        A table of :data:`SECTIONS`.

    Returns
    -------
    set of str
    """
    return {k.name for k in KEYS if k.section == section}


__all__ = ["KEYS", "REQUIRED", "SECTIONS", "Key", "section_keys"]
