"""A whole study: which recordings belong to whom (:mod:`.plan`, from the config or a BIDS
folder), running them and the group step (:mod:`.run`) locally, in worker processes or on
Dask (:mod:`.executors`), into an output folder emgkit owns (:mod:`.outdir`), with block
and session order checks (:mod:`.order`)."""

from .plan import (
    StudyPlan,
    plan_from_bids,
    plan_from_config,
    plan_from_recordings,
    read_participants,
)
from .run import run_study

__all__ = ["StudyPlan", "plan_from_bids", "plan_from_config", "plan_from_recordings",
           "read_participants", "run_study"]
