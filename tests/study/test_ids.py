"""Participant identity: ``01`` ≡ ``sub-01`` in every table and setting, and strict overrides.

The normaliser (:mod:`emgkit._ids`) is exercised directly, through every table reader and
merge that matches participants, and end to end: the same study run with the ids spelled
``01`` or ``sub-01`` in the participants table, the overrides table and ``[study]
exclude_participants`` (every combination) gives identical outputs.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import string
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emgkit._files import read_tsv
from emgkit._ids import normalise_id, normalise_ids, participant_label
from emgkit.epochs.tables import read_trials
from emgkit.errors import ConfigError, OutputError, ReadError
from emgkit.power.pilot import pilot_models
from emgkit.sim.recording import simulate_scores
from emgkit.sim.study import simulate_study
from emgkit.stats.design import prepare_data
from emgkit.stats.timecourse import participant_timecourses
from emgkit.study.export import export_long, export_wide
from emgkit.study.plan import plan_from_bids, read_participants
from emgkit.study.review import excluded_participants, override_table, read_overrides
from emgkit.study.run import run_study

MUSCLES = ["corrugator", "zygomaticus", "depressor"]
HEADER = "participant_id\ttrial\tmuscle\taction\treason\treviewer"


# -- the normaliser ------------------------------------------------------------------------

@pytest.mark.parametrize("written", ["01", "sub-01", " 01 ", " sub-01\t"])
def test_both_spellings_are_one_participant(written):
    assert participant_label(written) == "sub-01"
    assert normalise_id(written) == "sub-01"


def test_labels_keep_their_case_and_na_is_an_id():
    assert participant_label("NA") == "sub-NA"
    assert participant_label("sub-Pilot7") == "sub-Pilot7"


@pytest.mark.parametrize("bad", ["", "   ", None, np.nan, "nan", "None", "n/a", "sub-",
                                 "../x", "a/b", "sub-01 a", "a_b", "sub-sub-01", "0 1"])
def test_strict_label_refuses_missing_and_non_bids_ids(bad):
    with pytest.raises(ReadError, match=r"participants.tsv, line 7"):
        participant_label(bad, where="participants.tsv, line 7")
    with pytest.raises(ConfigError):
        participant_label(bad, error=ConfigError)


@given(st.text(string.ascii_letters + string.digits, min_size=1, max_size=12))
def test_normaliser_property(label):
    from hypothesis import assume

    from emgkit._ids import MISSING

    assume(label.lower() not in MISSING)  # 'None', 'nan': missing-value spellings, refused
    canonical = "sub-" + label
    for written in (label, canonical, f" {label}", f"{canonical} "):
        assert participant_label(written) == canonical
        assert normalise_id(written) == canonical
        assert normalise_id(normalise_id(written)) == canonical


def test_lenient_normaliser_leaves_other_values_alone():
    assert normalise_id("rec_01") == "rec_01"
    assert normalise_id(" rec 01 ") == "rec 01"
    assert normalise_id(None) is None
    assert np.isnan(normalise_id(np.nan))
    table = pd.DataFrame({"participant_id": ["01", "sub-02", "x_y"], "v": [1, 2, 3]})
    out = normalise_ids(table)
    assert list(out["participant_id"]) == ["sub-01", "sub-02", "x_y"]
    assert list(table["participant_id"]) == ["01", "sub-02", "x_y"]  # a copy
    same = pd.DataFrame({"participant_id": ["sub-01"]})
    assert normalise_ids(same) is same
    assert normalise_ids(pd.DataFrame({"v": [1]}))["v"].tolist() == [1]


# -- table readers ----------------------------------------------------------------------

def test_every_table_reader_normalises(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("participant_id\tgroup\n01\ta\nsub-02\tb\n")
    assert list(read_tsv(path)["participant_id"]) == ["sub-01", "sub-02"]
    assert list(read_tsv(path, ids=False)["participant_id"]) == ["01", "sub-02"]
    assert list(read_participants(path)["participant_id"]) == ["sub-01", "sub-02"]
    trials = tmp_path / "trials.tsv"
    trials.write_text("participant_id\ttrial\tcondition\tmuscle\trejected\n"
                      "01\t1\thappy\tcorrugator\tFalse\n")
    assert list(read_trials(trials)["participant_id"]) == ["sub-01"]


def test_participants_table_refuses_one_participant_listed_in_both_spellings(tmp_path):
    path = tmp_path / "participants.tsv"
    path.write_text("participant_id\tgroup\nsub-01\ta\n02\tb\n01\tb\n")
    with pytest.raises(ReadError, match=r"line 4: participant '01' is listed twice \(also "
                                        r"'sub-01' on line 2"):
        read_participants(path)


@pytest.mark.parametrize("cell", ["nan", "None", "n/a", ""])
def test_participants_table_refuses_missing_ids(tmp_path, cell):
    path = tmp_path / "participants.tsv"
    path.write_text(f"participant_id\tgroup\nsub-01\ta\n{cell}\tb\n")
    with pytest.raises(ReadError, match=r"participants.tsv, line 3: participant_id is empty"):
        read_participants(path)


def test_participants_table_refuses_unsafe_ids(tmp_path):
    path = tmp_path / "participants.tsv"
    path.write_text("participant_id\tgroup\n../x\ta\n")
    with pytest.raises(OutputError, match=r"'../x' \(.*line 2\) is not a BIDS label"):
        read_participants(path)


def test_bids_plan_accepts_a_participants_table_without_prefix(tmp_path):
    root = tmp_path / "bids"
    simulate_study(root, 2, seed=1, sfreq=512.0)
    table = root / "participants.tsv"
    table.write_text(table.read_text().replace("sub-0", "0"))
    plan = plan_from_bids(root)
    assert sorted(plan.recordings) == ["sub-01", "sub-02"]
    assert list(plan.participants["participant_id"]) == ["sub-01", "sub-02"]


def test_model_merge_matches_both_spellings():
    rng = np.random.default_rng(0)
    trials = pd.DataFrame({"participant_id": np.repeat(["01", "02", "sub-03", "sub-04"], 6),
                           "condition": np.tile(["a", "b"], 12),
                           "score": rng.normal(size=24), "rejected": False})
    parts = pd.DataFrame({"participant_id": ["sub-01", "sub-02", "03", "04"],
                          "group": ["x", "y", "x", "y"]})
    data, factors = prepare_data(trials, "score ~ group * condition", participants=parts)
    assert len(data) == 24 and factors["group"] == ["x", "y"]
    assert sorted(data["participant_id"].unique()) == ["sub-01", "sub-02", "sub-03",
                                                       "sub-04"]


def test_exports_match_both_spellings():
    trials = pd.DataFrame({"participant_id": ["01", "01", "sub-02"], "trial": [1, 2, 1],
                           "condition": "happy", "muscle": "corrugator",
                           "score": [1.0, 3.0, 5.0], "rejected": False})
    parts = pd.DataFrame({"participant_id": ["sub-01", "02"], "group": ["a", "b"]})
    long = export_long(trials, parts)
    assert list(long["group"]) == ["a", "a", "b"]
    assert set(long["participant_id"]) == {"sub-01", "sub-02"}
    wide = export_wide(trials, parts)
    assert list(wide["participant_id"]) == ["sub-01", "sub-02"]
    assert list(wide["score_corrugator_happy"]) == [2.0, 5.0]
    assert list(wide["n_corrugator_happy"]) == [2, 1]


def test_power_pilot_matches_both_spellings():
    trials, parts = simulate_scores(6, seed=1, n_trials=4)
    trials = trials[trials["muscle"] == "corrugator"]
    bare = trials.assign(participant_id=trials["participant_id"].str.removeprefix("sub-"))
    ref, _ = pilot_models(trials, "score ~ group * condition", participants=parts,
                          at="condition=happy")
    got, _ = pilot_models(bare, "score ~ group * condition", participants=parts,
                          at="condition=happy")
    assert got["all"].groups == ref["all"].groups
    np.testing.assert_allclose(got["all"].means, ref["all"].means)
    np.testing.assert_allclose([got["all"].tau2, got["all"].s2],
                               [ref["all"].tau2, ref["all"].s2])


def test_time_course_tests_match_both_spellings():
    tcs = pd.DataFrame({"participant_id": np.repeat(["01", "sub-02", "03", "sub-04"], 2),
                        "muscle": "corrugator", "condition": "happy",
                        "time_s": np.tile([0.0, 0.5], 4), "value": np.arange(8.0),
                        "rejected": False})
    parts = pd.DataFrame({"participant_id": ["sub-01", "02", "sub-03", "04"],
                          "group": ["a", "b", "a", "b"]})
    times, data = participant_timecourses(tcs, parts, muscle="corrugator",
                                          condition="happy")
    assert list(times) == [0.0, 0.5]
    assert data["a"].tolist() == [[0.0, 1.0], [4.0, 5.0]]  # nobody silently dropped
    assert data["b"].tolist() == [[2.0, 3.0], [6.0, 7.0]]


# -- exclusions ------------------------------------------------------------------------

class _Config:
    def __init__(self, ids):
        self.study = {"exclude_participants": ids}


@pytest.mark.parametrize("ids", [["03"], ["sub-03"], [" 03"]])
def test_exclusions_match_either_spelling(ids):
    for table in (["sub-01", "sub-03"], ["01", "03"]):
        assert excluded_participants(_Config(ids), table) == ["sub-03"]


@pytest.mark.parametrize("ids,message", [
    (["04"], r"names '04', which is not in the participants table"),
    (["sub-04"], r"names 'sub-04', which is not in the participants table"),
    (["03", "sub-03"], r"names sub-03 twice \('sub-03'\)"),
    (["../x"], r"'../x' \(\[study\] exclude_participants\) is not a BIDS label"),
    ([""], r"\(\[study\] exclude_participants\) is empty"),
])
def test_exclusion_naming_nobody_is_an_error(ids, message):
    with pytest.raises(ConfigError, match=message):
        excluded_participants(_Config(ids), ["01", "sub-03"])


# -- strict overrides --------------------------------------------------------------------

def _overrides(tmp_path, *lines, participants=("01", "sub-02", "03"), excluded=()):
    path = tmp_path / "overrides.tsv"
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return read_overrides(path, participants=participants, muscles=MUSCLES,
                          excluded=excluded)


@pytest.mark.parametrize("line,message", [
    # the empty spellings never mean "all"
    ("sub-01\t\tcorrugator\texclude", r"trial is empty \(''\); write \* for all trials"),
    ("sub-01\tnan\tcorrugator\texclude", r"trial is empty \('nan'\)"),
    ("sub-01\tNone\tcorrugator\texclude", r"trial is empty \('None'\)"),
    ("sub-01\tn/a\tcorrugator\texclude", r"trial is empty \('n/a'\)"),
    ("sub-01\t3\t\texclude", r"muscle is empty \(''\); write \* for all muscles"),
    ("sub-01\t3\tnan\texclude", r"muscle is empty \('nan'\)"),
    ("sub-01\t3\tNone\texclude", r"muscle is empty \('None'\)"),
    ("sub-01\t3\tcorrugator\t", r"action is empty"),
    ("\t3\tcorrugator\texclude", r"participant_id is empty"),
    ("nan\t3\tcorrugator\texclude", r"participant_id is empty"),
    # a trial is a positive whole number
    ("sub-01\t2.7\tcorrugator\texclude", r"trial '2.7' is not a trial number"),
    ("sub-01\t2.0\tcorrugator\texclude", r"trial '2.0' is not a trial number"),
    ("sub-01\tinf\tcorrugator\texclude", r"trial 'inf' is not a trial number"),
    ("sub-01\t0\tcorrugator\texclude", r"trial '0' is not a trial number"),
    ("sub-01\t-1\tcorrugator\texclude", r"trial '-1' is not a trial number"),
    ("sub-01\t1e3\tcorrugator\texclude", r"trial '1e3' is not a trial number"),
    ("sub-01\tx\tcorrugator\texclude", r"trial 'x' is not a trial number"),
    ("sub-01\t²\tcorrugator\texclude", r"trial '²' is not a trial number"),
    # a configured muscle, a known participant, a known action
    ("sub-01\t3\tfrontalis\texclude", r"muscle 'frontalis' is not one of corrugator"),
    ("sub-01\t3\tCorrugator\texclude", r"muscle 'Corrugator' is not one of"),
    ("sub-09\t3\tcorrugator\texclude", r"participant 'sub-09' is not in the participants"),
    ("09\t3\tcorrugator\texclude", r"participant '09' is not in the participants"),
    ("../x\t3\tcorrugator\texclude",
     r"'../x' \(.*line 3, column participant_id\) is not a BIDS label"),
    ("sub-01\t3\tcorrugator\tdelete", r"action 'delete' must be exclude or include"),
])
def test_bad_override_cells_are_errors_naming_the_line(tmp_path, line, message):
    good = "sub-02\t1\tzygomaticus\texclude"
    with pytest.raises(ConfigError) as err:
        _overrides(tmp_path, good, line)
    assert "overrides.tsv line 3" in str(err.value)
    assert re.search(message, str(err.value)), str(err.value)


@pytest.mark.parametrize("first,second", [
    ("sub-01\t3\tcorrugator\texclude", "sub-01\t3\tcorrugator\tinclude"),
    ("01\t3\tcorrugator\texclude", "sub-01\t3\tcorrugator\tinclude"),  # one participant
    ("sub-01\t3\t*\texclude", "sub-01\t3\tzygomaticus\tinclude"),
    ("sub-01\t*\tcorrugator\tinclude", "sub-01\t5\tcorrugator\texclude"),
    ("sub-01\t*\t*\texclude", "01\t7\tdepressor\tinclude"),
])
def test_contradictory_rows_are_errors_naming_both_lines(tmp_path, first, second):
    with pytest.raises(ConfigError, match=r"overrides.tsv line 3: .* of sub-01, which "
                                          r".*overrides.tsv line 2 (ex|in)cludes"):
        _overrides(tmp_path, first, second)


def test_rows_that_do_not_overlap_are_fine(tmp_path):
    rows = _overrides(tmp_path, "01\t3\tcorrugator\texclude", "sub-01\t3\tzygomaticus\tinclude",
                      "sub-02\t3\tcorrugator\tinclude", "sub-01\t4\t*\texclude",
                      " 03 \t 12 \t*\tEXCLUDE\tlooked away\tAB")
    assert sorted(rows) == ["sub-01", "sub-02", "sub-03"]
    assert [(r["trial"], r["muscle"], r["action"]) for r in rows["sub-01"]] == [
        (3, "corrugator", "exclude"), (3, "zygomaticus", "include"), (4, None, "exclude")]
    assert rows["sub-03"][0]["reason"] == "looked away"
    assert rows["sub-03"][0]["where"].endswith("overrides.tsv line 6")


def test_rows_of_an_excluded_participant_are_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"line 2: participant '03' is excluded by \[study\] "
                                          r"exclude_participants, so this row would do "
                                          r"nothing"):
        _overrides(tmp_path, "03\t1\tcorrugator\texclude", excluded=["sub-03"])


def test_a_row_that_matches_no_trial_is_an_error_naming_the_line(tmp_path):
    rows = _overrides(tmp_path, "sub-01\t2\t*\texclude", "sub-01\t99\tcorrugator\texclude")
    table = pd.DataFrame({"trial": np.repeat([1, 2, 3], 3), "muscle": MUSCLES * 3,
                          "rejected": False, "reject_reason": ""})
    with pytest.raises(ConfigError, match=r"overrides.tsv line 3: trial 99 × muscle "
                                          r"corrugator matches nothing .*trials 1–3"):
        override_table(table, rows["sub-01"])
    assert not table["rejected"].any()  # checked before anything changes
    assert override_table(table, rows["sub-01"][:1]) == 3


# -- end to end: both spellings everywhere give identical outputs ------------------------

@pytest.fixture(scope="module")
def small_study(tmp_path_factory):
    root = tmp_path_factory.mktemp("ids_study")
    simulate_study(root, 6, seed=5, sfreq=512.0)
    return root


def _spell(pid, bare):
    return pid.removeprefix("sub-") if bare else pid


def _run(study, folder, bare_table, bare_overrides, bare_exclusion, group_step=True):
    """Run ``study`` from ``folder`` with the chosen spellings; returns the output folder."""
    folder.mkdir()
    parts = pd.read_csv(study / "participants.tsv", sep="\t", dtype=str)
    parts["participant_id"] = [_spell(p, bare_table) for p in parts["participant_id"]]
    parts.to_csv(folder / "participants.tsv", sep="\t", index=False)
    rows = [("sub-01", "2", "corrugator", "exclude"), ("sub-01", "5", "*", "exclude"),
            ("sub-02", "*", "depressor", "exclude"), ("sub-02", "3", "zygomaticus", "exclude")]
    (folder / "overrides.tsv").write_text("\n".join(
        [HEADER] + [f"{_spell(p, bare_overrides)}\t{t}\t{m}\t{a}\treview\tAB"
                    for p, t, m, a in rows]) + "\n")
    text = (study / "study.toml").read_text()
    prefix = "sub-" if bare_table else ""  # the files are named sub-XX
    pattern = f"{study}/{prefix}{{participant_id}}/emg/{prefix}{{participant_id}}_task-mimicry"
    text = text.replace('recordings = "{participant_id}/emg/{participant_id}_task-mimicry',
                        f'recordings = "{pattern}')
    assert pattern in text
    text = text.replace("[study]\n", f'[study]\noverrides = "overrides.tsv"\n'
                                     f'exclude_participants = '
                                     f'["{_spell("sub-05", bare_exclusion)}"]\n')
    (folder / "study.toml").write_text(text)
    out = folder / "out"
    run_study(folder / "study.toml", out, reports=False, progress=False, group_step=group_step)
    return out


def _outputs(out):
    """Every output that must not depend on how ids are spelled."""
    files = {p.relative_to(out).as_posix(): p for p in sorted(out.rglob("*.tsv"))}
    tables = {name: path.read_bytes() for name, path in files.items()}
    run = json.loads((out / "run.json").read_text())
    statuses = {k: (v["status"], v.get("overrides_changed")) for k, v in
                run["participants"].items()}
    review = {k: run["manual_review"][k] for k in ("excluded", "override_rows")}
    return tables, statuses, review, run["group"]["status"]


@pytest.fixture(scope="module")
def reference(small_study, tmp_path_factory):
    out = _run(small_study, tmp_path_factory.mktemp("ref") / "run", False, False, False)
    return _outputs(out)


SPELLINGS = list(itertools.product([False, True], repeat=3))


@pytest.mark.parametrize("bare_table,bare_overrides,bare_exclusion", SPELLINGS[1:],
                         ids=["-".join(f"{what}={'01' if b else 'sub-01'}" for what, b in
                                       zip(("table", "overrides", "exclusion"), combo))
                              for combo in SPELLINGS[1:]])
def test_id_spelling_never_changes_outputs(small_study, reference, tmp_path, bare_table,
                                           bare_overrides, bare_exclusion):
    tables, statuses, review, group = reference
    # the reference itself honoured the review: sub-04 left out, overrides applied
    assert statuses["sub-05"] == ("excluded", None)
    assert statuses["sub-01"][0] == "done" and statuses["sub-01"][1] > 0
    assert statuses["sub-02"][1] > 0 and "sub-03" in statuses
    assert review["excluded"] == ["sub-05"] and review["override_rows"] == {"sub-01": 2,
                                                                           "sub-02": 2}
    assert group == "done" and "sub-05/trials.tsv" not in tables
    # the group step (a model fit) once, with every id spelled without the prefix
    group_step = bare_table and bare_overrides and bare_exclusion
    out = _run(small_study, tmp_path / "run", bare_table, bare_overrides, bare_exclusion,
               group_step=group_step)
    got = _outputs(out)
    if not group_step:
        tables = {k: v for k, v in tables.items() if not k.startswith("group/")}
        group = "not run"
    assert sorted(got[0]) == sorted(tables)
    for name in tables:
        assert got[0][name] == tables[name], name
    assert got[1:] == (statuses, review, group)


def test_reference_trials_carry_the_review(reference):
    tables = reference[0]
    t = pd.read_csv(StringIO(tables["group/trials.tsv"].decode()), sep="\t",
                    keep_default_na=False)
    assert set(t["participant_id"]) == {"sub-01", "sub-02", "sub-03", "sub-04", "sub-06"}
    one = t[t["participant_id"] == "sub-01"]
    assert one[(one["trial"] == 5)]["rejected"].all()
    assert one[(one["trial"] == 2) & (one["muscle"] == "corrugator")]["rejected"].all()
    two = t[t["participant_id"] == "sub-02"]
    assert (two[two["muscle"] == "depressor"]["reject_reason"] == "manual").all()


def test_run_refuses_an_override_for_a_trial_the_recording_lacks(small_study, tmp_path):
    study = tmp_path / "study"
    shutil.copytree(small_study, study)
    (study / "overrides.tsv").write_text(f"{HEADER}\n01\t999\tcorrugator\texclude\tx\tAB\n")
    path = study / "study.toml"
    path.write_text(path.read_text().replace("[study]\n",
                                             '[study]\noverrides = "overrides.tsv"\n'))
    record = run_study(path, tmp_path / "out", reports=False, progress=False,
                       group_step=False)
    info = record["participants"]["sub-01"]
    assert info["status"] == "failed"
    assert "overrides.tsv line 2: trial 999 × muscle corrugator matches nothing" in \
        info["message"]
    assert record["participants"]["sub-02"]["status"] == "done"


def test_path_patterns_use_the_id_as_written(tmp_path):
    """``{participant_id}`` in ``recordings`` and an event-log ``source`` names the user's
    files as the participants table spells the id; outputs use ``sub-<label>``."""
    root = tmp_path / "study"
    simulate_study(root, 2, seed=2, sfreq=512.0)
    (root / "logs").mkdir()
    for i in (1, 2):
        shutil.copy(root / f"sub-0{i}" / "emg" / f"sub-0{i}_task-mimicry_events.tsv",
                    root / "logs" / f"0{i}.tsv")
    table = root / "participants.tsv"
    table.write_text(table.read_text().replace("sub-0", "0"))
    cfg = root / "study.toml"
    cfg.write_text(cfg.read_text()
                   .replace('"{participant_id}/emg/{participant_id}_',
                            '"sub-{participant_id}/emg/sub-{participant_id}_')
                   .replace('source = "stim"', 'source = "logs/{participant_id}.tsv"'))
    record = run_study(cfg, tmp_path / "out", reports=False, progress=False,
                       group_step=False)
    one = record["participants"]["sub-01"]
    assert one["status"] == "done", one["message"]
    assert str(root / "logs" / "01.tsv") in one["inputs"]
    trials = read_trials(tmp_path / "out" / "sub-02" / "trials.tsv")
    assert set(trials["participant_id"]) == {"sub-02"}
    written = read_tsv(tmp_path / "out" / "participants.tsv", ids=False)
    assert list(written["participant_id"]) == ["sub-01", "sub-02"]
