"""Reading recordings: one format dispatch (:mod:`.load`) over EDF/BDF (:mod:`.edf`,
:mod:`.edf_annotations`, MNE in :mod:`.raw`), BIOPAC ``.acq`` (:mod:`.acq`) and text exports
(:mod:`.text`); chunked sample sources (:mod:`.source`); ``emgkit inspect``
(:mod:`.inspect`); and an EDF/BDF writer (:mod:`.write`)."""

from .inspect import RecordingInfo, inspect_recording
from .load import Loaded, load_recording, read_signals, recording_format
from .raw import describe, read_raw
from .write import write_edf

__all__ = ["Loaded", "RecordingInfo", "describe", "inspect_recording", "load_recording",
           "read_raw", "read_signals", "recording_format", "write_edf"]
