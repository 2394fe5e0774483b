"""An ``emgkit run`` results folder is a BIDS derivative dataset: the schema-based validator
accepts it with zero errors (skipped without ``bids-validator-deno``), and every TSV has a JSON
sidecar describing each of its columns."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from bids_validator import needs_validator, validate

from emgkit._version import __version__
from emgkit.epochs.tables import read_trials
from emgkit.study.derivative import BIDSIGNORE, describe_results, source_dataset
from emgkit.study.run import run_study


@pytest.fixture(scope="module")
def results(small, tmp_path_factory):
    out = tmp_path_factory.mktemp("deriv") / "out"
    rec = run_study(small / "study.toml", out, reports=False, progress=False)
    assert rec["status"] == "ok"
    return small, out


@needs_validator
def test_validator_accepts_the_results(results):
    _, out = results
    errors, warnings, report = validate(out)
    assert errors == [], errors
    # only the authors emgkit cannot know are missing
    assert {w["code"] for w in warnings} <= {"TOO_FEW_AUTHORS", "NO_AUTHORS"}, warnings
    assert report["summary"]["dataProcessed"] is True  # read as a derivative dataset


@needs_validator
def test_validator_sees_emgkit_files_without_bidsignore(results, tmp_path):
    """The .bidsignore is what makes emgkit's own names acceptable (the test above is not
    vacuous): without it the validator names them."""
    _, out = results
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns(".emgkit.lock"))
    (copy / ".bidsignore").unlink()
    errors, _, _ = validate(copy)
    flagged = {e["location"] for e in errors if e["code"] == "NOT_INCLUDED"}
    assert {"/run.json", "/sub-01/trials.tsv", "/sub-01/quality.json"} <= flagged


def test_every_tsv_has_a_sidecar_describing_each_column(results):
    _, out = results
    tables = sorted(p for p in out.rglob("*.tsv") if not p.name.startswith("."))
    assert len(tables) > 10
    for tsv in tables:
        side = tsv.with_suffix(".json")
        assert side.is_file(), f"{tsv.relative_to(out)} has no sidecar"
        meta = json.loads(side.read_text(encoding="utf-8"))
        for col in pd.read_csv(tsv, sep="\t", nrows=0).columns:
            assert isinstance(meta.get(col), dict) and meta[col].get("Description"), \
                f"{side.relative_to(out)} does not describe {col}"
    quality = json.loads((out / "sub-01" / "quality.json").read_text(encoding="utf-8"))
    assert quality["snr_db"]["Units"] == "dB" and quality["flat_s"]["Units"] == "s"
    trials = json.loads((out / "sub-01" / "trials.json").read_text(encoding="utf-8"))
    assert trials["baseline"]["Units"] == "µV"


def test_dataset_description_names_emgkit_and_the_source(results):
    small, out = results
    meta = json.loads((out / "dataset_description.json").read_text(encoding="utf-8"))
    assert meta["DatasetType"] == "derivative"
    assert meta["BIDSVersion"] == "1.11.0"
    assert meta["GeneratedBy"][0]["Name"] == "emgkit"
    assert meta["GeneratedBy"][0]["Version"] == __version__
    assert meta["SourceDatasets"] == [{"URL": Path(small).resolve().as_uri()}]
    participants = json.loads((out / "participants.json").read_text(encoding="utf-8"))
    assert set(participants["group"]["Levels"]) == {"placebo", "naltrexone"}
    assert (out / "README.md").is_file()


def test_source_dataset_is_the_bids_root_above_the_table(tmp_path):
    from types import SimpleNamespace

    plan = SimpleNamespace(inputs=[tmp_path / "study" / "tables" / "participants.tsv"],
                           source=str(tmp_path / "study" / "study.toml"))

    (tmp_path / "study" / "tables").mkdir(parents=True)
    assert source_dataset(plan) == (tmp_path / "study" / "tables").resolve()
    (tmp_path / "study" / "dataset_description.json").write_text("{}")
    assert source_dataset(plan) == (tmp_path / "study").resolve()


def test_rerun_keeps_what_the_user_added(results, tmp_path):
    small, out = results
    copy = tmp_path / "out"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns(".emgkit.lock"))
    desc = copy / "dataset_description.json"
    meta = json.loads(desc.read_text(encoding="utf-8"))
    doi = [{"DOI": "doi:10.1234/example", "URL": "https://example.org/study"}]
    meta.update(Authors=["A. Researcher"], License="CC-BY-4.0", BIDSVersion="1.9.0",
                SourceDatasets=doi)
    desc.write_text(json.dumps(meta))
    (copy / ".bidsignore").write_text("notes/\n")
    (copy / "README.md").write_text("my notes\n")
    rec = run_study(small / "study.toml", copy, reports=False, progress=False)
    assert rec["status"] == "ok"
    meta = json.loads(desc.read_text(encoding="utf-8"))
    assert meta["Authors"] == ["A. Researcher"] and meta["License"] == "CC-BY-4.0"
    assert meta["BIDSVersion"] == "1.11.0"
    assert meta["SourceDatasets"] == doi  # the published source a user named is kept
    lines = (copy / ".bidsignore").read_text().splitlines()
    assert lines[0] == "notes/" and set(BIDSIGNORE) <= set(lines)
    assert (copy / "README.md").read_text() == "my notes\n"
    # emgkit's readers find the tables where they always were
    assert len(read_trials(copy)) == len(read_trials(out / "group" / "trials.tsv"))


@needs_validator
def test_session_folders_validate(results, tmp_path):
    """A run with sessions writes ``sub-<label>_ses-<label>/`` folders; the folder still
    validates (participants.tsv is then left to emgkit)."""
    from types import SimpleNamespace

    small, out = results
    copy = tmp_path / "out"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns(".emgkit.lock"))
    for sub in ("sub-03", "sub-04"):
        shutil.copytree(copy / sub, copy / f"{sub}_ses-2")
        (copy / sub).rename(copy / f"{sub}_ses-1")
    plan = SimpleNamespace(inputs=[small / "participants.tsv"], source=str(small),
                           participants=pd.read_csv(small / "participants.tsv", sep="\t"),
                           folders={"sub-03_ses-1": "sub-03_ses-1", "sub-01": "sub-01"})
    describe_results(copy, plan)
    errors, _, _ = validate(copy)
    assert errors == [], errors
    lines = (copy / ".bidsignore").read_text().splitlines()
    assert "/participants.tsv" in lines and lines[0].startswith("#")


@needs_validator
def test_process_output_validates(small, tmp_path):
    """``emgkit process --out`` also writes a derivative the validator accepts, naming the
    recording's BIDS dataset as its source."""
    from emgkit.cli import main

    out = tmp_path / "proc"
    rec = small / "sub-02" / "emg" / "sub-02_task-mimicry_emg.bdf"
    assert main(["process", str(rec), "--config", str(small / "study.toml"), "--out",
                 str(out)]) == 0
    errors, _, _ = validate(out)
    assert errors == [], errors
    meta = json.loads((out / "dataset_description.json").read_text(encoding="utf-8"))
    assert meta["SourceDatasets"] == [{"URL": Path(small).resolve().as_uri()}]
    assert "/trials.tsv" in (out / ".bidsignore").read_text().splitlines()
