"""Power by simulation of the actual analysis: draw studies from a fitted (pilot) model,
fit the same mixed model to each (:mod:`emgkit.stats.cells`: from per-participant × cell sums)
and apply the same contrast test and multiplicity correction (:mod:`.simulate`), over a grid
of designs (:mod:`.run`), with curves and a PDF (:mod:`.report`)."""

import importlib

_LAZY = {"PowerModel": "model", "power_analysis": "run", "power_report": "report",
         "simulate_power": "simulate"}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
