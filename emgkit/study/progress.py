"""Progress of a study run: a bar on a terminal; one line per finished participant (with
elapsed time and ETA) when stderr is a log or a batch job; every failure said once."""

from __future__ import annotations

import logging
import sys
import time

logger = logging.getLogger("emgkit")


def _clock(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"


class Progress:
    """Report finished participants.

    Parameters
    ----------
    total : int
        Participants to run.
    mode : "bar" | "lines" | None
        A tqdm bar, one line per participant on stderr, or nothing (failures are then
        logged as errors).
    stream : file | None
        Where lines go (default ``sys.stderr``).
    """

    def __init__(self, total, mode, stream=None):
        self.total, self.mode = total, mode
        self.stream = stream or sys.stderr
        self.start, self.count = time.monotonic(), 0
        self.bar = None
        if mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="participants", unit="rec", file=self.stream)

    @staticmethod
    def mode_for(progress, stream=None):
        """``progress`` True/False/None (None: a bar on a terminal, nothing in a Jupyter
        notebook, where every line would stay in the saved outputs, else lines)."""
        if progress is False:
            return None
        stream = stream or sys.stderr
        if progress is None and type(stream).__module__.startswith("ipykernel"):
            return None
        tty = hasattr(stream, "isatty") and stream.isatty()
        return "bar" if tty else "lines"

    def update(self, info):
        """One participant finished (``info``: its run record entry)."""
        self.count += 1
        failed = info["status"] == "failed"
        message = info.get("message", "").splitlines()[0] if failed else ""
        if self.mode is None:
            if failed:
                logger.error("%s failed: %s", info["participant"], message)
            return
        if self.mode == "bar":
            if failed:
                self.bar.write(f"FAILED {info['participant']}: {message}", file=self.stream)
            self.bar.update(1)
            return
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.count * (self.total - self.count)
        what = f"FAILED {info['participant']}: {message}" if failed else \
            f"{info['participant']} {info['status']}"
        print(f"[{self.count}/{self.total}] {what} (elapsed {_clock(elapsed)}, "
              f"ETA {_clock(eta)})", file=self.stream, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
