"""Run a module as ``__main__`` with its imports done first, and say when they ended.

The "after imports" time of a whole process is measured the same way for every command:
a probe run records every module the command imported (``--record FILE``); a measured run
imports those modules first (``--preload FILE``), prints ``imports_done=<unix time>`` on
stderr, then runs the command. The parent takes the process's end minus that timestamp.
Both emgkit and the MNE script are treated alike, lazily imported modules included (MNE
imports its readers and filters, emgkit ``scipy.signal`` and pandas, on first use).

Run: ``python -m benchmarks.timed (--record FILE | --preload FILE) MODULE [ARGS...]``
"""

from __future__ import annotations

import importlib
import runpy
import sys
import time


def _preload(path):
    with open(path, encoding="utf-8") as f:
        names = [line.strip() for line in f if line.strip()]
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - a private module that cannot load alone
            continue


def main(argv):
    mode, path, module, *args = argv
    before = set(sys.modules)
    if mode == "--preload":
        _preload(path)
    print(f"imports_done={time.time():.6f}", file=sys.stderr, flush=True)
    sys.argv = [module, *args]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    finally:
        if mode == "--record":
            skip = ("__main__", "__mp_main__", "benchmarks")
            names = [n for n in sys.modules if n not in before and not n.startswith(skip)]
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(names) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
