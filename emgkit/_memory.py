"""Give freed memory back to the operating system after a large pass.

numpy's large temporaries come from glibc's heaps once its adaptive mmap threshold has
grown, and heaps of worker threads are rarely trimmed; the resident set then stays at the
pass's peak although the arrays are gone. :func:`release_memory` asks glibc to trim them
(``malloc_trim``); elsewhere it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_TRIM = None


def release_memory():
    """Return free heap memory to the OS (glibc ``malloc_trim(0)``); True if it was called."""
    global _TRIM
    if not sys.platform.startswith("linux"):
        return False
    if _TRIM is None:
        try:
            _TRIM = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc (e.g. musl)
            _TRIM = False
    if not _TRIM:
        return False
    _TRIM(0)
    return True
