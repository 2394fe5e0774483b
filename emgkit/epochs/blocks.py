"""Block designs: baselines from matched baseline blocks, and block order.

In a block design (e.g. social rejection vs acceptance blocks, each with a matched neutral
block; Hsu et al. 2013) the comparison of interest is a whole block against its matched
baseline block, not each trial against the second before it: a sustained change over the
block is exactly what a pre-stimulus baseline would subtract away.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import EventError


def block_baselines(events, response, blocks, *, source=""):
    """Baseline level (µV) of each trial × muscle from its matched baseline block.

    Parameters
    ----------
    events : DataFrame
        Mapped events with the block column named by ``blocks.column``.
    response : ndarray, shape (n_trials, n_muscles)
        Mean envelope (µV) in each trial's response window.
    blocks : BlocksConfig
    source : str
        For messages.

    Returns
    -------
    base : ndarray, shape (n_trials, n_muscles)
        Baseline level per trial; NaN for trials in blocks without a matched baseline
        (their pre-stimulus baseline is used instead by the caller).
    used : ndarray of str
        Per trial, ``"block:<baseline block>"`` or ``""``.

    Raises
    ------
    EventError
        The block column is missing, or a baseline block has no trials.
    """
    col = blocks.column
    if col not in events.columns:
        raise EventError(f"{source}: the events have no {col!r} column (blocks.column); "
                         f"columns: {', '.join(events.columns)}. Add the block of each trial "
                         f"to the events file.")
    label = events[col].astype(str).to_numpy()
    base = np.full(response.shape, np.nan)
    used = np.full(len(events), "", dtype=object)
    for block, ref in blocks.baseline.items():
        rows = np.flatnonzero(label == block)
        ref_rows = np.flatnonzero(label == ref)
        if rows.size == 0:
            continue
        if ref_rows.size == 0:
            raise EventError(f"{source}: baseline block {ref!r} (for block {block!r}) has no "
                             f"trials; blocks present: {', '.join(sorted(set(label)))}.")
        if blocks.match == "block":
            base[rows] = np.nanmean(response[ref_rows], axis=0)
        else:  # position: k-th trial of the block against the k-th of its baseline block
            k = np.minimum(np.arange(rows.size), ref_rows.size - 1)
            base[rows] = response[ref_rows[k]]
        used[rows] = f"block:{ref}"
    return base, used


def block_order(events, column="block", skip=()):
    """The order in which blocks first appear, e.g. ``"rejection>acceptance"``.

    Parameters
    ----------
    events : DataFrame
        Events in time order with a block column.
    column : str
    skip : collection of str
        Blocks left out (e.g. the baseline blocks).

    Returns
    -------
    str
    """
    if column not in events.columns:
        return ""
    seen = pd.unique(events.sort_values("onset_s")[column].astype(str))
    return ">".join(b for b in seen if b not in set(skip))
