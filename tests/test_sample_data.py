"""The sample study (``sample_data/``) and every ``emgkit simulate`` study are EMG-BIDS 1.11
datasets the schema-based validator accepts with zero errors (skipped without
``bids-validator-deno``), whose ``*_channels.tsv`` names the muscles of ``study.toml``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from emgkit.config import load_config
from emgkit.io.bids import bids_channel_map

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


def _validator():
    beside = Path(sys.executable).parent / "bids-validator-deno"
    return str(beside) if beside.is_file() else shutil.which("bids-validator-deno")


def _errors(folder):
    proc = subprocess.run([_validator(), "--format", "json", str(folder)], capture_output=True,
                          text=True, timeout=300, check=False)
    report = json.loads(proc.stdout)
    return [i for i in report["issues"]["issues"] if i["severity"] == "error"], report


needs_validator = pytest.mark.skipif(_validator() is None,
                                     reason="bids-validator-deno is not installed")


@needs_validator
def test_sample_data_is_valid_emg_bids():
    errors, report = _errors(SAMPLE)
    assert errors == [], errors
    assert report["summary"]["modalities"] == ["emg"]
    assert sorted(report["summary"]["subjects"]) == ["01", "02", "03", "04"]


@needs_validator
def test_a_simulated_study_is_valid_emg_bids(small):
    errors, report = _errors(small)
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
