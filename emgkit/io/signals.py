"""An in-memory multichannel recording read from a non-EDF source (text export, ``.acq``).

EDF/BDF files are decoded channel by channel straight from disk (:mod:`emgkit.io.load`);
the other formats emgkit reads are small enough to hold whole, and all of them end up as a
:class:`Signals`: channels in their physical units, one sampling rate, and any markers
stored in the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ConfigError, ReadError
from .edf import microvolt_factor


@dataclass
class Signals:
    """Channels read from one file, in physical units.

    Attributes
    ----------
    source : str
        The file.
    labels : list of str
        Unique channel labels.
    units : list of str
        Physical unit per channel as written in the file or given in the config ("" when
        unknown).
    data : ndarray, shape (n_channels, n_times)
        Samples in physical units.
    sfreq : float
        Sampling rate (Hz).
    markers : DataFrame
        ``onset`` (s) and ``code`` (text) of markers stored in the file (may be empty).
    aliases : dict
        Other names accepted for a channel (e.g. AcqKnowledge ``CH28``) -> label.
    meas_date : datetime | None
    rates : dict
        Label -> rate (Hz) at which the file stores the channel, when it differs between
        channels (``.acq``); empty when every channel is stored at ``sfreq``.
    """

    source: str
    labels: list
    units: list
    data: np.ndarray
    sfreq: float
    markers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"onset": np.array([], float), "code": np.array([], str)}))
    aliases: dict = field(default_factory=dict)
    meas_date: object = None
    rates: dict = field(default_factory=dict)

    def __post_init__(self):
        if len(set(self.labels)) != len(self.labels):
            raise ReadError(f"{self.source}: duplicate channel labels "
                            f"{sorted({x for x in self.labels if self.labels.count(x) > 1})}.")
        if not np.isfinite(self.sfreq) or self.sfreq <= 0:
            raise ReadError(f"{self.source}: sampling rate {self.sfreq!r} Hz is not positive.")

    def __repr__(self):
        shown = ", ".join(f"{lab} [{u or '?'}]" for lab, u in zip(self.labels[:8], self.units))
        more = f" +{len(self.labels) - 8} more" if len(self.labels) > 8 else ""
        return (f"<emgkit Signals | {self.source} | {len(self.labels)} channels "
                f"({shown}{more}) | {self.sfreq:g} Hz, {self.n_times / self.sfreq:.2f} s | "
                f"{len(self.markers)} markers>")

    @property
    def n_times(self):
        return self.data.shape[1]

    def label(self, name):
        """Return the channel label matching ``name`` (label or alias, case-insensitive)."""
        for cand in (self.labels, list(self.aliases)):
            hits = [c for c in cand if c.strip().lower() == name.strip().lower()]
            if len(hits) == 1:
                return self.aliases.get(hits[0], hits[0])
        return None

    def get(self, name):
        """Samples of one channel (physical units)."""
        lab = self.label(name)
        if lab is None:
            raise ReadError(f"Channel {name!r} not found in {self.source}; channels: "
                            f"{', '.join(self.labels)}.")
        return self.data[self.labels.index(lab)]

    def microvolts(self, label, *, key="input.units"):
        """One channel converted to µV.

        Raises
        ------
        ConfigError
            When the channel's unit is not a voltage; the message says to set ``key``.
        """
        k = self.labels.index(label)
        factor = microvolt_factor(self.units[k])
        if factor is None:
            raise ConfigError(f"{self.source}: channel {label!r} has unit "
                              f"{self.units[k] or '(none)'!r}, which is not a voltage; set "
                              f"{key} for it (e.g. \"mV\") in the config.")
        return self.data[k] * factor


def dedupe(names, ids):
    """Unique labels: a name used once stays, repeated names get their channel id added."""
    out = []
    for name, cid in zip(names, ids):
        out.append(name if names.count(name) == 1 or not cid else f"{name} {cid}")
    seen = {}
    for i, lab in enumerate(out):  # still repeated (no ids): number them
        if out.count(lab) > 1:
            seen[lab] = seen.get(lab, 0) + 1
            out[i] = f"{lab} #{seen[lab]}"
    return out
