"""Blockwise processing equals whole-signal processing (scipy/MNE references)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from scipy import signal
from scipy.ndimage import uniform_filter1d

from emgkit.io.edf import read_header
from emgkit.io.edf_records import read_digital
from emgkit.io.source import ArraySource, DigitalSource
from emgkit.io.write import write_edf
from emgkit.signal import chunked as stream
from emgkit.signal.artifacts import channel_bad_spans
from emgkit.signal.chunked import filter_margin, plan_blocks, process_blocks
from emgkit.signal.filter import design_filter, pad_length

SF = 2048.0


def _signals(n, seed=0):
    """Noise with large DC offsets, drift and mains: what bipolar BioSemi channels hold."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SF
    x = rng.standard_normal((3, n)) * 10.0
    x += np.array([[5000.0], [-20000.0], [300.0]])
    x += 200.0 * np.sin(2 * np.pi * 50.0 * t)
    x += np.cumsum(rng.standard_normal((3, n)), axis=1)
    return x


def _reference(x, sos, size, kind):
    y = signal.sosfiltfilt(sos, x, axis=-1)
    if kind == "rms":
        return y, np.sqrt(uniform_filter1d(y * y, size, axis=-1, mode="nearest"))
    return y, uniform_filter1d(np.abs(y), size, axis=-1, mode="nearest")


@pytest.mark.parametrize("kind,size", [("mean", 102), ("rms", 51), ("mean", 1)])
def test_blocks_equal_whole_signal_filtering(kind, size):
    n = int(240 * SF)
    x = _signals(n)
    sos = design_filter(SF, 20.0, 500.0, notch=50.0, harmonics=True)
    rng = np.random.default_rng(1)
    starts = np.sort(np.concatenate([[-5, 0, n - 7 * 2048, n - 100],
                                     rng.integers(0, n - 14337, 40)]))
    epochs, inside, full = process_blocks(ArraySource(x, {}), sos, size, starts, 14337,
                                          kind=kind, keep=("filtered", "envelope"),
                                          block=1 << 14)
    assert len(plan_blocks(n, filter_margin(sos) + size, block=1 << 14)) > 2
    y, env = _reference(x, sos, size, kind)
    np.testing.assert_allclose(full["filtered"], y, rtol=0, atol=1e-9 * np.abs(y).max())
    # pointwise relative error only near zero crossings of the rectified-only signal
    tol = 1e-10 * env.max()
    np.testing.assert_allclose(full["envelope"], env, rtol=1e-9, atol=tol)
    want = (starts >= 0) & (starts + 14337 <= n)
    np.testing.assert_array_equal(inside, want)
    assert np.isnan(epochs[~inside]).all()
    idx = starts[inside][:, None] + np.arange(14337)
    np.testing.assert_allclose(epochs[inside], np.moveaxis(env[:, idx], 0, 1), rtol=1e-9,
                               atol=tol)


def test_lean_run_equals_full_run():
    n = int(200 * SF)
    x = _signals(n, seed=3)
    sos = design_filter(SF, 20.0, 500.0, notch=50.0)
    starts = np.arange(10) * int(15 * SF) + 4096
    lean, _, none = process_blocks(ArraySource(x, {}), sos, 102, starts, 14337,
                                   block=1 << 14)
    one, _, _ = process_blocks(ArraySource(x, {}), sos, 102, starts, 14337, workers=1,
                               block=1 << 30)
    assert none == {}
    np.testing.assert_allclose(lean, one, rtol=1e-9)


