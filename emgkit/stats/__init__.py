"""Group statistics: linear mixed models with Satterthwaite inference, marginal means,
contrasts and trait correlations."""

from .model import fit_model
from .result import MixedResult
from .split import fit_models, read_models, write_models
from .traits import trait_correlations, within_between

__all__ = ["MixedResult", "fit_model", "fit_models", "read_models", "trait_correlations",
           "within_between", "write_models"]
