"""A whole study: which recordings belong to whom (:mod:`.plan`, from the config or a BIDS
folder), running them and the group step (:mod:`.run`) locally, in worker processes or on
Dask (:mod:`.executors`), into an output folder emgkit owns (:mod:`.outdir`), with block
and session order checks (:mod:`.order`).

Names are imported on first use, so a command that needs one module of the package (``emgkit
process`` writes through :mod:`.outdir` and :mod:`.derivative`) does not load the runner,
its worker pools and the review code."""

from .._lazy import lazy_names

_LAZY = {"StudyPlan": "plan", "plan_from_bids": "plan", "plan_from_config": "plan",
         "plan_from_recordings": "plan", "read_participants": "plan", "run_study": "run"}

__all__ = list(_LAZY)
__getattr__, __dir__ = lazy_names(__name__, _LAZY)
