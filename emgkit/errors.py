"""The emgkit exception hierarchy.

Every error emgkit raises on bad input is an :class:`EmgkitError`, so a batch run can
catch one type, log the message and go on with the next participant. Messages name the
file or parameter involved, the value received and what to do about it.
"""

from __future__ import annotations


class EmgkitError(Exception):
    """Base class of all errors emgkit raises on bad input or data."""


class ReadError(EmgkitError):
    """A recording or table cannot be read (missing, truncated, malformed, missing channel)."""


class ConfigError(EmgkitError):
    """A study configuration or a function parameter is invalid (names the key and value)."""


class EventError(EmgkitError):
    """Events cannot be found or mapped to conditions."""


class ModelError(EmgkitError):
    """A statistical model cannot be fitted (bad table, unidentifiable term, ...)."""


class OutputError(EmgkitError):
    """An output folder is unsafe or unusable (holds inputs or foreign files, is locked by
    another run, cannot be written)."""


class Interrupted(EmgkitError):
    """A run was stopped by the user (Ctrl-C or SIGTERM); finished results are kept."""


class FormulaError(ConfigError, ModelError):
    """A model formula is not in emgkit's formula grammar (names the token and its position).

    Both a bad setting (a :class:`ConfigError`, for ``[model] formula``) and a model that
    cannot be fitted (a :class:`ModelError`, for :func:`emgkit.stats.fit_model`).
    """
