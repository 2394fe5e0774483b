import numpy as np
import pytest

from emgkit.signal.envelope import envelope, window_samples


@pytest.mark.parametrize("sfreq", [512.0, 2048.0])
def test_envelope_of_a_sine(sfreq):
    t = np.arange(int(4 * sfreq)) / sfreq
    x = 10.0 * np.sin(2 * np.pi * 100.0 * t)
    mid = slice(len(t) // 4, 3 * len(t) // 4)
    mean_env = envelope(x, sfreq, 0.05, kind="mean")[mid]
    rms_env = envelope(x, sfreq, 0.05, kind="rms")[mid]
    assert mean_env.mean() == pytest.approx(20.0 / np.pi, rel=1e-3)
    assert rms_env.mean() == pytest.approx(10.0 / np.sqrt(2), rel=1e-3)


def test_window_in_seconds_not_samples():
    assert window_samples(2048.0, 0.05) == 102
    assert window_samples(512.0, 0.05) == 26
    assert window_samples(1000.0, 0.0) == 1
    x = np.zeros(1000)
    x[500] = 1.0
    env = envelope(x, 1000.0, 0.1)
    assert np.count_nonzero(env) == 100
    np.testing.assert_allclose(envelope(x, 1000.0, 0.0), np.abs(x))


@pytest.mark.parametrize("size", [1, 2, 5, 102, 1001])
def test_moving_average_matches_scipy(size):
    from scipy.ndimage import uniform_filter1d

    from emgkit.signal.envelope import moving_average

    x = np.abs(np.random.default_rng(size).normal(5, 2, 20000))
    np.testing.assert_allclose(moving_average(x, size),
                               uniform_filter1d(x, size, mode="nearest"), rtol=1e-9)
    y = x - 5
    ref = uniform_filter1d(y * y, size, mode="nearest")
    np.testing.assert_allclose(moving_average(y, size, square=True), ref, rtol=1e-9,
                               atol=1e-12 * ref.max())
    inplace = y.copy()
    moving_average(inplace, size, out=inplace)
    ref = uniform_filter1d(np.abs(y), size, mode="nearest")
    np.testing.assert_allclose(inplace, ref, rtol=1e-9, atol=1e-12 * ref.max())
