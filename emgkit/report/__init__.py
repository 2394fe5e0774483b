"""PDF reports: one per recording (:mod:`.subject`), one per study (:mod:`.group`), built from
figure and table pages (:mod:`.pages`), with a methods paragraph from the settings
(:mod:`.methods`)."""

from .._lazy import lazy_names

_LAZY = {"group_report": "group", "methods_text": "methods", "rejection_counts": "subject",
         "subject_report": "subject"}

__all__ = list(_LAZY)
__getattr__, __dir__ = lazy_names(__name__, _LAZY)
