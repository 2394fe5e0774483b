"""Nothing lost on the way out (issue 25, item 7): SIGINT/SIGTERM are never lost and end
with 130/143 and ``run.json`` "interrupted"; every worker pool dies with its parent; results
are read back only while their ``done.json`` matches, with the run's own participants table;
a full disk is said as such, naming the file."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import POWER_TOML, proc_alive, proc_children

from emgkit.cli import main
from emgkit.errors import Interrupted
from emgkit.study.run import run_study

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
needs_proc = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")


@pytest.fixture
def study(small, tmp_path):
    dst = tmp_path / "study"
    shutil.copytree(small, dst)
    return dst


@pytest.fixture(scope="module")
def finished(small, tmp_path_factory):
    """A finished run (no reports) of the small study; copy it before changing anything."""
    root = tmp_path_factory.mktemp("finished")
    shutil.copytree(small, root / "study")
    run_study(root / "study" / "study.toml", root / "out", reports=False, progress=False)
    return root


@pytest.fixture
def results(finished, tmp_path):
    shutil.copytree(finished, tmp_path, dirs_exist_ok=True)
    return tmp_path / "study", tmp_path / "out"




def _workers(pid, n=2, timeout=60):
    """The pool workers of process ``pid`` once ``n`` of them run (not the resource
    tracker)."""
    deadline = time.time() + timeout
    workers = []
    while len(workers) < n and time.time() < deadline:
        workers = []
        for kid in proc_children(pid):
            try:
                cmd = Path(f"/proc/{kid}/cmdline").read_bytes().decode(errors="ignore")
            except OSError:
                continue
            if "resource_tracker" not in cmd:
                workers.append(kid)
        time.sleep(0.05)
    return workers


def _gone(pids, timeout=10):
    deadline = time.time() + timeout
    while any(proc_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.05)
    return not any(proc_alive(p) for p in pids)


# -- SIGINT / SIGTERM ------------------------------------------------------------------------

@needs_proc
def _slowed(tmp_path, seconds):
    """Environment whose Python processes (the command and its forked workers) take
    ``seconds`` longer for each participant, via a ``sitecustomize`` on PYTHONPATH: the
    small study otherwise finishes, group step included, before a signal can be sent in
    the middle of it on a fast machine."""
    folder = tmp_path / "slowed"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(
        "import time\n"
        "import emgkit.study.run as _run\n"
        "_real = _run._process\n"
        "def _slow(*args, **kwargs):\n"
        f"    time.sleep({seconds})\n"
        "    return _real(*args, **kwargs)\n"
        "_run._process = _slow\n")
    path = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path)


def test_sigterm_stops_a_run_with_143_and_a_rerun_resumes(study, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "emgkit.cli", "run", str(study / "study.toml"), "--out",
           str(out), "--jobs", "2", "--no-reports"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=_slowed(tmp_path, 3.0))
    deadline = time.time() + 120
    while not list(out.glob(".emgkit-tmp-*")) and time.time() < deadline:
        time.sleep(0.02)
    # the first participants are being written; the others wait 3 s in their workers
    workers = _workers(proc.pid, timeout=5)
    assert workers, "the pool's workers were not found"
    proc.send_signal(signal.SIGTERM)  # as a batch system stops a job: the parent only
    try:
        _, err = proc.communicate(timeout=60)
        gone = _gone(workers)
    finally:
        for w in workers:
            if proc_alive(w):
                os.kill(w, signal.SIGKILL)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "interrupted" in err
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "interrupted" and record["signal"] == "SIGTERM"
    assert gone
    assert not list(out.glob(".emgkit-tmp-*"))
    rec = run_study(study / "study.toml", out, reports=False, progress=False)
    assert rec["status"] == "ok"


def _swallow_a_signal(signum):
    """What matplotlib callbacks, ``__del__`` methods and broad ``except`` blocks do to the
    KeyboardInterrupt of a signal that arrives while they run: swallow it."""
    try:
        os.kill(os.getpid(), signum)
        time.sleep(0.5)  # the handler runs here
    except BaseException:  # noqa: BLE001, S110 - the point of the test
        pass


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_swallowed_signal_still_stops_the_run(study, tmp_path, monkeypatch, capsys, signum,
                                              code):
    from emgkit.study import run as runner

    real, calls = runner.process_participant, []

    def drawing(task):  # a signal lost inside report drawing
        calls.append(task.key)
        if len(calls) == 2:
            _swallow_a_signal(signum)
        return real(task)

    monkeypatch.setattr(runner, "process_participant", drawing)
    out = tmp_path / "out"
    rc = main(["run", str(study / "study.toml"), "--out", str(out), "--no-reports"])
    assert rc == code
    assert "interrupted" in capsys.readouterr().err
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "interrupted"
    assert len(calls) == 2 and "group" not in record  # stopped at the next participant
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_swallowed_signal_never_leaves_a_pdf(tmp_path):
    from emgkit import _interrupts
    from emgkit.report.pages import atomic_pdf, figure_page

    def plot(ax):
        ax[0].plot([0, 1], [0, 1])
        _swallow_a_signal(signal.SIGINT)

    out = tmp_path / "report.pdf"
    with _interrupts.handling(), pytest.raises(KeyboardInterrupt), atomic_pdf(out) as pdf:
        pdf.savefig(figure_page("a page", plot))
        pdf.savefig(figure_page("never drawn", plot))
    assert list(tmp_path.iterdir()) == []
    assert _interrupts.received() is None  # cleared when the handlers are removed


def test_interrupt_in_the_python_api_is_not_an_error(study, tmp_path, monkeypatch):
    """A signal whose KeyboardInterrupt a library turned into an ordinary exception
    interrupts the run; it is not recorded as that participant's failure."""
    from emgkit.study import run as runner

    def fails_after_signal(task):
        _swallow_a_signal(signal.SIGINT)
        raise RuntimeError("a library's cleanup failed after the interrupt")

    monkeypatch.setattr(runner, "_process", lambda task, rec: fails_after_signal(task))
    with pytest.raises(Interrupted, match="0 finished"):
        run_study(study / "study.toml", tmp_path / "out", reports=False, progress=False)
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["status"] == "interrupted" and record["participants"] == {}


