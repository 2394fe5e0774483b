"""The study configuration's sections as frozen dataclasses (parsing: :mod:`emgkit.config.load`).

A config says which channel(s) carry each muscle, where the events come from, and how to
filter, epoch, baseline-correct and reject. Every key is checked; an unknown key, a wrong
type or a bad value raises :class:`~emgkit.errors.ConfigError` naming the key (and file).

Example
-------
.. code-block:: toml

    [channels]                 # muscle = channel label, or "anode-cathode"
    corrugator  = "EXG1-EXG2"
    zygomaticus = "EXG3-EXG4"

    [events]
    source = "stim"            # "stim" | "annotations" | "analog" | "events.tsv" | a TSV path
    mask = 65535
    [events.conditions]        # trigger code or annotation text -> condition
    "1" = "happy"
    "2" = "angry"

    [preprocess]
    band = [20.0, 500.0]       # Hz; [20.0] = high-pass only
    notch = 50.0               # Hz (harmonics included); 0 = none
    smooth = 0.05              # s, envelope window

    [epochs]
    tmin = -1.0
    tmax = 6.0
    baseline = [-1.0, 0.0]
    baseline_mode = "ratio"
    response = [0.5, 3.0]
    bin = 0.5
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .blocks import BlocksConfig
from .input import InputConfig

#: longest epoch (s) emgkit accepts
MAX_EPOCH_S = 600.0
ENVELOPES = ("mean", "rms")
#: keys added after configs were first hashed: left out of ``to_dict`` at their default
LATER_KEYS = (("epochs", "standardise", "none"), ("reject", "method", "robust"),
              ("preprocess", "notch_from_sidecar", False), ("events", "min_duration", None))


@dataclass(frozen=True)
class EventsConfig:
    """Where events come from and how they map to conditions.

    Attributes
    ----------
    source : str
        ``"stim"`` (trigger channel), ``"annotations"`` (EDF+/BDF+ annotations, or the
        markers of an ``.acq`` file), ``"analog"`` (pulses on analog channels),
        ``"events.tsv"`` (the BIDS sidecar ``*_events.tsv`` next to the recording) or a
        path to a TSV with ``onset`` (s) and ``trial_type`` columns; ``{participant_id}``
        in the path is replaced.
    stim_channel : str or None
        Trigger channel label; None finds ``Status``/``Trigger``/``STI 014``.
    mask : int
        Bit mask applied to trigger values (BioSemi: ``0xFFFF`` or ``0xFF``).
    idle : int or None
        Masked trigger value between events; None takes the first sample's value.
    conditions : dict
        Trigger code or annotation text (str) -> condition name.
    shift : dict
        Condition -> onset shift in s (e.g. expression onset in dynamic faces).
    min_interval : float
        Shortest time (s) between two events (default 0.05 s; 0 = no check). A mapped event
        closer than this to the previous kept one with the same code is the same stimulus
        logged or triggered twice: it is merged into that one, with a warning and a count
        in ``run.json``. With a different code it is an
        :class:`~emgkit.errors.EventError` naming both events (the log is ambiguous). Two
        events with the very same onset are always an error.
    min_duration : float or None
        Shortest time (s) a trigger code must be held on the trigger channel to count
        (``source = "stim"``); codes held shorter (1-3-sample glitches of a BioSemi Status
        channel, intermediate values while the lines switch) are ignored, with a count in a
        warning and in ``run.json``. None: 5 ms
        (:data:`emgkit.events.stim.DEFAULT_MIN_DURATION`), or no filtering when one sample
        is longer; a value given explicitly must be at least one sample at the recording's
        rate (0 = off).
    analog_channels : tuple of str
        ``source = "analog"``: channels carrying event pulses (see :mod:`emgkit.events.pulses`).
    analog_mode : str
        ``"channels"`` (one channel per condition; the code is the channel label),
        ``"level"`` (pulse height codes the condition) or ``"bits"`` (lines are bits).
    threshold : float or None
        Pulse threshold in the channels' physical units; None = half-way between each
        channel's minimum and maximum.
    edge : str
        ``"rising"`` or ``"falling"``: which pulse edge is the event onset.
    level_step : float
        Physical units per code step (``analog_mode = "level"``).
    """

    source: str = "stim"
    stim_channel: str | None = None
    mask: int = 0xFFFF
    idle: int | None = None
    conditions: dict = field(default_factory=dict)
    shift: dict = field(default_factory=dict)
    min_interval: float = 0.05
    min_duration: float | None = None
    analog_channels: tuple = ()
    analog_mode: str = "channels"
    threshold: float | None = None
    edge: str = "rising"
    level_step: float = 1.0


@dataclass(frozen=True)
class PreprocessConfig:
    """Filtering and envelope settings (frequencies in Hz, windows in s).

    ``processed`` lists muscles whose channel already holds an envelope computed by the
    acquisition software (e.g. BIOPAC "average rectified EMG"): emgkit takes it as is,
    without filtering, rectification or smoothing.

    ``notch_from_sidecar`` (set when the TOML gives no ``notch``): a recording's EMG-BIDS
    ``*_emg.json`` ``PowerLineFrequency`` is its notch (``notch`` otherwise).
    """

    l_freq: float | None = 20.0
    h_freq: float | None = 500.0
    order: int = 4
    notch: float = 50.0
    notch_harmonics: bool = True
    envelope: str = "mean"
    smooth: float = 0.05
    processed: tuple = ()
    notch_from_sidecar: bool = False


@dataclass(frozen=True)
class EpochsConfig:
    """Epoch, baseline, score and bin settings (all times in s relative to onset).

    ``standardise = "participant_muscle"`` z-scores the trial scores within participant ×
    muscle (:mod:`emgkit.epochs.standardise`); default ``"none"``.
    """

    tmin: float = -1.0
    tmax: float = 6.0
    baseline: tuple = (-1.0, 0.0)
    baseline_mode: str = "ratio"
    response: tuple = (0.5, 3.0)
    bin: float = 0.5
    standardise: str = "none"


@dataclass(frozen=True)
class RejectConfig:
    """Trial rejection rules.

    Attributes
    ----------
    threshold : float
        Reject a trial × muscle whose baseline or response level lies more than this many
        robust SDs (1.4826 × MAD) from the participant's median for that muscle; 0 = off.
    flat : float
        Reject when a monopolar/bipolar input channel stays constant for at least this long
        (s) inside the epoch (flat line, or saturated when the constant is the channel's
        extreme); 0 = off.
    method : "robust" | "kunecke2014" | "dignath2019"
        The outlier rule: ``threshold`` robust SDs of baseline/response levels (emgkit's),
        the envelope's range in a 50-ms sliding window above 3 SDs of the session
        (Künecke et al., 2014), or ±3.5 SD on bin values and bin-to-bin differences with the
        trial out when more than half its bins are flagged (Dignath et al., 2019); see
        :mod:`emgkit.epochs.reject`. ``flat`` applies with every rule.
    """

    threshold: float = 3.5
    flat: float = 0.1
    method: str = "robust"


@dataclass(frozen=True)
class OnsetsConfig:
    """Onset-latency detection (``latency_s`` in the trial table).

    Attributes
    ----------
    method : "emgkit" | "neurokit2"
        emgkit's detector (:func:`emgkit.epochs.onsets.detect_onsets`) or NeuroKit2's
        ``emg_activation`` (:func:`emgkit.epochs.onsets.neurokit_onsets`).
    neurokit_method : "threshold" | "mixture"
        NeuroKit2's activation method (``method = "neurokit2"`` only).
    k : float
        Threshold: baseline mean + ``k`` baseline SDs.
    min_duration : float
        Shortest activation (s).
    """

    method: str = "emgkit"
    neurokit_method: str = "threshold"
    k: float = 3.0
    min_duration: float = 0.1


@dataclass(frozen=True)
class Config:
    """A validated study configuration. Build it with :func:`load_config`."""

    channels: dict
    events: EventsConfig = field(default_factory=EventsConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    epochs: EpochsConfig = field(default_factory=EpochsConfig)
    reject: RejectConfig = field(default_factory=RejectConfig)
    study: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)
    report_blinded: bool = False
    input: InputConfig = field(default_factory=InputConfig)
    blocks: BlocksConfig = field(default_factory=BlocksConfig)
    report_traits: tuple = ()
    onsets: OnsetsConfig = field(default_factory=OnsetsConfig)
    path: Path | None = None

    def __repr__(self):
        muscles = ", ".join(f"{m}={c}" for m, c in self.channels.items())
        p, e = self.preprocess, self.epochs
        band = f"{p.l_freq}-{p.h_freq} Hz"
        return (f"<emgkit Config | {muscles} | events: {self.events.source} "
                f"({len(self.events.conditions)} codes) | band {band}, notch {p.notch} Hz, "
                f"{p.envelope} {p.smooth * 1000:g} ms | epochs {e.tmin}..{e.tmax} s, "
                f"{e.baseline_mode} baseline>")

    def to_dict(self):
        """Return the resolved config as plain, JSON-serialisable data."""
        d = dataclasses.asdict(self)
        d.pop("path")
        for section, key, default in LATER_KEYS:  # digests of earlier configs stay valid
            if d[section][key] == default:
                del d[section][key]
        return json.loads(json.dumps(d, default=list))

    def digest(self):
        """Return a short sha256 of the resolved config (for provenance)."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def resolve(self, path):
        """Resolve a path given in the config relative to the config file's folder."""
        path = Path(path)
        if not path.is_absolute() and self.path is not None:
            path = self.path.parent / path
        return path
