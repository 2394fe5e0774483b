"""emgkit run: a study end to end, parallel, Dask, failure isolation, resume, provenance."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from emgkit.cli import main
from emgkit.errors import ConfigError
from emgkit.sim.study import simulate_study
from emgkit.study.plan import plan_from_bids
from emgkit.study.run import run_study


@pytest.fixture(scope="module")
def study6(tmp_path_factory):
    root = tmp_path_factory.mktemp("study6")
    simulate_study(root, 6, seed=8, sfreq=512.0)
    return root


@pytest.fixture
def study(study6, tmp_path):
    dst = tmp_path / "study"
    shutil.copytree(study6, dst)
    return dst


def _tables(out):
    return {name: pd.read_csv(out / "group" / f"{name}.tsv", sep="\t", keep_default_na=False)
            for name in ("trials", "timecourses", "fixed_effects", "contrasts")}


def test_run_from_config_with_reports(study, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(study / "study.toml"), "--out", str(out)]) == 0
    assert "6 processed, 0 unchanged (skipped), 0 failed; group step: done" in \
        capsys.readouterr().out
    for sub in [f"sub-0{i}" for i in range(1, 7)]:
        for f in ("trials.tsv", "timecourses.tsv", "quality.tsv", "report.pdf", "done.json"):
            assert (out / sub / f).exists(), (sub, f)
    for f in ("trials.tsv", "timecourses.tsv", "fixed_effects.tsv", "anova.tsv",
              "contrasts.tsv", "emmeans.tsv", "variance.tsv", "group.pdf"):
        assert (out / "group" / f).exists(), f
    # the group PDF draws the diagnostics from residuals.tsv; no PNG drawn twice
    assert len(list((out / "group").rglob("residuals.tsv"))) == 3
    assert not list((out / "group").rglob("diagnostics.png"))
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "ok" and run["versions"]["emgkit"]
    assert {"mne", "numpy", "statsmodels"} <= set(run["versions"])
    assert run["config"]["epochs"]["baseline_mode"] == "ratio"
    p = run["participants"]["sub-03"]
    assert p["status"] == "done" and len(p["sha256"]) == 64
    assert run["started"] <= run["finished"]
    trials = pd.read_csv(out / "group" / "trials.tsv", sep="\t")
    assert trials["participant_id"].nunique() == 6


def test_parallel_and_dask_give_identical_tables(study, tmp_path):
    run_study(study / "study.toml", tmp_path / "j1", jobs=1, reports=False, progress=False)
    run_study(study / "study.toml", tmp_path / "j2", jobs=2, reports=False, progress=False)
    one, two = _tables(tmp_path / "j1"), _tables(tmp_path / "j2")
    for name in one:
        pd.testing.assert_frame_equal(one[name], two[name])
    # --no-reports: no figures (the models' diagnostics are drawn only for the group PDF)
    assert not list((tmp_path / "j1" / "group").rglob("*.png"))
    pytest.importorskip("distributed")
    rec = run_study(study / "study.toml", tmp_path / "dask", scheduler="local", reports=False,
                    progress=False)
    assert rec["status"] == "ok"
    dask = _tables(tmp_path / "dask")
    for name in one:
        pd.testing.assert_frame_equal(one[name], dask[name])


def test_corrupt_file_fails_only_its_participant(study, tmp_path, capsys):
    bad = study / "sub-03" / "emg" / "sub-03_task-mimicry_emg.bdf"
    bad.write_bytes(bad.read_bytes()[:-30000])
    (study / "sub-04" / "emg" / "sub-04_task-mimicry_emg.bdf").unlink()
    out = tmp_path / "out"
    assert main(["run", str(study / "study.toml"), "--out", str(out), "--no-reports"]) == 1
    err = capsys.readouterr().err
    assert "FAILED sub-03: ReadError:" in err and "truncated" in err
    assert "FAILED sub-04: EmgkitError: Recording" in err
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "failed"
    assert {k for k, v in run["participants"].items() if v["status"] == "failed"} == {
        "sub-03", "sub-04"}
    assert "truncated" in run["participants"]["sub-03"]["message"]
    # hashed while it was processed: a participant failing in processing keeps its inputs
    assert len(run["participants"]["sub-03"]["sha256"]) == 64
    assert run["group"]["status"] == "done" and run["group"]["participants"] == 4
    assert not (out / "sub-03").exists()
    trials = pd.read_csv(out / "group" / "trials.tsv", sep="\t")
    assert set(trials["participant_id"]) == {"sub-01", "sub-02", "sub-05", "sub-06"}


def test_rerun_recomputes_only_changed_participant(study, tmp_path):
    out = tmp_path / "out"
    run_study(study / "study.toml", out, reports=False, progress=False)
    before = (out / "sub-01" / "trials.tsv").stat().st_mtime_ns
    # replace sub-02's recording by another simulated one
    other = tmp_path / "other"
    simulate_study(other, 2, seed=99, sfreq=512.0)
    shutil.copy(other / "sub-02" / "emg" / "sub-02_task-mimicry_emg.bdf",
                study / "sub-02" / "emg" / "sub-02_task-mimicry_emg.bdf")
    rec = run_study(study / "study.toml", out, reports=False, progress=False)
    status = {k: v["status"] for k, v in rec["participants"].items()}
    assert status == {"sub-01": "skipped", "sub-02": "done", "sub-03": "skipped",
                      "sub-04": "skipped", "sub-05": "skipped", "sub-06": "skipped"}
    assert (out / "sub-01" / "trials.tsv").stat().st_mtime_ns == before
    # another config in the same folder is refused, unless forced
    cfg = study / "study.toml"
    cfg.write_text(cfg.read_text().replace("threshold = 3.5", "threshold = 3.0"))
    with pytest.raises(ConfigError, match="holds results of another configuration"):
        run_study(cfg, out, reports=False, progress=False)
    rec = run_study(cfg, out, reports=False, progress=False, force=True)
    assert rec["summary"]["done"] == 6


def test_killed_run_resumes(study, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "emgkit.cli", "run", str(study / "study.toml"), "--out",
           str(out), "--no-reports"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    while not (out / "sub-02" / "done.json").exists() and time.time() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # whatever is on disk: finished participants have done.json, nothing else is trusted
    for child in out.iterdir():
        if child.is_dir() and child.name.startswith("sub-"):
            assert (child / "done.json").exists()
    rec = run_study(study / "study.toml", out, reports=False, progress=False)
    assert rec["status"] == "ok"
    assert rec["participants"]["sub-01"]["status"] == "skipped"
    assert not list(out.glob(".emgkit-tmp-*"))
    assert pd.read_csv(out / "group" / "trials.tsv", sep="\t")["participant_id"].nunique() == 6


def test_bids_input_matches_config_run(study, tmp_path):
    plan = plan_from_bids(study, task="mimicry")
    assert sorted(plan.recordings) == [f"sub-0{i}" for i in range(1, 7)]
    for f in ("channels.tsv", "emg.json", "events.tsv"):
        assert (study / "sub-01" / "emg" / f"sub-01_task-mimicry_{f}").exists()
    meta = json.loads((study / "sub-01" / "emg" / "sub-01_task-mimicry_emg.json").read_text())
    assert meta["SamplingFrequency"] == 512.0 and meta["TaskName"] == "mimicry"
    assert main(["run", str(study / "study.toml"), "--bids", str(study), "--task", "mimicry",
                 "--out", str(tmp_path / "bids"), "--no-reports"]) == 0
    run_study(study / "study.toml", tmp_path / "cfg", reports=False, progress=False)
    a = _tables(tmp_path / "bids")["trials"]
    b = _tables(tmp_path / "cfg")["trials"]
    cols = ["participant_id", "trial", "condition", "muscle", "onset_s", "score", "rejected"]
    pd.testing.assert_frame_equal(a[cols], b[cols], check_exact=False, rtol=1e-9)
    run = json.loads((tmp_path / "bids" / "run.json").read_text())
    assert run["config"]["events"]["source"] == "events.tsv"
    with pytest.raises(Exception, match="No EMG recordings"):
        plan_from_bids(study, task="rest")
    # a channel marked bad in *_channels.tsv fails only that participant, with the reason
    tsv = study / "sub-04" / "emg" / "sub-04_task-mimicry_channels.tsv"
    ch = pd.read_csv(tsv, sep="\t")
    ch.loc[ch.name == "EXG3", "status"] = "bad"
    ch["status_description"] = "electrode came off"
    ch.to_csv(tsv, sep="\t", index=False)
    rec = run_study(study / "study.toml", tmp_path / "bids2", plan=plan, reports=False,
                    progress=False)
    bad = rec["participants"]["sub-04"]
    assert bad["status"] == "failed" and "EXG3 (muscle zygomaticus) is marked bad" in \
        bad["message"] and "electrode came off" in bad["message"]
    assert rec["summary"]["done"] == 5


def test_progress_lines_when_not_a_terminal(study, tmp_path, capsys):
    """A batch job's log gets one line per participant with elapsed time and ETA; a
    failure is said once, with its message."""
    (study / "sub-04" / "emg" / "sub-04_task-mimicry_emg.bdf").unlink()
    out = tmp_path / "out"
    assert main(["run", str(study / "study.toml"), "--out", str(out), "--no-reports"]) == 1
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("[")]
    assert len(lines) == 6 and lines[-1].startswith("[6/6]")
    assert all("elapsed" in ln and "ETA" in ln for ln in lines)
    assert err.count("sub-04_task-mimicry_emg.bdf") == 1          # the failure, once
    assert "failed: sub-04" in err


def test_progress_modes():
    import io

    from emgkit.study.progress import Progress

    assert Progress.mode_for(False) is None
    assert Progress.mode_for(None, io.StringIO()) == "lines"
    # a Jupyter kernel's stderr (ipykernel.iostream.OutStream): off by default, since every
    # line would stay in the saved notebook; asked for, lines
    kernel_stream = type("OutStream", (io.StringIO,), {"__module__": "ipykernel.iostream"})()
    assert Progress.mode_for(None, kernel_stream) is None
    assert Progress.mode_for(True, kernel_stream) == "lines"
    buf = io.StringIO()
    p = Progress(2, "lines", stream=buf)
    p.update({"participant": "sub-01", "status": "done"})
    p.update({"participant": "sub-02", "status": "failed", "message": "ReadError: x\nmore"})
    text = buf.getvalue().splitlines()
    assert text[0].startswith("[1/2] sub-01 done (elapsed") and "ETA" in text[0]
    assert text[1].startswith("[2/2] FAILED sub-02: ReadError: x (elapsed")


def test_run_json_summarises_event_mapping_problems(tmp_path):
    """A mapped code that never occurs is listed per participant in run.json."""
    import json

    from emgkit.sim.study import simulate_study
    from emgkit.study.run import run_study

    study = tmp_path / "study"
    simulate_study(study, 2, seed=2, sfreq=1000.0)
    text = (study / "study.toml").read_text()
    assert '"4" = "neutral"' in text
    (study / "study.toml").write_text(text.replace('"4" = "neutral"',
                                                   '"4" = "neutral"\n"7" = "surprise"'))
    run_study(study / "study.toml", tmp_path / "out", reports=False, group_step=False)
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert set(record["event_mapping"]) == {"sub-01", "sub-02"}
    assert all(m == {"absent": {"7": "surprise"}} for m in record["event_mapping"].values())


def _threads_env(_):
    import os

    return os.environ.get("EMGKIT_THREADS")


def test_workers_share_the_cores():
    """Each worker process computes in the cores shared among the workers (no 2 threads ×
    2 workers on 2 cores); the block plan, and so the numbers, do not change with it."""
    import os

    from emgkit.study.executors import worker_pool, worker_threads

    assert worker_threads(1) == (os.cpu_count() or 1)
    assert worker_threads(64) == 1
    with worker_pool(2, 2) as pool:
        got = list(pool.map(_threads_env, range(2)))
    assert got == [str(worker_threads(2))] * 2
