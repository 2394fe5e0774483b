"""Simulate a block-design study with known truth: rejection/acceptance blocks each preceded
by a matched neutral baseline block, a counterbalanced (or deliberately unbalanced) block
order, a rating after every trial that tracks the trial's response, and a trait that
correlates with each participant's response.

Model of the corrugator envelope (µV) of participant p::

    a(t) = tonic_p · L(t) · (1 + (A_k − 1) · burst_k(t))

``L`` is ``1 + block_effect`` throughout a rejection block and 1 elsewhere (a sustained
change that a pre-stimulus baseline removes and a block baseline keeps); ``A_k`` is trial
k's burst gain, ``log10 A_k = response + trait_slope · u_p + N(0, trial_sd)`` in rejection
blocks and ``N(0, trial_sd)`` otherwise, with ``u_p = rho · z_p + sqrt(1 − rho²) · e_p`` so the
trait ``z_p`` correlates ``rho`` with the participant's response index. The rating after
trial k is ``4 + rating_slope · (log10 A_k − mean) / trial_sd + N(0, 1)``. The zygomaticus
carries tonic activity only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._files import write_text, write_tsv
from ..io.write import write_edf
from .recording import _burst_shape, _emg_noise


@dataclass(frozen=True)
class BlockSimParams:
    """Settings of :func:`simulate_block_study` (times in s, rates in Hz)."""

    sfreq: float = 500.0
    blocks: tuple = ("rejection", "acceptance")
    trials_per_block: int = 8
    isi: float = 6.0
    tonic: float = 3.0
    block_effect: float = 0.3
    response: float = 0.15
    trial_sd: float = 0.08
    trait_rho: float = 0.6
    trait_slope: float = 0.08
    rating_slope: float = 1.0


def _participant(rng, p, order, z):
    """Signals (µV), events and truth of one participant."""
    sf = p.sfreq
    seq = []
    for block in order:
        seq += [(f"neutral_{block}", "neutral"), (block, block)]
    u = p.trait_rho * z + np.sqrt(1 - p.trait_rho ** 2) * rng.standard_normal()
    rows, t0 = [], 4.0
    for b, (block, cond) in enumerate(seq):
        for k in range(p.trials_per_block):
            mean = p.response + p.trait_slope * u if cond == "rejection" else 0.0
            rows.append(dict(onset=t0, block=block, trial_type=cond, block_index=b + 1,
                             log_gain=mean + p.trial_sd * rng.standard_normal(),
                             stimulus_id=f"{cond[:3]}{rng.integers(1, 9)}"))
            t0 += p.isi
        t0 += 4.0  # pause between blocks
    ev = pd.DataFrame(rows)
    n = int((t0 + 4.0) * sf)
    t = np.arange(n) / sf
    level = np.ones(n)
    for block in ("rejection",):
        on = ev[ev["block"] == block]
        if len(on):
            a, b_ = on["onset"].min() - 2.0, on["onset"].max() + p.isi
            level[(t >= a) & (t < b_)] *= 1 + p.block_effect
    gain = np.ones(n)
    for row in ev.itertuples():
        s = slice(int(row.onset * sf), int((row.onset + 4.5) * sf))
        gain[s] += (10 ** row.log_gain - 1) * _burst_shape(t[s], row.onset + 0.5, 3.0, 0.2)
    tonic = p.tonic * np.exp(0.2 * rng.standard_normal())
    corr = _emg_noise(rng, n, sf) * tonic * level * gain
    zyg = _emg_noise(rng, n, sf) * p.tonic
    dev = ev["log_gain"] - ev["log_gain"].mean()
    ev["rating"] = np.round(4 + p.rating_slope * dev / p.trial_sd
                            + rng.standard_normal(len(ev)), 2)
    ev["duration"] = 3.0
    return np.vstack([corr, zyg]), ev, u


def simulate_block_study(out_dir, n_per_group=6, *, params=None, seed=0, balanced=True):
    """Write a simulated block-design study (EDF + BIDS-style events + participants).

    Parameters
    ----------
    out_dir : path-like
    n_per_group : int
        Participants per group (``placebo``, ``naltrexone``).
    params : BlockSimParams | None
    seed : int
    balanced : bool
        True alternates the block order within each group (counterbalanced); False gives
        every placebo participant one order and every naltrexone participant the other.

    Returns
    -------
    pathlib.Path
        ``out_dir/study.toml``; ``out_dir/truth.tsv`` holds per participant the trait
        ``z`` and response index ``u``.
    """
    p = params or BlockSimParams()
    out = Path(out_dir)
    rng = np.random.default_rng(seed)
    orders = [tuple(p.blocks), tuple(reversed(p.blocks))]
    parts, truth = [], []
    for g, group in enumerate(("placebo", "naltrexone")):
        for i in range(n_per_group):
            pid = f"sub-{g * n_per_group + i + 1:02d}"
            order = orders[i % 2] if balanced else orders[g]
            z = rng.standard_normal()
            data, ev, u = _participant(rng, p, order, z)
            folder = out / pid / "emg"
            folder.mkdir(parents=True, exist_ok=True)
            write_edf(folder / f"{pid}_task-social_emg.edf", data, ["Corr", "Zyg"], p.sfreq,
                      fmt="edf", physical_range=2000.0)
            write_tsv(ev[["onset", "duration", "trial_type", "block", "block_index",
                          "rating", "stimulus_id"]],
                      folder / f"{pid}_task-social_events.tsv")
            parts.append(dict(participant_id=pid, group=group, order=">".join(order),
                              ego_resiliency=round(50 + 10 * z, 3)))
            truth.append(dict(participant_id=pid, z=z, u=u))
    write_tsv(pd.DataFrame(parts), out / "participants.tsv")
    write_tsv(pd.DataFrame(truth), out / "truth.tsv")
    baseline = "\n".join(f'{b} = "neutral_{b}"' for b in p.blocks)
    conds = "\n".join(f'{c} = "{c}"' for c in ("neutral",) + tuple(p.blocks))
    band_top = float(np.floor(0.45 * p.sfreq))
    toml = f"""# simulated block design: {', '.join(p.blocks)} blocks with matched neutral blocks
[study]
participants = "participants.tsv"
recordings = "{{participant_id}}/emg/{{participant_id}}_task-social_emg.edf"
order = "order"                 # participants.tsv column (or "derived" from the events)

[channels]
corrugator = "Corr"
zygomaticus = "Zyg"

[events]
source = "events.tsv"
[events.conditions]
{conds}

[preprocess]
band = [20.0, {band_top}]
notch = 0.0

[epochs]
tmin = -1.0
tmax = 5.0
baseline = [-1.0, 0.0]
baseline_mode = "logratio"
response = [0.5, 3.5]
bin = 0.5

[blocks]                        # baseline from the matched neutral block
column = "block"
[blocks.baseline]
{baseline}

[reject]
threshold = 0.0

[model]
formula = "score ~ group * condition + order"

[report]
traits = ["ego_resiliency"]
"""
    write_text(toml, out / "study.toml")
    return out / "study.toml"
