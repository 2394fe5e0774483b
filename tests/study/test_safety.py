"""emgkit run never loses data: output-folder rules, hostile ids, resume keys, locks,
interrupts, Dask failures and provenance (issue: trust off the happy path)."""

import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import proc_alive, proc_children

from emgkit.cli import main
from emgkit.errors import ConfigError, Interrupted, OutputError
from emgkit.study.outdir import OutputFolder, subject_label
from emgkit.study.run import run_study


def tree(root, skip=None):
    """path -> sha256 of every file under root (except under ``skip``)."""
    out = {}
    for p in sorted(Path(root).rglob("*")):
        if skip is not None and (p == skip or Path(skip) in p.parents):
            continue
        if p.is_file():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def study(small, tmp_path):
    dst = tmp_path / "study"
    shutil.copytree(small, dst)
    return dst


def run(study, out, **kw):
    kw.setdefault("reports", False)
    kw.setdefault("progress", False)
    return run_study(study / "study.toml", out, **kw)


# -- 1. the output folder -------------------------------------------------------------------

@pytest.mark.parametrize("where", [".", "sub-01", "sub-01/emg"])
def test_out_holding_inputs_is_refused_and_nothing_changes(study, capsys, monkeypatch, where):
    before = tree(study)
    monkeypatch.chdir(study)
    assert main(["run", "study.toml", "--out", where, "--no-reports"]) == 2
    err = capsys.readouterr().err
    assert "contains the input" in err and err.count("\n") == 1
    assert tree(study) == before


def test_foreign_folder_is_refused(study, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work")
    with pytest.raises(OutputError, match="did not write"):
        run(study, out)
    assert (out / "thesis.docx").read_text() == "years of work"
    other = tmp_path / "fmriprep"
    other.mkdir()
    (other / "dataset_description.json").write_text(json.dumps(
        {"DatasetType": "derivative", "GeneratedBy": [{"Name": "fMRIPrep"}]}))
    with pytest.raises(OutputError, match="does not name emgkit"):
        run(study, other)


def test_out_marked_as_bids_derivative(study, tmp_path):
    out = tmp_path / "out"
    rec = run(study, out)
    assert rec["status"] == "ok"
    meta = json.loads((out / "dataset_description.json").read_text())
    assert meta["DatasetType"] == "derivative"
    assert meta["GeneratedBy"][0]["Name"] == "emgkit"
    done = json.loads((out / "sub-01" / "done.json").read_text())
    assert set(done["files"]) == {"trials.tsv", "timecourses.tsv", "quality.tsv", "trials.json",
                                  "timecourses.json", "quality.json", "envelopes.npz"}
    assert json.loads((out / "group" / "done.json").read_text())["files"]["trials.tsv"]


def test_force_never_deletes_foreign_files(study, tmp_path):
    out = tmp_path / "out"
    run(study, out)
    (out / "sub-02" / "my_notes.txt").write_text("keep me")
    (out / "notes.md").write_text("keep me too")
    cfg = study / "study.toml"
    cfg.write_text(cfg.read_text().replace("threshold = 3.5", "threshold = 3.0"))
    with pytest.raises(ConfigError, match="another configuration"):
        run(study, out)
    rec = run(study, out, force=True)
    assert rec["participants"]["sub-01"]["status"] == "done"
    bad = rec["participants"]["sub-02"]
    assert bad["status"] == "failed" and "my_notes.txt" in bad["message"]
    assert (out / "sub-02" / "my_notes.txt").read_text() == "keep me"
    assert (out / "notes.md").read_text() == "keep me too"


# -- 2./3. participant ids become folders only after validation ------------------------------

@pytest.mark.parametrize("pid", ["../victim", "/tmp/abs", "a/b", "sub-01 x", "sub-", ".."])
def test_hostile_participant_ids_are_refused(study, tmp_path, pid):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "data.txt").write_text("precious")
    parts = pd.read_csv(study / "participants.tsv", sep="\t", dtype=str)
    parts.loc[1, "participant_id"] = pid
    parts.to_csv(study / "participants.tsv", sep="\t", index=False)
    before = tree(tmp_path)
    with pytest.raises(OutputError, match="line 3"):
        run(study, tmp_path / "out")
    assert tree(tmp_path, skip=tmp_path / "out") == before