@pytest.mark.parametrize("runs", [1, 4])
def test_runs_restart_after_a_skipped_block_and_threads_change_no_number(monkeypatch, runs):
    """A run carries the forward pass from block to block; a block without epochs (lean
    run) breaks the chain and the next block starts afresh with a margin. Either way the
    epochs equal one whole-signal pass, and the threads used change no bit."""
    n = int(600 * SF)
    x = _signals(n, seed=4)
    sos = design_filter(SF, 20.0, 500.0, notch=50.0)
    blocks = plan_blocks(n, filter_margin(sos) + 102, block=1 << 14)
    assert len(blocks) >= 6
    monkeypatch.setattr(stream, "RUNS_PER_WORKER", runs)  # 1: two runs of 5 blocks
    # epochs in blocks 0, 2, 3 and the last: block 1 and 4.. are skipped
    starts = np.array([blocks[0][0] + 100, blocks[2][0] + 50, blocks[3][1] - 3000,
                       n - 14337])
    one, _, _ = process_blocks(ArraySource(x, {}), sos, 102, starts, 14337, block=1 << 30)
    monkeypatch.setenv(stream.THREADS_ENV, "1")
    serial, _, _ = process_blocks(ArraySource(x, {}), sos, 102, starts, 14337,
                                  block=1 << 14)
    monkeypatch.setenv(stream.THREADS_ENV, "2")
    threaded, _, _ = process_blocks(ArraySource(x, {}), sos, 102, starts, 14337,
                                    block=1 << 14)
    np.testing.assert_array_equal(serial, threaded)
    np.testing.assert_allclose(threaded, one, rtol=1e-9, atol=1e-10 * np.abs(one).max())
    _, _, full = process_blocks(ArraySource(x, {}), sos, 102, starts, 14337, block=1 << 14,
                                keep=("filtered",))  # every block: unbroken runs
    y = signal.sosfiltfilt(sos, x, axis=-1)
    np.testing.assert_allclose(full["filtered"], y, rtol=0, atol=1e-9 * np.abs(y).max())


def test_filter_margin_bounds_the_transient():
    sos = design_filter(SF, 20.0, 500.0, notch=50.0)
    m = filter_margin(sos)
    # the notch (Q = 30) has the slowest mode: ~8.8 s at 2048 Hz for 1e-20
    assert 6 * SF < m < 12 * SF
    impulse = np.zeros(m + 1000)
    impulse[0] = 1.0
    h = signal.sosfilt(sos, impulse)
    assert np.abs(h[m:]).max() < 1e-18 * np.abs(h).max()
    unstable = np.array([[1.0, 0, 0, 1.0, -2.0, 1.0]])  # double pole on the unit circle
    assert filter_margin(unstable) is None
    assert plan_blocks(10 ** 7, None) == [(0, 10 ** 7)]
    blocks = plan_blocks(10 ** 7, m, workers=2)
    assert len(blocks) % 2 == 0 and blocks[0][0] == 0 and blocks[-1][1] == 10 ** 7
    assert all(b[1] == c[0] for b, c in zip(blocks, blocks[1:]))
    assert pad_length(sos) == 3 * (2 * len(sos) + 1)


def _write_channels(path, fmt, n):
    """Six monopolar channels with a flat and a saturated stretch, plus a trigger."""
    rng = np.random.default_rng(5)
    data = rng.standard_normal((8, n)) * 20.0 + rng.uniform(-3000, 3000, (8, 1))
    rng_lim = 8000.0
    data[2, 70_000:95_000] = data[2, 70_000]              # EXG1 flat, across block edges
    data[3, 200_000:230_000] = rng_lim                     # EXG2 at the top of the range
    data[3, 5:9] = data[3, 5]                              # short run: not a span
    data[5, :] = 0.0                                       # EXG4 (not used) dead
    stim = np.zeros(n, dtype=np.int64)
    stim[1000::30_000] = 7
    write_edf(path, data, [f"EEG{k}" for k in range(2)] + [f"EXG{k}" for k in range(1, 7)],
              SF, fmt=fmt, stim=stim, physical_range=rng_lim)
    return path


@pytest.mark.parametrize("fmt", ["bdf", "edf"])
def test_digital_source_equals_mne_and_whole_channel_spans(tmp_path, fmt):
    import mne

    n = int(150 * SF)
    path = _write_channels(tmp_path / f"r.{fmt}", fmt, n)
    header = read_header(path)
    resolved = {"corrugator": ("EXG1", "EXG2"), "zygomaticus": ("EXG3", None),
                "depressor": ("EXG5", "EXG6")}
    source = DigitalSource(header, resolved, SF, 0.5)
    sos = design_filter(SF, 20.0, 500.0, notch=50.0)
    _, _, full = process_blocks(source, sos, 102, np.array([4096]), 14337,
                                keep=("derived",), block=1 << 14)
    raw = mne.io.read_raw(path, preload=True, verbose="error")
    ref = raw.get_data(picks=["EXG1", "EXG3", "EXG5"]) * 1e6
    ref -= np.vstack([raw.get_data(picks=["EXG2"])[0] * 1e6, np.zeros(n),
                      raw.get_data(picks=["EXG6"])[0] * 1e6])
    np.testing.assert_allclose(full["derived"], ref, rtol=1e-9, atol=1e-6)
    spans = source.spans()
    for lab in source.labels:
        assert spans[lab] == channel_bad_spans(read_digital(header, lab), SF, 0.5), lab
    assert spans["EXG1"] == [(70_000, 95_000, "flat")]
    assert spans["EXG2"] == [(200_000, 230_000, "saturated")]
    assert "EXG4" not in spans  # not used, not read
    # a source never read by blocks reads the gaps itself
    fresh = DigitalSource(header, resolved, SF, 0.5)
    assert fresh.spans() == spans


