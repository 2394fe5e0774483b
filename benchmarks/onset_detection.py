"""Burst-onset detection: emgkit vs ``neurokit2.emg_process`` on the same signal.

Takes the first ``minutes`` of the 60-minute workload's zygomaticus (bipolar, raw µV),
runs NeuroKit2's full ``emg_process`` and emgkit's chain (blockwise band-pass + notch,
envelope and epochs, :func:`emgkit.onsets.detect_onsets`) alternately, and scores both against the
simulator's known onsets: a true burst is an activation with amplitude ≥ 1 µV; a detection
within 0–3 s after the stimulus is a hit when it lies within 300 ms of the true onset.

Run: ``python -m benchmarks.onset_detection [runs] [minutes]``
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.workload import hour
from emgkit import load_config
from emgkit.epochs.cut import epoch_times
from emgkit.epochs.onsets import detect_onsets
from emgkit.io.load import load_recording
from emgkit.io.source import ArraySource
from emgkit.signal.chunked import process_blocks
from emgkit.signal.envelope import window_samples
from emgkit.signal.filter import design_filter

MUSCLE = "zygomaticus"


def emgkit_onsets(sig, sfreq, stim_onsets):
    sos = design_filter(sfreq, 20.0, 500.0, notch=50.0)
    times = epoch_times(sfreq, -1.0, 6.0)
    starts = np.round(np.asarray(stim_onsets) * sfreq).astype(np.int64) + int(times[0] * sfreq)
    ep, _, _ = process_blocks(ArraySource(sig[None], {}), sos, window_samples(sfreq, 0.05),
                              starts, len(times))
    return detect_onsets(ep[:, 0], times, (-1.0, 0.0), (0.0, 3.0))


def nk_onsets(sig, sfreq, stim_onsets):
    import neurokit2 as nk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signals, _ = nk.emg_process(sig, sampling_rate=int(sfreq))
    on = np.flatnonzero(signals["EMG_Onsets"].to_numpy()) / sfreq
    out = np.full(len(stim_onsets), np.nan)
    for i, s in enumerate(stim_onsets):
        hits = on[(on >= s) & (on <= s + 3.0)]
        if len(hits):
            out[i] = hits[0] - s
    return out


def score(latency, truth):
    pos = truth["amplitude"].to_numpy() >= 1.0
    det = ~np.isnan(latency)
    err = np.abs(latency - truth["latency_s"].to_numpy())
    hit = det & pos & (err <= 0.3)
    tp, fp, fn = hit.sum(), (det & ~hit).sum(), (pos & ~hit).sum()
    f1 = 2 * tp / max(2 * tp + fp + fn, 1)
    return float(np.median(err[hit]) * 1000) if hit.any() else np.nan, f1


def main(runs=5, minutes=10.0, folder="/tmp/emgkit-bench"):
    path, cfg = hour(Path(folder) / "hour")
    loaded = load_recording(path, load_config(cfg))
    sfreq = loaded.sfreq
    n = int(minutes * 60 * sfreq)
    sig = loaded.source.read(0, n)[list(loaded.resolved).index(MUSCLE)]
    truth = pd.read_csv(str(path).replace("_emg.bdf", "_truth.tsv"), sep="\t",
                        keep_default_na=False)
    truth = truth[(truth["muscle"] == MUSCLE) & (truth["stim_onset_s"] + 6 < minutes * 60)]
    stim = truth["stim_onset_s"].to_numpy()
    t = {"emgkit": [], "neurokit2": []}
    res = {}
    for _ in range(runs):
        for name, fn in (("emgkit", emgkit_onsets), ("neurokit2", nk_onsets)):
            t0 = time.perf_counter()
            res[name] = fn(sig, sfreq, stim)
            t[name].append(time.perf_counter() - t0)
    print(f"{minutes:g} min of one {sfreq:g} Hz channel, {len(stim)} trials, "
          f"{int((truth['amplitude'] >= 1).sum())} true bursts; medians of {runs} runs")
    for name in t:
        mae, f1 = score(res[name], truth)
        print(f"  {name:<10} {statistics.median(t[name]):7.3f} s   median |onset error| "
              f"{mae:6.1f} ms   F1 {f1:.2f}")
    ratio = statistics.median(t["neurokit2"]) / statistics.median(t["emgkit"])
    print(f"  speed-up {ratio:.0f}x")
    return ratio


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5,
         float(sys.argv[2]) if len(sys.argv) > 2 else 10.0)
