"""PDF reports: one per recording (:mod:`.subject`), one per study (:mod:`.group`), built from
figure and table pages (:mod:`.pages`), with a methods paragraph from the settings
(:mod:`.methods`)."""

import importlib

_LAZY = {"group_report": "group", "methods_text": "methods", "rejection_counts": "subject",
         "subject_report": "subject"}

__all__ = list(_LAZY)


def __getattr__(name):  # imported on first use: matplotlib only when a page is drawn
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
