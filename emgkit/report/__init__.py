"""PDF reports: one per recording (:mod:`.subject`), one per study (:mod:`.group`), built from
figure and table pages (:mod:`.pages`), with a methods paragraph from the settings
(:mod:`.methods`)."""

from .group import group_report
from .methods import methods_text
from .subject import rejection_counts, subject_report

__all__ = ["group_report", "methods_text", "rejection_counts", "subject_report"]
