"""The result of processing one recording: tables, epochs, settings, and handy exports."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ._files import TABLE_FLOAT, write_tsv
from .epochs.baseline import correct
from .epochs.sidecar import write_quality_sidecar, write_sidecars
from .epochs.traces import FILE as TRACES_FILE
from .epochs.traces import write_traces


@dataclass(repr=False)
class ProcessedRecording:
    """One processed recording.

    Attributes
    ----------
    participant_id : str
    path : pathlib.Path
        The recording file.
    sfreq : float
        Sampling rate (Hz) of the recording and of the epochs.
    config : Config
        The settings used.
    channels : dict
        Muscle -> (anode, cathode) labels used.
    events : DataFrame
        Mapped events (``trial``, ``onset_s``, ``condition``, ``code``, ...).
    times : ndarray
        Epoch sample times (s).
    envelope_epochs : ndarray, shape (n_trials, n_muscles, n_times)
        Envelope epochs (µV), NaN for events outside the recording.
    corrected : ndarray, shape (n_trials, n_muscles, n_times)
        Baseline-corrected epochs (unit of the baseline mode), computed on first use by
        :func:`emgkit.epochs.baseline.correct`, the one scoring function: per sample, the
        envelope level (a mean over the smoothing window) against the baseline level; the
        trial score is the same function of the response window's mean level.
    baseline_level : ndarray, shape (n_trials, n_muscles)
        The level (µV) each trial is expressed against: its pre-stimulus mean, or the
        matched baseline block's mean with ``[blocks]``.
    baseline_sd : ndarray | None
        Pre-stimulus SD (µV) per trial × muscle (``zscore`` mode only).
    trials : DataFrame
        One row per trial × muscle (see :func:`emgkit.epochs.tables.trials_table`).
    timecourses : DataFrame
        One row per trial × muscle × bin (see :func:`emgkit.epochs.tables.timecourses_table`).
    meas_date : datetime | None
    duration : float
        Recording duration (s).
    quality : dict | None
        Signal-quality measures (see :func:`emgkit.signal.quality.recording_quality`).
    envelope : ndarray, shape (n_muscles, n_samples) | None
        Continuous envelope (µV).
    excerpts : dict | None
        The filtered and input signal of every epoch in bins (µV;
        :meth:`emgkit.epochs.traces.TrialExcerpts.result`), written to ``envelopes.npz``.
    """

    participant_id: str
    path: Path
    sfreq: float
    config: object
    channels: dict
    events: pd.DataFrame
    times: np.ndarray
    envelope_epochs: np.ndarray
    baseline_level: np.ndarray
    trials: pd.DataFrame
    timecourses: pd.DataFrame
    meas_date: object = None
    duration: float = 0.0
    quality: dict | None = None
    envelope: np.ndarray | None = field(default=None)
    baseline_sd: np.ndarray | None = None
    excerpts: dict | None = field(default=None)

    @cached_property
    def corrected(self):
        """Baseline-corrected epochs, shape (n_trials, n_muscles, n_times): each sample's
        envelope level through :func:`emgkit.epochs.baseline.correct`, the function behind
        every trial score and time-course bin."""
        sd = None if self.baseline_sd is None else self.baseline_sd[..., None]
        return correct(self.envelope_epochs, self.baseline_level[..., None],
                       self.config.epochs.baseline_mode, sd)

    def corrected_muscle(self, muscle, rows=slice(None)):
        """Baseline-corrected epochs of one muscle, shape (n_rows, n_times): the same values
        as ``corrected[rows, m]`` without computing (and keeping) every muscle's.

        Parameters
        ----------
        muscle : str | int
            Muscle name or index.
        rows : slice | array of int
            Trials (rows of :attr:`events`).
        """
        m = self.muscles.index(muscle) if isinstance(muscle, str) else int(muscle)
        if "corrected" in self.__dict__:  # already computed
            return self.corrected[rows, m]
        sd = None if self.baseline_sd is None else self.baseline_sd[rows, m, None]
        return correct(self.envelope_epochs[rows, m], self.baseline_level[rows, m, None],
                       self.config.epochs.baseline_mode, sd)

    @property
    def muscles(self):
        """Muscle names, in the order of the epoch arrays."""
        return list(self.channels)

    @property
    def conditions(self):
        """Condition names present, in the config's order (stable colours across pages)."""
        present = set(self.events["condition"])
        order = list(dict.fromkeys(self.config.events.conditions.values()))
        return [c for c in order if c in present] + sorted(present - set(order))

    def __repr__(self):
        n_rej = int(self.trials["rejected"].sum())
        counts = self.events["condition"].value_counts()
        conds = ", ".join(f"{c}: {counts[c]}" for c in self.conditions)
        return (f"<ProcessedRecording | {self.participant_id} | {self.path.name} | "
                f"{self.sfreq:g} Hz, {self.duration:.1f} s | {len(self.events)} trials "
                f"({conds}) | muscles: {', '.join(self.muscles)} | "
                f"{n_rej}/{len(self.trials)} trial×muscle rejected>")

    def _repr_html_(self):
        summary = (self.trials.groupby(["condition", "muscle"], sort=False)
                   .agg(trials=("trial", "size"), rejected=("rejected", "sum"),
                        mean_score=("score", "mean")).reset_index())
        head = (f"<p><b>{self.participant_id}</b> — {self.path.name}, {self.sfreq:g} Hz, "
                f"{self.duration:.1f} s, baseline mode "
                f"<code>{self.config.epochs.baseline_mode}</code></p>")
        return head + summary.to_html(index=False, float_format=lambda v: f"{v:.3g}")

    def condition_means(self, kept_only=True):
        """Mean score per condition × muscle (kept trials only by default).

        Returns
        -------
        DataFrame
            Index condition, columns muscles.
        """
        df = self.trials[~self.trials["rejected"]] if kept_only else self.trials
        table = df.pivot_table(index="condition", columns="muscle", values="score",
                               aggfunc="mean", sort=False)
        return table.reindex(index=self.conditions, columns=self.muscles)

    def to_epochs(self, kind="envelope"):
        """Return an :class:`mne.EpochsArray` of the epochs with trial metadata.

        Parameters
        ----------
        kind : "envelope" | "corrected"
            The envelope in V (MNE's convention for ``emg`` channels; µV × 1e-6) or the
            baseline-corrected values (unit of the baseline mode, stored unscaled).

        Returns
        -------
        mne.EpochsArray
            One ``emg`` channel per muscle; events outside the recording are left out;
            ``metadata`` has ``participant_id, trial, condition, onset_s, code``, and per
            muscle ``score_<muscle>`` and ``reject_<muscle>`` (reason, "" when kept).
        """
        import mne

        if kind not in ("envelope", "corrected"):
            from .errors import ConfigError
            raise ConfigError(f"kind={kind!r} is not allowed; use 'envelope' or 'corrected'.")
        data = self.envelope_epochs * 1e-6 if kind == "envelope" else self.corrected
        keep = ~np.isnan(data).all(axis=(1, 2))
        info = mne.create_info(self.muscles, self.sfreq, ch_types="emg")
        meta = self.events.copy()
        meta.insert(0, "participant_id", self.participant_id)
        wide = self.trials.pivot(index="trial", columns="muscle")
        for m in self.muscles:
            meta[f"score_{m}"] = wide[("score", m)].reindex(meta["trial"]).to_numpy()
            meta[f"reject_{m}"] = wide[("reject_reason", m)].reindex(meta["trial"]).to_numpy()
        meta = meta[keep].reset_index(drop=True)
        codes = {c: i + 1 for i, c in enumerate(self.conditions)}
        ev = np.column_stack([np.round(meta["onset_s"].to_numpy() * self.sfreq).astype(int),
                              np.zeros(len(meta), int),
                              meta["condition"].map(codes).to_numpy()])
        return mne.EpochsArray(data[keep], info, events=ev, tmin=self.times[0],
                               event_id=codes, metadata=meta, baseline=None, verbose="error")

    def to_raw(self):
        """Return the continuous envelope as :class:`mne.io.RawArray` (``emg`` channels, V)."""
        import mne

        if self.envelope is None:
            from .errors import EmgkitError
            raise EmgkitError("The continuous envelope was not kept; process with "
                              "keep_continuous=True.")
        info = mne.create_info(self.muscles, self.sfreq, ch_types="emg")
        return mne.io.RawArray(self.envelope * 1e-6, info, verbose="error")

    def plot_average(self, ax=None, **kwargs):
        """Plot mean ± SEM time course per condition × muscle; returns the Figure."""
        from .viz.recording import plot_average

        return plot_average(self, ax=ax, **kwargs)

    def write(self, out_dir, automatic=None):
        """Write ``trials.tsv``, ``timecourses.tsv`` and ``quality.tsv`` atomically, with
        the JSON sidecars ``trials.json``, ``timecourses.json`` and ``quality.json``
        describing every column
        (:mod:`emgkit.epochs.sidecar`) and ``envelopes.npz``, the decimated baseline-corrected
        envelope of every trial × muscle for ``emgkit review`` (:mod:`emgkit.epochs.traces`).

        Parameters
        ----------
        out_dir : path-like
            The folder.
        automatic : DataFrame | None
            The trial table before manual overrides (its decisions are kept in
            ``envelopes.npz`` as the automatic ones); default :attr:`trials`.

        Returns
        -------
        dict
            Name -> path of the written files.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = {}
        tables = [("trials", self.trials), ("timecourses", self.timecourses)]
        if self.quality is not None:
            q = self.quality["summary"].copy()
            q.insert(0, "participant_id", self.participant_id)
            tables.append(("quality", q))
        for name, df in tables:
            written[name] = write_tsv(df, out / f"{name}.tsv", float_format=TABLE_FLOAT)
        written.update(write_sidecars(out, self.trials, self.timecourses, self.config))
        if self.quality is not None:
            written["quality.json"] = write_quality_sidecar(tables[-1][1], out / "quality.json")
        written["envelopes"] = write_traces(out / TRACES_FILE, self, automatic)
        return written
