"""Participant identity: one normaliser for every table and setting that names a participant.

A participant may be written with or without the BIDS prefix: ``01`` and ``sub-01`` are the
same person in the participants table, the overrides table, ``[study]
exclude_participants``, trial tables read back, exports, blinding, power pilots and the
multiverse. The canonical form is ``sub-<label>`` (the name of the participant's output
folder); every table emgkit reads has its ``participant_id`` column normalised to it, and
every table emgkit writes carries it.

Only path patterns (``{participant_id}`` in ``[study] recordings`` and in an event-log
``[events] source``) use the id as written in the participants table, since they name the
user's own files.
"""

from __future__ import annotations

import re

PREFIX = "sub-"
_LABEL = re.compile(r"[A-Za-z0-9]+")
#: spellings of a missing value (a participant must be named)
MISSING = ("", "nan", "none", "n/a")


def _text(value):
    if value is None:
        return ""
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):  # list-like: not a missing scalar
        pass
    return str(value).strip()


def participant_label(value, *, where="", error=None):
    """Return the canonical id ``sub-<label>`` of a participant written as ``<label>`` or
    ``sub-<label>``.

    Parameters
    ----------
    value : str
        The id as written (surrounding spaces are ignored).
    where : str
        Where it was read (file and line, or config key), named in the error.
    error : type of Exception | None
        The exception raised for an id that is not a BIDS label (default
        :class:`~emgkit.errors.ReadError`).

    Returns
    -------
    str
        ``sub-<label>``.

    Raises
    ------
    ReadError
        (or ``error``) When the id is missing (empty, ``nan``, ``None``, ``n/a``; ``NA`` is
        an id) or its label is not letters and digits only (BIDS label rule): e.g. ``../x``,
        ``a/b``, ``sub-01 a``.
    """
    from .errors import ReadError

    error = error or ReadError
    text = _text(value)
    label = text.removeprefix(PREFIX)
    at = f" ({where})" if where else ""
    if text.lower() in MISSING:
        raise error(f"Participant id {value!r}{at} is empty; name the participant, e.g. "
                    f"'sub-01' or '01'.")
    if not _LABEL.fullmatch(label):
        raise error(f"Participant id {value!r}{at} is not a BIDS label: use letters and "
                    f"digits only, with or without the 'sub-' prefix (e.g. 'sub-01' or '01').")
    return PREFIX + label


def normalise_id(value):
    """The canonical id of ``value`` when it is a participant label (``01`` or ``sub-01``
    -> ``sub-01``); any other value (missing, or not a BIDS label, e.g. a file stem with
    ``_``) is returned unchanged, stripped of surrounding spaces when text.

    Used to match ids between tables; :func:`participant_label` is the strict check for
    tables that define participants.
    """
    text = _text(value)
    if not text:
        return value
    label = text.removeprefix(PREFIX)
    return PREFIX + label if _LABEL.fullmatch(label) else text


def normalise_ids(table, column="participant_id"):
    """``table`` (a DataFrame) with ``column`` normalised by :func:`normalise_id` (a copy;
    the table itself when it has no such column or all ids are already canonical)."""
    if column not in getattr(table, "columns", ()):
        return table
    ids = table[column]
    seen = {}  # a table repeats each id on many rows: normalised once per distinct value

    def once(value):
        key = (type(value), value)
        try:
            return seen[key]
        except KeyError:
            seen[key] = out = normalise_id(value)
            return out
        except TypeError:  # unhashable
            return normalise_id(value)

    canonical = ids.map(once)
    if canonical.equals(ids):
        return table
    table = table.copy()
    table[column] = canonical.astype(ids.dtype)
    return table


__all__ = ["MISSING", "PREFIX", "normalise_id", "normalise_ids", "participant_label"]