def test_unprefixed_ids_get_bids_folders(study, tmp_path):
    parts = pd.read_csv(study / "participants.tsv", sep="\t", dtype=str)
    parts["participant_id"] = parts["participant_id"].str.replace("sub-", "", regex=False)
    parts.to_csv(study / "participants.tsv", sep="\t", index=False)
    cfg = study / "study.toml"
    cfg.write_text(cfg.read_text().replace('"{participant_id}/emg/{participant_id}_',
                                           '"sub-{participant_id}/emg/sub-{participant_id}_'))
    rec = run(study, tmp_path / "out")
    assert rec["status"] == "ok"
    assert sorted(p.name for p in (tmp_path / "out").glob("sub-*")) == [
        "sub-01", "sub-02", "sub-03", "sub-04"]
    trials = pd.read_csv(tmp_path / "out" / "group" / "trials.tsv", sep="\t", dtype=str)
    # one canonical spelling in every output (emgkit._ids)
    assert set(trials["participant_id"]) == {"sub-01", "sub-02", "sub-03", "sub-04"}
    assert subject_label("NA") == "sub-NA"


def test_model_folders_are_checked(tmp_path):
    from emgkit.sim.recording import simulate_scores
    from emgkit.stats.split import fit_models, write_models

    trials, parts = simulate_scores(3, seed=1, n_trials=3)
    trials = trials[trials["muscle"] != "depressor"].copy()
    trials.loc[trials["muscle"] == "corrugator", "muscle"] = "../../escape"
    split, res = fit_models(trials, "score ~ group * condition", participants=parts)
    with pytest.raises(OutputError, match="cannot be used in a file name"):
        write_models(split, res, tmp_path / "models")
    assert not (tmp_path / "escape").exists()


# -- 4./5. resume keys cover every input; broken results are not trusted ---------------------

def statuses(rec):
    return {k: v["status"] for k, v in rec["participants"].items()}


def test_resume_key_covers_every_input(study, tmp_path, monkeypatch):
    out = tmp_path / "out"
    run(study, out)
    moved = tmp_path / "moved"  # a study folder moved elsewhere is still recognised
    shutil.move(study, moved)
    study = moved
    assert set(statuses(run(study, out)).values()) == {"skipped"}
    # an events sidecar
    ev = study / "sub-01" / "emg" / "sub-01_task-mimicry_events.tsv"
    ev.write_text(ev.read_text() + "\n")
    # the participants row (the group changes a participant's report)
    parts = pd.read_csv(study / "participants.tsv", sep="\t", dtype=str)
    parts.loc[parts["participant_id"] == "sub-02", "age"] = "99"
    parts.to_csv(study / "participants.tsv", sep="\t", index=False)
    assert statuses(run(study, out)) == {"sub-01": "done", "sub-02": "done",
                                         "sub-03": "skipped", "sub-04": "skipped"}
    # the flags that change outputs, and the emgkit version
    assert set(statuses(run(study, out, reports=True)).values()) == {"done"}
    import emgkit._version

    monkeypatch.setattr(emgkit._version, "__version__", "99.0")
    assert set(statuses(run(study, out)).values()) == {"done"}


def test_broken_results_are_recomputed(study, tmp_path, caplog):
    out = tmp_path / "out"
    run(study, out)
    (out / "sub-01" / "timecourses.tsv").unlink()
    (out / "sub-02" / "done.json").write_text("{not json")
    trials = out / "sub-03" / "trials.tsv"
    trials.write_text(trials.read_text().replace("happy", "sad", 1))
    with caplog.at_level(logging.WARNING, logger="emgkit"):
        rec = run(study, out)
    assert statuses(rec) == {"sub-01": "done", "sub-02": "done", "sub-03": "done",
                             "sub-04": "skipped"}
    text = caplog.text
    assert "timecourses.tsv is missing" in text and "done.json is missing or unreadable" in text
    assert "trials.tsv was changed" in text
    (out / "run.json").write_text("corrupt")  # unreadable provenance: warned, rewritten
    assert run(study, out)["status"] == "ok"
    assert json.loads((out / "run.json").read_text())["status"] == "ok"


# -- 6. one run per folder -------------------------------------------------------------------

def test_second_run_is_refused_and_stale_lock_taken_over(study, tmp_path):
    out = tmp_path / "out"
    folder = OutputFolder.open(out)
    with folder.lock():
        with pytest.raises(OutputError, match="in use by another emgkit run"):
            run(study, out)
    (out / ".emgkit.lock").write_text("pid 999999 on elsewhere, started long ago")
    assert run(study, out)["status"] == "ok"  # nobody holds it: taken over


