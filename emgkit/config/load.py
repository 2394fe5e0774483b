"""Read a ``study.toml`` and validate it into a :class:`~emgkit.config.schema.Config`: every
key is checked; an unknown key, a wrong type or a bad value raises
:class:`~emgkit.errors.ConfigError` naming the key (and file)."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

from .._check import check_keys, check_number, check_option, check_window, config_key
from ..epochs.baseline import BASELINE_MODES
from ..epochs.cut import bin_edges
from ..epochs.onsets import NEUROKIT_METHODS
from ..epochs.reject import METHODS as REJECT_METHODS
from ..epochs.standardise import STANDARDISE
from ..errors import ConfigError
from ..signal.filter import MIN_NOTCH
from .blocks import blocks_config
from .formula import fixed_part, parse_formula, variables
from .input import input_config
from .keys import SECTIONS, section_keys
from .random_terms import random_terms, re_formula_term
from .schema import (
    ENVELOPES,
    MAX_EPOCH_S,
    Config,
    EpochsConfig,
    EventsConfig,
    OnsetsConfig,
    PreprocessConfig,
    RejectConfig,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

logger = logging.getLogger("emgkit")

#: the config's tables (their keys: :mod:`emgkit.config.keys`); [power]: emgkit.power.config,
#: [multiverse]: emgkit.multiverse.grid
_SECTIONS = set(SECTIONS)

#: lowest high-pass edge (Hz) a config may give (the filter also needs l_freq at or above
#: 1e-5 × the sampling rate: :func:`emgkit.signal.filter.check_band`)
MIN_L_FREQ = 0.1


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
    """``[channels]``: muscle -> label or "anode-cathode". Absent: {} (the muscles then come
    from each recording's EMG-BIDS ``*_channels.tsv``, see :func:`require_channels`)."""
    if "channels" not in d:
        return {}
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
    check_keys(ev, section_keys("events"), src, "events.")
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
    for key in ("min_interval", "min_duration"):
        if key in ev:
            kw[key] = check_number(config_key(src, f"events.{key}"), ev[key], low=0)
    if kw.get("min_duration", 0) > 1.0:
        raise ConfigError(f"{config_key(src, 'events.min_duration')}={kw['min_duration']:g} s "
                          f"is longer than any trigger glitch; it is the shortest time a "
                          f"trigger code must be held to count (a few ms, e.g. 0.005), at "
                          f"most 1 s.")
    kw.update(_analog(ev, src))
    if kw.get("source") == "analog" and not kw.get("analog_channels"):
        raise ConfigError(f"{config_key(src, 'events.analog_channels')} is required with "
                          f'events.source = "analog": list the pulse channels, e.g. '
                          f'["angry_ref", "happy_ref"].')
    return EventsConfig(**kw)


def _analog(ev, src):
    from ..events.pulses import EDGES, MODES

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
    check_keys(pp, section_keys("preprocess"), src, "preprocess.")
    kw = {}
    if "band" in pp:
        band = pp["band"]
        if not isinstance(band, list) or len(band) not in (1, 2):
            raise ConfigError(f"{config_key(src, 'preprocess.band')} must be [l_freq, h_freq] "
                              f"in Hz (or [l_freq] for high-pass only), got {band!r}.")
        kw["l_freq"] = check_number(config_key(src, "preprocess.band[0]"), band[0], low=0,
                                    low_inclusive=False)
        if kw["l_freq"] < MIN_L_FREQ:
            raise ConfigError(f"{config_key(src, 'preprocess.band[0]')}={kw['l_freq']:g} Hz is "
                              f"below {MIN_L_FREQ:g} Hz; such a high-pass cannot be designed "
                              f"stably and removes nothing. EMG high-pass edges are 10-30 Hz "
                              f"(e.g. band = [20, 500]).")
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
        if 0 < kw["notch"] < MIN_NOTCH:
            raise ConfigError(f"{config_key(src, 'preprocess.notch')}={kw['notch']:g} Hz is "
                              f"below {MIN_NOTCH:g} Hz; give the mains frequency (50 or 60 "
                              f"Hz), or 0 for no notch.")
    else:  # a recording's EMG-BIDS sidecar may say where it was made
        kw["notch_from_sidecar"] = True
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


#: most time bins per epoch (a bin of 1 ms over a 10 s epoch is 10,000)
MAX_BINS = 100_000


def _epochs(d, src):
    ep = _table(d, "epochs", src)
    check_keys(ep, section_keys("epochs"), src, "epochs.")
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
    if length / cfg.bin > MAX_BINS:  # before any array of bins is made
        raise ConfigError(f"{config_key(src, 'epochs.bin')}={cfg.bin:g} s makes "
                          f"{length / cfg.bin:.3g} bins in a {length:g} s epoch; emgkit keeps "
                          f"at most {MAX_BINS:,} (e.g. bin = 0.1 s for 100 ms bins).")
    check_bins(config_key(src, "epochs.bin"), cfg.bin, cfg.tmin, cfg.tmax)
    for key in ("baseline", "response"):
        if key in ep:
            kw[key] = check_window(config_key(src, f"epochs.{key}"), ep[key],
                                   tmin=cfg.tmin, tmax=cfg.tmax)
    if "baseline_mode" in ep:
        kw["baseline_mode"] = check_option(config_key(src, "epochs.baseline_mode"),
                                           ep["baseline_mode"], BASELINE_MODES)
    if "standardise" in ep:
        kw["standardise"] = check_option(config_key(src, "epochs.standardise"),
                                         ep["standardise"], STANDARDISE)
    cfg = EpochsConfig(**kw)
    check_window(config_key(src, "epochs.baseline"), cfg.baseline, tmin=cfg.tmin, tmax=cfg.tmax)
    check_window(config_key(src, "epochs.response"), cfg.response, tmin=cfg.tmin, tmax=cfg.tmax)
    return cfg


def check_bins(name, width, tmin, tmax):
    """Refuse a bin width (s) of which no bin fits in ``tmin..tmax`` (s).

    Bins are aligned to the onset (they start at multiples of ``width``), so a bin may be
    shorter than the epoch and still not fit (``bin = 4`` in -1..3 s).

    Raises
    ------
    ConfigError
        Naming the key, the epoch and the widest bin that fits.
    """
    if len(bin_edges(tmin, tmax + 1e-9, width)):
        return
    widest = max(tmax, -tmin) if tmin <= 0 <= tmax else None
    hint = (f"use a bin of at most {widest:g} s" if widest
            else "use a bin that fits between two of its multiples inside the epoch")
    raise ConfigError(f"{name}={width:g} s gives no time bin inside the epoch "
                      f"{tmin:g}..{tmax:g} s (bins start at multiples of the width, aligned "
                      f"to the onset); {hint}.")


def _reject(d, src):
    rj = _table(d, "reject", src)
    check_keys(rj, section_keys("reject"), src, "reject.")
    kw = {k: check_number(config_key(src, f"reject.{k}"), rj[k], low=0) for k in rj
          if k != "method"}
    if "method" in rj:
        kw["method"] = check_option(config_key(src, "reject.method"), rj["method"],
                                    REJECT_METHODS)
    return RejectConfig(**kw)


def _onsets(d, src):
    on = _table(d, "onsets", src)
    check_keys(on, section_keys("onsets"), src, "onsets.")
    kw = {}
    if "method" in on:
        kw["method"] = check_option(config_key(src, "onsets.method"), on["method"],
                                    ("emgkit", "neurokit2"))
    if "neurokit_method" in on:
        kw["neurokit_method"] = check_option(config_key(src, "onsets.neurokit_method"),
                                             on["neurokit_method"], NEUROKIT_METHODS)
    if "k" in on:
        kw["k"] = check_number(config_key(src, "onsets.k"), on["k"], low=0)
    if "min_duration" in on:
        kw["min_duration"] = check_number(config_key(src, "onsets.min_duration"),
                                          on["min_duration"], low=0, low_inclusive=False)
    return OnsetsConfig(**kw)


def _check_model_formulas(model, src):
    """Parse ``[model] formula`` and ``re_formula`` with the formula grammar (never
    evaluated), so a bad formula stops at load time naming its key."""
    what = config_key(src, "model.formula")
    formula = parse_formula(model.get("formula", "score ~ group * condition"), what=what)
    terms = random_terms(formula, what=what)
    if "re_formula" in model:
        re_formula_term(model["re_formula"], "participant_id",
                        what=config_key(src, "model.re_formula"))
    extra = [k for k in ("re_formula", "crossed") if k in model]
    if terms and extra:
        raise ConfigError(f"{what} has random terms and [model] {' and '.join(extra)} "
                          f"{'is' if len(extra) == 1 else 'are'} set too; write every random "
                          f"term in the formula, e.g. \"score ~ group * condition + "
                          f"(1 + condition | participant_id)\".")


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
    check_keys(study, section_keys("study"), src, "study.")
    for key, val in study.items():
        if key == "exclude_participants":
            if not isinstance(val, list) or not all(isinstance(v, str) and v for v in val):
                raise ConfigError(f"{config_key(src, 'study.exclude_participants')} must be a "
                                  f"list of participant ids, e.g. [\"sub-03\"], got {val!r}.")
            continue
        if not isinstance(val, str) or not val:
            raise ConfigError(f"{config_key(src, 'study.' + key)} must be a non-empty string, "
                              f"got {val!r}.")
    if "recordings" in study and "{participant_id}" not in study["recordings"]:
        raise ConfigError(f"{config_key(src, 'study.recordings')}={study['recordings']!r} must "
                          f"contain {{participant_id}}, e.g. "
                          f'"{{participant_id}}/emg/{{participant_id}}_task-x_emg.bdf".')
    model = _table(d, "model", src)
    check_keys(model, section_keys("model"), src, "model.")
    for key, val in model.items():
        if key == "equivalence":
            check_number(config_key(src, "model.equivalence"), val, low=0, low_inclusive=False)
            continue
        if key == "equivalence_scale":
            check_option(config_key(src, "model.equivalence_scale"), val, ("sd", "raw"))
            continue
        if key == "reference":
            if not isinstance(val, str) or not val.strip() or "\n" in val:
                raise ConfigError(f"{config_key(src, 'model.reference')} must be a condition "
                                  f"level (e.g. \"neutral\"), \"pairwise\" or \"revpairwise\", "
                                  f"got {val!r}.")
            continue
        if key == "crossed":
            if not isinstance(val, str) or not val or "`" in val or "\n" in val:
                raise ConfigError(f"{config_key(src, 'model.crossed')} must be a column name, "
                                  f"e.g. \"stimulus_id\", got {val!r}.")
            continue
        if not isinstance(val, str) or "~" not in val:
            raise ConfigError(f"{config_key(src, 'model.' + key)} must be a formula with '~', "
                              f"got {val!r}.")
    _check_model_formulas(model, src)
    report = _table(d, "report", src)
    check_keys(report, section_keys("report"), src, "report.")
    traits = report.get("traits", [])
    if not isinstance(traits, list) or not all(isinstance(t, str) and t for t in traits):
        raise ConfigError(f"{config_key(src, 'report.traits')} must be a list of participants.tsv "
                          f"columns, e.g. [\"ego_resiliency\"], got {traits!r}.")
    blinded = report.get("blinded", False)
    if not isinstance(blinded, bool):
        raise ConfigError(f"{config_key(src, 'report.blinded')} must be true or false, got "
                          f"{blinded!r}.")
    preprocess, epochs = _preprocess(d, src), _epochs(d, src)
    events = _events(d, src)
    _check_reference(model, events, src)
    if preprocess.smooth > epochs.tmax - epochs.tmin:
        raise ConfigError(f"{config_key(src, 'preprocess.smooth')}={preprocess.smooth:g} s is "
                          f"longer than the epoch ({epochs.tmin:g}..{epochs.tmax:g} s); the "
                          f"envelope would blur whole trials together. Use a window of tens "
                          f"of ms (e.g. 0.05).")
    return Config(channels=_channels(d, src), events=events,
                  preprocess=preprocess, epochs=epochs,
                  reject=_reject(d, src), study=dict(study), model=dict(model),
                  report_blinded=blinded, input=input_config(d, src),
                  blocks=blocks_config(d, src),
                  report_traits=tuple(traits), onsets=_onsets(d, src),
                  path=Path(path).resolve() if path is not None else None)


def _check_reference(model, events, src):
    """``[model] reference`` must be one of the conditions when the formula's only
    within-participant factor is ``condition`` (the error comes before any processing)."""
    ref = model.get("reference")
    if ref is None or ref in ("pairwise", "revpairwise"):
        return
    preds = set(variables(fixed_part(parse_formula(
        model.get("formula", "score ~ group * condition")))))
    known = set(events.conditions.values())
    if "condition" in preds and preds <= {"condition", "group", "muscle"} \
            and ref not in known:
        raise ConfigError(f"{config_key(src, 'model.reference')}={ref!r} is not one of the "
                          f"conditions ({', '.join(sorted(known))}, from [events.conditions]); "
                          f"use one of them, \"pairwise\" or \"revpairwise\".")


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

