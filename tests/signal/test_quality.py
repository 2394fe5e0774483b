"""Quality measures gathered block by block equal whole-array computations (scipy/MNE)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal
from scipy.ndimage import uniform_filter1d

from emgkit.signal import chunked
from emgkit.signal.quality import mains_ratio, snr_db, window_power
from emgkit.signal.spectra import WelchSum


@pytest.mark.parametrize("n,sfreq", [(100_000, 2048.0), (5001, 1000.0), (70, 100.0),
                                     (12_345, 513.0)])
def test_welch_sum_equals_scipy_welch_in_any_block_order(n, sfreq):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(3, n)).cumsum(axis=1) + 50.0
    ws = WelchSum(n, 3, sfreq)
    edges = [0, n // 3, n // 2, n]
    for a, b in reversed(list(zip(edges[:-1], edges[1:]))):
        lo = max(0, a - 5)
        ws.add(x[:, lo:min(n, b + ws.reach)], lo, a, b)
    f, p = ws.result()
    f_ref, p_ref = signal.welch(x, fs=sfreq, nperseg=ws.nperseg)
    np.testing.assert_allclose(f, f_ref)
    np.testing.assert_allclose(p, p_ref, rtol=1e-9)


@pytest.mark.parametrize("batch", [1, 3, 32])
def test_welch_sum_detrends_large_offsets_in_every_bin(batch):
    """Offsets 10⁴–10⁶ times the noise (BioSemi's channels before the bipolar difference) on
    noise low-passed at 400 Hz: every bin equals scipy's detrended Welch to 1e-6 of its own
    value, the weak bins above 600 Hz included (taking the mean out after the FFT left them
    wrong by 4e-4 at 10⁴ and by 15 % at 2.6·10⁶)."""
    rng = np.random.default_rng(7)
    n, sfreq = 40_000, 2048.0
    sos = signal.butter(8, 400.0, fs=sfreq, output="sos")
    x = signal.sosfilt(sos, rng.normal(size=(3, n)), axis=-1) * 2.0
    x += np.array([[2e4], [-2.6e6], [0.0]]) * x.std()
    ws = WelchSum(n, 3, sfreq)
    for a, b in ((0, 17_000), (17_000, n)):
        ws.add(x[:, a:min(n, b + ws.reach)], a, a, b, batch=batch)
    f, p = ws.result()
    _, p_ref = signal.welch(x, fs=sfreq, nperseg=ws.nperseg)
    assert p_ref[:, f > 900].max() < 1e-12 * p_ref.max()  # weak bins indeed
    np.testing.assert_allclose(p[:, 1:], p_ref[:, 1:], rtol=1e-6)


def test_welch_sum_refuses_missing_blocks():
    ws = WelchSum(10_000, 1, 1000.0)
    ws.add(np.zeros((1, 6000)), 0, 0, 5000)
    with pytest.raises(ValueError, match="Welch segments were added"):
        ws.result()


def test_quality_in_blocks_equals_whole_array_computation(study_factory, monkeypatch):
    """A recording processed in ≥ 4 blocks: spectra, window powers, SNR, mains ratio, the
    excerpt and the session envelope equal scipy on the whole MNE-read signal."""
    import mne
    from conftest import recording_of

    from emgkit import load_config, process_recording
    from emgkit.signal.filter import design_filter

    study = study_factory("bdf", 2048.0)
    rec = recording_of(study)
    cfg = load_config(study / "study.toml")
    monkeypatch.setattr(chunked, "BLOCK", 1 << 15)
    calls = []
    real = chunked.plan_blocks
    monkeypatch.setattr(chunked, "plan_blocks",
                        lambda *a, **k: calls.append(real(*a, **k)) or calls[-1])
    res = process_recording(rec, cfg)
    assert len(calls[0]) >= 4 and res.envelope is None
    q, pp = res.quality, cfg.preprocess

    raw = mne.io.read_raw_bdf(rec, preload=True, verbose="error")
    x = np.vstack([(raw.get_data(picks=[a])[0] - raw.get_data(picks=[c])[0]) * 1e6
                   for a, c in res.channels.values()])
    sos = design_filter(res.sfreq, pp.l_freq, pp.h_freq, order=pp.order, notch=pp.notch,
                        harmonics=pp.notch_harmonics)
    y = signal.sosfiltfilt(sos, x)
    env = uniform_filter1d(np.abs(y), int(round(pp.smooth * res.sfreq)), axis=-1,
                           mode="nearest")

    f, p_raw = signal.welch(x, fs=res.sfreq, nperseg=2048)
    _, p_filt = signal.welch(y, fs=res.sfreq, nperseg=2048)
    np.testing.assert_allclose(q["freqs"], f)
    np.testing.assert_allclose(q["psd_raw"], p_raw, rtol=1e-6)
    np.testing.assert_allclose(q["psd_filtered"], p_filt, rtol=1e-6,
                               atol=1e-9 * p_filt.max())
    power = window_power(y, res.sfreq, 0.5)
    np.testing.assert_allclose(q["window_power"], power, rtol=1e-6)
    summary = q["summary"].set_index("muscle")
    for m, muscle in enumerate(res.muscles):
        want = snr_db(power[m], res.sfreq, 0.5, exclude=q["bad_spans"][muscle])
        assert summary.loc[muscle, "snr_db"] == pytest.approx(want, rel=1e-9)
    np.testing.assert_allclose(summary["mains_ratio"],
                               mains_ratio(f, p_raw, pp.notch, (pp.l_freq, pp.h_freq)),
                               rtol=1e-6)
    first = int(round(q["excerpt_times"][0] * res.sfreq))
    span = slice(first, first + len(q["excerpt_times"]))
    assert len(q["excerpt_times"]) == int(10 * res.sfreq)
    np.testing.assert_allclose(q["excerpt_raw"], x[:, span], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(q["excerpt_filtered"], y[:, span], rtol=0,
                               atol=1e-9 * np.abs(y).max())
    h = int(round(res.sfreq / 10))
    n_bins = -(-x.shape[1] // h)
    pad = np.full((3, n_bins * h), -np.inf)
    pad[:, :x.shape[1]] = env
    np.testing.assert_allclose(q["session_envelope"], pad.reshape(3, n_bins, h).max(-1),
                               rtol=1e-9)
    np.testing.assert_allclose(q["session_times"], np.arange(n_bins) * h / res.sfreq)


def test_snr_windows_over_bad_spans_are_left_out():
    sfreq = 100.0
    power = np.ones(40)
    power[10:13] = 1e6  # an artefact inside a saturated span would dominate P95
    assert snr_db(power, sfreq, 0.5, exclude=[(5.0, 6.4, "saturated")]) == 0.0
    assert snr_db(power, sfreq, 0.5) > 0.0
    assert np.isnan(snr_db(power[:3], sfreq, 0.5))
