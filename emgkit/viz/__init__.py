"""Plots: one recording's responses (:mod:`.recording`), its quality control (:mod:`.qc`) and
the group (:mod:`.group`), sharing one style (:mod:`.style`). Every function takes
``ax=None`` and returns a Figure that displays itself in Jupyter."""

from .group import plot_baselines, plot_emmeans, plot_group_timecourses, plot_trait_scatter
from .qc import plot_psd, plot_raw_excerpt, plot_scores, plot_session, plot_trial_images
from .recording import plot_average
from .style import Figure, condition_colors

__all__ = ["Figure", "condition_colors", "plot_average", "plot_baselines", "plot_emmeans",
           "plot_group_timecourses", "plot_psd", "plot_raw_excerpt", "plot_scores",
           "plot_session", "plot_trait_scatter", "plot_trial_images"]
