"""The one place where the steps of one recording are chained, driven by a validated
:class:`~emgkit.config.Config`:

read (:mod:`emgkit.io`) → events (:mod:`emgkit.events`) → muscles, filter, envelope
(:mod:`emgkit.signal`) → epochs, baseline and scores, onsets, rejection, tables
(:mod:`emgkit.epochs`) → :class:`~emgkit.processed.ProcessedRecording`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from ._memory import release_memory
from .config import Config, check_sample_settings, load_config, require_channels
from .epochs.baseline import score_epochs
from .epochs.extract import extract_epochs
from .epochs.onsets import onset_latencies
from .epochs.reject import trial_reasons
from .epochs.standardise import standardise_scores
from .epochs.tables import timecourses_table, trials_table
from .errors import EventError
from .events import find_events, warn_cms
from .io.bids import check_emg_sidecar, sidecar_mains
from .io.load import load_recording
from .processed import ProcessedRecording
from .signal.quality import QualityCollector, excerpt_window, recording_quality

logger = logging.getLogger("emgkit")


def participant_from_path(path):
    """Return the BIDS ``sub-<label>`` found in a file name, else the file's stem."""
    m = re.search(r"(sub-[A-Za-z0-9]+)", Path(path).name)
    return m.group(1) if m else Path(path).stem


def process_recording(path, config, *, participant_id=None, keep_continuous=False,
                      quality=True, engine="auto", verbose="error", path_id=None,
                      excerpts=True):
    """Process one recording from file to trial table.

    Parameters
    ----------
    path : path-like
        Recording: EDF/EDF+/BDF/BDF+, BIOPAC .acq, AcqKnowledge text export or CSV/TSV
        (see :func:`emgkit.io.load.recording_format`).
    config : Config | path-like
        Validated config or the path of a ``study.toml``.
    participant_id : str | None
        Participant label; None takes ``sub-XX`` from the file name.
    keep_continuous : bool
        Keep the continuous envelope (µV) on the result, a whole-recording array (for
        :meth:`~emgkit.processed.ProcessedRecording.to_raw`); reports do not need it.
    quality : bool
        Compute signal-quality measures (spectra, SNR, excerpt, session envelope at 10 Hz)
        for ``quality.tsv`` and reports, in the same pass as the epochs.
    engine : "auto" | "numpy" | "mne"
        How to read the file (see :func:`emgkit.io.load.load_recording`).
    verbose : str
        MNE's verbosity.
    path_id : str | None
        What ``{participant_id}`` stands for in an event-log path (``[events] source``):
        the id as written in the participants table; None: ``participant_id``.
    excerpts : bool
        Keep the filtered and input signal of every epoch in bins, for ``emgkit review``
        (:class:`emgkit.epochs.traces.TrialExcerpts`; written to ``envelopes.npz``).

    Returns
    -------
    ProcessedRecording
        Trial and time-course tables, epochs and settings; see its attributes.
    """
    if not isinstance(config, Config):
        config = load_config(config)
    path = Path(path)
    pid = participant_id or participant_from_path(path)
    config = recording_config(path, require_channels(config, [path]))
    pp, ep = config.preprocess, config.epochs
    loaded, events = open_recording(path, config, path_id or pid, verbose=verbose,
                                    engine=engine)
    sfreq, resolved = loaded.sfreq, loaded.resolved
    onsets = events["onset_s"].to_numpy()
    collect = None
    if quality:
        first, length = excerpt_window(loaded.n_times, sfreq, 10.0, float(onsets[0]) - 2.0)
        collect = QualityCollector(loaded.n_times, len(resolved), sfreq, (first, length))
    ex = extract_epochs(loaded, pp, ep, onsets, keep_continuous=keep_continuous,
                        collect=collect, excerpts=excerpts)
    release_memory()  # the pass's blocks are freed: give their pages back
    check_inside(ex.inside, ep, loaded, path)
    sc = score_epochs(ex.epochs, ex.times, ep, events=events, blocks=config.blocks,
                      source=str(path))
    latency = onset_latencies(ex.epochs, ex.times, ep.baseline, (0.0, ep.response[1]),
                              config.onsets)
    trials = score_table(sc, loaded, events, ex.starts, len(ex.times), ex.inside, config,
                         pid, latency=latency, envelope=ex.epochs)
    timecourses = timecourses_table(trials, sc.bins, sc.bin_starts, ep.bin)
    standardise_scores(trials, ep.standardise)  # after the time courses: they stay raw
    summary = None
    if quality:
        summary = recording_quality(
            list(resolved), collect.result(), sfreq, loaded.spans, resolved,
            mains=pp.notch if pp.notch < sfreq / 2 else 0.0, band=(pp.l_freq, pp.h_freq),
            trials=trials, cms=loaded.cms, source=str(path))
        done = summary["summary"]["muscle"].isin(pp.processed)  # envelopes: no spectra
        summary["summary"].loc[done, ["snr_db", "mains_ratio"]] = np.nan
    else:  # the quality summary warns about CMS drop-outs otherwise
        warn_cms(loaded.cms, path)
    return ProcessedRecording(
        participant_id=pid, path=path, sfreq=sfreq, config=config, channels=resolved,
        events=events, times=ex.times, envelope_epochs=ex.epochs,
        baseline_level=sc.level, baseline_sd=sc.sd,
        trials=trials, timecourses=timecourses, meas_date=loaded.meas_date,
        duration=loaded.n_times / sfreq, quality=summary, envelope=ex.envelope,
        excerpts=ex.excerpts)


