"""From simulated signals to the group model: the drug × emotion effect is recovered."""

import numpy as np
import pandas as pd
from scipy import signal

from emgkit import process_recording
from emgkit.signal.filter import design_filter
from emgkit.sim.recording import SimParams, _burst_shape
from emgkit.sim.study import simulate_study
from emgkit.stats import fit_model


def test_drug_effect_recovered_from_signals(tmp_path):
    sfreq = 512.0
    params = SimParams(sfreq=sfreq, n_artefacts=0)
    parts = simulate_study(tmp_path, 12, seed=21, sfreq=sfreq, params=params)
    cfg = (tmp_path / "study.toml").read_text()
    cfg = cfg.replace('baseline_mode = "ratio"', 'baseline_mode = "subtract"')
    cfg = cfg.replace("smooth = 0.05 ", 'smooth = 0.05\nenvelope = "rms" ')
    (tmp_path / "study.toml").write_text(cfg)
    tables, truths = [], []
    for _, row in parts.iterrows():
        rec = tmp_path / row.recording
        tables.append(process_recording(rec, tmp_path / "study.toml").trials)
        truths.append(pd.read_csv(str(rec).replace("_emg.bdf", "_truth.tsv"), sep="\t",
                                  keep_default_na=False))
    trials = pd.concat(tables, ignore_index=True)
    truth = pd.concat(truths, ignore_index=True)
    res = fit_model(trials[trials.muscle == "corrugator"], "score ~ group * condition",
                    participants=pd.read_csv(tmp_path / "participants.tsv", sep="\t"))
    con = res.contrasts("group").set_index("condition")

    # analytic truth in score units (µV of RMS envelope, baseline subtracted):
    # drug effect (µV RMS) × E[lognormal trial factor] × mean burst coverage of the response
    # window × fraction of the simulated sEMG's RMS passed by the band-pass and notches
    t = np.arange(0.5, 3.0, 1 / sfreq)
    frac = np.mean([_burst_shape(t, lat, dur, params.rise).mean()
                    for lat, dur in zip(truth.latency_s, truth.duration_s)])
    f = np.linspace(1, sfreq / 2 - 1, 4000)
    sim = signal.butter(2, [20.0, 0.45 * sfreq], "bandpass", fs=sfreq, output="sos")
    p_sim = np.abs(signal.sosfreqz(sim, f, fs=sfreq)[1]) ** 2
    p_filt = np.abs(signal.sosfreqz(design_filter(sfreq, 20.0, 230.0, notch=50.0), f,
                                    fs=sfreq)[1]) ** 4
    passed = np.sqrt((p_sim * p_filt).sum() / p_sim.sum())
    true_effect = 2.0 * np.exp(params.trial_sd ** 2 / 2) * frac * passed

    happy = con.loc["happy"]
    assert happy["estimate"] > 0 and happy["p_adj"] < 0.05
    assert happy["ci_low"] <= true_effect <= happy["ci_high"], (true_effect, happy.to_dict())
    for cond in ("angry", "sad", "neutral"):
        lo, hi = con.loc[cond, ["ci_low", "ci_high"]]
        assert lo - 0.2 <= 0.0 <= hi + 0.2   # no drug effect simulated there
    # between-subject df reflects 12 participants, not ~280 trials
    assert res.anova().set_index("term").loc["group", "den_df"] < 15
