"""Group statistics: linear mixed models with Satterthwaite inference, marginal means,
contrasts and trait correlations."""

from .model import fit_model
from .result import MixedResult
from .traits import trait_correlations, within_between

__all__ = ["MixedResult", "fit_model", "trait_correlations", "within_between"]
