"""Power models declared in the config's ``[power]`` section (no pilot needed).

.. code-block:: toml

    [power]
    groups = ["placebo", "naltrexone"]           # the reference first
    conditions = ["neutral", "angry", "happy", "sad"]   # default: [events.conditions]
    tau = 0.3            # participant SD of the score (or a table: muscle = SD)
    sigma = 0.5          # trial SD of the score (or a table)

    [power.means.corrugator]                     # cell means, one list per group
    placebo = [1.0, 1.3, 1.1, 1.2]
    naltrexone = [1.05, 1.35, 1.45, 1.2]
"""

from __future__ import annotations

import sys

from ..config.keys import section_keys
from ..errors import ConfigError
from .model import factorial_model

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _per_muscle(value, muscle, key, src):
    v = value.get(muscle) if isinstance(value, dict) else value
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        raise ConfigError(f"{src}: power.{key} must be a non-negative number (score units) or "
                          f"a table muscle = number; got {v!r} for {muscle!r}.")
    return float(v)


def declared_models(path):
    """The :class:`~emgkit.power.model.PowerModel` of each muscle in ``[power]`` of the
    config file ``path``.

    Returns
    -------
    dict
        Muscle -> PowerModel.

    Raises
    ------
    ConfigError
        Naming the key, the value and what is expected.
    """
    src = str(path)
    try:
        with open(path, "rb") as f:
            d = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{src}: cannot read the config ({exc}).") from None
    pw = d.get("power")
    if not isinstance(pw, dict) or not pw:
        raise ConfigError(f"{src} has no [power] section; give --pilot TRIALS.tsv or declare "
                          f"the model in [power] (see emgkit.power.config).")
    allowed = section_keys("power")  # the documented keys (docs/config.md)
    unknown = set(pw) - allowed
    if unknown:
        raise ConfigError(f"{src}: unknown key(s) power.{', power.'.join(sorted(unknown))}; "
                          f"allowed: {', '.join(sorted(allowed))}.")
    groups = pw.get("groups")
    if not (isinstance(groups, list) and len(groups) >= 2
            and all(isinstance(g, str) and g for g in groups)):
        raise ConfigError(f"{src}: power.groups must list at least two group names, the "
                          f"reference first, e.g. [\"placebo\", \"naltrexone\"]; got {groups!r}.")
    conds = pw.get("conditions")
    if conds is None:
        conds = list(dict.fromkeys((d.get("events", {}).get("conditions") or {}).values()))
    if not (isinstance(conds, list) and conds and all(isinstance(c, str) for c in conds)):
        raise ConfigError(f"{src}: power.conditions must list the conditions (or set "
                          f"[events.conditions]); got {conds!r}.")
    means = pw.get("means")
    if not isinstance(means, dict) or not means:
        raise ConfigError(f"{src}: [power.means.<muscle>] tables are missing: one list of "
                          f"{len(conds)} cell means per group.")
    models = {}
    for muscle, table in means.items():
        if not isinstance(table, dict) or set(table) != set(groups):
            raise ConfigError(f"{src}: [power.means.{muscle}] must give one list per group "
                              f"({', '.join(groups)}); got {table!r}.")
        rows = []
        for g in groups:
            row = table[g]
            if not (isinstance(row, list) and len(row) == len(conds)
                    and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                            for v in row)):
                raise ConfigError(f"{src}: power.means.{muscle}.{g} must list {len(conds)} "
                                  f"numbers (one per condition: {', '.join(conds)}); got "
                                  f"{row!r}.")
            rows.append([float(v) for v in row])
        tau = _per_muscle(pw.get("tau"), muscle, "tau", src)
        sigma = _per_muscle(pw.get("sigma"), muscle, "sigma", src)
        if sigma == 0:
            raise ConfigError(f"{src}: power.sigma must be > 0 for {muscle!r}.")
        models[muscle] = factorial_model(groups, conds, rows, tau, sigma,
                                         label=f"muscle = {muscle} ([power])")
    return models
