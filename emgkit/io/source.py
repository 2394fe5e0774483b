"""Sources of the muscles' signals for blockwise processing (:mod:`emgkit.signal.chunked`).

A source hands out any sample range ``[start, stop)`` of the one-signal-per-muscle array
(µV, anode − cathode) without the whole recording being in memory:

- :class:`DigitalSource` decodes the needed channels of an EDF/BDF file straight from their
  bytes (only those channels' bytes are read; a 72-channel cap file costs the memory of the
  facial channels of one block) and finds flat/saturated stretches on the raw digital
  values as the blocks go by;
- :class:`ArraySource` wraps signals already in memory (files read through MNE, BIOPAC,
  text exports).
"""

from __future__ import annotations

import threading

import numpy as np

from ..signal.artifacts import equal_runs, join_runs
from ..signal.channels import needed_channels
from .edf import calibration_uv
from .edf_records import decode_samples, read_records


class ArraySource:
    """Muscle signals already in memory.

    Parameters
    ----------
    data : ndarray, shape (n_muscles, n_times)
        Signals (µV).
    spans : dict
        Input channel label -> flat/saturated stretches ``(start, stop, kind)`` (samples).
    name : str
        Where the signals come from (named in error messages).
    """

    def __init__(self, data, spans, name=""):
        self.data = data
        self._spans = spans
        self.name = name

    @property
    def n_times(self):
        return self.data.shape[1]

    @property
    def n_signals(self):
        return self.data.shape[0]

    def read(self, start, stop, core=None):
        """Samples ``[start, stop)`` (µV), shape (n_muscles, stop - start); a view."""
        return self.data[:, start:stop]

    def spans(self):
        """Input channel label -> flat/saturated stretches (samples)."""
        return self._spans

    def __repr__(self):
        return f"<ArraySource | {self.n_signals} signals × {self.n_times} samples>"


class DigitalSource:
    """The muscles' signals decoded block by block from an EDF/BDF file.

    Parameters
    ----------
    header : EdfHeader
        Header of a continuous file whose needed channels share one number of samples per
        record.
    resolved : dict
        Muscle -> (anode, cathode) labels.
    sfreq : float
        Sampling rate (Hz) of the channels.
    flat : float
        Minimum duration (s) of a flat/saturated stretch; 0 disables the search.
    """

    def __init__(self, header, resolved, sfreq, flat):
        self.header = header
        self.name = str(header.path)
        self.resolved = resolved
        self.labels = needed_channels(resolved)
        index = [header.labels.index(lab) for lab in self.labels]
        self.spr = header.spr[index[0]]
        nb = header.sample_bytes
        self._offset = {lab: sum(header.spr[:k]) * nb for lab, k in zip(self.labels, index)}
        width = self.spr * nb
        self._lo = min(self._offset.values())
        self._hi = max(self._offset.values()) + width
        if 2 * (self._hi - self._lo) >= header.record_bytes:
            # most of each record is wanted: read whole records, one call per block
            self._lo, self._hi = 0, header.record_bytes
        self._cal = {lab: calibration_uv(header, lab) for lab in self.labels}
        self._min_run = max(int(round(flat * sfreq)), 2) if flat > 0 else 0
        self._blocks = {}  # core start -> (core stop, {label: runs}, {label: (lo, hi)})
        self._lock = threading.Lock()

    @property
    def n_times(self):
        return self.spr * self.header.n_records

    @property
    def n_signals(self):
        return len(self.resolved)

    def __repr__(self):
        return (f"<DigitalSource | {self.header.path.name}: {self.n_signals} muscles from "
                f"{len(self.labels)} channels, {self.n_times} samples>")

    def _decode(self, raw, n_rec, label):
        """Digital values (int32) of one channel in the ``n_rec`` records ``raw`` holds."""
        return decode_samples(raw, n_rec, self.spr, self._offset[label] - self._lo,
                              self._hi - self._lo, self.header.sample_bytes)

    def read(self, start, stop, core=None):
        """Samples ``[start, stop)`` of every muscle (µV), shape (n_muscles, stop - start).

        ``core`` = ``(a, b)`` inside ``[start, stop)``: the flat/saturated stretches of
        ``[a, b)`` are recorded for :meth:`spans` (blocks overlap; each sample belongs to
        one core).
        """
        r0, r1 = start // self.spr, -(-stop // self.spr)
        raw = read_records(self.header, self._lo, self._hi - self._lo, r0, r1)
        cut = slice(start - r0 * self.spr, stop - r0 * self.spr)
        digital = {lab: self._decode(raw, r1 - r0, lab)[cut] for lab in self.labels}
        del raw
        if core is not None:
            self._note_runs(digital, start, core)
        out = np.empty((self.n_signals, stop - start))
        for m, (anode, cathode) in enumerate(self.resolved.values()):
            ga, oa = self._cal[anode]
            if cathode is None:
                np.multiply(digital[anode], ga, out=out[m])
                off = oa
            else:
                gc, oc = self._cal[cathode]
                if gc == ga:  # the usual case: difference of the integers, then scale
                    np.multiply(digital[anode] - digital[cathode], ga, out=out[m])
                else:
                    np.multiply(digital[anode], ga, out=out[m])
                    out[m] -= digital[cathode] * gc
                off = oa - oc
            if off:
                out[m] += off
        return out

    def _note_runs(self, digital, start, core):
        a, b = core
        runs, hilo = {}, {}
        for lab, x in digital.items():
            seg = x[a - start:b - start]
            hilo[lab] = (int(seg.min()), int(seg.max())) if seg.size else None
            runs[lab] = equal_runs(seg, self._min_run, a) if self._min_run else []
        with self._lock:
            self._blocks[a] = (b, runs, hilo)

    def spans(self):
        """Input channel label -> flat/saturated stretches ``(start, stop, kind)`` (samples).

        Stretches are exact runs of one digital value lasting at least ``flat`` s;
        "saturated" when the value is the channel's minimum or maximum. Parts of the
        recording that no block covered yet are read now.
        """
        gaps, at = [], 0
        for a in sorted(self._blocks):
            if a > at:
                gaps.append((at, a))
            at = max(at, self._blocks[a][0])
        if at < self.n_times:
            gaps.append((at, self.n_times))
        for a, b in gaps:  # read them in pieces of ~1M samples
            for s in range(a, b, 1 << 20):
                self.read(s, min(b, s + (1 << 20)), core=(s, min(b, s + (1 << 20))))
        out = {}
        for lab in self.labels:
            bounds = [self._blocks[a][2][lab] for a in self._blocks
                      if self._blocks[a][2][lab] is not None]
            lo = min(x for x, _ in bounds) if bounds else 0
            hi = max(x for _, x in bounds) if bounds else 0
            out[lab] = join_runs((self._blocks[a][1][lab] for a in sorted(self._blocks)),
                                 lo, hi, self._min_run)
        return out