# -- 7. Ctrl-C and a killed parent -----------------------------------------------------------



def _start(study, out, *extra):
    cmd = [sys.executable, "-m", "emgkit.cli", "run", str(study / "study.toml"), "--out",
           str(out), "--jobs", "2", *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_ctrl_c_stops_cleanly(study, tmp_path):
    out = tmp_path / "out"
    proc = _start(study, out)
    deadline = time.time() + 120
    while not list(out.glob(".emgkit-tmp-*")) and time.time() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole group
    t0 = time.time()
    _, err = proc.communicate(timeout=30)
    assert time.time() - t0 < 10
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    assert not list(out.glob(".emgkit-tmp-*"))
    rec = run(study, out)  # and a rerun resumes
    assert rec["status"] == "ok"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_killed_parent_leaves_no_worker(study, tmp_path):
    proc = _start(study, tmp_path / "out")
    deadline = time.time() + 60
    workers = []
    while len(workers) < 2 and time.time() < deadline:
        workers = []
        for k in proc_children(proc.pid):  # a short-lived child (uname -p) may be gone
            try:
                cmd = Path(f"/proc/{k}/cmdline").read_bytes().decode(errors="ignore")
            except OSError:
                continue
            if "resource_tracker" not in cmd:
                workers.append(k)
        time.sleep(0.02)
    assert workers
    proc.kill()  # SIGKILL of the parent only
    proc.communicate()
    deadline = time.time() + 10
    while any(proc_alive(w) for w in workers) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(proc_alive(w) for w in workers)


def test_interrupt_in_process_marks_run(study, tmp_path, monkeypatch):
    from emgkit.study import run as runner

    calls = []

    def fake(task):
        calls.append(task.key)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(task)

    real = runner.process_participant
    monkeypatch.setattr(runner, "process_participant", fake)
    with pytest.raises(Interrupted, match="1 finished participant"):
        run(study, tmp_path / "out")
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["status"] == "interrupted" and "finished" in record


# -- 8. Dask ---------------------------------------------------------------------------------

def test_dask_bad_address_is_one_line(study, tmp_path):
    pytest.importorskip("distributed")
    with pytest.raises(ConfigError, match="not a Dask scheduler address"):
        run(study, tmp_path / "a", scheduler="localhost:8786")
    t0 = time.time()
    with pytest.raises(ConfigError, match="Cannot reach the Dask scheduler"):
        run(study, tmp_path / "b", scheduler="tcp://127.0.0.1:9")
    assert time.time() - t0 < 60
    record = json.loads((tmp_path / "b" / "run.json").read_text())
    assert record["status"] == "failed"


def crash_one(task):
    """Kill the worker process for sub-03 (as an out-of-memory kill would)."""
    if task.key == "sub-03":
        os._exit(1)
    from emgkit.study.run import process_participant

    return process_participant(task)


def test_dask_killed_worker_fails_only_its_participant(study, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    import cloudpickle
    import dask

    from emgkit.study import run as runner

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setattr(runner, "process_participant", crash_one)
    monkeypatch.chdir(tmp_path)
    # one task per worker at a time (no queued task shares the dying worker)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                          "distributed.scheduler.worker-saturation": 1.0}):
        rec = run(study, Path("rel_out"), scheduler="local")
    assert isinstance(distributed.KilledWorker, type)
    st = statuses(rec)
    # a task that shared a dying worker may be rerun by Dask and then find its own results
    assert st["sub-03"] == "failed" and {st["sub-01"], st["sub-02"]} <= {"done", "skipped"}
    assert "KilledWorker" in rec["participants"]["sub-03"]["message"]
    assert (tmp_path / "rel_out" / "sub-01" / "trials.tsv").exists()


# -- 12. every bad input is one line ---------------------------------------------------------

@pytest.mark.parametrize("case", ["empty_table", "table_is_dir", "out_is_file",
                                  "unwritable", "bad_jobs", "out_is_loop", "out_is_link",
                                  "out_through_link"])
def test_bad_input_is_one_line(study, tmp_path, capsys, case):
    args = ["run", str(study / "study.toml"), "--out", str(tmp_path / "out"), "--no-reports"]
    if case == "empty_table":
        (study / "participants.tsv").write_text("participant_id\tgroup\n")
    elif case == "table_is_dir":
        cfg = study / "study.toml"
        cfg.write_text(cfg.read_text().replace('participants = "participants.tsv"',
                                               'participants = "sub-01"'))
    elif case == "out_is_file":
        (tmp_path / "out").write_text("x")
    elif case == "unwritable":
        args[3] = "/proc/emgkit-out"
    elif case == "bad_jobs":
        args += ["--jobs", "0"]
    elif case == "out_is_loop":
        (tmp_path / "out").symlink_to(tmp_path / "loop")
        (tmp_path / "loop").symlink_to(tmp_path / "out")
    elif case == "out_is_link":  # to a new folder elsewhere: still never followed
        (tmp_path / "out").symlink_to(tmp_path / "elsewhere")
    elif case == "out_through_link":
        (tmp_path / "out").symlink_to(study)
        args[3] = str(tmp_path / "out" / "derivatives")
    before = tree(tmp_path)
    try:
        code = main(args)
    except SystemExit as exc:  # argparse refuses a bad number before the run starts
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("emgkit: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    if case.startswith("out_"):
        assert tree(tmp_path) == before


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_lock_linked_to_an_input_is_refused(study, tmp_path, capsys, link):
    out = tmp_path / "out"
    OutputFolder.open(out)
    table = study / "participants.tsv"
    if link == "symlink":
        (out / ".emgkit.lock").symlink_to(table)
    else:
        os.link(table, out / ".emgkit.lock")
    before = tree(study)
    assert main(["run", str(study / "study.toml"), "--out", str(out), "--no-reports"]) == 2
    err = capsys.readouterr().err
    assert ("holds symbolic links" if link == "symlink" else "2 hard links") in err, err
    assert tree(study) == before


def test_na_id_and_corrupt_done(study, tmp_path):
    parts = pd.read_csv(study / "participants.tsv", sep="\t", dtype=str)
    parts.loc[0, "participant_id"] = "NA"
    parts.to_csv(study / "participants.tsv", sep="\t", index=False)
    shutil.move(study / "sub-01", study / "NA")
    for f in (study / "NA" / "emg").iterdir():
        f.rename(f.with_name(f.name.replace("sub-01", "NA")))
    rec = run(study, tmp_path / "out")
    assert rec["participants"]["sub-NA"]["status"] == "done"
    assert (tmp_path / "out" / "sub-NA" / "trials.tsv").exists()
    trials = pd.read_csv(tmp_path / "out" / "group" / "trials.tsv", sep="\t",
                         keep_default_na=False)
    assert "sub-NA" in set(trials["participant_id"])


# -- 13. provenance --------------------------------------------------------------------------

def test_run_json_provenance(study, tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(study / "study.toml"), "--out", str(out), "--no-reports",
                 "--jobs", "1"]) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["command"][:2] == ["emgkit", "run"] and "--no-reports" in record["command"]
    assert record["flags"]["reports"] is False
    assert {"mne", "numpy", "scipy", "pandas", "statsmodels", "neurokit2",
            "matplotlib"} <= set(record["versions"])
    assert record["platform"]["system"]
    cfg_hash = hashlib.sha256((study / "study.toml").read_bytes()).hexdigest()
    assert record["inputs"]["config"] == {str((study / "study.toml").resolve()): cfg_hash}
    assert list(record["inputs"]["participants"].values())[0] == hashlib.sha256(
        (study / "participants.tsv").read_bytes()).hexdigest()
    p = record["participants"]["sub-01"]
    names = {Path(k).name for k in p["inputs"]}
    assert {"sub-01_task-mimicry_emg.bdf", "sub-01_task-mimicry_events.tsv",
            "sub-01_task-mimicry_channels.tsv"} <= names
    assert p["emgkit"] == record["versions"]["emgkit"]


def test_pdfs_are_reproducible_without_paths(study, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    from emgkit.report.subject import subject_report

    rec = study / "sub-01" / "emg" / "sub-01_task-mimicry_emg.bdf"
    a = subject_report(rec, study / "study.toml", tmp_path / "a.pdf")
    time.sleep(1.1)
    b = subject_report(rec, study / "study.toml", tmp_path / "b.pdf")
    assert a.read_bytes() == b.read_bytes()
    text = "".join(page.extract_text() for page in pypdf.PdfReader(a).pages)
    assert str(tmp_path) not in text and "/tmp" not in text
    run(study, tmp_path / "out", reports=True)
    group = tmp_path / "out" / "group" / "group.pdf"
    text = "".join(page.extract_text() for page in pypdf.PdfReader(group).pages)
    assert str(tmp_path) not in text
