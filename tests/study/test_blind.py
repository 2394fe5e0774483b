"""Blinded analysis: no real group label in a blinded run's outputs, unblinding reproduces
the unblinded run's tables, and the unblinding record verifies."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pypdf
import pytest

from emgkit._files import blinded_codes
from emgkit.cli import main
from emgkit.errors import ConfigError
from emgkit.sim.study import simulate_study
from emgkit.study.blind import blind_table, verify_record
from emgkit.study.run import run_study

LABELS = ("placebo", "naltrexone")


def _all_text(root):
    """Every file's text under ``root`` (PDF pages extracted)."""
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".pdf":
            yield path, "\n".join(p.extract_text() for p in pypdf.PdfReader(str(path)).pages)
        elif path.suffix in (".png", ".bdf", ".edf"):
            continue
        else:
            yield path, path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("blind")
    study = tmp / "study"
    simulate_study(study, 6, seed=8, sfreq=1000.0)
    cfg = (study / "study.toml").read_text()
    # the blinded copy of the study: the coded table and a config pointing at it
    blind_table(study / "participants.tsv", study / "coded.tsv", tmp / "key.json", seed=4)
    (study / "blinded.toml").write_text(cfg.replace('participants = "participants.tsv"',
                                                    'participants = "coded.tsv"'))
    assert 'participants = "coded.tsv"' in (study / "blinded.toml").read_text()
    run_study(study / "blinded.toml", tmp / "blinded")
    run_study(study / "study.toml", tmp / "open", reports=False)
    return tmp, study


def test_blinded_outputs_hold_no_real_group_label(runs):
    tmp, study = runs
    assert blinded_codes(study / "coded.tsv") == ("group", ["A", "B"])
    coded = pd.read_csv(study / "coded.tsv", sep="\t")
    assert set(coded["group"]) == {"A", "B"}
    found = [(p.relative_to(tmp), lab) for p, text in _all_text(tmp / "blinded")
             for lab in LABELS if lab in text.lower()]
    assert found == []
    # the reports say so
    group_pdf = dict(_all_text(tmp / "blinded"))[tmp / "blinded" / "group" / "group.pdf"]
    assert "blinded codes" in group_pdf
    sub = next((tmp / "blinded").glob("sub-*/report.pdf"))
    assert "blinded (code " in dict(_all_text(sub.parent))[sub]


def test_unblinding_reproduces_the_open_run_and_verifies(runs, tmp_path):
    tmp, study = runs
    work = tmp_path / "blinded"
    shutil.copytree(tmp / "blinded", work)
    # run.json names the config file; it is unchanged, so unblinding may go on
    assert main(["unblind", str(work), "--key", str(tmp / "key.json")]) == 0
    for name in ("anova.tsv", "contrasts.tsv", "emmeans.tsv", "fixed_effects.tsv"):
        got = pd.read_csv(work / "unblinded" / name, sep="\t")
        want = pd.read_csv(tmp / "open" / "group" / name, sep="\t")
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-10)
    text = (work / "unblinded" / "muscle-corrugator" / "summary.txt").read_text()
    assert "Naltrexone (vs placebo)" in text
    record = json.loads((work / "unblinding.json").read_text())
    assert record["codes"] == json.loads((tmp / "key.json").read_text())["codes"]
    assert "group/contrasts.tsv" in record["results_before"]
    assert verify_record(work) == []
    assert main(["unblind", str(work), "--verify"]) == 0
    # a result changed after unblinding is found
    (work / "group" / "contrasts.tsv").write_text("edited\n")
    assert any("group/contrasts.tsv" in p for p in verify_record(work))
    assert main(["unblind", str(work), "--verify"]) == 1
    # unblinding twice needs --force
    with pytest.raises(ConfigError, match="already unblinded"):
        from emgkit.study.blind import unblind

        unblind(work, tmp / "key.json")


def test_rerun_with_another_config_after_unblinding_is_refused(runs, tmp_path):
    tmp, study = runs
    work = tmp_path / "b2"
    shutil.copytree(tmp / "blinded", work)
    assert main(["unblind", str(work), "--key", str(tmp / "key.json")]) == 0
    changed = study / "changed.toml"
    changed.write_text((study / "blinded.toml").read_text().replace("threshold = 3.5",
                                                                    "threshold = 3.0"))
    assert "threshold = 3.0" in changed.read_text()
    with pytest.raises(ConfigError, match="unblinded"):
        run_study(changed, work, force=False)
    rec = run_study(changed, work, force=True, reports=False)
    assert rec["after_unblinding"]["note"].startswith("configuration changed")


def test_blind_refuses_overwrites_and_bad_tables(runs, tmp_path):
    tmp, study = runs
    with pytest.raises(ConfigError, match="never overwrites"):
        blind_table(study / "participants.tsv", study / "coded.tsv", tmp_path / "k.json")
    with pytest.raises(ConfigError, match="no column 'arm'"):
        blind_table(study / "participants.tsv", tmp_path / "c.tsv", tmp_path / "k.json",
                    column="arm")
    with pytest.raises(ConfigError, match="does not belong"):
        other = tmp_path / "other.tsv"
        blind_table(study / "participants.tsv", other, tmp_path / "k2.json", seed=1)
        from emgkit.study.blind import unblind

        unblind(tmp / "blinded", tmp_path / "k2.json")
