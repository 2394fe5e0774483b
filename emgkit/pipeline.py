"""The one place where the steps are chained: read → muscles → filter → envelope → epochs →
baseline → reject → tables, driven by a validated :class:`~emgkit.config.Config`."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import baseline as _baseline
from . import epochs as _epochs
from . import events as _events
from . import reject as _reject
from .blocks import block_baselines
from .blocksource import ArraySource
from .config import Config, load_config
from .envelope import envelope as _envelope
from .envelope import window_samples
from .errors import ConfigError, EventError
from .filter import apply_filter, design_filter
from .loading import load_recording
from .onsets import detect_onsets
from .pulses import analog_events
from .quality import cms_spans, recording_quality, warn_cms
from .result import ProcessedRecording
from .stream import process_blocks
from .tables import timecourses_table, trials_table

logger = logging.getLogger("emgkit")


def participant_from_path(path):
    """Return the BIDS ``sub-<label>`` found in a file name, else the file's stem."""
    m = re.search(r"(sub-[A-Za-z0-9]+)", Path(path).name)
    return m.group(1) if m else Path(path).stem


def sidecar_events(path):
    """Return the BIDS ``*_events.tsv`` path belonging to a recording."""
    path = Path(path)
    stem = path.name.rsplit("_", 1)[0] if "_" in path.stem else path.stem
    return path.with_name(f"{stem}_events.tsv")


def _find_events(loaded, config, path, participant_id):
    ev = config.events
    src = ev.source
    if src == "stim":
        samples, codes, idle = _events.stim_events(loaded.stim, ev.mask, ev.idle)
        found = pd.DataFrame({"onset": samples / loaded.sfreq, "code": codes.astype(str)})
        where = f"{path} (trigger channel, mask {ev.mask:#x}, idle level {idle})"
    elif src == "annotations":
        found = loaded.annotations
        where = f"{path} (annotations)"
    elif src == "analog":
        found = analog_events(loaded.aux, loaded.sfreq, mode=ev.analog_mode,
                              threshold=ev.threshold, edge=ev.edge,
                              level_step=ev.level_step, source=str(path))
        where = f"{path} (analog channels {', '.join(loaded.aux)}, {ev.edge} edges)"
    else:
        tsv = sidecar_events(path) if src == "events.tsv" else \
            config.resolve(src.replace("{participant_id}", participant_id))
        found = _events.read_events_tsv(tsv)
        where = str(tsv)
        keys = set(map(str, ev.conditions))
        if "value" in found.columns and not found["code"].isin(keys).any():
            # BIDS events.tsv: the config may map trigger values rather than trial types
            values = found["value"].astype(str).str.replace(r"\.0$", "", regex=True)
            if values.isin(keys).any():
                found = found.assign(trial_type=found["code"], code=values)
    return _events.map_events(found, ev.conditions, shift=ev.shift,
                              min_interval=ev.min_interval, source=where)


