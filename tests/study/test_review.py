"""Manual review: overrides.tsv and [study] exclude_participants in `emgkit run`."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from emgkit.errors import ConfigError
from emgkit.sim.study import simulate_study
from emgkit.study.run import run_study


@pytest.fixture()
def study(tmp_path):
    root = tmp_path / "study"
    simulate_study(root, 5, seed=6, sfreq=1000.0)
    return root


def _config(root, extra):
    text = (root / "study.toml").read_text()
    assert "[study]\n" in text
    path = root / "review.toml"
    path.write_text(text.replace("[study]\n", "[study]\n" + extra))
    return path


def test_overrides_and_exclusions_are_honoured_and_recorded(study, tmp_path):
    first = pd.read_csv
    out = tmp_path / "out"
    run_study(study / "study.toml", tmp_path / "plain", reports=False, group_step=False)
    plain = first(tmp_path / "plain" / "sub-01" / "trials.tsv", sep="\t",
                  keep_default_na=False)
    auto = plain[plain["rejected"]].iloc[0] if plain["rejected"].any() else None
    rows = ["participant_id\ttrial\tmuscle\taction\treason\treviewer",
            "sub-01\t2\tcorrugator\texclude\tfrowned at the phone\tAB",
            "01\t3\t*\texclude\tlooked away\tAB"]
    if auto is not None:
        rows.append(f"sub-01\t{auto['trial']}\t{auto['muscle']}\tinclude\tfine on review\tCD")
    (study / "overrides.tsv").write_text("\n".join(rows) + "\n")
    cfg = _config(study, 'overrides = "overrides.tsv"\nexclude_participants = ["sub-03"]\n')
    record = run_study(cfg, out, reports=False)
    t = first(out / "sub-01" / "trials.tsv", sep="\t", keep_default_na=False)
    one = t[(t["trial"] == 2) & (t["muscle"] == "corrugator")].iloc[0]
    assert bool(one["rejected"]) and one["reject_reason"] == "manual"
    three = t[t["trial"] == 3]
    assert three["rejected"].all() and (three["reject_reason"] == "manual").all()
    if auto is not None:
        back = t[(t["trial"] == auto["trial"]) & (t["muscle"] == auto["muscle"])].iloc[0]
        assert not bool(back["rejected"]) and back["reject_reason"] == ""
    tc = first(out / "sub-01" / "timecourses.tsv", sep="\t")
    assert tc[tc["trial"] == 3]["rejected"].all()
    # the excluded participant is not processed and not in the group step
    assert record["participants"]["sub-03"]["status"] == "excluded"
    assert not (out / "sub-03").exists()
    group = first(out / "group" / "trials.tsv", sep="\t")
    assert set(group["participant_id"]) == {"sub-01", "sub-02", "sub-04", "sub-05"}
    run = json.loads((out / "run.json").read_text())
    assert run["manual_review"]["excluded"] == ["sub-03"]
    assert run["manual_review"]["override_rows"]["sub-01"] == len(rows) - 1
    assert run["summary"]["excluded"] == 1
    # editing the review reruns only the participant it touches, with no refusal
    (study / "overrides.tsv").write_text("\n".join(rows[:2]) + "\n")
    again = run_study(cfg, out, reports=False)
    assert again["participants"]["sub-01"]["status"] == "done"
    assert again["participants"]["sub-02"]["status"] == "skipped"


@pytest.mark.parametrize("line,message", [
    ("sub-09\t1\tcorrugator\texclude", "participant 'sub-09' is not in the participants"),
    ("sub-01\tx\tcorrugator\texclude", "trial 'x' is not a trial number"),
    ("sub-01\t1\tfrontalis\texclude", "muscle 'frontalis' is not one of"),
    ("sub-01\t1\tcorrugator\tdelete", "action 'delete' must be exclude or include"),
])
def test_bad_override_lines_are_named(study, tmp_path, line, message):
    (study / "overrides.tsv").write_text("participant_id\ttrial\tmuscle\taction\n" + line + "\n")
    cfg = _config(study, 'overrides = "overrides.tsv"\n')
    with pytest.raises(ConfigError, match="overrides.tsv line 2: " + message):
        run_study(cfg, tmp_path / "out", reports=False)


def test_missing_overrides_table_says_how_to_start_one(study, tmp_path):
    cfg = _config(study, 'overrides = "overrides.tsv"\n')
    with pytest.raises(ConfigError, match=r"overrides.tsv not found\. Create it with its header "
                       r"line \(participant_id, trial, .*review OUT --serve` creates"):
        run_study(cfg, tmp_path / "out", reports=False)


def test_unknown_excluded_participant_is_refused(study, tmp_path):
    cfg = _config(study, 'exclude_participants = ["sub-42"]\n')
    with pytest.raises(ConfigError, match="'sub-42'"):
        run_study(cfg, tmp_path / "out", reports=False)