# -- worker pools die with their parent ------------------------------------------------------

def test_worker_whose_parent_died_before_it_started_exits():
    # the pool owner's pid comes from the owner: a worker forked just before its parent was
    # killed used to read os.getppid() itself (init's pid by then), pass its own check and
    # wait for tasks forever, holding the command's output pipe open
    code = ("import os; from emgkit.study.executors import _worker_init; "
            "_worker_init(1, parent=os.getppid() + 10**7); print('waiting for tasks')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 1 and "waiting" not in out.stdout, out.stderr
    code = ("import os; from emgkit.study.executors import _worker_init; "
            "_worker_init(1, parent=os.getppid()); print('waiting for tasks')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0 and "waiting" in out.stdout, out.stderr




def _power(tmp_path):
    """``emgkit power --jobs 2`` with minutes of work; output to a file (not a pipe that
    orphaned workers would hold open)."""
    toml = tmp_path / "study.toml"
    toml.write_text((SAMPLE / "study.toml").read_text() + POWER_TOML)
    cmd = [sys.executable, "-m", "emgkit.cli", "power", "--config", str(toml), "--at",
           "condition=happy", "--n-per-group", "10,20,30,40", "--trials-per-cell", "6,12",
           "--simulations", "2000", "--jobs", "2", "--out", str(tmp_path / "power")]
    with open(tmp_path / "stderr.txt", "w") as err:
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)


@needs_proc
def test_killed_parent_of_power_leaves_no_worker(tmp_path):
    proc = _power(tmp_path)
    workers = _workers(proc.pid)
    assert len(workers) == 2, (tmp_path / "stderr.txt").read_text()
    proc.kill()  # SIGKILL of the parent only
    proc.wait()
    try:
        assert _gone(workers)
    finally:
        for w in workers:
            if proc_alive(w):
                os.kill(w, signal.SIGKILL)


@needs_proc
def test_sigterm_stops_power_and_its_workers(tmp_path):
    proc = _power(tmp_path)
    workers = _workers(proc.pid)
    assert len(workers) == 2
    proc.send_signal(signal.SIGTERM)
    try:
        assert proc.wait(timeout=30) == 143
        assert _gone(workers, timeout=5)
    finally:
        for w in workers:
            if proc_alive(w):
                os.kill(w, signal.SIGKILL)
    err = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in err and "interrupted" in err
    assert not (tmp_path / "power" / "power.tsv").exists()


@needs_proc
def test_every_pool_is_made_to_die_with_its_parent(tmp_path):
    """The multiverse and power map their work with map_ordered: its pool is the same
    parent-bound pool as run's."""
    script = ("import time\nfrom emgkit.study.executors import map_ordered\n"
              "list(map_ordered(time.sleep, [60] * 4, jobs=2))\n")
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    workers = _workers(proc.pid)
    assert len(workers) == 2
    proc.kill()
    proc.wait()
    try:
        assert _gone(workers, timeout=5)
    finally:
        for w in workers:
            if proc_alive(w):
                os.kill(w, signal.SIGKILL)


# -- results read back only as written, with the run's participants table --------------------

@pytest.mark.parametrize("command", ["export", "timecourse", "report", "group_folder"])
def test_hand_edited_group_table_is_refused(results, tmp_path, capsys, command):
    _, out = results
    trials = out / "group" / "trials.tsv"
    tcs = out / "group" / "timecourses.tsv"
    for path in (trials, tcs):
        text = path.read_text().splitlines()
        path.write_text("\n".join(text[:-1]) + "\n")  # one row less: hashes differ
    argv = {"export": ["export", str(out), "--out", str(tmp_path / "x.tsv")],
            "timecourse": ["timecourse", str(out), "--at", "condition=happy", "--out",
                           str(tmp_path / "tc")],
            "report": ["report", "--group", str(out), "--out", str(tmp_path / "g.pdf")]}
    if command == "group_folder":  # what unblind refits from
        from emgkit.errors import ReadError
        from emgkit.study.results import group_folder

        with pytest.raises(ReadError, match="was changed after it was written"):
            group_folder(out)
        return
    assert main(argv[command]) == 2
    err = capsys.readouterr().err
    assert "does not match its done.json" in err and "was changed after it was written" in err
    assert "timecourses.tsv" in err or "trials.tsv" in err
    assert not (tmp_path / "x.tsv").exists() and not (tmp_path / "g.pdf").exists()


def test_readers_use_the_runs_participants_table(results, tmp_path):
    """After the study's participants table is edited (groups swapped), the results are
    still labelled as they were computed."""
    study, out = results
    table = pd.read_csv(study / "participants.tsv", sep="\t", dtype=str)
    before = dict(zip(table["participant_id"], table["group"]))
    swapped = {"placebo": "naltrexone", "naltrexone": "placebo"}
    table["group"] = table["group"].map(swapped)
    table.to_csv(study / "participants.tsv", sep="\t", index=False)
    assert (out / "group" / "participants.tsv").is_file()
    assert main(["export", str(out), "--out", str(tmp_path / "wide.tsv")]) == 0
    wide = pd.read_csv(tmp_path / "wide.tsv", sep="\t", dtype={"participant_id": str})
    assert dict(zip(wide["participant_id"], wide["group"])) == before
    from emgkit.study.export import results_participants

    parts = results_participants(out)
    assert dict(zip(parts["participant_id"], parts["group"])) == before


# -- a full disk ----------------------------------------------------------------------------

def test_disk_full_names_the_file(results, tmp_path, monkeypatch, capsys):
    _, out = results

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    target = tmp_path / "wide.tsv"
    assert main(["export", str(out), "--out", str(target)]) == 1
    err = capsys.readouterr().err
    assert f"disk full while writing {target}" in err and "Traceback" not in err
    assert not target.exists() and not list(tmp_path.glob(".wide.tsv*"))


def test_disk_full_while_drawing_a_pdf_names_the_file(tmp_path, monkeypatch):
    """matplotlib's PDF stream turns a failed write into a zlib error on closing; the
    message is the disk's, naming the PDF."""
    from matplotlib.backends import backend_pdf

    from emgkit.report.pages import atomic_pdf, text_page

    real, calls = backend_pdf.PdfFile.write, []

    def write(self, data):
        calls.append(len(data))
        if len(calls) > 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, data)

    monkeypatch.setattr(backend_pdf.PdfFile, "write", write)
    out = tmp_path / "report.pdf"
    with (pytest.raises(OSError, match=f"disk full while writing {out}") as info,
          atomic_pdf(out) as pdf):
        pdf.savefig(text_page("a page", [(None, "text " * 400)]))
    assert info.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_io_error_is_said_as_such(tmp_path, monkeypatch):
    from emgkit._files import write_text

    def broken(self, *args, **kwargs):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(Path, "write_text", broken)
    with pytest.raises(OSError, match=r"input/output error .* while writing .*x\.json"):
        write_text("{}", tmp_path / "x.json")
