"""The study configuration: a TOML file validated into small dataclasses.

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
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ._check import check_keys, check_number, check_option, check_window, config_key
from .designconfig import BlocksConfig, blocks_config
from .errors import ConfigError
from .inputconfig import InputConfig, input_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: longest epoch (s) emgkit accepts
MAX_EPOCH_S = 600.0
BASELINE_MODES = ("subtract", "ratio", "percent", "logratio", "zscore")
ENVELOPES = ("mean", "rms")


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
        Events closer than this (s) to the previous kept event are ignored.
    analog_channels : tuple of str
        ``source = "analog"``: channels carrying event pulses (see :mod:`emgkit.pulses`).
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
    min_interval: float = 0.0
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
    """

    l_freq: float | None = 20.0
    h_freq: float | None = 500.0
    order: int = 4
    notch: float = 50.0
    notch_harmonics: bool = True
    envelope: str = "mean"
    smooth: float = 0.05
    processed: tuple = ()


@dataclass(frozen=True)
class EpochsConfig:
    """Epoch, baseline, score and bin settings (all times in s relative to onset)."""

    tmin: float = -1.0
    tmax: float = 6.0
    baseline: tuple = (-1.0, 0.0)
    baseline_mode: str = "ratio"
    response: tuple = (0.5, 3.0)
    bin: float = 0.5


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
    """

    threshold: float = 3.5
    flat: float = 0.1


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


_SECTIONS = {"channels", "events", "preprocess", "epochs", "reject", "study", "report",
             "model", "input", "blocks"}




_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def _name(src, key, value, what):
    """Muscle and condition names appear in tables, plots and file names: letters, digits,
    ``_`` and ``-`` (not first)."""
    if not _NAME.match(value):
        raise ConfigError(f"{config_key(src, key)}: {what} name {value!r} must use letters, "
                          f"digits, '_' and '-' only (not first), e.g. "
                          f"{re.sub(r'[^A-Za-z0-9_-]+', '_', value).strip('_-') or what!r}.")
    return value


def _table(d, name, src):
    sub = d.get(name, {})
    if not isinstance(sub, dict):
        raise ConfigError(f"{config_key(src, name)} must be a table ([{name}]), got {sub!r}.")
    return sub


def _channels(d, src):
    chans = _table(d, "channels", src)
    if not chans:
        raise ConfigError(f"{config_key(src, '[channels]')} is missing or empty; map each muscle "
                          f'to a channel label or an "anode-cathode" pair, e.g. '
                          f'corrugator = "EXG1-EXG2".')
    out = {}
    for muscle, spec in chans.items():
        _name(src, f"channels.{muscle}", muscle, "muscle")
        if not isinstance(spec, str) or not spec.strip():
            raise ConfigError(f"{config_key(src, 'channels.' + muscle)} must be a channel label "
                              f'or "anode-cathode" string, got {spec!r}.')
        out[muscle] = spec.strip()
    return out


def _events(d, src):
    ev = _table(d, "events", src)
    fields = {f.name for f in dataclasses.fields(EventsConfig)}
    check_keys(ev, fields, src, "events.")
    kw = {}
    if "source" in ev:
        if not isinstance(ev["source"], str) or not ev["source"]:
            raise ConfigError(f"{config_key(src, 'events.source')} must be 'stim', 'annotations', "
                              f"'analog', 'events.tsv' or a TSV path, got {ev['source']!r}.")
        kw["source"] = ev["source"]
    if "stim_channel" in ev:
        if not isinstance(ev["stim_channel"], str):
            raise ConfigError(f"{config_key(src, 'events.stim_channel')} must be a channel label.")
        kw["stim_channel"] = ev["stim_channel"]
    if "mask" in ev:
        mask = ev["mask"]
        if isinstance(mask, bool) or not isinstance(mask, int) or not 0 < mask < 2 ** 24:
            raise ConfigError(f"{config_key(src, 'events.mask')} must be an integer in 1..16777215 "
                              f"(e.g. 65535 for BioSemi, 255 for 8-bit ports), got {mask!r}.")
        kw["mask"] = mask
    if "idle" in ev:
        idle = ev["idle"]
        if isinstance(idle, bool) or not isinstance(idle, int) or idle < 0:
            raise ConfigError(f"{config_key(src, 'events.idle')} must be a non-negative integer "
                              f"(the masked trigger value between events), got {idle!r}.")
        kw["idle"] = idle
    conds = ev.get("conditions", {})
    if not isinstance(conds, dict) or not conds:
        raise ConfigError(f"{config_key(src, 'events.conditions')} must be a non-empty table of "
                          f'code or annotation text -> condition, e.g. "1" = "happy".')
    for k, v in conds.items():
        if not isinstance(v, str) or not v:
            raise ConfigError(f"{config_key(src, 'events.conditions.' + k)} must be a condition "
                              f"name (string), got {v!r}.")
        _name(src, f"events.conditions.{k}", v, "condition")
    kw["conditions"] = {str(k): v for k, v in conds.items()}
    shift = ev.get("shift", {})
    if isinstance(shift, (int, float)) and not isinstance(shift, bool):
        shift = {c: shift for c in set(kw["conditions"].values())}
    if not isinstance(shift, dict):
        raise ConfigError(f"{config_key(src, 'events.shift')} must be a number (s) or a table "
                          f"condition -> s, got {shift!r}.")
    known = set(kw["conditions"].values())
    for c, s in shift.items():
        if c not in known:
            raise ConfigError(f"{config_key(src, 'events.shift.' + c)}: {c!r} is not a condition "
                              f"named in events.conditions ({', '.join(sorted(known))}).")
        check_number(config_key(src, f"events.shift.{c}"), s)
    kw["shift"] = {c: float(s) for c, s in shift.items()}
    if "min_interval" in ev:
        kw["min_interval"] = check_number(config_key(src, "events.min_interval"),
                                          ev["min_interval"], low=0)
    kw.update(_analog(ev, src))
    if kw.get("source") == "analog" and not kw.get("analog_channels"):
        raise ConfigError(f"{config_key(src, 'events.analog_channels')} is required with "
                          f'events.source = "analog": list the pulse channels, e.g. '
                          f'["angry_ref", "happy_ref"].')
    return EventsConfig(**kw)


def _analog(ev, src):
    from .pulses import EDGES, MODES

    kw = {}
    if "analog_channels" in ev:
        chans = ev["analog_channels"]
        if (not isinstance(chans, list) or not chans
                or not all(isinstance(c, str) and c for c in chans)):
            raise ConfigError(f"{config_key(src, 'events.analog_channels')} must be a list of "
                              f"channel labels, got {chans!r}.")
        kw["analog_channels"] = tuple(chans)
    if "analog_mode" in ev:
        kw["analog_mode"] = check_option(config_key(src, "events.analog_mode"),
                                         ev["analog_mode"], MODES)
    if "edge" in ev:
        kw["edge"] = check_option(config_key(src, "events.edge"), ev["edge"], EDGES)
    if "threshold" in ev:
        kw["threshold"] = check_number(config_key(src, "events.threshold"), ev["threshold"])
    if "level_step" in ev:
        kw["level_step"] = check_number(config_key(src, "events.level_step"), ev["level_step"],
                                        low=0, low_inclusive=False)
    return kw


def _preprocess(d, src):
    pp = _table(d, "preprocess", src)
    check_keys(pp, {"band", "order", "notch", "notch_harmonics", "envelope", "smooth",
                     "processed"}, src, "preprocess.")
    kw = {}
    if "band" in pp:
        band = pp["band"]
        if not isinstance(band, list) or len(band) not in (1, 2):
            raise ConfigError(f"{config_key(src, 'preprocess.band')} must be [l_freq, h_freq] "
                              f"in Hz (or [l_freq] for high-pass only), got {band!r}.")
        kw["l_freq"] = check_number(config_key(src, "preprocess.band[0]"), band[0], low=0,
                                    low_inclusive=False)
        kw["h_freq"] = None
        if len(band) == 2:
            kw["h_freq"] = check_number(config_key(src, "preprocess.band[1]"), band[1],
                                        low=kw["l_freq"], low_inclusive=False)
    if "order" in pp:
        order = pp["order"]
        if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= 10:
            raise ConfigError(f"{config_key(src, 'preprocess.order')} must be an integer 1..10, "
                              f"got {order!r}.")
        kw["order"] = order
    if "notch" in pp:
        kw["notch"] = check_number(config_key(src, "preprocess.notch"), pp["notch"], low=0)
    if "notch_harmonics" in pp:
        if not isinstance(pp["notch_harmonics"], bool):
            raise ConfigError(f"{config_key(src, 'preprocess.notch_harmonics')} must be "
                              f"true/false.")
        kw["notch_harmonics"] = pp["notch_harmonics"]
    if "envelope" in pp:
        kw["envelope"] = check_option(config_key(src, "preprocess.envelope"), pp["envelope"],
                                      ENVELOPES)
    if "smooth" in pp:
        kw["smooth"] = check_number(config_key(src, "preprocess.smooth"), pp["smooth"], low=0)
    if "processed" in pp:
        muscles = pp["processed"]
        known = set(_table(d, "channels", src))
        if not isinstance(muscles, list) or not all(m in known for m in muscles):
            raise ConfigError(f"{config_key(src, 'preprocess.processed')} must list muscles named "
                              f"in [channels] ({', '.join(sorted(known))}) whose channel "
                              f"already holds an envelope, got {muscles!r}.")
        kw["processed"] = tuple(muscles)
    return PreprocessConfig(**kw)


def _epochs(d, src):
    ep = _table(d, "epochs", src)
    check_keys(ep, {f.name for f in dataclasses.fields(EpochsConfig)},
                src, "epochs.")
    kw = {}
    for key in ("tmin", "tmax", "bin"):
        if key in ep:
            kw[key] = check_number(config_key(src, f"epochs.{key}"), ep[key])
    cfg = EpochsConfig(**kw)
    if cfg.tmax <= cfg.tmin:
        raise ConfigError(f"{config_key(src, 'epochs.tmax')}={cfg.tmax:g} must be greater than "
                          f"epochs.tmin={cfg.tmin:g}.")
    check_number(config_key(src, "epochs.bin"), cfg.bin, low=0, low_inclusive=False)
    length = cfg.tmax - cfg.tmin
    if length > MAX_EPOCH_S:
        raise ConfigError(f"{config_key(src, 'epochs.tmin')}..tmax = {cfg.tmin:g}..{cfg.tmax:g} s "
                          f"is an epoch of {length:g} s; emgkit cuts epochs of at most "
                          f"{MAX_EPOCH_S:g} s (facial responses last seconds).")
    if cfg.bin > length:
        raise ConfigError(f"{config_key(src, 'epochs.bin')}={cfg.bin:g} s is longer than the "
                          f"epoch ({cfg.tmin:g}..{cfg.tmax:g} s = {length:g} s); use a bin of "
                          f"at most {length:g} s.")
    for key in ("baseline", "response"):
        if key in ep:
            kw[key] = check_window(config_key(src, f"epochs.{key}"), ep[key],
                                   tmin=cfg.tmin, tmax=cfg.tmax)
    if "baseline_mode" in ep:
        kw["baseline_mode"] = check_option(config_key(src, "epochs.baseline_mode"),
                                           ep["baseline_mode"], BASELINE_MODES)
    cfg = EpochsConfig(**kw)
    check_window(config_key(src, "epochs.baseline"), cfg.baseline, tmin=cfg.tmin, tmax=cfg.tmax)
    check_window(config_key(src, "epochs.response"), cfg.response, tmin=cfg.tmin, tmax=cfg.tmax)
    return cfg


def _reject(d, src):
    rj = _table(d, "reject", src)
    check_keys(rj, {"threshold", "flat"}, src, "reject.")
    kw = {k: check_number(config_key(src, f"reject.{k}"), rj[k], low=0) for k in rj}
    return RejectConfig(**kw)


def config_from_dict(d, *, path=None):
    """Validate a config mapping (as parsed from TOML) into a :class:`Config`.

    Parameters
    ----------
    d : dict
        The parsed TOML document.
    path : path-like | None
        The file it came from (used in messages and to resolve relative paths).

    Returns
    -------
    Config
    """
    src = str(path) if path is not None else ""
    if not isinstance(d, dict):
        raise ConfigError(f"The config {src} must be a TOML table, got {type(d).__name__}.")
    check_keys(d, _SECTIONS, src)
    study = _table(d, "study", src)
    check_keys(study, {"participants", "recordings", "task", "order"}, src, "study.")
    for key, val in study.items():
        if not isinstance(val, str) or not val:
            raise ConfigError(f"{config_key(src, 'study.' + key)} must be a non-empty string, "
                              f"got {val!r}.")
    if "recordings" in study and "{participant_id}" not in study["recordings"]:
        raise ConfigError(f"{config_key(src, 'study.recordings')}={study['recordings']!r} must "
                          f"contain {{participant_id}}, e.g. "
                          f'"{{participant_id}}/emg/{{participant_id}}_task-x_emg.bdf".')
    model = _table(d, "model", src)
    check_keys(model, {"formula", "re_formula", "crossed"}, src, "model.")
    for key, val in model.items():
        if key == "crossed":
            if not isinstance(val, str) or not val:
                raise ConfigError(f"{config_key(src, 'model.crossed')} must be a column name, "
                                  f"e.g. \"stimulus_id\", got {val!r}.")
            continue
        if not isinstance(val, str) or "~" not in val:
            raise ConfigError(f"{config_key(src, 'model.' + key)} must be a formula with '~', "
                              f"got {val!r}.")
    report = _table(d, "report", src)
    check_keys(report, {"blinded", "traits"}, src, "report.")
    traits = report.get("traits", [])
    if not isinstance(traits, list) or not all(isinstance(t, str) and t for t in traits):
        raise ConfigError(f"{config_key(src, 'report.traits')} must be a list of participants.tsv "
                          f"columns, e.g. [\"ego_resiliency\"], got {traits!r}.")
    blinded = report.get("blinded", False)
    if not isinstance(blinded, bool):
        raise ConfigError(f"{config_key(src, 'report.blinded')} must be true or false, got "
                          f"{blinded!r}.")
    preprocess, epochs = _preprocess(d, src), _epochs(d, src)
    if preprocess.smooth > epochs.tmax - epochs.tmin:
        raise ConfigError(f"{config_key(src, 'preprocess.smooth')}={preprocess.smooth:g} s is "
                          f"longer than the epoch ({epochs.tmin:g}..{epochs.tmax:g} s); the "
                          f"envelope would blur whole trials together. Use a window of tens "
                          f"of ms (e.g. 0.05).")
    return Config(channels=_channels(d, src), events=_events(d, src),
                  preprocess=preprocess, epochs=epochs,
                  reject=_reject(d, src), study=dict(study), model=dict(model),
                  report_blinded=blinded, input=input_config(d, src),
                  blocks=blocks_config(d, src),
                  report_traits=tuple(traits),
                  path=Path(path).resolve() if path is not None else None)


def load_config(path):
    """Read and validate a TOML study config.

    Parameters
    ----------
    path : path-like
        The ``study.toml`` file.

    Returns
    -------
    Config
        The validated configuration.

    Raises
    ------
    ConfigError
        When the file is missing, is not valid TOML, or any key is unknown or invalid.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file {path} does not exist; pass the path of a study.toml "
                          f"(`emgkit simulate DIR` writes an example).")
    try:
        d = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Config file {path} is not valid TOML: {exc}.") from None
    return config_from_dict(d, path=path)
