"""Settings: the config's sections as dataclasses (:mod:`.schema`) and the TOML reader that
validates them (:mod:`.load`)."""

from ..epochs.baseline import BASELINE_MODES
from .blocks import BlocksConfig
from .input import InputConfig
from .load import config_from_dict, load_config
from .recording_checks import check_sample_settings, require_channels
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

__all__ = ["BASELINE_MODES", "BlocksConfig", "Config", "ENVELOPES", "EpochsConfig",
           "EventsConfig", "InputConfig", "MAX_EPOCH_S", "OnsetsConfig", "PreprocessConfig",
           "RejectConfig",
           "check_sample_settings", "config_from_dict", "load_config", "require_channels"]
