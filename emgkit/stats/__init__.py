"""Group statistics: linear mixed models with Satterthwaite inference, marginal means,
contrasts and trait correlations; the same model from cell sums (:mod:`.cells`, for power
simulations); cluster permutation tests and bin-wise models over time bins (:mod:`.timecourse`)."""

from .model import fit_model
from .result import MixedResult
from .split import fit_models, read_models, write_models
from .timecourse import binwise_test, cluster_test, plot_clusters
from .traits import trait_correlations, within_between

__all__ = ["MixedResult", "binwise_test", "cluster_test", "fit_model", "fit_models",
           "plot_clusters", "read_models", "trait_correlations", "within_between",
           "write_models"]
