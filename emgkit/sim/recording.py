"""Simulate facial EMG with known ground truth.

The simulator writes what a facial-mimicry study records: per muscle a bipolar pair of
monopolar electrodes carrying band-limited noise with an sEMG-like spectrum (most power
20-250 Hz) scaled by an amplitude envelope (tonic level + bursts), plus mains noise, slow
electrode drift and DC offsets, blink-like artefacts on the corrugator electrodes, and
occasional saturated or flat stretches; and a trigger channel. Burst onset, duration and
amplitude depend on condition × muscle × group, with trial-to-trial and subject-to-subject
variability. The truth (per trial × muscle onset and amplitude) is returned with the data.

Amplitudes are in µV RMS: during a burst plateau the bipolar EMG's RMS equals
``tonic + amplitude``. A negative amplitude is a relaxation (e.g. corrugator to happy faces).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import signal

from .._check import check_number, check_sfreq
from ..errors import ConfigError

#: mean burst amplitude (µV RMS) per condition × muscle for the placebo group
DEFAULT_RESPONSES = {
    "happy": {"corrugator": -1.5, "zygomaticus": 5.0, "depressor": 0.8},
    "angry": {"corrugator": 4.0, "zygomaticus": -0.6, "depressor": 1.5},
    "sad": {"corrugator": 2.5, "zygomaticus": -0.9, "depressor": 3.0},
    "neutral": {"corrugator": 0.8, "zygomaticus": 0.4, "depressor": 0.3},
}
#: additive drug effect (µV RMS) per (condition, muscle) in the drug group
DEFAULT_DRUG_EFFECT = {("happy", "corrugator"): 2.0, ("happy", "depressor"): 1.5}
DEFAULT_ELECTRODES = {"corrugator": ("EXG1", "EXG2"), "zygomaticus": ("EXG3", "EXG4"),
                      "depressor": ("EXG5", "EXG6")}


#: lowest sampling rate the simulator accepts (Hz)
MIN_SIM_SFREQ = 100.0


@dataclass(frozen=True)
class SimParams:
    """Parameters of one simulated recording (all amplitudes in µV, times in s).

    Attributes
    ----------
    sfreq : float
        Sampling rate in Hz (required; BioSemi uses 2048).
    conditions : dict
        Condition -> trigger code.
    n_trials : int
        Trials per condition (presented in shuffled order).
    isi : tuple of float
        Range of onset-to-onset intervals (s).
    responses : dict
        Condition -> muscle -> mean burst amplitude (µV RMS) without drug.
    drug_effect : dict
        (condition, muscle) -> additive amplitude (µV RMS) in the drug group.
    tonic : dict
        Muscle -> tonic RMS level (µV).
    latency, duration : tuple of float
        Mean and SD of burst onset after stimulus onset and of burst duration (s).
    rise : float
        Rise and fall time of a burst (s).
    trial_sd : float
        SD of the log of the trial-to-trial amplitude factor.
    subject_sd : float
        SD of the log of the subject's response and tonic scale.
    mains : float
        Mains frequency (Hz): 50 or 60; 0 for none.
    mains_amp : float
        Common-mode mains amplitude on each electrode (µV); a 2 % residual survives the
        bipolar derivation.
    drift_amp : float
        SD of slow electrode drift (µV, below 0.5 Hz), independent per electrode.
    offset_amp : float
        SD of the electrodes' DC offsets (µV).
    blink_rate : float
        Blink-like artefacts per s on the corrugator electrodes.
    n_artefacts : int
        Saturated or flat stretches per recording (each over one trial's response).
    rail : float
        Value (µV) a saturated electrode sticks at (the amplifier's range limit).
    trigger_idle : int
        Idle value of the trigger lines (0, or 255 as in some BioSemi set-ups).
    status_high : int
        Constant high byte of the BioSemi Status word (0x98: MK2 + CMS in range).
    electrodes : dict
        Muscle -> (anode, cathode) labels.
    """

    sfreq: float
    conditions: dict = field(default_factory=lambda: {"happy": 1, "angry": 2, "sad": 3,
                                                      "neutral": 4})
    n_trials: int = 6
    isi: tuple = (8.0, 10.0)
    responses: dict = field(default_factory=lambda: DEFAULT_RESPONSES)
    drug_effect: dict = field(default_factory=lambda: DEFAULT_DRUG_EFFECT)
    tonic: dict = field(default_factory=lambda: {"corrugator": 4.0, "zygomaticus": 3.0,
                                                 "depressor": 3.0})
    latency: tuple = (0.6, 0.1)
    duration: tuple = (2.6, 0.3)
    rise: float = 0.2
    trial_sd: float = 0.4
    subject_sd: float = 0.25
    mains: float = 50.0
    mains_amp: float = 150.0
    drift_amp: float = 40.0
    offset_amp: float = 2000.0
    blink_rate: float = 0.15
    n_artefacts: int = 1
    rail: float = 262143.0
    trigger_idle: int = 0
    status_high: int = 0x98
    electrodes: dict = field(default_factory=lambda: DEFAULT_ELECTRODES)

    def __post_init__(self):
        check_sfreq(self.sfreq)
        if self.sfreq < MIN_SIM_SFREQ:  # the noise band (20 Hz up) needs 0.45 * sfreq > 20
            raise ConfigError(f"sfreq={self.sfreq:g} Hz is too low to simulate sEMG (20-250 "
                              f"Hz noise); use at least {MIN_SIM_SFREQ:g} Hz (e.g. 2048).")
        check_number("mains", self.mains, low=0)
        if self.n_trials < 1:
            raise ConfigError(f"n_trials={self.n_trials} must be at least 1.")
        for cond in self.conditions:
            if cond not in self.responses:
                raise ConfigError(f"condition {cond!r} has no entry in responses "
                                  f"({', '.join(self.responses)}).")
        for muscle in self.electrodes:
            if muscle not in self.tonic:
                raise ConfigError(f"muscle {muscle!r} has no tonic level in tonic.")


@dataclass
class SimRecording:
    """A simulated recording: monopolar signals, trigger, events and truth.

    Attributes
    ----------
    data : ndarray, shape (n_electrodes, n_times)
        Monopolar electrode signals in µV.
    ch_names : list of str
        Electrode labels.
    sfreq : float
        Sampling rate (Hz).
    trigger : ndarray of int, shape (n_times,)
        Trigger line values (without status bits).
    events : DataFrame
        ``onset`` (s), ``duration`` (s), ``trial_type``, ``value`` (code), ``trial``.
    truth : DataFrame
        One row per trial × muscle: ``trial``, ``condition``, ``muscle``, ``stim_onset_s``,
        ``onset_s`` (burst onset, s from recording start), ``latency_s`` (s after the
        stimulus), ``duration_s``, ``amplitude`` (µV RMS), ``tonic`` (µV RMS) and
        ``artefact`` ("" or "saturated"/"flat" when an artefact overlaps the epoch).
    group : str
        "placebo" or the drug group name.
    electrodes : dict
        Muscle -> (anode, cathode) labels.
    """

    data: np.ndarray
    ch_names: list
    sfreq: float
    trigger: np.ndarray
    events: pd.DataFrame
    truth: pd.DataFrame
    group: str = "placebo"
    electrodes: dict = field(default_factory=dict)

    @property
    def duration(self):
        """Duration in s."""
        return self.data.shape[1] / self.sfreq

    def status(self, high=0x98):
        """Return the 24-bit BioSemi Status word (trigger | ``high`` << 16)."""
        return self.trigger.astype(np.int64) | (int(high) << 16)

    def __repr__(self):
        return (f"<SimRecording | {len(self.ch_names)} electrodes, {self.sfreq:g} Hz, "
                f"{self.duration:.1f} s, {len(self.events)} trials, group={self.group}>")


def _emg_noise(rng, n, sfreq):
    """Unit-variance noise with an sEMG-like spectrum (band 20-250 Hz, below Nyquist)."""
    high = min(250.0, 0.45 * sfreq)
    sos = signal.butter(2, [20.0, high], btype="bandpass", fs=sfreq, output="sos")
    x = signal.sosfilt(sos, rng.standard_normal(n + int(sfreq)))[int(sfreq):]
    return x / x.std()


def _burst_shape(t, onset, duration, rise):
    """Raised-cosine ramp up at ``onset``, plateau, ramp down at ``onset + duration``."""
    up = np.clip((t - onset) / rise, 0, 1)
    down = np.clip((onset + duration - t) / rise, 0, 1)
    return 0.5 - 0.5 * np.cos(np.pi * np.minimum(up, down))


def simulate_recording(params, *, group="placebo", drug=False, seed=None, subject_scale=1.0):
    """Simulate one recording.

    Parameters
    ----------
    params : SimParams
        Simulation settings (sampling rate, conditions, effects, nuisance).
    group : str
        Group label stored with the recording.
    drug : bool
        Apply ``params.drug_effect``.
    seed : int | numpy.random.Generator | None
        Seed for reproducible output.
    subject_scale : float
        Multiplier of this subject's response amplitudes (subject-to-subject variability).

    Returns
    -------
    SimRecording
    """
    rng = np.random.default_rng(seed)
    p = params
    sfreq = float(p.sfreq)
    conds = list(p.conditions)
    order = np.repeat(conds, p.n_trials)
    rng.shuffle(order)
    isis = rng.uniform(p.isi[0], p.isi[1], len(order))
    stim_onsets = 3.0 + np.concatenate([[0.0], np.cumsum(isis[:-1])])
    total = float(np.ceil(stim_onsets[-1] + p.isi[1] + 1.0))  # whole records, no padding
    n = int(round(total * sfreq))
    t = np.arange(n) / sfreq

    tonic_scale = np.exp(rng.normal(0, p.subject_sd))
    truth_rows, signals = [], {}
    for muscle in p.electrodes:
        tonic = p.tonic[muscle] * tonic_scale
        env = np.full(n, tonic)
        for k, (cond, s_on) in enumerate(zip(order, stim_onsets)):
            mean_amp = p.responses[cond].get(muscle, 0.0) * subject_scale
            if drug:
                mean_amp += p.drug_effect.get((cond, muscle), 0.0)
            amp = mean_amp * np.exp(rng.normal(0, p.trial_sd))
            amp = max(amp, -0.8 * tonic)
            lat = max(0.05, rng.normal(*p.latency))
            dur = max(2 * p.rise, rng.normal(*p.duration))
            on = s_on + lat
            seg = slice(int(on * sfreq), min(n, int((on + dur) * sfreq) + 2))
            env[seg] += amp * _burst_shape(t[seg], on, dur, p.rise)
            truth_rows.append(dict(trial=k + 1, condition=cond, muscle=muscle,
                                   stim_onset_s=s_on, onset_s=on, latency_s=lat,
                                   duration_s=dur, amplitude=amp, tonic=tonic, artefact=""))
        signals[muscle] = env * _emg_noise(rng, n, sfreq)

    # blink-like artefacts on the corrugator pair (differential part survives bipolar)
    blink = np.zeros(n)
    n_blinks = rng.poisson(p.blink_rate * total)
    for b_on in rng.uniform(0, total, n_blinks):
        blink += 80.0 * np.exp(-0.5 * ((t - b_on) / 0.08) ** 2)

    mains = np.zeros(n)
    if p.mains:
        for h, rel in ((1, 1.0), (2, 0.3), (3, 0.5)):
            if h * p.mains < sfreq / 2:
                mains += rel * np.sin(2 * np.pi * h * p.mains * t + rng.uniform(0, 2 * np.pi))
    drift_sos = signal.butter(2, 0.5, fs=sfreq, output="sos")

    def drift():
        x = signal.sosfilt(drift_sos, rng.standard_normal(n))
        return p.drift_amp * x / (x.std() or 1.0)

    data, ch_names = [], []
    for muscle, (anode, cathode) in p.electrodes.items():
        common = p.mains_amp * mains + rng.normal(0, p.offset_amp)
        diff = signals[muscle] + 0.02 * p.mains_amp * mains
        a = common + drift() + 0.5 * diff
        c = common + drift() - 0.5 * diff
        if muscle == "corrugator":
            a, c = a + blink, c + 0.4 * blink
        data += [a, c]
        ch_names += [anode, cathode]
    data = np.array(data)

    truth = pd.DataFrame(truth_rows)
    # saturated / flat stretches, each over one trial's response window
    muscles = list(p.electrodes)
    for k in rng.choice(len(order), size=min(p.n_artefacts, len(order)), replace=False):
        kind = "saturated" if rng.random() < 0.5 else "flat"
        row = int(rng.integers(len(data)))
        start = int((stim_onsets[k] + rng.uniform(0.8, 2.0)) * sfreq)
        stop = start + int(rng.uniform(0.3, 0.8) * sfreq)
        data[row, start:stop] = (p.rail if kind == "saturated" else data[row, start])
        muscle = muscles[row // 2]
        truth.loc[(truth.trial == k + 1) & (truth.muscle == muscle), "artefact"] = kind

    trigger = np.full(n, int(p.trigger_idle), dtype=np.int64)
    width = max(1, int(round(0.01 * sfreq)))
    for cond, s_on in zip(order, stim_onsets):
        i = int(round(s_on * sfreq))
        trigger[i:i + width] = p.conditions[cond]
    events = pd.DataFrame(dict(onset=np.round(stim_onsets * sfreq) / sfreq,
                               duration=4.0, trial_type=order,
                               value=[p.conditions[c] for c in order],
                               trial=np.arange(1, len(order) + 1)))
    return SimRecording(data=data, ch_names=ch_names, sfreq=sfreq, trigger=trigger,
                        events=events, truth=truth, group=group,
                        electrodes=dict(p.electrodes))


def simulate_scores(n_per_group=10, *, conditions=("neutral", "angry", "happy", "sad"),
                    muscles=("corrugator", "zygomaticus", "depressor"), n_trials=10,
                    condition_effects=None, drug_effects=None, subject_sd=0.1,
                    residual_sd=0.35, trait_effect=0.0, groups=("placebo", "naltrexone"),
                    n_stimuli=0, stimulus_sd=0.0, seed=None):
    """Simulate a trial-level score table with exactly known model parameters.

    The data follow ``score = μ[condition, muscle] + δ[condition, muscle]·drug + γ·trait
    + u_participant + e`` with ``u ~ N(0, subject_sd²)`` and ``e ~ N(0, residual_sd²)``; use
    it to check a group model against truth or to plan a study's size.

    Parameters
    ----------
    n_per_group : int
        Participants per group.
    conditions, muscles : sequence of str
        Levels of the within-subject factors.
    n_trials : int
        Trials per condition × muscle and participant.
    condition_effects : dict | None
        (condition, muscle) -> mean score in the placebo group (default 0).
    drug_effects : dict | None
        (condition, muscle) -> additive effect of the drug (default none).
    subject_sd, residual_sd : float
        SDs of the random intercept and the residual.
    trait_effect : float
        Score change per SD of the participant's trait (``trait`` column, z).
    groups : tuple of str
        (placebo, drug) group names.
    n_stimuli : int
        Stimuli per condition (0: none); trials cycle through them and a ``stimulus_id``
        column is added.
    stimulus_sd : float
        SD of the stimuli's random effect (the same for every participant and muscle).
    seed : int | None

    Returns
    -------
    trials : DataFrame
        ``participant_id, group, trait, condition, muscle, trial, score``.
    participants : DataFrame
        ``participant_id, group, trait``.
    """
    rng = np.random.default_rng(seed)
    stim_effect = {(c, k): rng.normal(0, stimulus_sd) for c in conditions
                   for k in range(max(n_stimuli, 1))}
    condition_effects = condition_effects or {}
    drug_effects = drug_effects or {}
    rows, parts = [], []
    width = max(2, len(str(2 * n_per_group)))
    for i in range(2 * n_per_group):
        pid = f"sub-{i + 1:0{width}d}"
        group = groups[i % 2]
        trait = float(rng.normal())
        u = rng.normal(0, subject_sd)
        parts.append(dict(participant_id=pid, group=group, trait=round(trait, 6)))
        trial = 0
        for cond in conditions:
            for muscle in muscles:
                mu = condition_effects.get((cond, muscle), 0.0) + trait_effect * trait + u
                if group != groups[0]:
                    mu += drug_effects.get((cond, muscle), 0.0)
                stims = np.arange(n_trials) % max(n_stimuli, 1)
                scores = mu + rng.normal(0, residual_sd, n_trials) + np.array(
                    [stim_effect[(cond, k)] for k in stims])
                for s, k in zip(scores, stims):
                    trial += 1
                    rows.append((pid, group, round(trait, 6), cond, muscle, trial,
                                 f"{cond}-{k + 1:02d}", s))
    trials = pd.DataFrame(rows, columns=["participant_id", "group", "trait", "condition",
                                         "muscle", "trial", "stimulus_id", "score"])
    if not n_stimuli:
        trials = trials.drop(columns="stimulus_id")
    return trials, pd.DataFrame(parts)
