"""Would the conclusion survive other reasonable preprocessing choices? The ``[multiverse]``
grid (:mod:`.grid`), each participant read once for all specifications (:mod:`.participant`),
every specification fitted with the study's model (:mod:`.run`) and the specification curve
(:mod:`.report`)."""

from .._lazy import lazy_names

_LAZY = {"build_grid": "grid", "run_multiverse": "run", "specification_curve": "report",
         "plot_specification_curve": "report"}

__all__ = list(_LAZY)
__getattr__, __dir__ = lazy_names(__name__, _LAZY)
