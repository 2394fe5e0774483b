"""The commands a user types, measured as whole processes against their references.

Every measurement runs a fresh process (imports included), alternating with its
reference in the same loop, and reads the child's peak resident set from ``wait4``. This
orchestrating process imports neither numpy nor emgkit (a forked child's peak RSS starts
at its parent's), so the workloads are built by a child process too.

1. ``emgkit process`` on the 60-min 2048 Hz BDF vs ``benchmarks/mne_reference.py`` (the
   MNE pipeline a lab script runs, whole process), both with one 50 Hz notch: speed ratio
   (goal ≥ 4×).
2. ``emgkit process`` on the 30-min 72-channel cap file: peak RSS (goal ≤ 300 MB).
3. ``emgkit report`` of the 60-min BDF vs ``emgkit process`` of it: time ratio (goal
   ≤ 2.5×), peak RSS (goal ≤ 400 MB) and PDF size (goal ≤ 2 MB).
4. ``emgkit run`` of a 40-participant simulated study, ``--jobs 2``, with reports vs
   ``--no-reports``: time ratio (goal ≤ 2×).
5. ``emgkit --help`` vs ``python -c "import numpy"``: time ratio (goal ≤ 2×).

Run: ``python -m benchmarks.commands [runs] [folder] [process,cap,report,run,help]``
(medians of ``runs`` alternating runs; the workloads are cached in ``folder``, default
``/tmp/emgkit-bench``; the third argument picks the measurements).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
#: the console script a user types (``python -m emgkit.cli`` when it is not installed)
EMGKIT = [shutil.which("emgkit")] if shutil.which("emgkit") else [PY, "-m", "emgkit.cli"]


def emgkit(*args):
    return [*EMGKIT, *map(str, args)]


def measure(argv, cwd=None):
    """Run ``argv`` to completion: (wall seconds, peak RSS in MB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{err[-2000:]}")
    return wall, usage.ru_maxrss / 1024.0


def alternate(runs, commands):
    """Run every ``(name, argv_factory)`` in turn, ``runs`` times; medians per name."""
    wall = {name: [] for name, _ in commands}
    rss = {name: [] for name, _ in commands}
    for _ in range(runs):
        for name, make in commands:
            w, r = measure(make())
            wall[name].append(w)
            rss[name].append(r)
    return ({k: statistics.median(v) for k, v in wall.items()},
            {k: max(v) for k, v in rss.items()})


def workloads(folder):
    """Build (in a child process) the hour BDF, the cap file and the 40-participant study;
    write ``commands.toml``: the workload config with one 50 Hz notch, as the reference."""
    folder = Path(folder)
    subprocess.run([PY, "-m", "benchmarks.workload", str(folder)], check=True,
                   stdout=subprocess.DEVNULL)
    hour = folder / "hour" / "sub-01_task-mimicry_emg.bdf"
    cap = folder / "cap" / "sub-01_task-cap_emg.bdf"
    toml = folder / "hour" / "commands.toml"
    text = (folder / "hour" / "study.toml").read_text()
    toml.write_text(text.replace("[preprocess]\n", "[preprocess]\nnotch_harmonics = false\n"))
    study = folder / "study40"
    if not (study / "study.toml").exists():
        subprocess.run(emgkit("simulate", study, "--subjects", 40, "--seed", 1), check=True,
                       stdout=subprocess.DEVNULL)
    return hour, cap, toml, study


def main(runs=5, folder="/tmp/emgkit-bench", only=("process", "cap", "report", "run", "help")):
    hour, cap, toml, study = workloads(folder)
    scratch = Path(tempfile.mkdtemp(prefix="emgkit-bench-"))

    def fresh(name):
        path = scratch / name
        shutil.rmtree(path, ignore_errors=True)
        return path

    lines = [f"Whole processes, medians of {runs} alternating runs ({os.cpu_count()} cores)"]
    if "process" in only or "report" in only:
        lines += _process_and_report(runs, hour, toml, scratch, fresh)
    if "cap" in only:
        _, r_cap = alternate(max(1, runs // 2), [
            ("cap", lambda: emgkit("process", cap, "--config", toml, "--out", fresh("cap")))])
        lines.append(f"2. emgkit process, 72-channel 30-min cap file: peak RSS "
                     f"{r_cap['cap']:.0f} MB (goal <= 300 MB)")
    if "run" in only:
        lines.append(_run(runs, study, fresh))
    if "help" in only:
        w_help, _ = alternate(max(runs, 5), [
            ("numpy", lambda: [PY, "-c", "import numpy"]),
            ("help", lambda: emgkit("--help")),
        ])
        lines.append(f"5. emgkit --help: {w_help['help']:.2f} s vs python -c 'import numpy' "
                     f"{w_help['numpy']:.2f} s = {w_help['help'] / w_help['numpy']:.2f}x "
                     f"(goal <= 2x)")
    shutil.rmtree(scratch, ignore_errors=True)
    print("\n".join(lines))


def _process_and_report(runs, hour, toml, scratch, fresh):
    w, r = alternate(runs, [
        ("mne", lambda: [PY, "-m", "benchmarks.mne_reference", hour, scratch / "ref.txt"]),
        ("process", lambda: emgkit("process", hour, "--config", toml, "--out",
                                   fresh("process"))),
        ("report", lambda: emgkit("report", hour, "--config", toml, "--out",
                                  scratch / "sub-01.pdf")),
        # the libraries both must import before any work (scipy.signal dominates)
        ("imports", lambda: [PY, "-c", "import numpy, pandas, scipy.signal"]),
    ])
    pdf_mb = (scratch / "sub-01.pdf").stat().st_size / 1e6
    return [f"1. emgkit process, 60-min BDF: {w['process']:.2f} s vs MNE reference "
                 f"{w['mne']:.2f} s = {w['mne'] / w['process']:.1f}x faster (goal >= 4x); "
                 f"peak RSS {r['process']:.0f} MB vs {r['mne']:.0f} MB",
            f"   of which importing numpy, pandas and scipy.signal: {w['imports']:.2f} s; "
            f"after it {w['process'] - w['imports']:.2f} s vs {w['mne'] - w['imports']:.2f} s "
            f"= {(w['mne'] - w['imports']) / (w['process'] - w['imports']):.1f}x",
            f"3. emgkit report, 60-min BDF: {w['report']:.2f} s = "
                 f"{w['report'] / w['process']:.2f}x emgkit process (goal <= 2.5x); peak RSS "
                 f"{r['report']:.0f} MB (goal <= 400 MB); PDF {pdf_mb:.2f} MB (goal <= 2 MB)"]


def _run(runs, study, fresh):
    w_run, _ = alternate(max(1, runs // 2), [
        ("reports", lambda: emgkit("run", study / "study.toml", "--jobs", 2, "--out",
                                   fresh("run"))),
        ("no_reports", lambda: emgkit("run", study / "study.toml", "--jobs", 2,
                                      "--no-reports", "--out", fresh("run_nr"))),
    ])
    return (f"4. emgkit run, 40 participants, --jobs 2: with reports {w_run['reports']:.1f}"
            f" s vs --no-reports {w_run['no_reports']:.1f} s = "
            f"{w_run['reports'] / w_run['no_reports']:.2f}x (goal <= 2x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5,
         sys.argv[2] if len(sys.argv) > 2 else "/tmp/emgkit-bench",
         *([sys.argv[3].split(",")] if len(sys.argv) > 3 else []))
