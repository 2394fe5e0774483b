import numpy as np
import pytest
from mne.baseline import rescale as mne_rescale

from emgkit.epochs.baseline import rescale
from emgkit.epochs.cut import bin_edges, bin_means, epoch, epoch_times
from emgkit.errors import ConfigError


def test_epoch_cuts_at_the_right_samples():
    sfreq = 100.0
    data = np.arange(1000, dtype=float)[None, :].repeat(2, 0)
    data[1] *= -1
    ep, times, inside = epoch(data, sfreq, [2.0, 5.0, 9.95], -0.5, 1.0)
    assert times[0] == pytest.approx(-0.5) and times[-1] == pytest.approx(1.0)
    assert ep.shape == (3, 2, 151)
    np.testing.assert_array_equal(ep[0, 0], np.arange(150, 301))
    np.testing.assert_array_equal(ep[1, 1], -np.arange(450, 601))
    assert inside.tolist() == [True, True, False]
    assert np.isnan(ep[2]).all()


@pytest.mark.parametrize("mode,mne_mode", [("subtract", "mean"), ("ratio", "ratio"),
                                           ("percent", "percent"), ("logratio", "logratio"),
                                           ("zscore", "zscore")])
def test_rescale_matches_mne(mode, mne_mode):
    sfreq = 200.0
    rng = np.random.default_rng(3)
    times = epoch_times(sfreq, -1.0, 2.0)
    data = np.exp(rng.normal(size=(5, 3, len(times))))
    got, base = rescale(data, times, (-1.0, 0.0), mode)
    # emgkit's window excludes its stop; MNE's includes both ends
    ref = mne_rescale(data, times, (-1.0, -0.5 / sfreq), mode=mne_mode,
                               verbose="error")
    if mode == "percent":
        ref = ref * 100.0  # MNE's "percent" is a fraction
    np.testing.assert_allclose(got, ref, rtol=1e-10)
    np.testing.assert_allclose(base, data[..., times < 0].mean(-1))


def test_rescale_rejects_unknown_mode():
    with pytest.raises(ConfigError, match="baseline_mode='db' is not allowed"):
        rescale(np.ones((1, 10)), np.arange(10.0), (0, 5), "db")


def test_bins_aligned_to_zero():
    np.testing.assert_allclose(bin_edges(-1.0, 6.0, 0.5), np.arange(-1.0, 6.0, 0.5))
    np.testing.assert_allclose(bin_edges(-0.25, 1.0, 0.5), [0.0, 0.5])
    sfreq = 100.0
    times = epoch_times(sfreq, -1.0, 2.0)
    data = np.broadcast_to(times, (2, 1, len(times)))
    values, starts = bin_means(data, times, 0.5)
    assert values.shape == (2, 1, 6)
    # mean of t over [s, s+0.5) on a 10-ms grid is s + 0.245
    np.testing.assert_allclose(values[0, 0], starts + 0.245)
