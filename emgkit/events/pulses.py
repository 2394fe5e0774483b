"""Events from analog pulse channels (e.g. BIOPAC digital inputs or stimulus reference
waves recorded as 0/5 V).

Three layouts:

* ``"channels"``: one channel per condition; every pulse is an event whose code is the
  channel's label.
* ``"level"``: one channel whose pulse height codes the condition; the code is the pulse's
  plateau divided by ``level_step`` and rounded (5 V with a 1 V step → ``"5"``).
* ``"bits"``: several on/off lines read as the bits of one integer code, the first channel
  being bit 0 (e.g. AcqKnowledge digital inputs CH28–CH35).

A pulse is a run of samples above the threshold (by default half-way between the
channel's minimum and maximum). The event is at its rising edge (first sample above) or
its falling edge (first sample below again); the code is the most common value during the
run, so lines that switch a sample apart do not produce spurious codes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ConfigError, EventError

MODES = ("channels", "level", "bits")
EDGES = ("rising", "falling")


def _threshold(x, threshold):
    if threshold is not None:
        return float(threshold)
    lo, hi = float(np.min(x)), float(np.max(x))
    return (lo + hi) / 2.0 if hi > lo else np.inf


def pulse_runs(active):
    """Return (start, stop) sample indices of the True runs of a boolean array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    return edges[::2], edges[1::2]


def _events_from_codes(code, sfreq, edge):
    starts, stops = pulse_runs(code != 0)
    onsets, codes = [], []
    for a, b in zip(starts, stops):
        values, counts = np.unique(code[a:b], return_counts=True)
        onsets.append((a if edge == "rising" else b) / sfreq)
        codes.append(values[np.argmax(counts)])
    return onsets, codes


def analog_events(channels, sfreq, *, mode="channels", threshold=None, edge="rising",
                  level_step=1.0, source=""):
    """Find events in analog pulse channels.

    Parameters
    ----------
    channels : dict
        Label -> samples (physical units, e.g. V), all at ``sfreq``. For ``"bits"`` the
        order is bit 0, 1, …
    sfreq : float
        Sampling rate (Hz).
    mode : "channels" | "level" | "bits"
        See the module description.
    threshold : float | None
        Level (physical units) separating "on" from "off"; None = half-way between each
        channel's minimum and maximum (a channel without pulses gives no events), or for
        ``"level"`` half a ``level_step`` above the channel's minimum.
    edge : "rising" | "falling"
        Which edge of the pulse marks the event.
    level_step : float
        Physical units per code step (``"level"`` mode).
    source : str
        File name for messages.

    Returns
    -------
    DataFrame
        ``onset`` (s) and ``code`` (str), sorted by onset.
    """
    if mode not in MODES:
        raise ConfigError(f"events.analog_mode must be one of {', '.join(MODES)}, got "
                          f"{mode!r}.")
    if edge not in EDGES:
        raise ConfigError(f"events.edge must be 'rising' or 'falling', got {edge!r}.")
    if not channels:
        raise EventError(f"No analog event channels given for {source}; set "
                         f"events.analog_channels.")
    arrays = {lab: np.asarray(x, float) for lab, x in channels.items()}
    onsets, codes = [], []
    if mode == "channels":
        for lab, x in arrays.items():
            on = x > _threshold(x, threshold)
            o, _ = _events_from_codes(on.astype(np.int64), sfreq, edge)
            onsets += o
            codes += [lab] * len(o)
    elif mode == "level":
        if len(arrays) != 1:
            raise ConfigError(f"events.analog_mode = 'level' reads one channel; "
                              f"events.analog_channels has {len(arrays)}.")
        if not level_step > 0:
            raise ConfigError(f"events.level_step must be > 0, got {level_step!r}.")
        (x,) = arrays.values()
        # default: half a code step above the idle floor, so every level counts
        on = x > (float(threshold) if threshold is not None else np.min(x) + level_step / 2)
        code = np.where(on, np.rint(x / level_step), 0).astype(np.int64)
        code[on & (code == 0)] = 1  # above threshold but rounds to 0: still an event
        onsets, values = _events_from_codes(code, sfreq, edge)
        codes = [str(int(v)) for v in values]
    else:
        code = np.zeros(len(next(iter(arrays.values()))), np.int64)
        for bit, x in enumerate(arrays.values()):
            code |= (x > _threshold(x, threshold)).astype(np.int64) << bit
        onsets, values = _events_from_codes(code, sfreq, edge)
        codes = [str(int(v)) for v in values]
    out = pd.DataFrame({"onset": np.asarray(onsets, float), "code": codes})
    return out.sort_values("onset", kind="stable").reset_index(drop=True)
