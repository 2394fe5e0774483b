"""emgkit: facial EMG from EDF/BDF recordings to trial tables, mixed models and reports.

The data flow, one subpackage per stage: :mod:`emgkit.io` (read) → :mod:`emgkit.events` →
:mod:`emgkit.signal` (muscles, filter, envelope) → :mod:`emgkit.epochs` (epochs, baseline,
scores, rejection, tables) → :mod:`emgkit.stats` (model) → :mod:`emgkit.report`; one
recording is chained by :func:`process_recording`, a study by :func:`run_study`; settings in
:mod:`emgkit.config`, simulated truth in :mod:`emgkit.sim`.
"""

from . import sim, stats, study, viz
from ._version import __version__
from .config import Config, load_config
from .epochs.tables import read_trials
from .errors import ConfigError, EmgkitError, EventError, ModelError, ReadError
from .io.raw import read_raw
from .pipeline import process_recording
from .processed import ProcessedRecording
from .sim.recording import SimParams, simulate_recording
from .sim.study import simulate_study
from .study.run import run_study

__all__ = ["Config", "ConfigError", "EmgkitError", "EventError", "ModelError",
           "ProcessedRecording", "ReadError", "SimParams", "__version__", "load_config",
           "process_recording", "read_raw", "read_trials", "run_study", "sim",
           "simulate_recording", "simulate_study", "stats", "study", "viz"]
