"""From envelopes to trial tables: cutting epochs (:mod:`.cut`, :mod:`.extract`), baseline
correction and scores (:mod:`.baseline`, every mode in one function), block baselines
(:mod:`.blocks`), onset latencies (:mod:`.onsets`), rejection with reasons (:mod:`.reject`)
and the tidy tables (:mod:`.tables`)."""

from .baseline import BASELINE_MODES, correct, rescale, score_epochs
from .cut import bin_means, epoch, epoch_times, window_mean
from .extract import extract_epochs
from .onsets import detect_onsets
from .reject import trial_reasons
from .tables import read_trials, timecourses_table, trials_table

__all__ = ["BASELINE_MODES", "bin_means", "correct", "detect_onsets", "epoch", "epoch_times",
           "extract_epochs", "read_trials", "rescale", "score_epochs", "timecourses_table",
           "trial_reasons", "trials_table", "window_mean"]
