"""emgkit: facial EMG from EDF/BDF recordings to trial tables, mixed models and reports."""

from .config import Config, load_config
from .errors import ConfigError, EmgkitError, EventError, ModelError, ReadError
from .io import read_raw
from .pipeline import process_recording
from .result import ProcessedRecording
from .simstudy import simulate_study
from .simulate import SimParams, simulate_recording

__version__ = "0.1.0"

__all__ = ["Config", "ConfigError", "EmgkitError", "EventError", "ModelError",
           "ProcessedRecording", "ReadError", "SimParams", "load_config", "process_recording",
           "read_raw", "simulate_recording", "simulate_study", "__version__"]
