"""The straightforward MNE pipeline a lab script runs, as a whole process.

Read the BDF with MNE, find the Status events, bipolar references for the three muscles,
band-pass 20–500 Hz (4th-order Butterworth, zero phase) and a 50 Hz notch, rectify, 50 ms
moving average, epochs −1…6 s, ratio to the pre-stimulus mean, trial scores over
0.5–3 s and 0.5 s bins; the trial scores are saved as text.

Run: ``python -m benchmarks.mne_reference RECORDING.bdf OUT.txt`` (one file), or
``python -m benchmarks.mne_reference --loop OUT_DIR A.bdf B.bdf ...`` (a lab script looping
over a study's files in one process; one ``<stem>.txt`` per file in ``OUT_DIR``).
"""

from __future__ import annotations

import sys

import numpy as np

MUSCLES = {"corrugator": ("EXG1", "EXG2"), "zygomaticus": ("EXG3", "EXG4"),
           "depressor": ("EXG5", "EXG6")}


def mne_reference(path):
    """Trial scores (n_trials, n_muscles) and bins (n_trials, n_muscles, n_bins)."""
    import mne
    from scipy.ndimage import uniform_filter1d

    raw = mne.io.read_raw_bdf(path, preload=True, verbose="error")
    events = mne.find_events(raw, stim_channel="Status", mask=0xFFFF, mask_type="and",
                             consecutive=True, verbose="error")
    raw = mne.set_bipolar_reference(raw, [a for a, _ in MUSCLES.values()],
                                    [c for _, c in MUSCLES.values()], ch_name=list(MUSCLES),
                                    verbose="error")
    raw.set_channel_types({m: "emg" for m in MUSCLES})
    picks = list(MUSCLES)
    iir = dict(order=4, ftype="butter", output="sos")
    raw.filter(20.0, 500.0, picks=picks, method="iir", iir_params=iir, phase="zero",
               verbose="error")
    raw.notch_filter(50.0, picks=picks, method="iir", verbose="error")
    sfreq = raw.info["sfreq"]
    raw.apply_function(np.abs, picks=picks)
    raw.apply_function(lambda x: uniform_filter1d(x, int(round(0.05 * sfreq)),
                                                  mode="nearest"), picks=picks)
    epochs = mne.Epochs(raw, events, tmin=-1.0, tmax=6.0, baseline=None, picks=picks,
                        preload=True, verbose="error")
    data = epochs.get_data()
    times = epochs.times
    base = data[..., times < 0].mean(-1, keepdims=True)
    ratio = data / base
    score = ratio[..., (times >= 0.5) & (times < 3.0)].mean(-1)
    bins = np.stack([ratio[..., (times >= s) & (times < s + 0.5)].mean(-1)
                     for s in np.arange(-1.0, 6.0, 0.5)], -1)
    return score, bins


def main(argv):
    if argv[:1] == ["--loop"]:
        from pathlib import Path

        out = Path(argv[1])
        out.mkdir(parents=True, exist_ok=True)
        for path in argv[2:]:
            scores, _ = mne_reference(path)
            np.savetxt(out / f"{Path(path).stem}.txt", scores)
        return
    scores, _ = mne_reference(argv[0])
    np.savetxt(argv[1] if len(argv) > 1 else sys.stdout.buffer, scores)


if __name__ == "__main__":
    main(sys.argv[1:])
