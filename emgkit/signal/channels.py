"""Map muscles to channels and derive bipolar signals in µV.

A muscle is given as one channel label (``"Corr"``) or an ``"anode-cathode"`` pair of
monopolar electrodes (``"EXG1-EXG2"``). Labels match case-insensitively. BioSemi records
every electrode against CMS/DRL, so the bipolar difference is taken first, before any
filtering or rectification.
"""

from __future__ import annotations

import numpy as np

from ..errors import ReadError


def _lookup(label, available):
    """Return the file's label matching ``label`` case-insensitively, or None."""
    exact = [a for a in available if a == label]
    if exact:
        return exact[0]
    folded = [a for a in available if a.strip().lower() == label.strip().lower()]
    return folded[0] if len(folded) == 1 else None


def resolve_muscles(channels, available, *, source=""):
    """Resolve each muscle's channel spec against the labels present in a file.

    Parameters
    ----------
    channels : dict
        Muscle -> channel label or ``"anode-cathode"``.
    available : list of str
        Channel labels in the recording.
    source : str
        File name used in error messages.

    Returns
    -------
    dict
        Muscle -> ``(anode, cathode)`` with the file's exact labels; ``cathode`` is None
        for a single (already bipolar) channel.

    Raises
    ------
    ReadError
        When a channel is missing; the message lists the available labels.
    """
    out = {}
    for muscle, spec in channels.items():
        whole = _lookup(spec, available)
        if whole is not None:
            out[muscle] = (whole, None)
            continue
        found = None
        for i, ch in enumerate(spec):
            if ch != "-" or i == 0 or i == len(spec) - 1:
                continue
            a, c = _lookup(spec[:i], available), _lookup(spec[i + 1:], available)
            if a is not None and c is not None:
                found = (a, c)
                break
        if found is None:
            where = f" in {source}" if source else ""
            shown = ", ".join(available[:80]) + (" ..." if len(available) > 80 else "")
            raise ReadError(f"Channel {spec!r} for muscle {muscle!r} not found{where}. "
                            f"Available channels: {shown}. Fix [channels] {muscle} in the "
                            f"config (a label, or \"anode-cathode\").")
        out[muscle] = found
    return out


def needed_channels(resolved):
    """Return the unique file labels used by resolved muscles, in order."""
    labels = []
    for anode, cathode in resolved.values():
        for lab in (anode, cathode):
            if lab is not None and lab not in labels:
                labels.append(lab)
    return labels


def derive(data, labels, resolved):
    """Derive one signal per muscle (bipolar difference where a cathode is given).

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
        Channel signals (µV).
    labels : list of str
        Label of each row of ``data``.
    resolved : dict
        Output of :func:`resolve_muscles`.

    Returns
    -------
    ndarray, shape (n_muscles, n_times)
        ``anode - cathode`` (or the single channel) per muscle, in µV.
    """
    index = {lab: i for i, lab in enumerate(labels)}
    out = np.empty((len(resolved), data.shape[1]), dtype=float)
    for k, (anode, cathode) in enumerate(resolved.values()):
        out[k] = data[index[anode]]
        if cathode is not None:
            out[k] -= data[index[cathode]]
    return out
