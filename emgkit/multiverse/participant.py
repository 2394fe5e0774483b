"""One participant through every specification: the recording is read once, filtered once
per band, and each envelope (band × window × kind) is cut into epochs once; baseline modes,
windows, rejection thresholds and standardisation are applied to those epochs."""

from __future__ import annotations

import dataclasses
import time
import traceback
from pathlib import Path

from .._files import as_written
from .._memory import release_memory
from ..config import check_sample_settings
from ..epochs.baseline import score_epochs
from ..epochs.cut import epoch_starts, epoch_times
from ..epochs.extract import extract_epochs
from ..epochs.standardise import standardise_scores
from ..errors import EmgkitError
from ..pipeline import check_inside, open_recording, recording_config, score_table
from ..signal.chunked import process_variants
from ..signal.envelope import window_samples
from ..signal.filter import design_filter
from ..study.plan import split_key

#: trial-table columns every specification's result keeps
KEEP = ("participant_id", "session", "acquisition", "run", "trial", "condition", "muscle", "score", "rejected")


def model_columns(config):
    """The trial-table columns the group step can use: :data:`KEEP`, the variables of the
    model's formulas, the crossed factor and the block column (a grid of many
    specifications keeps only these per specification)."""
    from ..config.formula import parse_formula, variables

    keep = set(KEEP) | {config.blocks.column}
    formula = parse_formula(config.model.get("formula", "score ~ group * condition"))
    keep |= set(variables(formula))  # outcome, fixed effects and random terms
    if config.model.get("re_formula"):
        keep |= set(variables(parse_formula(config.model["re_formula"], one_sided=True)))
    crossed = config.model.get("crossed")
    keep |= set([crossed] if isinstance(crossed, str) else crossed or [])
    return keep


def _envelope_key(cfg):
    pp = cfg.preprocess
    return (pp.l_freq, pp.h_freq, pp.smooth, pp.envelope)


def envelope_epochs(loaded, config, specs, onsets):
    """Envelope epochs of every distinct (band, window, kind) among ``specs``.

    Returns
    -------
    times : ndarray
        Epoch sample times (s).
    starts : ndarray of int
    inside : ndarray of bool
    epochs : dict
        ``(l_freq, h_freq, smooth, envelope)`` -> ndarray (n_trials, n_muscles, n_times), µV.
    """
    ep, sfreq = config.epochs, loaded.sfreq
    keys = list(dict.fromkeys(_envelope_key(s.config) for s in specs))
    times = epoch_times(sfreq, ep.tmin, ep.tmax)
    starts = epoch_starts(onsets, sfreq, ep.tmin, loaded.n_times)
    pp = config.preprocess
    if pp.processed:  # some channels hold the device's envelope: whole arrays per variant
        out, inside = {}, None
        for key in keys:
            variant = dataclasses.replace(pp, l_freq=key[0], h_freq=key[1], smooth=key[2],
                                          envelope=key[3])
            ex = extract_epochs(loaded, variant, ep, onsets)
            out[key], inside = ex.epochs, ex.inside
        return times, starts, inside, out
    bands = list(dict.fromkeys(k[:2] for k in keys))
    filters = [design_filter(sfreq, lo, hi, order=pp.order, notch=pp.notch,
                             harmonics=pp.notch_harmonics) for lo, hi in bands]
    envs = [(bands.index(k[:2]), window_samples(sfreq, k[2]), k[3]) for k in keys]
    epochs, inside, _ = process_variants(loaded.source, filters, envs, starts, len(times))
    return times, starts, inside, dict(zip(keys, epochs))


def specification_trials(path, config, specs, participant_id, *, overrides=(),
                         session=None, path_id=None, entities=None):
    """The trial table of one recording under every specification.

    Parameters
    ----------
    path : path-like
        The recording.
    config : Config
        The study config (events, channels, epoch limits, blocks).
    specs : sequence of Specification
        See :func:`emgkit.multiverse.grid.build_grid`.
    participant_id : str
        ``sub-<label>``, as in the trial tables.
    overrides : sequence of dict
        This participant's manual-review rows (:mod:`emgkit.study.review`).
    session : str | None
        ``ses-<label>``, inserted as a column.
    entities : dict | None
        Column -> value (``session``, ``acquisition``, ``run``: ``run-1``) of the
        recording among the participant's several; inserted as columns, ``session``
        included (then ``session`` is not needed).
    path_id : str | None
        What ``{participant_id}`` stands for in an event-log path (the id as written in the
        participants table); None: ``participant_id``.

    Returns
    -------
    dict
        Specification id -> trial table with the columns the model can use
        (:func:`model_columns`), numbers as ``trials.tsv`` stores them.
    """
    from ..study.review import override_table
    from ..study.run import check_bids_channels

    path = Path(path)
    check_bids_channels(path, config)  # channels a BIDS *_channels.tsv marks bad
    config = recording_config(path, config)  # the sidecar's mains frequency, if any
    notch = config.preprocess.notch  # the grid never varies the notch: read the sidecar once
    specs = [dataclasses.replace(s, config=recording_config(path, s.config, notch))
             for s in specs]
    loaded, events = open_recording(path, config, path_id or participant_id)
    for spec in specs:  # every band must suit this recording's rate
        check_sample_settings(spec.config, loaded.sfreq, len(events), len(loaded.resolved),
                              path, loaded.rate_source)
    onsets = events["onset_s"].to_numpy()
    times, starts, inside, epochs = envelope_epochs(loaded, config, specs, onsets)
    release_memory()
    check_inside(inside, config.epochs, loaded, path)
    out, keep = {}, model_columns(config)
    for spec in specs:
        cfg = spec.config
        env = epochs[_envelope_key(cfg)]
        sc = score_epochs(env, times, cfg.epochs, events=events, blocks=cfg.blocks,
                          source=str(path))
        trials = score_table(sc, loaded, events, starts, len(times), inside, cfg,
                             participant_id, envelope=env)
        if overrides:
            override_table(trials, overrides)
        standardise_scores(trials, cfg.epochs.standardise)
        cols = dict(entities or ({"session": session} if session else {}))
        for k, (column, value) in enumerate(cols.items()):
            trials.insert(1 + k, column, value)
        # the numbers as emgkit run's group step reads them back from trials.tsv
        out[spec.id] = as_written(trials[[c for c in trials.columns if c in keep]])
    return out


def run_participant(task):
    """Worker function: ``task`` = (key, recording, config, specs, participant_id, overrides,
    session, path_id). Returns a dict with ``participant``, ``status`` ("done" | "failed"),
    ``message``, ``seconds`` and ``trials`` (specification id -> table)."""
    key, recording, config, specs, pid, overrides, session, path_id = task
    t0 = time.perf_counter()
    info = dict(participant=key, recording=str(recording), status="failed", message="",
                trials={})
    try:
        info["trials"] = specification_trials(recording, config, specs, pid,
                                              overrides=overrides, session=session,
                                              path_id=path_id, entities=split_key(key)[1])
        info["status"] = "done"
    except Exception as exc:  # one participant's failure must not stop the multiverse
        known = isinstance(exc, EmgkitError)
        info["message"] = f"{type(exc).__name__}: {exc}" + (
            "" if known else "\n" + traceback.format_exc(limit=3))
    info["seconds"] = round(time.perf_counter() - t0, 3)
    return info


__all__ = ["envelope_epochs", "run_participant", "specification_trials"]
