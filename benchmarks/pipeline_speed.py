"""emgkit's per-recording pipeline vs the straightforward MNE pipeline, in one process.

Workload (see ``benchmarks/workload.py``): a 60-minute 2048 Hz BioSemi BDF with 6 facial
electrodes + Status and 240 onsets, and a 30-minute 72-channel cap file. Pipeline: read →
bipolar → band-pass 20–500 Hz + 50 Hz notches → rectify → 50 ms smoothing → epochs −1…6 s
→ ratio baseline → 0.5 s bins and trial scores.

Prints medians of ≥ 5 alternating runs (wall and CPU), the speed ratio, and the peak RSS
of each implementation measured in a fresh child process.

Run: ``python -m benchmarks.pipeline_speed [runs] [workload_dir]``
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import sosfiltfilt

from benchmarks.mne_reference import MUSCLES, mne_reference
from benchmarks.workload import cap, hour
from emgkit import load_config, process_recording
from emgkit.signal.filter import design_filter


def straightforward(path, config, onsets):
    """Whole-recording MNE + scipy computation of emgkit's trial scores (the equality
    reference): read with MNE, bipolar, ``sosfiltfilt`` of emgkit's filter design,
    ``uniform_filter1d`` of the rectified signal, epochs, window means, ratio."""
    import mne

    pp, ep = config.preprocess, config.epochs
    raw = mne.io.read_raw_bdf(path, preload=True, verbose="error")
    sfreq = raw.info["sfreq"]
    x = np.vstack([(raw.get_data(picks=[a])[0] - raw.get_data(picks=[c])[0]) * 1e6
                   for a, c in MUSCLES.values()])
    del raw
    sos = design_filter(sfreq, pp.l_freq, pp.h_freq, order=pp.order, notch=pp.notch,
                        harmonics=pp.notch_harmonics)
    env = uniform_filter1d(np.abs(sosfiltfilt(sos, x)), int(round(pp.smooth * sfreq)),
                           axis=-1, mode="nearest")
    times = np.arange(int(round(ep.tmin * sfreq)), int(round(ep.tmax * sfreq)) + 1) / sfreq
    idx = np.round(onsets * sfreq).astype(int)[:, None] + np.round(times * sfreq).astype(int)
    epochs = np.moveaxis(env[:, idx], 0, 1)

    def mean(lo, hi):
        return epochs[..., (times >= lo - 1e-9) & (times < hi - 1e-9)].mean(-1)

    return mean(*ep.baseline), mean(*ep.response)


def max_relative_difference(path, config):
    """Largest relative difference of emgkit's baseline and response means from
    :func:`straightforward` over all trials × muscles."""
    res = emgkit_pipeline(path, config)
    base, resp = straightforward(path, config, res.events["onset_s"].to_numpy())
    t = res.trials
    rows = t["trial"].to_numpy() - t["trial"].min()
    cols = [list(res.channels).index(m) for m in t["muscle"]]
    worst = 0.0
    for column, ref in (("baseline", base), ("response", resp)):
        want = ref[rows, cols]
        worst = max(worst, float(np.max(np.abs(t[column].to_numpy() - want) / np.abs(want))))
    return worst


def emgkit_pipeline(path, config):
    if not hasattr(config, "channels"):
        config = workload_config(config)
    return process_recording(path, config, keep_continuous=False, quality=False)


def _vm_hwm_mb():
    """Peak resident set of this process's address space (VmHWM, MB).

    ``ru_maxrss`` is not used: Linux carries it over from the forking parent across exec.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _child(conn, fn, args):
    fn(*args)
    conn.send(_vm_hwm_mb())


def peak_rss_mb(fn, *args):
    """Peak RSS (MB) of running ``fn(*args)`` in a fresh child process."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_child, args=(child, fn, args))
    p.start()
    value = parent.recv()
    p.join()
    return value


def workload_config(cfg_path):
    """The workload's settings: band-pass 20-500 Hz and one 50 Hz notch (as the reference)."""
    from dataclasses import replace

    config = load_config(cfg_path)
    return replace(config, preprocess=replace(config.preprocess, notch_harmonics=False))


def main(runs=5, folder="/tmp/emgkit-bench"):
    folder = Path(folder)
    path, cfg_path = hour(folder / "hour")
    cap_path = cap(folder / "cap")
    config = workload_config(cfg_path)
    timings = {"mne": [], "emgkit": []}
    cpu = {"mne": [], "emgkit": []}
    for _ in range(runs):
        for name, fn in (("mne", lambda: mne_reference(path)),
                         ("emgkit", lambda: emgkit_pipeline(path, config))):
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            timings[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
    med = {k: statistics.median(v) for k, v in timings.items()}
    medc = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"60-min 2048 Hz BDF, {runs} alternating runs (median)")
    for k in med:
        print(f"  {k:<7} wall {med[k]:.2f} s   CPU {medc[k]:.2f} s")
    print(f"  speed-up (wall) {med['mne'] / med['emgkit']:.1f}x, "
          f"(CPU) {medc['mne'] / medc['emgkit']:.1f}x")
    rss_e = peak_rss_mb(emgkit_pipeline, cap_path, cfg_path)
    rss_m = peak_rss_mb(_mne_read_cap, cap_path)
    print(f"72-channel 30-min cap file: emgkit peak RSS {rss_e:.0f} MB; "
          f"mne.io.read_raw_bdf(preload=True) alone {rss_m:.0f} MB")
    diff = max_relative_difference(path, config)
    print(f"  trial baseline/response means vs whole-recording MNE + scipy: max relative "
          f"difference {diff:.1e} (goal <= 1e-6)")
    rss_h = peak_rss_mb(emgkit_pipeline, path, cfg_path)
    rss_hm = peak_rss_mb(mne_reference, path)
    print(f"60-min file: emgkit peak RSS {rss_h:.0f} MB; MNE pipeline {rss_hm:.0f} MB")
    return med, medc


def _mne_read_cap(path):
    import mne

    mne.io.read_raw_bdf(path, preload=True, verbose="error")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5,
         sys.argv[2] if len(sys.argv) > 2 else "/tmp/emgkit-bench")
