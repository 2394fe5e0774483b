"""Power models from a pilot: emgkit's trial table fitted with the analysis formula."""

from __future__ import annotations

from ..errors import ConfigError
from ..stats.split import fit_models
from .model import from_fit


def parse_at(at):
    """``"condition=happy"`` -> ("condition", "happy"); None -> (None, None)."""
    if at is None:
        return None, None
    if "=" not in at:
        raise ConfigError(f"--at {at!r}: give FACTOR=LEVEL, e.g. --at condition=happy.")
    factor, level = (s.strip() for s in at.split("=", 1))
    if not factor or not level:
        raise ConfigError(f"--at {at!r}: give FACTOR=LEVEL, e.g. --at condition=happy.")
    return factor, level


def pilot_models(trials, formula, *, participants=None, contrast="group", at=None):
    """Fit ``formula`` to the pilot trial table (one model per muscle unless the formula has
    ``muscle``) and turn each fit into a :class:`~emgkit.power.model.PowerModel`.

    Returns
    -------
    models : dict
        Muscle (or "all") -> PowerModel.
    at_level : str | None
        The condition level of the tested row.
    """
    by, level = parse_at(at)
    split, results = fit_models(trials, formula, participants=participants)
    models = {}
    for key, res in results.items():
        label = "all" if split is None else str(key)
        within = by or next((f for f in res.factors if f != contrast), None)
        if within is None:
            raise ConfigError(f"The formula {formula!r} has no within-participant factor "
                              f"besides {contrast!r}.")
        model = from_fit(res, factor=contrast, by=within,
                         label=f"{split} = {key}" if split else formula)
        if level is not None and model.rows[0][1] is None:
            raise ConfigError(f"--at {at}: {contrast!r} does not interact with {within!r} in "
                              f"{formula!r}, so its contrast is one row averaged over "
                              f"{within}; drop --at, or use a formula with "
                              f"'{contrast} * {within}'.")
        if level is not None:
            model.row_index(level)  # a clear error for an unknown level
        elif by is None and model.rows[0][1] is not None:
            raise ConfigError(f"{contrast!r} interacts with {within!r}: name the row to "
                              f"test with --at {within}=LEVEL ({', '.join(model.conditions)}).")
        models[label] = model
    return models, level
