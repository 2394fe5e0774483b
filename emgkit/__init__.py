"""emgkit: facial EMG from EDF/BDF recordings to trial tables, mixed models and reports.

The data flow, one subpackage per stage: :mod:`emgkit.io` (read) → :mod:`emgkit.events` →
:mod:`emgkit.signal` (muscles, filter, envelope) → :mod:`emgkit.epochs` (epochs, baseline,
scores, rejection, tables) → :mod:`emgkit.stats` (model) → :mod:`emgkit.report`; one
recording is chained by :func:`process_recording`, a study by :func:`run_study`; settings in
:mod:`emgkit.config`, simulated truth in :mod:`emgkit.sim`.

Names are imported on first use (as scipy and MNE do), so ``import emgkit`` and the command
line start fast and each command loads only what it needs.
"""

import importlib

from ._version import __version__
from .errors import ConfigError, EmgkitError, EventError, ModelError, ReadError

#: public name -> (module, attribute), imported on first access
_LAZY = {
    "Config": ("config", "Config"),
    "load_config": ("config", "load_config"),
    "read_raw": ("io.raw", "read_raw"),
    "process_recording": ("pipeline", "process_recording"),
    "ProcessedRecording": ("processed", "ProcessedRecording"),
    "read_trials": ("epochs.tables", "read_trials"),
    "run_study": ("study.run", "run_study"),
    "SimParams": ("sim.recording", "SimParams"),
    "simulate_recording": ("sim.recording", "simulate_recording"),
    "simulate_study": ("sim.study", "simulate_study"),
}
_SUBPACKAGES = ("config", "epochs", "events", "io", "multiverse", "power", "report", "signal",
                "sim", "stats", "study", "viz")

__all__ = ["ConfigError", "EmgkitError", "EventError", "ModelError", "ReadError",
           "__version__", *_LAZY, *_SUBPACKAGES]


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'emgkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_SUBPACKAGES))
