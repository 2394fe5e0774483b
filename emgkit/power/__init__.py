"""Power by simulation of the actual analysis: draw studies from a fitted (pilot) model,
fit the same mixed model to each (:mod:`emgkit.stats.cells`: from per-participant × cell sums)
and apply the same contrast test and multiplicity correction (:mod:`.simulate`), over a grid
of designs (:mod:`.run`), with curves and a PDF (:mod:`.report`)."""

from .._lazy import lazy_names

_LAZY = {"PowerModel": "model", "power_analysis": "run", "power_report": "report",
         "simulate_power": "simulate"}

__all__ = list(_LAZY)
__getattr__, __dir__ = lazy_names(__name__, _LAZY)
