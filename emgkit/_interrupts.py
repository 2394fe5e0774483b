"""Ctrl-C and SIGTERM that are never lost: one handler records the signal, and long work
checks the record at safe points.

Python delivers a signal by raising :class:`KeyboardInterrupt` wherever the main thread
happens to be. Raised inside a weak-reference callback, a ``__del__``, a fork hook or a
library's ``except BaseException`` block (matplotlib drawing, garbage collection), that
exception is swallowed and the run carries on as if nothing happened. So the handler
installed by :func:`handling` does two things: it raises :class:`KeyboardInterrupt` (the
work stops at once when it can) *and* records the signal; :func:`check` raises again at
every safe point (between participants, between report pages, before a result is published
or a run is declared ``ok``) as long as a signal is recorded. A swallowed interrupt is
therefore only delayed until the next safe point, never lost (and Python's "Exception
ignored in …" notice for it is not printed: it is not ignored).

Exit codes follow the shell's convention: 128 + the signal number (130 for SIGINT, 143 for
SIGTERM), see :func:`exit_code`.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager

#: the signals a run stops cleanly on
SIGNALS = (signal.SIGINT, signal.SIGTERM)

_received = None  # the first signal number received by the handler (kept after the block)
_depth = 0  # nesting of handling(): handlers are installed once, by the outermost


def _handler(signum, frame):
    global _received
    if _received is None:
        _received = signum
    raise KeyboardInterrupt


def received():
    """Inside :func:`handling`: the number of the first SIGINT/SIGTERM received (None when
    none was, and outside a block)."""
    return _received if _depth else None


def forget():
    """Start a worker process afresh: no handlers' record or block inherited from the
    parent it was forked from."""
    global _received, _depth
    _received, _depth = None, 0


def check():
    """Inside :func:`handling`: raise :class:`KeyboardInterrupt` when a signal was received,
    even if the exception its handler raised was swallowed somewhere. Call it at safe
    points of long work; outside a block it does nothing."""
    if _depth and _received is not None:
        raise KeyboardInterrupt


def exit_code(default=signal.SIGINT):
    """The exit status of a command stopped by a signal: 128 + its number (130 for Ctrl-C,
    143 for SIGTERM); ``default``'s when no signal was recorded (a KeyboardInterrupt
    raised by other means)."""
    return 128 + int(_received if _received is not None else default)


def name():
    """``"SIGTERM"``, ``"SIGINT"`` … for the recorded signal (``"SIGINT"`` when none)."""
    return signal.Signals(_received if _received is not None else signal.SIGINT).name


@contextmanager
def handling():
    """Install the recording handler for SIGINT and SIGTERM for the duration of the block.

    The record starts empty and is kept after the block (for the exit code). Nested blocks
    (the CLI's ``main`` around :func:`emgkit.study.run_study`) share the outermost
    installation and its record. Outside the main thread (where Python cannot install
    handlers) the block runs unchanged. On leaving the outermost block the previous
    handlers are restored.
    """
    global _received, _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _depth:
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
        return
    _received, _depth = None, 1
    hook = sys.unraisablehook
    previous = {}
    try:
        sys.unraisablehook = _quiet(hook)
        for sig in SIGNALS:
            previous[sig] = signal.signal(sig, _handler)
        yield
    finally:
        _depth = 0
        for sig, old in previous.items():
            signal.signal(sig, old)
        sys.unraisablehook = hook


def _quiet(hook):
    """``sys.unraisablehook`` that drops the KeyboardInterrupt of a recorded signal (it is
    raised again by :func:`check`) and passes anything else to ``hook``."""
    def unraisable(info):
        if isinstance(info.exc_value, KeyboardInterrupt) and _received is not None:
            return
        hook(info)

    return unraisable