def process_recording(path, config, *, participant_id=None, keep_continuous=True,
                      quality=True, engine="auto", verbose="error"):
    """Process one recording from file to trial table.

    Parameters
    ----------
    path : path-like
        Recording: EDF/EDF+/BDF/BDF+, BIOPAC .acq, AcqKnowledge text export or CSV/TSV
        (see :func:`emgkit.loading.recording_format`).
    config : Config | path-like
        Validated config or the path of a ``study.toml``.
    participant_id : str | None
        Participant label; None takes ``sub-XX`` from the file name.
    keep_continuous : bool
        Keep the continuous envelope (µV) on the result (for plots and reports).
    quality : bool
        Compute signal-quality measures (spectra, SNR, excerpts) for reports.
    engine : "auto" | "numpy" | "mne"
        How to read the file (see :func:`emgkit.loading.load_recording`).
    verbose : str
        MNE's verbosity.

    Returns
    -------
    ProcessedRecording
        Trial and time-course tables, epochs and settings; see its attributes.
    """
    if not isinstance(config, Config):
        config = load_config(config)
    path = Path(path)
    pid = participant_id or participant_from_path(path)

    loaded = load_recording(path, config, verbose=verbose, engine=engine)
    sfreq, resolved = loaded.sfreq, loaded.resolved
    stim = loaded.stim is not None
    events = _find_events(loaded, config, path, pid)
    pp, ep = config.preprocess, config.epochs
    _check_sample_settings(config, sfreq, len(events), len(resolved), path)
    times = _epochs.epoch_times(sfreq, ep.tmin, ep.tmax)
    starts = _epochs.epoch_starts(events["onset_s"].to_numpy(), sfreq, ep.tmin, loaded.n_times)
    in_memory = isinstance(loaded.source, ArraySource)
    raw_rows = [i for i, m in enumerate(resolved) if m not in pp.processed]
    sos = design_filter(sfreq, pp.l_freq, pp.h_freq, order=pp.order, notch=pp.notch,
                        harmonics=pp.notch_harmonics) if raw_rows else None
    if len(raw_rows) == len(resolved):
        # blockwise: filter, envelope and epochs without whole-recording arrays unless
        # the quality measures or the continuous envelope are wanted
        keep = ((("filtered",) + (() if in_memory else ("derived",)) if quality else ())
                + (("envelope",) if keep_continuous else ()))
        env_epochs, inside, full = process_blocks(
            loaded.source, sos, window_samples(sfreq, pp.smooth), starts, len(times),
            kind=pp.envelope, keep=keep)
        derived = loaded.source.data if in_memory else full.get("derived")
        filtered, env = full.get("filtered"), full.get("envelope")
    else:  # some channels already hold the acquisition software's envelope: use as is
        derived = loaded.derived
        filtered, env = derived.copy(), derived.copy()
        if raw_rows:
            filtered[raw_rows] = apply_filter(derived[raw_rows], sos)
            env[raw_rows] = _envelope(filtered[raw_rows], sfreq, pp.smooth, kind=pp.envelope)
        env_epochs, times, inside = _epochs.epoch(env, sfreq, events["onset_s"].to_numpy(),
                                                  ep.tmin, ep.tmax)
    spans = loaded.spans
    if not inside.any():
        raise EventError(f"{path}: none of the {len(events)} events has a full epoch "
                         f"({ep.tmin:g}..{ep.tmax:g} s) inside the recording "
                         f"({loaded.n_times / sfreq:.1f} s); check the events or the epoch limits.")
    base, base_sd = _baseline.baseline_stats(env_epochs, times, ep.baseline, ep.baseline_mode)
    response = _epochs.window_mean(env_epochs, times, ep.response)
    base_used, base_source = base, None
    if config.blocks.baseline:  # baselines from matched baseline blocks
        if ep.baseline_mode == "zscore":
            raise ConfigError(f"{config.path or 'config'}: epochs.baseline_mode = 'zscore' "
                              f"cannot be combined with [blocks] baselines; use logratio, "
                              f"ratio, percent or subtract.")
        block_base, used = block_baselines(events, response, config.blocks, source=str(path))
        has = used != ""
        base_used = np.where(has[:, None], block_base, base)
        base_source = np.where(has, used, "pre-stimulus")
    bins, bin_starts = _epochs.bin_means(env_epochs, times, ep.bin)
    if ep.baseline_mode == "logratio":
        # log10 of the window means' ratio (the log of the mean response over the mean
        # baseline, as fEMG studies report it), not the mean of per-sample logs
        with np.errstate(divide="ignore", invalid="ignore"):
            positive = np.where(base_used > 0, base_used, np.nan)
            score = np.log10(response / positive)
            bins = np.log10(bins / positive[..., None])
    else:  # linear modes: the mean of the corrected samples equals the corrected mean
        score = _baseline.apply_baseline(response, base_used, ep.baseline_mode, base_sd)
        bins = _baseline.apply_baseline(bins, base_used[..., None], ep.baseline_mode,
                                        None if base_sd is None else base_sd[..., None])
    latency = detect_onsets(env_epochs, times, ep.baseline, (0.0, ep.response[1]))

    reasons = _rejections(config, spans, resolved, starts, inside, base, response, score,
                          events["condition"].to_numpy(), len(times))
    trials = trials_table(pid, events, list(resolved), base_used, response, score, reasons)
    trials.insert(trials.columns.get_loc("score") + 1, "latency_s", latency.ravel())
    if base_source is not None:
        trials.insert(trials.columns.get_loc("baseline") + 1, "baseline_source",
                      np.repeat(base_source, len(resolved)))
    timecourses = timecourses_table(trials, bins, bin_starts, ep.bin)
    cms = None
    if stim and path.suffix.lower() == ".bdf" and loaded.engine == "numpy":
        cms = cms_spans(loaded.stim, sfreq)
        if not quality:  # the quality summary logs them otherwise
            warn_cms(cms, path)
    if quality:
        quality = recording_quality(
            list(resolved), derived, filtered, sfreq, spans, resolved,
            mains=pp.notch if pp.notch < sfreq / 2 else 0.0, band=(pp.l_freq, pp.h_freq),
            trials=trials, cms=cms, start=float(events["onset_s"].iloc[0]) - 2.0,
            source=str(path))
        done = quality["summary"]["muscle"].isin(pp.processed)  # envelopes: no spectra
        quality["summary"].loc[done, ["snr_db", "mains_ratio"]] = np.nan
    else:
        quality = None
    return ProcessedRecording(
        participant_id=pid, path=path, sfreq=sfreq, config=config, channels=resolved,
        events=events, times=times, envelope_epochs=env_epochs,
        baseline_level=base_used, baseline_sd=base_sd,
        trials=trials, timecourses=timecourses, meas_date=loaded.meas_date,
        duration=loaded.n_times / sfreq, quality=quality,
        envelope=env if keep_continuous else None)


