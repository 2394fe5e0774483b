"""Blinded analysis: no real group label in a blinded run's outputs, unblinding reproduces
the unblinded run's tables, and the unblinding record verifies."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import shutil
import threading

import numpy as np
import pandas as pd
import pypdf
import pytest

from emgkit._files import blinded_codes
from emgkit.cli import main
from emgkit.errors import ConfigError, ReadError
from emgkit.sim.study import simulate_study
from emgkit.study.blind import blind_table, unblind, verify_record
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
    blind_table(study / "participants.tsv", study / "coded.tsv", tmp / "key.json")
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
    # every coded level was replaced: no model is fitted with a still-coded level
    unblinded = pd.read_csv(work / "unblinded" / "participants.tsv", sep="\t")
    assert set(unblinded["group"]) == set(LABELS)
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
    with pytest.raises(ConfigError, match="not the one written with"):
        other = tmp_path / "other.tsv"
        blind_table(study / "participants.tsv", other, tmp_path / "k2.json")
        from emgkit.study.blind import unblind

        unblind(tmp / "blinded", tmp_path / "k2.json")


# -- blinding that holds (issue 25) ----------------------------------------------------------

def _table(path, groups):
    """A participants table with one row per entry of ``groups``."""
    pd.DataFrame({"participant_id": [f"sub-{k + 1:02d}" for k in range(len(groups))],
                  "group": list(groups)}).to_csv(path, sep="\t", index=False)
    return path


def _cli(argv):
    """``main`` with argparse's SystemExit turned into its code."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_codes_come_from_secrets_not_a_seed_or_the_clock(tmp_path):
    """The old key could be rebuilt from its seed (and a guessed time, ~2,000 tries); now
    there is no seed, and two blindings of one table give independent assignments."""
    levels = [f"arm{k:02d}" for k in range(12)]  # 12! assignments: a repeat is ~2e-9
    src = _table(tmp_path / "p.tsv", levels)
    keys = []
    for k in range(2):
        blind_table(src, tmp_path / f"c{k}.tsv", tmp_path / f"k{k}.json")
        keys.append(json.loads((tmp_path / f"k{k}.json").read_text()))
    assert keys[0]["codes"] != keys[1]["codes"]
    assert "seed" not in keys[0] and len(keys[0]["secret"]) == 64
    # the old scheme: codes = default_rng(seed).permutation(levels); no small seed rebuilds it
    for key in keys:
        for seed in range(2000):
            order = np.random.default_rng(seed).permutation(len(levels))
            assert {chr(65 + k): levels[i] for k, i in enumerate(order)} != key["codes"]
    # the key's hash (in the sidecar the analysts hold) cannot be matched by trying every
    # assignment with everything else in the key known: the key holds a random secret
    small = _table(tmp_path / "small.tsv", ["placebo", "drug"])
    blind_table(small, tmp_path / "cs.tsv", tmp_path / "ks.json")
    key = json.loads((tmp_path / "ks.json").read_text())
    side = json.loads((tmp_path / "cs.json").read_text())["emgkit_blinded"]
    for labels in itertools.permutations(["placebo", "drug"]):
        guess = dict(key, codes=dict(zip("AB", labels, strict=True)))
        guess.pop("secret")
        text = json.dumps(guess, indent=2) + "\n"
        assert hashlib.sha256(text.encode()).hexdigest() != side["key_sha256"]
    with pytest.raises(TypeError):
        blind_table(src, tmp_path / "c9.tsv", tmp_path / "k9.json", seed=4)


def test_blind_seed_option_is_refused_with_the_reason(tmp_path, capsys):
    src = _table(tmp_path / "p.tsv", ["a", "b"])
    argv = ["blind", str(src), "--out", str(tmp_path / "c.tsv"), "--key",
            str(tmp_path / "k.json"), "--seed", "4"]
    assert _cli(argv) == 2
    err = capsys.readouterr().err
    assert "--seed" in err and "no seed" in err and err.count("\n") == 1
    assert not (tmp_path / "c.tsv").exists() and not (tmp_path / "k.json").exists()


@pytest.mark.parametrize("target", ["out", "sidecar"])
def test_blind_refuses_a_key_on_the_table_or_its_sidecar(tmp_path, capsys, target):
    """``--key K --out K`` would put the key into the analysts' table; ``--key coded.json``
    would be overwritten by the sidecar."""
    src = _table(tmp_path / "p.tsv", ["a", "b"])
    key = tmp_path / ("c.tsv" if target == "out" else "c.json")
    argv = ["blind", str(src), "--out", str(tmp_path / "c.tsv"), "--key", str(key)]
    assert _cli(argv) == 2
    err = capsys.readouterr().err
    assert "three separate files" in err and "--key" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.tsv"]


def test_unequal_group_sizes_warn_and_are_recorded(tmp_path, caplog):
    src = _table(tmp_path / "p.tsv", ["placebo"] * 5 + ["drug"] * 3)
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        blind_table(src, tmp_path / "c.tsv", tmp_path / "k.json")
    warned = [r for r in caplog.records if r.name == "emgkit" and "group sizes" in r.message]
    assert len(warned) == 1 and "--accept-unequal" in warned[0].getMessage()
    side = json.loads((tmp_path / "c.json").read_text())["emgkit_blinded"]
    assert side["unequal_sizes"]["identifiable"] == ["A", "B"]
    assert side["unequal_sizes"]["accepted"] is False
    assert sorted(side["group_sizes"].values()) == [3, 5]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        assert main(["blind", str(src), "--out", str(tmp_path / "c2.tsv"), "--key",
                     str(tmp_path / "k2.json"), "--accept-unequal"]) == 0
    assert not [r for r in caplog.records if "group sizes" in r.message]
    side = json.loads((tmp_path / "c2.json").read_text())["emgkit_blinded"]
    assert side["unequal_sizes"]["accepted"] is True
    # equal sizes: nothing to warn about; a size shared by two codes hides them both
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        blind_table(_table(tmp_path / "q.tsv", ["x", "y", "z", "x", "y", "z", "z"]),
                    tmp_path / "c3.tsv", tmp_path / "k3.json")
    side = json.loads((tmp_path / "c3.json").read_text())["emgkit_blinded"]
    assert len(side["unequal_sizes"]["identifiable"]) == 1  # only the group of 3