def test_lean_processing_never_holds_unused_channels(tmp_path):
    """A 40-channel file: traced peak memory stays far below the channels' size."""
    n_ch, n = 40, int(300 * SF)
    rng = np.random.default_rng(2)
    path = tmp_path / "cap.bdf"
    data = rng.standard_normal((n_ch, n)).astype(np.float32) * 20.0
    stim = np.zeros(n, dtype=np.int64)
    stim[4096::int(15 * SF)] = 1
    write_edf(path, data, [f"A{k}" for k in range(n_ch - 2)] + ["EXG1", "EXG2"], SF,
              stim=stim)
    del data
    header = read_header(path)
    source = DigitalSource(header, {"corrugator": ("EXG1", "EXG2")}, SF, 0.1)
    sos = design_filter(SF, 20.0, 500.0, notch=50.0)
    starts = np.arange(4096, n - 20000, int(15 * SF)) - 2048
    tracemalloc.start()
    try:
        epochs, inside, _ = process_blocks(source, sos, 102, starts, 14337)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    all_channels = n_ch * n * 8
    assert inside.all() and np.isfinite(epochs).all()
    assert peak < all_channels / 8, (peak, all_channels)


def test_short_recording_is_refused():
    sos = design_filter(SF, 20.0, 500.0, notch=50.0)
    with pytest.raises(Exception, match="zero-phase filtering needs more than"):
        process_blocks(ArraySource(np.zeros((1, 10)), {}), sos, 3, np.array([0]), 5)


def test_default_block_is_used_when_none(monkeypatch):
    calls = []
    real = stream.plan_blocks
    monkeypatch.setattr(stream, "plan_blocks",
                        lambda *a, **k: calls.append(k["block"]) or real(*a, **k))
    sos = design_filter(SF, 20.0, 500.0, notch=50.0)
    process_blocks(ArraySource(_signals(50_000), {}), sos, 3, np.array([0]), 5)
    assert calls == [stream.BLOCK]


def test_pipeline_in_blocks_equals_straightforward_implementation(study_factory,
                                                                   monkeypatch):
    """Trial scores from the blockwise lean run equal a whole-recording scipy/MNE
    computation (read with MNE, sosfiltfilt, uniform_filter1d, epochs, window means)."""
    import mne
    from conftest import recording_of

    from emgkit import load_config, process_recording

    study = study_factory("bdf", 2048.0)
    rec = recording_of(study)
    cfg = load_config(study / "study.toml")
    monkeypatch.setattr(stream, "BLOCK", 1 << 14)
    res = process_recording(rec, cfg, keep_continuous=False, quality=False)
    n = int(res.duration * res.sfreq)
    margin = filter_margin(design_filter(res.sfreq, cfg.preprocess.l_freq,
                                         cfg.preprocess.h_freq, notch=cfg.preprocess.notch))
    assert len(plan_blocks(n, margin + 102, block=1 << 14)) >= 4  # really in blocks
    full = process_recording(rec, cfg, keep_continuous=True, quality=True)

    pp, ep = cfg.preprocess, cfg.epochs
    raw = mne.io.read_raw_bdf(rec, preload=True, verbose="error")
    x = np.vstack([(raw.get_data(picks=[a])[0] - raw.get_data(picks=[c])[0]) * 1e6
                   for a, c in res.channels.values()])
    sos = design_filter(raw.info["sfreq"], pp.l_freq, pp.h_freq, order=pp.order,
                        notch=pp.notch, harmonics=pp.notch_harmonics)
    env = uniform_filter1d(np.abs(signal.sosfiltfilt(sos, x)),
                           int(round(pp.smooth * res.sfreq)), axis=-1, mode="nearest")
    np.testing.assert_allclose(full.envelope, env, rtol=1e-9)
    first = np.round(res.events["onset_s"].to_numpy() * res.sfreq).astype(int)
    times = res.times
    idx = first[:, None] + np.round(times * res.sfreq).astype(int)
    epochs = np.moveaxis(env[:, idx], 0, 1)

    def mean(lo, hi):
        return epochs[..., (times >= lo - 1e-9) & (times < hi - 1e-9)].mean(-1)

    base, resp = mean(*ep.baseline), mean(*ep.response)
    assert ep.baseline_mode in ("ratio", "logratio")
    f = np.log10 if ep.baseline_mode == "logratio" else (lambda v: v)
    for r in (res, full):
        t = r.trials.sort_values(["trial", "muscle"], kind="stable")
        order = [list(r.channels).index(m) for m in t["muscle"]]
        rows = t["trial"].to_numpy() - t["trial"].min()
        np.testing.assert_allclose(t["baseline"], base[rows, order], rtol=1e-6)
        np.testing.assert_allclose(t["response"], resp[rows, order], rtol=1e-6)
        np.testing.assert_allclose(t["score"], f(resp / base)[rows, order], rtol=1e-6)
    np.testing.assert_allclose(res.envelope_epochs, full.envelope_epochs, rtol=1e-9)
    np.testing.assert_allclose(res.corrected, f(epochs / base[..., None]),
                               rtol=1e-6, atol=1e-9)


