"""Simulated fEMG with known truth: one recording (:mod:`.recording`), a study of
participants in drug groups written as EDF/BDF with ``study.toml`` (:mod:`.study`), and
block designs with baseline blocks and ratings (:mod:`.blocks`)."""

from .blocks import BlockSimParams, simulate_block_study
from .recording import SimParams, SimRecording, simulate_recording, simulate_scores
from .study import simulate_study

__all__ = ["BlockSimParams", "SimParams", "SimRecording", "simulate_block_study",
           "simulate_recording", "simulate_scores", "simulate_study"]
