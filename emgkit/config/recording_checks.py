"""A config checked against the recordings it will process: the muscles from EMG-BIDS
channel tables when ``[channels]`` is absent (:func:`require_channels`), and the settings
that only make sense once a recording's sampling rate is known
(:func:`check_sample_settings`). Reading and validating the TOML itself is
:mod:`emgkit.config.load`."""

from __future__ import annotations

import logging

from ..epochs.cut import epoch_times
from ..errors import ConfigError
from ..signal.filter import check_band, notch_frequencies
from .load import check_bins

logger = logging.getLogger("emgkit")

#: shortest flat line (samples) ``[reject] flat`` may ask for
MIN_FLAT_SAMPLES = 10


def require_channels(config, recordings, *, where=""):
    """The config with its muscles: its own ``[channels]``, or else the muscle -> channel map
    of the recordings' EMG-BIDS ``*_channels.tsv`` (``target_muscle``; see
    :func:`emgkit.io.bids.bids_channel_map`), which must agree between recordings.

    Parameters
    ----------
    config : Config
    recordings : iterable of path-like
        The recordings the config will process (one for ``process``; a study's for ``run``).
    where : str
        What the recordings are (e.g. the BIDS root), named in messages.

    Returns
    -------
    Config
        ``config`` itself when it has ``[channels]``, else a copy whose ``channels`` come
        from the recordings' channel tables.

    Raises
    ------
    ConfigError
        No ``[channels]`` and a recording without a ``*_channels.tsv``, or two recordings
        whose channel tables map the muscles differently.
    ReadError
        A channel table that does not say which channel records which muscle.
    """
    import dataclasses

    from ..io.bids import bids_channel_map, channels_tsv

    if config.channels:
        return config
    src = config.path or "the config"
    found, first = None, None
    for rec in recordings:
        chans = bids_channel_map(rec)
        if chans is None:
            raise ConfigError(f"[channels] is missing in {src} and {channels_tsv(rec)} "
                              f"does not exist; map each muscle to a channel label or an "
                              f'"anode-cathode" pair, e.g. corrugator = "EXG1-EXG2", or '
                              f"convert the recordings to EMG-BIDS (emgkit bids convert).")
        if found is None:
            found, first = chans, rec
        elif chans != found:
            raise ConfigError(f"[channels] is missing in {src} and the EMG-BIDS channel "
                              f"tables{' of ' + where if where else ''} disagree: "
                              f"{channels_tsv(first)} gives {found}, {channels_tsv(rec)} "
                              f"gives {chans}; map the muscles in [channels] of the config.")
    if found is None:
        raise ConfigError(f"[channels] is missing in {src}; map each muscle to a channel "
                          f'label or an "anode-cathode" pair, e.g. corrugator = "EXG1-EXG2".')
    logger.info("Muscles from %s: %s", channels_tsv(first), found)
    return dataclasses.replace(config, channels=found)


def check_sample_settings(config, sfreq, n_events, n_muscles, path, rate_source=""):
    """Check the settings that only make sense once a recording's sampling rate is known.

    Every duration setting must be at least one sample long (``epochs.bin``, the baseline
    and response windows, ``preprocess.smooth``, ``onsets.min_duration`` and an explicit
    ``events.min_duration``; 0 turns the optional ones off), ``reject.flat`` at least
    :data:`MIN_FLAT_SAMPLES` samples (or 0: shorter runs of one value are quantisation, and
    flagging them rejected almost every trial), at least one
    time bin must fit in the epoch, the band and notch must suit the rate, and the epoch
    array must fit in memory (8 GB).

    Parameters
    ----------
    config : Config
    sfreq : float
        The recording's sampling rate (Hz).
    n_events, n_muscles : int
        Size of the epoch array.
    path : path-like
        The recording, named in messages.
    rate_source : str
        Where ``sfreq`` comes from (e.g. the header fields of an EDF/BDF file); named in the
        messages, since a corrupt header gives a wrong rate.

    Raises
    ------
    ConfigError
    """
    ep, pp = config.epochs, config.preprocess
    src = config.path or "the config"
    one = 1.0 / sfreq
    rate = f"{sfreq:g} Hz in {path}" + (f"; the rate is {rate_source}" if rate_source else "")
    checks = [("epochs.bin", ep.bin), ("epochs.baseline", ep.baseline[1] - ep.baseline[0]),
              ("epochs.response", ep.response[1] - ep.response[0])]
    for key, width in checks:
        if width < one:
            raise ConfigError(f"{key} ({width:g} s, in {src}) is shorter than one sample "
                              f"({one:g} s at {rate}); make it at least {one:g} s.")
    flat = config.reject.flat
    if 0 < flat < MIN_FLAT_SAMPLES * one * (1 - 1e-9):
        least = MIN_FLAT_SAMPLES * one
        raise ConfigError(f"reject.flat ({flat:g} s, in {src}) is shorter than "
                          f"{MIN_FLAT_SAMPLES} samples ({least:g} s at {rate}); a few equal "
                          f"samples in a row are quantisation, not a flat line, and would "
                          f"reject most trials. Use at least {least:g} s (default 0.1) or 0 "
                          f"(no flat-line check).")
    optional = [("preprocess.smooth", pp.smooth, "0 (rectification only)"),
                ("onsets.min_duration", config.onsets.min_duration, None),
                ("events.min_duration", config.events.min_duration, "0 (keep every code)")]
    for key, width, off in optional:
        if width is not None and 0 < width < one:
            raise ConfigError(f"{key} ({width:g} s, in {src}) is shorter than one sample "
                              f"({one:g} s at {rate}); use at least {one:g} s"
                              f"{' or ' + off if off else ''}.")
    times = epoch_times(sfreq, ep.tmin, ep.tmax)
    check_bins(f"epochs.bin (in {src}, at {rate})", ep.bin, times[0], times[-1])
    try:
        if set(config.channels) - set(pp.processed):  # some raw EMG is filtered
            check_band(sfreq, pp.l_freq, pp.h_freq)
            notch_frequencies(sfreq, pp.notch, harmonics=pp.notch_harmonics, h_freq=pp.h_freq)
    except ConfigError as exc:
        raise ConfigError(f"[preprocess] in {src} does not suit {rate}: {exc}") from None
    n_bytes = 8.0 * n_events * n_muscles * (ep.tmax - ep.tmin) * sfreq
    if n_bytes > 8e9:
        raise ConfigError(f"epochs.tmin..tmax ({ep.tmin:g}..{ep.tmax:g} s, in {src}) with "
                          f"{n_events} events × {n_muscles} muscles at {rate} would need "
                          f"{n_bytes / 1e9:.1f} GB of epochs; shorten the epoch.")
