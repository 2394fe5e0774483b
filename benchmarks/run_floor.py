"""What a study run cannot go below on this machine, and whether two of issue 30's goals can
hold together.

Goals a. (``emgkit run --no-reports --jobs 1`` ≥ 4× the MNE loop, wall ``M``) and b.
(``--jobs 2`` ≥ 1.7× ``--jobs 1``) both constrain one run. Write a run as ``S`` seconds that
only one core can do (the imports before the first file, reading the config, the group
model after the last participant; worker start-up only adds to it) plus ``W`` core-seconds
of per-participant work that can be spread over the cores. On a machine with two cores:

- ``--jobs 2`` cannot beat perfect halving: ``T2 ≥ S + W/2``;
- ``--jobs 1`` uses at most all the cores and at least one: ``S + W/2 ≤ T1 ≤ S + W``.

b. needs ``T1 ≥ 1.7·T2 ≥ 1.7·S + 0.85·W``; with ``T1 ≤ S + W`` this forces
``W ≥ 0.7·S / 0.15 ≈ 4.67·S``. a. needs ``T1 ≤ M/4``, so
``M/4 ≥ 1.7·S + 0.85·W ≥ 5.67·S``, i.e. **S ≤ M / 22.7** — whatever the per-file speed, and
whether ``--jobs 1`` uses one thread or two. With the MNE loop at ~25 s on this machine, the
serial part of a run would have to be ≤ ~1.1 s.

This module measures the two floors that bound ``S`` and the per-file work from below:

- :func:`import_floor`: a whole process that only imports what every ``emgkit run`` needs
  before it can read a file (numpy, pandas, ``scipy.signal``);
- :func:`per_file_floor`: one core's seconds for the steps every participant needs whatever
  the implementation: decoding the muscles' channels of the BDF, zero-phase filtering of the
  bipolar signals with the config's cascade (``scipy.signal.sosfiltfilt``, float64) and
  rectify + moving average.

Run: ``python -m benchmarks.run_floor [--dir DIR]`` (the study of
:mod:`benchmarks.study_speed`, generated there when missing).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

#: b.'s and a.'s factors: the serial part allowed is M / JOINT_DIVISOR
B_GOAL, A_GOAL = 1.7, 4.0
JOINT_DIVISOR = A_GOAL * (B_GOAL + B_GOAL / 2 * (B_GOAL - 1) / (1 - B_GOAL / 2))


def joint_serial_bound(mne_loop):
    """Largest serial part ``S`` (s) of a run for which goals a. and b. can both hold, given
    the MNE loop's wall time ``mne_loop`` (s): ``mne_loop / 22.7`` (derivation in the
    module docstring)."""
    return mne_loop / JOINT_DIVISOR


def import_floor(runs=3):
    """Median wall seconds of a process that imports numpy, pandas and ``scipy.signal`` and
    exits (what any ``emgkit run`` pays before its first file)."""
    return _median_wall([sys.executable, "-c", "import numpy, pandas, scipy.signal"], runs)


def serial_floor(run_dir, config, runs=3):
    """Median wall seconds of a process that does only what ``emgkit run`` must do on one
    core: import numpy, pandas and ``scipy.signal`` (before the first file) and fit the
    group step (:func:`emgkit.study.run.fit_group`, without the PDF) to the finished
    run's trial table in ``run_dir`` (``OUT/group/trials.tsv``, ``OUT/participants.tsv``).
    A lower bound of ``S``: reading the config, planning, hashing the inputs and writing
    ``run.json`` come on top."""
    code = (
        "import sys, tempfile\n"
        "import numpy, pandas, scipy.signal\n"
        "from pathlib import Path\n"
        "from emgkit.config import load_config\n"
        "from emgkit.epochs.tables import read_trials\n"
        "from emgkit.study.run import fit_group\n"
        "run = Path(sys.argv[1]); cfg = load_config(sys.argv[2])\n"
        "trials = read_trials(run / 'group' / 'trials.tsv')\n"
        "participants = pandas.read_csv(run / 'participants.tsv', sep='\\t', dtype=str)\n"
        "tmp = Path(tempfile.mkdtemp())\n"
        "fit_group(trials, participants, cfg, tmp, tmp, reports=False)\n")
    return _median_wall([sys.executable, "-c", code, str(run_dir), str(config)], runs)


def _median_wall(argv, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def per_file_floor(recording, config, repeats=3, block=1 << 18):
    """One core's seconds for what every participant needs, median of ``repeats``.

    Returns
    -------
    dict
        ``read`` (decode the muscles' channels of the whole file, µV), ``filter`` (the
        config's cascade forward and backward over blocks of ``block`` samples with
        ``scipy.signal.sosfilt``, float64, no margins: a lower bound for any blockwise
        zero-phase filter; ``sosfiltfilt`` of the whole signals is slower here, it leaves
        the cache), ``filter_whole`` (that ``sosfiltfilt``), ``envelope`` (rectify and
        moving average), ``sections`` (second-order sections of the cascade), ``signals``
        and ``samples`` (per signal).
    """
    import numpy as np
    from scipy.ndimage import uniform_filter1d
    from scipy.signal import sosfilt, sosfiltfilt
    from threadpoolctl import threadpool_limits

    from emgkit.config import load_config
    from emgkit.io.load import load_recording
    from emgkit.signal.envelope import window_samples
    from emgkit.signal.filter import design_filter

    cfg = load_config(config)
    pp = cfg.preprocess
    out = {"read": [], "filter": [], "filter_whole": [], "envelope": []}
    with threadpool_limits(1):
        for _ in range(repeats):
            t0 = time.process_time()
            loaded = load_recording(Path(recording), cfg)
            x = loaded.source.read(0, loaded.source.n_times)
            t1 = time.process_time()
            sos = design_filter(loaded.sfreq, pp.l_freq, pp.h_freq, order=pp.order,
                                notch=pp.notch, harmonics=pp.notch_harmonics)
            y = np.empty_like(x)
            for a in range(0, x.shape[1], block):
                part = sosfilt(sos, x[:, a:a + block], axis=-1)
                y[:, a:a + block] = sosfilt(sos, part[:, ::-1], axis=-1)[:, ::-1]
            t2 = time.process_time()
            whole = sosfiltfilt(sos, x, axis=-1)
            t3 = time.process_time()
            np.abs(y, out=y)
            uniform_filter1d(y, window_samples(loaded.sfreq, pp.smooth), axis=-1, output=y)
            t4 = time.process_time()
            del whole
            for key, value in zip(out, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                out[key].append(value)
    result = {k: statistics.median(v) for k, v in out.items()}
    result.update(sections=len(sos), samples=x.shape[1], signals=x.shape[0])
    return result


def main(argv=None):
    from benchmarks.study_speed import FULL, equal_work_config, generate, recordings

    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_floor")
    parser.add_argument("--dir", default="/tmp/emgkit-study-speed")
    parser.add_argument("--mne-loop", type=float, default=None,
                        help="the MNE loop's wall seconds (study_speed's a.); measured here "
                             "when not given")
    args = parser.parse_args(argv)
    study = generate(Path(args.dir) / "study", **FULL)
    files = recordings(study)
    mne_loop = args.mne_loop
    if mne_loop is None:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "benchmarks.mne_reference", "--loop",
                        "/tmp/emgkit-run-floor-mne", *map(str, files)], check=True)
        mne_loop = time.perf_counter() - t0
    imports = import_floor()
    run_dir = Path(args.dir) / "floor-run"
    if not (run_dir / "group" / "trials.tsv").is_file():
        import shutil

        shutil.rmtree(run_dir, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "emgkit.cli", "run", str(study / "study.toml"),
                        "--out", str(run_dir), "--no-reports", "--jobs", "2"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    serial = serial_floor(run_dir, study / "study.toml")
    default = per_file_floor(files[0], study / "study.toml")
    equal = per_file_floor(files[0], equal_work_config(study))
    bound = joint_serial_bound(mne_loop)
    n = len(files)
    lines = [f"MNE loop over {n} files: {mne_loop:.2f} s -> a. needs run --jobs 1 <= "
             f"{mne_loop / A_GOAL:.2f} s",
             f"a. and b. together need the serial part S of a run <= M/{JOINT_DIVISOR:.1f} "
             f"= {bound:.2f} s; imports (numpy, pandas, scipy.signal) {imports:.2f} s, with "
             f"the group model {serial:.2f} s -> {'possible' if serial < bound else 'impossible'}"
             f" on this machine"]
    for name, f in (("default config", default), ("equal work", equal)):
        total = f["read"] + f["filter"] + f["envelope"]
        lines.append(
            f"per-file floor, one core, {name} ({f['sections']} sections, {f['signals']} × "
            f"{f['samples']} samples): read {f['read']:.2f} + filter {f['filter']:.2f} "
            f"(sosfiltfilt of whole signals {f['filter_whole']:.2f}) + envelope "
            f"{f['envelope']:.2f} = {total:.2f} s; {n} files + serial floor = "
            f"{n * total + serial:.2f} s on one core, {n * total / 2 + serial:.2f} s on two "
            f"(a. allows {mne_loop / A_GOAL:.2f} s)")
    print("\n".join(lines))
    return dict(mne_loop=mne_loop, imports=imports, serial=serial, default=default,
                equal=equal, bound=bound)


if __name__ == "__main__":
    main()