def test_the_run_records_the_blinding(runs):
    tmp, study = runs
    rec = json.loads((tmp / "blinded" / "run.json").read_text())
    side = json.loads((study / "coded.json").read_text())["emgkit_blinded"]
    assert rec["blinding"]["key_sha256"] == side["key_sha256"]
    assert rec["blinding"]["unequal_sizes"] is None  # 3 and 3
    assert "blinding" not in json.loads((tmp / "open" / "run.json").read_text())


@pytest.mark.parametrize("edit", ["swap", "missing"])
def test_unblind_refuses_an_edited_key(runs, tmp_path, capsys, edit):
    tmp, _ = runs
    key = json.loads((tmp / "key.json").read_text())
    if edit == "swap":
        key["codes"] = {"A": key["codes"]["B"], "B": key["codes"]["A"]}
    else:
        del key["codes"]["B"]
    bad = tmp_path / "key.json"
    bad.write_text(json.dumps(key, indent=2) + "\n")
    assert _cli(["unblind", str(tmp / "blinded"), "--key", str(bad)]) == 2
    assert "not the one written" in capsys.readouterr().err
    assert not (tmp / "blinded" / "unblinded").exists()


def test_every_code_of_the_table_must_be_in_the_key(tmp_path):
    """Even with the sidecar's hash made to match, a key without code B is refused: the
    model would be fitted with the still-coded level B."""
    from emgkit.study.blind import check_key, read_key

    src = _table(tmp_path / "p.tsv", ["placebo", "drug"] * 2)
    table = tmp_path / "c.tsv"
    blind_table(src, table, tmp_path / "k.json")
    key = json.loads((tmp_path / "k.json").read_text())
    del key["codes"]["B"]
    (tmp_path / "k.json").write_text(json.dumps(key))
    side = json.loads((tmp_path / "c.json").read_text())
    side["emgkit_blinded"]["key_sha256"] = hashlib.sha256(
        (tmp_path / "k.json").read_bytes()).hexdigest()
    (tmp_path / "c.json").write_text(json.dumps(side))
    record, digest = read_key(tmp_path / "k.json")
    with pytest.raises(ConfigError, match="code.s. B of column 'group' are not in the key"):
        check_key(record, digest, tmp_path / "k.json", table,
                  pd.read_csv(table, sep="\t"))


def test_unblind_refuses_an_edited_group_table(runs, tmp_path, capsys):
    """A hand-edited group/trials.tsv no longer matches its done.json: no refit from it."""
    tmp, _ = runs
    work = tmp_path / "b"
    shutil.copytree(tmp / "blinded", work)
    trials = work / "group" / "trials.tsv"
    lines = trials.read_text().splitlines()
    trials.write_text("\n".join(lines[:-1]) + "\n")  # one trial dropped by hand
    assert _cli(["unblind", str(work), "--key", str(tmp / "key.json")]) == 2
    err = capsys.readouterr().err
    assert "trials.tsv was changed after it was written" in err
    assert not (work / "unblinded").exists() and not (work / "unblinding.json").exists()


def test_unblind_without_config_file_in_run_json(runs, tmp_path, capsys):
    tmp, _ = runs
    work = tmp_path / "b"
    shutil.copytree(tmp / "blinded", work)
    rec = json.loads((work / "run.json").read_text())
    del rec["config_file"]
    (work / "run.json").write_text(json.dumps(rec))
    assert _cli(["unblind", str(work), "--key", str(tmp / "key.json")]) == 2
    err = capsys.readouterr().err
    assert "names no config_file" in err and err.count("\n") == 1


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "folder", "huge"])
def test_unblind_key_must_be_a_small_regular_file(runs, tmp_path, capsys, kind):
    """A FIFO used to block, /dev/zero to exhaust memory: both are refused at once."""
    tmp, _ = runs
    if kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs here")
        key = tmp_path / "key.fifo"
        os.mkfifo(key)
    elif kind == "dev_zero":
        key = "/dev/zero"
        if not os.path.exists(key):
            pytest.skip("no /dev/zero here")
    elif kind == "folder":
        key = tmp_path
    else:
        key = tmp_path / "key.json"
        with open(key, "wb") as f:
            f.truncate(64 << 20)  # sparse: 64 MB of zeros
    result = {}
    thread = threading.Thread(target=lambda: result.update(
        code=_cli(["unblind", str(tmp / "blinded"), "--key", str(key)])), daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), "unblind blocked on --key"
    assert result["code"] == 2
    err = capsys.readouterr().err
    assert "--key" in err and err.count("\n") == 1
    assert ("not a regular file" in err) if kind != "huge" else ("bytes" in err)
    with pytest.raises(ReadError, match="absent.json cannot be opened"):
        unblind(tmp / "blinded", tmp_path / "absent.json")
