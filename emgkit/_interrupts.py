"""Ctrl-C and SIGTERM that are never lost: one handler records the signal, and long work
checks the record at safe points.

Python delivers a signal by raising :class:`KeyboardInterrupt` wherever the main thread
happens to be. Raised inside a weak-reference callback, a ``__del__`` or a library's
``except BaseException`` block (matplotlib drawing, garbage collection), that exception is
swallowed and the run carries on as if nothing happened. So the handler installed by
:func:`handling` does two things: it raises :class:`KeyboardInterrupt` (the work stops at
once when it can) *and* records the signal; :func:`check` raises again at every safe point
(between participants, between report pages, before a result is published or a run is
declared ``ok``) as long as a signal is recorded. A swallowed interrupt is therefore only
delayed until the next safe point, never lost.

Exit codes follow the shell's convention: 128 + the signal number (130 for SIGINT, 143 for
SIGTERM), see :func:`exit_code`.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

#: the signals a run stops cleanly on
SIGNALS = (signal.SIGINT, signal.SIGTERM)

_received = None  # the first signal number received since the handlers were installed
_depth = 0  # nesting of handling(): handlers are installed once, by the outermost


def _handler(signum, frame):
    global _received
    if _received is None:
        _received = signum
    raise KeyboardInterrupt


def received():
    """The number of the first SIGINT/SIGTERM received while :func:`handling` was active
    (None when none was)."""
    return _received


def check():
    """Raise :class:`KeyboardInterrupt` when a signal was received, even if the exception
    its handler raised was swallowed somewhere; call it at safe points of long work."""
    if _received is not None:
        raise KeyboardInterrupt


def exit_code(default=signal.SIGINT):
    """The exit status of a run stopped by a signal: 128 + its number (130 for Ctrl-C,
    143 for SIGTERM); ``default`` when no signal was recorded (a KeyboardInterrupt raised
    by other means)."""
    return 128 + int(_received if _received is not None else default)


def name():
    """``"SIGTERM"``, ``"SIGINT"`` … for the recorded signal (``"SIGINT"`` when none)."""
    return signal.Signals(_received if _received is not None else signal.SIGINT).name


@contextmanager
def handling():
    """Install the recording handler for SIGINT and SIGTERM for the duration of the block.

    Nested blocks (the CLI's ``main`` around :func:`emgkit.study.run_study`) share the
    outermost installation and its record. Outside the main thread (where Python cannot
    install handlers) the block runs unchanged. On leaving the outermost block the previous
    handlers are restored and the record is cleared.
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
    previous = {sig: signal.signal(sig, _handler) for sig in SIGNALS}
    _depth, _received = 1, None
    try:
        yield
    finally:
        _depth = 0
        for sig, old in previous.items():
            signal.signal(sig, old)
        _received = None