def _check_sample_settings(config, sfreq, n_events, n_muscles, path):
    """Settings that only make sense once the sampling rate is known: windows and bins of at
    least one sample, and an epoch array that fits in memory."""
    ep, pp = config.epochs, config.preprocess
    src = config.path or "the config"
    one = 1.0 / sfreq
    checks = [("epochs.bin", ep.bin), ("epochs.baseline", ep.baseline[1] - ep.baseline[0]),
              ("epochs.response", ep.response[1] - ep.response[0])]
    for key, width in checks:
        if width < one:
            raise ConfigError(f"{key} ({width:g} s, in {src}) is shorter than one sample "
                              f"({one:g} s at {sfreq:g} Hz in {path}); make it at least "
                              f"{one:g} s.")
    if 0 < pp.smooth < one:
        raise ConfigError(f"preprocess.smooth ({pp.smooth:g} s, in {src}) is shorter than one "
                          f"sample ({one:g} s at {sfreq:g} Hz in {path}); use at least "
                          f"{one:g} s or 0 (rectification only).")
    n_bytes = 8.0 * n_events * n_muscles * (ep.tmax - ep.tmin) * sfreq
    if n_bytes > 8e9:
        raise ConfigError(f"epochs.tmin..tmax ({ep.tmin:g}..{ep.tmax:g} s, in {src}) with "
                          f"{n_events} events × {n_muscles} muscles at {sfreq:g} Hz would need "
                          f"{n_bytes / 1e9:.1f} GB of epochs; shorten the epoch.")


def _rejections(config, spans, resolved, starts, inside, base, response, score, conditions,
                n_times):
    """Per trial and muscle, the sorted rejection reasons (empty: kept)."""
    rj = config.reject
    muscles = list(resolved)
    n_events = len(starts)
    reasons = [[[] for _ in muscles] for _ in range(n_events)]
    stops = starts + n_times
    ok = inside.copy()
    for m, muscle in enumerate(muscles):
        per_trial = [set() for _ in range(n_events)]
        for lab in resolved[muscle]:
            if lab is not None:
                for i, kinds in enumerate(_reject.span_reasons(spans[lab], starts, stops)):
                    per_trial[i] |= kinds
        clean = ok & np.array([not s for s in per_trial])
        # outliers are judged against the clean trials' distribution: baselines across all
        # trials of the muscle, responses within condition (responses differ by condition)
        vals = np.where(clean, base[:, m], np.nan)
        for i in np.flatnonzero(_reject.level_outliers(vals, rj.threshold)):
            per_trial[i].add("baseline_outlier")
        vals = np.where(clean, response[:, m], np.nan)
        for i in np.flatnonzero(_reject.condition_outliers(vals, conditions, rj.threshold)):
            per_trial[i].add("response_outlier")
        for i in range(n_events):
            if not inside[i]:
                per_trial[i].add("outside_recording")
            elif not per_trial[i] and not np.isfinite(score[i, m]):
                # e.g. a zero baseline (channel at 0) in ratio modes: never a kept NaN score
                per_trial[i].add("invalid_score")
            reasons[i][m] = sorted(per_trial[i])
    return reasons
