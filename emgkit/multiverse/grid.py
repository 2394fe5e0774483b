"""The ``[multiverse]`` grid: every combination of the listed preprocessing choices, each a
complete, validated :class:`~emgkit.config.Config`.

.. code-block:: toml

    [multiverse]                       # every key optional; each list is one axis
    band_low = [15.0, 20.0, 28.0]      # Hz
    band_high = [350.0, 500.0]         # Hz
    smooth = [0.025, 0.05, 0.125]      # s
    envelope = ["mean", "rms"]
    baseline_mode = ["logratio", "percent", "zscore"]
    baseline = [[-1.0, 0.0], [-0.5, 0.0]]   # s
    response = [[0.5, 3.0], [1.0, 4.0]]     # s
    reject_threshold = [0.0, 3.0, 3.5]      # robust SDs; 0 = off
    reject_method = ["robust", "kunecke2014", "dignath2019"]
    standardise = ["none", "participant_muscle"]

Each specification is the study's own TOML with the axis values put in and validated as any
config is (a window outside the epoch, a band above Nyquist is refused, naming the
specification). The *primary* specification is the config's own settings; when the grid
does not contain it, it is added.
"""

from __future__ import annotations

import copy
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

from ..config import Config, load_config
from ..config.load import config_from_dict
from ..errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: axis -> (TOML section, key); band ends are handled together
AXES = {
    "band_low": ("preprocess", "band"),
    "band_high": ("preprocess", "band"),
    "smooth": ("preprocess", "smooth"),
    "envelope": ("preprocess", "envelope"),
    "baseline_mode": ("epochs", "baseline_mode"),
    "baseline": ("epochs", "baseline"),
    "response": ("epochs", "response"),
    "reject_threshold": ("reject", "threshold"),
    "reject_method": ("reject", "method"),
    "standardise": ("epochs", "standardise"),
}
#: a grid larger than this is refused (each specification is a full group analysis, and
#: every participant's trial table is kept per specification until the fits)
MAX_SPECIFICATIONS = 1000


def axis_values(config):
    """The config's own value on every axis (the primary specification)."""
    pp, ep = config.preprocess, config.epochs
    return {"band_low": pp.l_freq, "band_high": pp.h_freq, "smooth": pp.smooth,
            "envelope": pp.envelope, "baseline_mode": ep.baseline_mode,
            "baseline": tuple(ep.baseline), "response": tuple(ep.response),
            "reject_threshold": config.reject.threshold,
            "reject_method": config.reject.method, "standardise": ep.standardise}


@dataclass(frozen=True)
class Specification:
    """One combination of the grid.

    Attributes
    ----------
    id : str
        ``s001``, ``s002``, … in grid order (the primary, when added, comes last).
    values : dict
        Axis -> value (only the grid's axes).
    config : Config
        The complete config of this specification.
    primary : bool
        Whether these are the config's own settings.
    """

    id: str
    values: dict
    config: Config
    primary: bool

    def __repr__(self):
        vals = ", ".join(f"{k}={v}" for k, v in self.values.items())
        return f"<Specification {self.id}{' (primary)' if self.primary else ''} | {vals}>"


@dataclass(frozen=True)
class Grid:
    """The specifications of a multiverse and where they came from."""

    axes: dict
    specifications: tuple
    config: Config
    primary_added: bool

    def __len__(self):
        return len(self.specifications)

    def __repr__(self):
        axes = ", ".join(f"{k} ({len(v)})" for k, v in self.axes.items())
        return (f"<emgkit multiverse Grid | {len(self)} specifications | {axes}"
                f"{' | primary added' if self.primary_added else ''}>")

    @property
    def primary(self):
        """The primary :class:`Specification`."""
        return next(s for s in self.specifications if s.primary)


def _raw(path):
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config ({exc}).") from None


def _axes(raw, src):
    mv = raw.get("multiverse")
    if not isinstance(mv, dict) or not mv:
        raise ConfigError(f"{src} has no [multiverse] section; list the choices to vary, e.g. "
                          f"[multiverse] baseline_mode = [\"ratio\", \"logratio\"] "
                          f"(see emgkit.multiverse.grid).")
    axes = {}
    for key, values in mv.items():
        if key not in AXES:
            raise ConfigError(f"multiverse.{key} (in {src}) is not a multiverse axis; use "
                              f"{', '.join(AXES)}.")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"multiverse.{key} (in {src}) must be a non-empty list of "
                              f"values, got {values!r}.")
        norm = [tuple(v) if isinstance(v, list) else v for v in values]
        if len(set(map(repr, norm))) != len(norm):
            raise ConfigError(f"multiverse.{key} (in {src}) lists a value twice: {values!r}.")
        axes[key] = norm
    n = 1
    for v in axes.values():
        n *= len(v)
    if n > MAX_SPECIFICATIONS:
        raise ConfigError(f"[multiverse] in {src} makes {n} specifications (at most "
                          f"{MAX_SPECIFICATIONS}); shorten the lists.")
    return axes


def _patched(raw, base, values):
    """The TOML document with the axis ``values`` put in (``base``: the config's own)."""
    d = copy.deepcopy(raw)
    d.pop("multiverse", None)
    both = {**base, **values}
    for axis, value in values.items():
        section, key = AXES[axis]
        table = d.setdefault(section, {})
        if axis in ("band_low", "band_high"):
            low, high = both["band_low"], both["band_high"]
            table["band"] = [low] if high is None else [low, high]
        else:
            table[key] = list(value) if isinstance(value, tuple) else value
    return d


def build_grid(path):
    """Read a study config with a ``[multiverse]`` section into its :class:`Grid`.

    Parameters
    ----------
    path : path-like
        The ``study.toml``.

    Returns
    -------
    Grid

    Raises
    ------
    ConfigError
        No ``[multiverse]``, an unknown axis, a bad list, or a specification that is not a
        valid config (named by its values).
    """
    path = Path(path)
    config = load_config(path)
    raw = _raw(path)
    axes = _axes(raw, str(path))
    base = axis_values(config)
    own = {k: base[k] for k in axes}
    values = [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())]
    specs, seen = [], {}
    for i, vals in enumerate(values):
        specs.append(_specification(i, raw, base, vals, axes, path, config, own, seen))
    added = not any(s.primary for s in specs)
    if added:  # the config's own settings, when the grid lacks them
        specs.append(_specification(len(specs), raw, base, own, axes, path, config, own, seen))
    return Grid(axes=axes, specifications=tuple(specs), config=config, primary_added=added)


def _specification(i, raw, base, values, axes, path, config, own, seen):
    """Specification ``i``: the TOML with ``values`` validated as a config; ``seen`` (resolved
    values already in the grid) catches two values that are the same analysis."""
    try:
        cfg = config_from_dict(_patched(raw, base, values), path=path)
    except ConfigError as exc:
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        raise ConfigError(f"[multiverse] specification {shown}: {exc}") from None
    resolved = {k: axis_values(cfg)[k] for k in axes}
    key = repr(sorted(resolved.items()))
    if key in seen:
        raise ConfigError(f"[multiverse] in {path}: specifications {seen[key]} and "
                          f"{resolved} are the same analysis; list each value once.")
    seen[key] = resolved
    primary = resolved == own
    return Specification(f"s{i + 1:03d}", resolved, config if primary else cfg, primary)

__all__ = ["AXES", "Grid", "Specification", "axis_values", "build_grid"]