def test_thread_limit_caps_threads_not_blocks(monkeypatch):
    """$EMGKIT_THREADS caps a pass's threads (worker processes set it); invalid values are
    ignored; the blocks are planned for ``workers`` whatever the limit."""
    from emgkit.signal.chunked import THREADS_ENV, thread_limit

    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert thread_limit(2) == 2
    monkeypatch.setenv(THREADS_ENV, "1")
    assert thread_limit(2) == 1
    monkeypatch.setenv(THREADS_ENV, "0")
    assert thread_limit(2) == 1
    monkeypatch.setenv(THREADS_ENV, "lots")
    assert thread_limit(2) == 2


def test_blockwise_pipeline_equals_one_block_to_rounding_error(study_factory, monkeypatch):
    """Every number process_recording produces (trial table, time courses, quality summary
    and spectra, session envelope, trial excerpts) is the same, to 1e-9 relative, when the
    recording is cut into many blocks and runs as when it is filtered in one block
    (which is sosfiltfilt of the whole signal)."""
    import pandas as pd
    from conftest import recording_of

    from emgkit import load_config, process_recording

    study = study_factory("bdf", 2048.0)
    rec, cfg = recording_of(study), load_config(study / "study.toml")
    monkeypatch.setattr(stream, "BLOCK", 1 << 30)
    one = process_recording(rec, cfg)
    monkeypatch.setattr(stream, "BLOCK", 1 << 14)
    calls = []
    real = stream.plan_blocks
    monkeypatch.setattr(stream, "plan_blocks",
                        lambda *a, **k: calls.append(real(*a, **k)) or calls[-1])
    many = process_recording(rec, cfg)
    assert len(calls[0]) >= 4

    def same(a, b, what):
        a, b = np.asarray(a, float), np.asarray(b, float)
        scale = np.nanmax(np.abs(a)) if np.isfinite(a).any() else 1.0
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12 * scale, err_msg=what)

    for name in ("trials", "timecourses"):
        a, b = getattr(one, name), getattr(many, name)
        num = a.select_dtypes("number").columns
        pd.testing.assert_frame_equal(a.drop(columns=num), b.drop(columns=num))
        for col in num:
            same(a[col], b[col], f"{name}.{col}")
    qa, qb = one.quality, many.quality
    for col in qa["summary"].select_dtypes("number").columns:
        same(qa["summary"][col], qb["summary"][col], f"quality.{col}")
    for key in ("psd_raw", "psd_filtered", "window_power", "excerpt_filtered",
                "session_envelope"):
        same(qa[key], qb[key], key)
    for key in ("low", "high", "raw"):
        same(one.excerpts[key], many.excerpts[key], f"excerpts.{key}")
    same(one.envelope_epochs, many.envelope_epochs, "epochs")


def test_plan_blocks_refuses_zero_workers():
    """workers=0 raised ZeroDivisionError deep in the plan (stranger audit)."""
    from emgkit.signal.chunked import plan_blocks

    with pytest.raises(ValueError, match="workers=0"):
        plan_blocks(10_000_000, 100, workers=0)
