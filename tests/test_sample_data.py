"""The sample study (``sample_data/``) and every ``emgkit simulate`` study are EMG-BIDS 1.11
datasets the schema-based validator accepts with zero errors (skipped without
``bids-validator-deno``), whose ``*_channels.tsv`` names the muscles of ``study.toml``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bids_validator import needs_validator, validate

from emgkit.config import load_config
from emgkit.io.bids import bids_channel_map

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"





@needs_validator
def test_sample_data_is_valid_emg_bids():
    errors, _, report = validate(SAMPLE)
    assert errors == [], errors
    assert report["summary"]["modalities"] == ["emg"]
    assert sorted(report["summary"]["subjects"]) == ["01", "02", "03", "04"]


@needs_validator
def test_a_simulated_study_is_valid_emg_bids(small):
    errors, _, report = validate(small)
    assert errors == [], errors
    assert report["summary"]["tasks"] == ["mimicry"]


@pytest.mark.parametrize("sub", ["sub-01", "sub-04"])
def test_channels_tsv_names_the_muscles_of_the_config(sub):
    config = load_config(SAMPLE / "study.toml")
    rec = SAMPLE / sub / "emg" / f"{sub}_task-mimicry_emg.bdf"
    assert bids_channel_map(rec) == dict(config.channels)
    table = pd.read_csv(rec.with_name(f"{sub}_task-mimicry_channels.tsv"), sep="\t",
                        keep_default_na=False)
    assert set(table["target_muscle"]) == {"corrugator supercilii", "zygomaticus major",
                                           "depressor anguli oris", "n/a"}
    side = json.loads(rec.with_name(f"{sub}_task-mimicry_emg.json").read_text())
    assert side["PowerLineFrequency"] == 50 and side["SamplingFrequency"] == 1024.0
    assert side["EMGPlacementScheme"] == "Other" and side["SoftwareFilters"] == "n/a"


def test_sample_data_is_small():
    """The sidecars add kilobytes, not megabytes: the shipped study stays ~13 MB."""
    size = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert size < 14e6



def test_a_simulated_study_runs_as_emg_bids_with_a_minimal_config(small, tmp_path):
    """Read as EMG-BIDS (``--bids``: muscles from ``target_muscle``, events from
    ``*_events.tsv``), a simulated study with its config less ``[study]``, ``[channels]`` and
    the trigger codes gives the trial values of the full ``study.toml``."""
    import re

    from emgkit.epochs.tables import read_trials
    from emgkit.study.plan import plan_from_bids
    from emgkit.study.run import run_study

    full = (small / "study.toml").read_text()
    text = re.sub(r"\[(study|channels|events)\][^\[]*", "", full)
    text = re.sub(r"\[events\.conditions\][^\[]*", "", text)
    minimal = tmp_path / "minimal.toml"
    minimal.write_text("[events.conditions]\n" + "".join(
        f'{c} = "{c}"\n' for c in ("happy", "angry", "sad", "neutral")) + text)
    assert "[channels]" not in minimal.read_text()
    kw = {"reports": False, "progress": False, "group_step": False}
    assert run_study(small / "study.toml", tmp_path / "a", **kw)["status"] == "ok"
    assert run_study(minimal, tmp_path / "b", plan=plan_from_bids(small), **kw)[
        "status"] == "ok"
    key = ["participant_id", "trial", "muscle"]
    a = read_trials(tmp_path / "a").sort_values(key).reset_index(drop=True)
    b = read_trials(tmp_path / "b").sort_values(key).reset_index(drop=True)
    assert len(a) == len(b) == 4 * 8 * 3
    for col in ("condition", "rejected"):
        assert a[col].astype(str).tolist() == b[col].astype(str).tolist()
    for col in ("onset_s", "baseline", "response", "score"):
        assert np.allclose(a[col], b[col], rtol=0, atol=1e-9, equal_nan=True), col
