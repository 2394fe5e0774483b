import numpy as np
import pytest
from scipy import signal

from emgkit.errors import ConfigError
from emgkit.signal.filter import apply_filter, band_pass, design_filter, notch_frequencies


def _gain(sfreq, freq, **kw):
    """Zero-phase gain measured on a long sine (steady state, centre part)."""
    t = np.arange(int(4 * sfreq)) / sfreq
    x = np.sin(2 * np.pi * freq * t)
    y = band_pass(x, sfreq, **kw)
    mid = slice(len(t) // 4, 3 * len(t) // 4)
    return np.sqrt(2) * y[mid].std()


@pytest.mark.parametrize("sfreq", [512.0, 1000.0, 2048.0])
def test_band_pass_matches_scipy_reference(sfreq):
    h = min(500.0, 0.45 * sfreq)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, int(5 * sfreq)))
    ref = signal.sosfiltfilt(signal.butter(4, [20.0, h], "bandpass", fs=sfreq, output="sos"),
                             x, axis=-1)
    got = band_pass(x, sfreq, 20.0, h, notch=0)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("sfreq", [512.0, 2048.0])
def test_band_pass_passband_and_stopband_gain(sfreq):
    h = min(500.0, 0.45 * sfreq)
    kw = dict(l_freq=20.0, h_freq=h, notch=0)
    # the analytic zero-phase response is |H|^2 of the Butterworth design
    sos = signal.butter(4, [20.0, h], "bandpass", fs=sfreq, output="sos")
    for f in (80.0, 150.0):
        expected = np.abs(signal.sosfreqz(sos, [f], fs=sfreq)[1][0]) ** 2
        assert _gain(sfreq, f, **kw) == pytest.approx(expected, rel=1e-3)
        assert expected > 0.99
    assert _gain(sfreq, 3.0, **kw) < 1e-3                 # drift/blink band removed
    assert _gain(sfreq, 20.0, **kw) == pytest.approx(0.5, rel=0.02)  # -6 dB at the edge


def test_notch_removes_mains_and_harmonics_only():
    sfreq = 2048.0
    kw = dict(l_freq=20.0, h_freq=500.0, notch=50.0)
    for f in (50.0, 100.0, 150.0, 450.0):
        assert _gain(sfreq, f, **kw) < 0.01
    sos = design_filter(sfreq, 20.0, 500.0, notch=50.0)
    for f in (75.0, 125.0, 225.0, 325.0):
        expected = np.abs(signal.sosfreqz(sos, [f], fs=sfreq)[1][0]) ** 2
        assert _gain(sfreq, f, **kw) == pytest.approx(expected, rel=2e-3)
        assert expected > 0.85  # midway between two notches (Q = 30, applied twice)
    assert notch_frequencies(2048.0, 60.0, h_freq=500.0) == [60.0 * k for k in range(1, 9)]
    assert notch_frequencies(512.0, 50.0) == [50.0 * k for k in range(1, 6)]
    assert notch_frequencies(512.0, 50.0, harmonics=False) == [50.0]
    assert notch_frequencies(512.0, 0) == []


def test_high_pass_only():
    sos = design_filter(1000.0, 20.0, None, notch=0)
    ref = signal.butter(4, 20.0, "highpass", fs=1000.0, output="sos")
    np.testing.assert_allclose(sos, ref)
    x = np.random.default_rng(0).standard_normal(3000)
    np.testing.assert_allclose(apply_filter(x, sos), signal.sosfiltfilt(ref, x))


def test_upper_edge_at_nyquist_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"h_freq=500 Hz is at or above Nyquist \(256 Hz "
                                          r"for sfreq=512 Hz\); use h_freq < 256"):
        design_filter(512.0, 20.0, 500.0)
    with pytest.raises(ConfigError, match="h_freq=500 Hz is at or above Nyquist"):
        design_filter(1000.0, 20.0, 500.0)
    with pytest.raises(ConfigError, match="l_freq=300 Hz is at or above Nyquist"):
        design_filter(512.0, 300.0, None)
    with pytest.raises(ConfigError, match="sfreq"):
        design_filter(None, 20.0, 100.0)
    with pytest.raises(ConfigError, match="notch=300 Hz"):
        design_filter(512.0, 20.0, 200.0, notch=300.0)


def test_edges_and_notches_that_cannot_be_designed_are_config_errors():
    # 1e-9 Hz gave numpy's LinAlgError ("Singular matrix"), notch 1e-6 Hz ran for ever
    with pytest.raises(ConfigError, match=r"l_freq=1e-09 Hz is too low for a stable filter at "
                                          r"sfreq=2048 Hz; use at least 0.0205 Hz"):
        band_pass(np.zeros((1, 4096)), 2048.0, 1e-9, 230.0)
    with pytest.raises(ConfigError, match=r"notch=1e-06 is out of range; it must be >= 1"):
        design_filter(2048.0, 20.0, 500.0, notch=1e-6)
    with pytest.raises(ConfigError, match=r"would need 499 notch filters \(at most 200\)"):
        notch_frequencies(2048.0, 1.0, h_freq=500.0)
    assert notch_frequencies(2048.0, 1.0, harmonics=False) == [1.0]
    y = band_pass(np.random.default_rng(0).normal(size=(1, 8192)), 2048.0, 0.0205, 230.0)
    assert np.isfinite(y).all()