def recording_config(path, config, notch=None):
    """The config as it applies to one recording: without ``[preprocess] notch`` in the
    TOML, the notch is the EMG-BIDS sidecar's ``PowerLineFrequency`` (when there is one).
    ``notch`` (Hz): the recording's notch already known (the sidecar is not read again)."""
    import dataclasses

    pp = config.preprocess
    if notch is None:
        mains = sidecar_mains(path) if pp.notch_from_sidecar else None  # one read
        if pp.notch_from_sidecar and mains is None:
            # no sidecar says where it was recorded: the notch is the config's default,
            # and the report must not claim it came from a sidecar
            return dataclasses.replace(config, preprocess=dataclasses.replace(
                pp, notch_from_sidecar=False))
        notch = pp.notch if mains is None else mains
    if notch == pp.notch:
        return config
    logger.info("%s: notch %g Hz from *_emg.json PowerLineFrequency.", path, notch)
    return dataclasses.replace(config, preprocess=dataclasses.replace(config.preprocess,
                                                                      notch=notch))


def open_recording(path, config, pid, *, verbose="error", engine="auto"):
    """Read a recording's header and events, and check the config against them
    (``pid``: what ``{participant_id}`` stands for in an event-log path).

    Returns
    -------
    loaded : emgkit.io.load.Loaded
        The recording, its muscles' signals as a chunked source (trigger channel dropped).
    events : DataFrame
        The mapped events (:func:`emgkit.events.find_events`).
    """
    loaded = load_recording(path, config, verbose=verbose, engine=engine)
    check_emg_sidecar(path, loaded.sfreq, config.preprocess.notch)
    events = find_events(loaded, config, path, pid)
    loaded.stim = None  # the trigger channel is decoded into events; not kept in the pass
    check_sample_settings(config, loaded.sfreq, len(events), len(loaded.resolved), path,
                          loaded.rate_source)
    return loaded, events


def check_inside(inside, epochs, loaded, path):
    """Raise :class:`~emgkit.errors.EventError` when no event has a full epoch."""
    if not inside.any():
        raise EventError(f"{path}: none of the {len(inside)} events has a full epoch "
                         f"({epochs.tmin:g}..{epochs.tmax:g} s) inside the recording "
                         f"({loaded.n_times / loaded.sfreq:.1f} s); check the events or the "
                         f"epoch limits.")


def score_table(sc, loaded, events, starts, n_epoch, inside, config, pid, *, latency=None,
                envelope=None):
    """The trial table of scored epochs: rejection reasons by ``config.reject``.

    Parameters
    ----------
    sc : emgkit.epochs.baseline.Scores
        Baseline levels and scores of every trial × muscle.
    loaded : emgkit.io.load.Loaded
        The recording (its flat/saturated spans and muscles).
    events : DataFrame
    starts : ndarray of int
        First sample of each epoch; ``n_epoch`` samples long.
    inside : ndarray of bool
    config : Config
    pid : str
    latency : ndarray | None
        Onset latencies (s), shape (n_trials, n_muscles).
    envelope : ndarray | None
        The envelope epochs (µV), for ``[reject] method = "kunecke2014"``.

    Returns
    -------
    DataFrame
        See :func:`emgkit.epochs.tables.trials_table`.
    """
    reasons = trial_reasons(loaded.spans, loaded.resolved, starts, n_epoch, inside,
                            sc.prestim, sc.response, sc.score,
                            events["condition"].to_numpy(), config.reject.threshold,
                            method=config.reject.method, envelope=envelope,
                            sfreq=loaded.sfreq, bins=sc.bins)
    return trials_table(pid, events, list(loaded.resolved), sc.level, sc.response, sc.score,
                        reasons, latency=latency, baseline_source=sc.source)
