"""Filter → envelope → epochs in blocks of time, both cores busy, bounded memory.

The recording is cut into blocks, and the blocks into runs of consecutive blocks that the
threads take in turn. Each block is filtered forward and backward, rectified and smoothed, and its
part of every epoch is copied out. The forward pass goes on from one block of a run to the
next with its exact state, so it filters every sample once; the first block of a run starts
a margin early, and every backward pass starts a margin late. The margin is long enough for
the filter's start-up transient to decay below ``1e-20`` of the signal (from the largest
pole radius of the cascade), so the result equals zero-phase filtering of the whole signal
(``scipy.signal.sosfiltfilt`` with its odd padding at the recording's true ends) to
rounding error, while only a few blocks are ever in memory. Blocks run in threads (scipy's
``sosfilt`` and numpy release the GIL); the runs are fixed by the plan, not by the number of
threads, so the numbers do not depend on it.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.signal import sosfilt, sosfilt_zi

from ..errors import ReadError
from .envelope import envelope_segment
from .filter import backward_state, forward_state, pad_length

BLOCK = 1 << 18  # samples per block (2 MB per signal in float64; 128 s at 2048 Hz)
#: runs of consecutive blocks per planned thread (each run starts with a margin)
RUNS_PER_WORKER = 4
#: environment variable capping the threads of a blockwise pass (``emgkit run --jobs N``
#: sets it in its worker processes, whose number already keeps the cores busy)
THREADS_ENV = "EMGKIT_THREADS"


def thread_limit(workers):
    """Threads a pass planned for ``workers`` runs in: at most ``$EMGKIT_THREADS`` when it
    is set to an integer (0 or less counts as 1; anything else is ignored). The block plan
    does not change with it, so the numbers do not either."""
    try:
        limit = int(os.environ.get(THREADS_ENV, ""))
    except ValueError:
        return workers
    return max(1, min(workers, limit))


def filter_margin(sos, tol=1e-20):
    """Samples after which the slowest-decaying mode of ``sos`` has fallen below ``tol``.

    Returns None when a pole lies on or outside the unit circle (no finite margin).
    """
    r = 0.0
    for sec in np.atleast_2d(sos):
        roots = np.roots(sec[3:]) if sec[4] or sec[5] else np.array([0.0])
        r = max(r, float(np.max(np.abs(roots))) if roots.size else 0.0)
    if r >= 1.0:
        return None
    if r == 0.0:
        return 3 * len(sos)
    return int(math.ceil(math.log(tol) / math.log(r)))


def plan_blocks(n_times, margin, *, workers=2, block=BLOCK):
    """Block boundaries ``[(start, stop), ...]`` covering ``n_times`` samples.

    One block when the margin is unknown or long compared with the recording; otherwise
    ``ceil(n_times / L)`` blocks of about ``L = max(block, 8 · margin)`` samples, their
    number rounded up to a multiple of ``workers`` so that the threads finish together
    (so blocks may be shorter than ``L``: ``2L + 1`` samples make 4 blocks of ~``L/2``).
    """
    if workers < 1:
        raise ValueError(f"workers={workers}: a pass needs at least one thread")
    if margin is None or n_times <= 2 * max(block, 8 * margin):
        return [(0, n_times)]
    length = max(block, 8 * margin)
    count = math.ceil(n_times / length)
    count = workers * math.ceil(count / workers)
    edges = np.linspace(0, n_times, count + 1).round().astype(np.int64)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def process_blocks(source, sos, size, starts, n_epoch, *, kind="mean", workers=2,
                   keep=(), block=None, collect=None):
    """Filter, rectify/smooth and epoch every signal of ``source``, block by block.

    Parameters
    ----------
    source : ArraySource | DigitalSource
        The muscles' signals (µV); see :mod:`emgkit.io.source`.
    sos : ndarray, shape (n_sections, 6)
        Zero-phase filter cascade (:func:`emgkit.signal.filter.design_filter`).
    size : int
        Smoothing window (samples, centred; 1 = rectification only).
    starts : ndarray of int
        First sample of each epoch.
    n_epoch : int
        Samples per epoch.
    kind : "mean" | "rms"
        Envelope kind (see :func:`emgkit.signal.envelope.envelope`).
    workers : int
        Threads (at most ``$EMGKIT_THREADS``, :func:`thread_limit`); the blocks are planned
        for this number whatever the limit.
    keep : tuple of str
        Full-length arrays to return as well: ``"derived"``, ``"filtered"``,
        ``"envelope"``.
    block : int | None
        Minimum samples per block (None: ``BLOCK``).
    collect : QualityCollector | None
        Given every block's input, filtered signal and envelope
        (:class:`emgkit.signal.quality.QualityCollector`): the quality measures are
        gathered in the same pass. A collector whose ``every_block`` is False is given only
        the blocks that hold an epoch.

    Returns
    -------
    epochs : ndarray, shape (n_epochs, n_signals, n_epoch)
        Envelope epochs (µV); NaN for epochs not entirely inside the recording.
    inside : ndarray of bool
        Epochs entirely inside the recording.
    full : dict
        The arrays named in ``keep``, shape (n_signals, n_times).
    """
    epochs, inside, full = process_variants(
        source, [sos], [(0, size, kind)], starts, n_epoch, workers=workers, keep=keep,
        block=block, collect=collect)
    return epochs[0], inside, full


def process_variants(source, filters, envelopes, starts, n_epoch, *, workers=2, keep=(),
                     block=None, collect=None):
    """Several filters and envelopes of every signal from one read of ``source``.

    Each block is read once, filtered with every cascade of ``filters`` and turned into
    every envelope of ``envelopes``; each envelope's epochs equal (to rounding, ~1e-15
    relative: the summation order may differ) those of
    :func:`process_blocks` with that filter and window (a preprocessing multiverse reads
    the recording once).

    Parameters
    ----------
    source : ArraySource | DigitalSource
        The muscles' signals (µV).
    filters : list of ndarray
        Zero-phase filter cascades (sos).
    envelopes : list of (int, int, str)
        ``(filter index, smoothing window in samples, "mean" | "rms")``.
    starts, n_epoch, workers, block
        As for :func:`process_blocks`.
    keep, collect
        As for :func:`process_blocks`, for the first filter and the first envelope.

    Returns
    -------
    epochs : list of ndarray, shape (n_epochs, n_signals, n_epoch)
        Per envelope, its epochs (µV); NaN outside the recording.
    inside : ndarray of bool
    full : dict
    """
    n, nsig = source.n_times, source.n_signals
    starts = np.asarray(starts, dtype=np.int64)
    inside = (starts >= 0) & (starts + n_epoch <= n)
    out = [np.empty((len(starts), nsig, n_epoch)) for _ in envelopes]
    for e in out:
        e[~inside] = np.nan
    full = {name: np.empty((nsig, n)) for name in keep}
    edge = max(pad_length(sos) for sos in filters)
    if n <= edge:
        raise ReadError(f"{source.name or 'The recording'}: {n} samples are too few to "
                        f"filter (zero-phase filtering needs more than {edge}); check the "
                        f"file.")
    margins = [filter_margin(sos) for sos in filters]
    zis = [sosfilt_zi(sos) for sos in filters]  # once, not per block
    margin = None if None in margins else max(margins)
    size_max = max(size for _, size, _ in envelopes)
    blocks = plan_blocks(n, None if margin is None else margin + size_max, workers=workers,
                         block=BLOCK if block is None else block)
    reach = max(size_max - 1 - size_max // 2, collect.reach if collect is not None else 0)
    ends = starts + n_epoch

    left = size_max // 2  # filtered samples an envelope needs before its block
    single = len(blocks) == 1

    def run(bounds, chain):
        a, b = bounds
        want = np.flatnonzero(inside & (starts < b) & (ends > a))
        every = collect is not None and getattr(collect, "every_block", True)
        if not want.size and not keep and not every:
            source.read(a, b, core=(a, b))  # no epoch here: only the flat/saturated runs
            chain.clear()  # the next block starts afresh
            return
        lo = max(0, a - left)  # first sample of the zero-phase output kept
        s1 = n if single else min(n, b + reach + margin)
        # a block continuing its run needs no margin before it: the forward pass goes on
        s0 = lo if chain else (0 if single else max(0, lo - margin))
        x = source.read(s0, s1, core=(a, b))
        if "derived" in full:
            full["derived"][:, a:b] = x[:, a - s0:b - s0]
        ys = {}
        for k, (fi, size, kind) in enumerate(envelopes):
            if fi not in ys:
                ys[fi] = _zero_phase(filters[fi], zis[fi], x, s0, lo, s1, n, b - left,
                                     chain, fi)
            y = ys[fi]
            lo_e, hi_e = a - size // 2, b + size - 1 - size // 2  # filtered samples it needs
            env = envelope_segment(y[:, max(lo_e, 0) - lo:min(hi_e, n) - lo], lo_e, hi_e, n,
                                   size, kind)
            if k == 0:
                if "filtered" in full:
                    full["filtered"][:, a:b] = y[:, a - lo:b - lo]
                if collect is not None:
                    collect.add(a, b, x, s0, y, lo, env)
                if "envelope" in full:
                    full["envelope"][:, a:b] = env
            for i in want:
                p, q = max(starts[i], a), min(ends[i], b)
                out[k][i, :, p - starts[i]:q - starts[i]] = env[:, p - a:q - a]
        del x, ys

    def run_chain(part):
        chain = {}  # filter index -> the forward pass carried to the next block
        for bounds in part:
            run(bounds, chain)

    # runs of consecutive blocks, fixed by the plan (not by the threads): a run carries
    # each forward pass from one block to the next; four runs per planned thread, so that
    # a thread slowed by other work on the machine leaves the rest to the others
    count = min(len(blocks), RUNS_PER_WORKER * max(1, workers))
    chains = [blocks[k * len(blocks) // count:(k + 1) * len(blocks) // count]
              for k in range(count)]
    threads = thread_limit(workers)
    if threads > 1 and len(chains) > 1:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run_chain, chains))
    else:
        for part in chains:
            run_chain(part)
    return out, inside, full


def _zero_phase(sos, zi, x, x0, lo, hi, n, carry, chain, key):
    """Zero-phase output ``[lo, hi)`` of one block, its forward pass carried along a run.

    ``x`` holds input samples ``[x0, hi)``. Without ``chain[key]`` the forward pass starts
    at ``x0`` (odd extension at the recording's start as ``sosfiltfilt`` does, else the
    steady state of the first sample, ``x0`` being a margin before ``lo``); with it, it goes
    on from where the previous block of the run stopped, with that block's output and
    filter state. The backward pass starts at ``hi`` (odd extension at the recording's
    end, else the steady state of the last forward output; the caller's margin absorbs the
    transient) and stops at ``lo``. The forward output from ``carry`` on and the state at
    ``hi`` are kept in ``chain[key]`` for the next block.
    """
    zi = zi[:, None, :]
    kept = chain.get(key)
    if kept is None:
        fwd, state = sosfilt(sos, x, zi=forward_state(sos, x, zi, left_end=x0 == 0))
        f0 = x0
    else:
        f0, tail, state = kept
        stop = f0 + tail.shape[1]
        if stop < hi:
            more, state = sosfilt(sos, x[:, stop - x0:], zi=state)
            fwd = np.concatenate([tail, more], axis=1)
        else:
            fwd = tail
    chain[key] = (max(carry, f0), fwd[:, max(carry, f0) - f0:].copy(), state)
    fwd = fwd[:, lo - f0:]
    back = backward_state(sos, x, fwd, state, zi, right_end=hi == n)
    out, _ = sosfilt(sos, fwd[:, ::-1], zi=back)
    return out[:, ::-1]
