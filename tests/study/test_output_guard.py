"""One output guard for every command that writes (issue 25, item 1): an output never names or
contains an input, never lies inside a results folder the command reads, never replaces a file
emgkit did not write without --force, never follows a symbolic link; the lock cannot be
redirected and only emgkit's own staging folders are cleaned."""

import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from emgkit.cli import main
from emgkit.errors import OutputError
from emgkit.sim.recording import SimParams
from emgkit.sim.study import simulate_study
from emgkit.study.blind import blind_table
from emgkit.study.outdir import STAGING, STAGING_MARK, OutputFolder, guard_output
from emgkit.study.run import run_study

SUB = "sub-01/emg/sub-01_task-mimicry"


def tree(root):
    """relative path -> sha256 of every file, ``-> target`` of every link (never followed),
    ``dir`` of every folder under ``root``."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def build_world(root):
    """A small blinded study, its results, and hostile things beside them:

    ``study/`` (4 participants, 256 Hz, coded table ``coded.tsv``, ``blinded.toml``,
    ``mv.toml`` with a [multiverse]), ``key.json``, ``res/`` (emgkit run of blinded.toml),
    ``foreign.txt``, ``foreign/`` (a folder of someone else's), ``link_*`` symlinks to inputs,
    ``loop_a``/``loop_b`` (a symlink loop)."""
    root = Path(root)
    study = root / "study"
    simulate_study(study, 4, seed=4, sfreq=256.0, params=SimParams(sfreq=256.0, n_trials=2))
    cfg = (study / "study.toml").read_text()
    blind_table(study / "participants.tsv", study / "coded.tsv", root / "key.json")
    (study / "blinded.toml").write_text(cfg.replace('participants = "participants.tsv"',
                                                    'participants = "coded.tsv"'))
    (study / "mv.toml").write_text(cfg + '\n[multiverse]\nsmooth = [0.05, 0.1]\n')
    run_study(study / "blinded.toml", root / "res", reports=False, progress=False)
    (root / "foreign.txt").write_text("someone's notes")
    (root / "foreign").mkdir()
    (root / "foreign" / "thesis.docx").write_text("years of work")
    return root


def copy_world(template, dst):
    """A copy of the world whose ``res/run.json`` names the copy's config (not the
    template's), with the links added."""
    shutil.copytree(template, dst, symlinks=True)
    run = dst / "res" / "run.json"
    run.write_text(run.read_text().replace(str(template), str(dst)))
    add_links(dst)
    return dst


def add_links(root):
    root = Path(root)
    (root / "link_table").symlink_to(root / "study" / "participants.tsv")
    (root / "link_rec").symlink_to(root / "study" / f"{SUB}_emg.bdf")
    (root / "link_study").symlink_to(root / "study")
    (root / "link_res").symlink_to(root / "res")
    (root / "link_new").symlink_to(root / "nowhere_yet.tsv")  # dangling
    (root / "loop_a").symlink_to(root / "loop_b")
    (root / "loop_b").symlink_to(root / "loop_a")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("guard_template"))


@pytest.fixture(scope="module")
def world(template, tmp_path_factory):
    """One copy of the world shared by the refusal tests (each asserts nothing changed)."""
    return copy_world(template, tmp_path_factory.mktemp("guard") / "w")


def commands(w, out):
    """argv of every writing command with ``out`` as its output."""
    s, r, rec = w / "study", w / "res", str(w / "study" / f"{SUB}_emg.bdf")
    return {
        "run": ["run", str(s / "study.toml"), "--out", out, "--no-reports"],
        "process": ["process", rec, "--config", str(s / "study.toml"), "--out", out],
        "stats": ["stats", str(r / "group" / "trials.tsv"), "--participants",
                  str(s / "participants.tsv"), "--formula", "score ~ group * condition",
                  "--out", out],
        "report": ["report", rec, "--config", str(s / "study.toml"), "--out", out],
        "report_group": ["report", "--group", str(r), "--out", out],
        "export": ["export", str(r), "--out", out],
        "simulate": ["simulate", out, "--subjects", "1", "--sfreq", "256", "--trials", "1"],
        "power": ["power", "--pilot", str(r / "group" / "trials.tsv"), "--participants",
                  str(s / "participants.tsv"), "--at", "condition=happy", "--n-per-group",
                  "3", "--trials-per-cell", "2", "--simulations", "10", "--out", out],
        "multiverse": ["multiverse", str(s / "mv.toml"), "--out", out],
        "timecourse": ["timecourse", str(r), "--at", "condition=happy", "--permutations",
                       "10", "--out", out],
        "blind": ["blind", str(s / "participants.tsv"), "--out", out, "--key",
                  str(w / "new_key.json")],
        "init": ["init", rec, "--out", out],
        "bids_convert": ["bids", "convert", str(s), "--config", str(s / "study.toml"),
                         "--out", out],
    }


FILE_OUTPUT = {"report", "report_group", "export", "blind", "init"}

#: (placement, which commands read it): the inputs of each command, as files and folders
INPUT_FILES = {
    "study/study.toml": {"run", "process", "report", "bids_convert"},
    "study/participants.tsv": {"run", "stats", "power", "blind", "multiverse", "bids_convert"},
    f"study/{SUB}_emg.bdf": {"run", "process", "report", "init", "multiverse", "bids_convert"},
    f"study/{SUB}_events.tsv": {"run", "process", "report", "multiverse"},
    f"study/{SUB}_emg.json": {"run", "process", "report", "multiverse"},
    "study/coded.tsv": {"export", "report_group", "timecourse"},
    "study/mv.toml": {"multiverse"},
    "res/run.json": {"export", "report_group", "timecourse"},
    "res/group/trials.tsv": {"stats", "power", "export", "report_group", "timecourse"},
    "res/participants.tsv": {"export", "report_group", "timecourse"},
}
INPUT_FOLDERS = ["study", "study/sub-01", "study/sub-01/emg", "res", "res/group",
                 "res/sub-01", "."]
HOSTILE = ["foreign.txt", "foreign", "link_table", "link_rec", "link_study", "link_res",
           "link_new", "loop_a", "loop_a/x.tsv", "link_study/new.tsv", "link_res/new"]


def _main(argv):
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


def _cases():
    for name in commands(Path("w"), "o"):
        for rel, readers in INPUT_FILES.items():
            if name in readers:
                yield name, rel
        for rel in INPUT_FOLDERS:
            if not (rel == "res" and name in ("process", "multiverse")):  # emgkit's, no input
                yield name, rel
        for rel in HOSTILE:
            yield name, rel


@pytest.mark.parametrize(("name", "rel"), list(_cases()))
def test_every_writer_refuses_inputs_links_and_foreign_files(world, name, rel):
    before = tree(world)
    out = str(world / rel) if rel != "." else str(world)
    code, err = _main(commands(world, out)[name])
    assert code == 2, (name, rel, err)
    assert err.startswith("emgkit: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert tree(world) == before, (name, rel)


def test_messages_say_what_and_what_to_do(world):
    w = world
    cases = [
        (commands(w, str(w / "study" / "participants.tsv"))["run"], "is the input"),
        (commands(w, str(w / "foreign.txt"))["run"], "is a file, not a folder"),
        (commands(w, str(w / "study"))["process"], "contains the input"),
        (commands(w, str(w / "res" / "run.json"))["export"], "lies inside"),
        (commands(w, str(w / "res" / "wide.tsv"))["export"], "which this command reads"),
        (commands(w, str(w / "res" / "g.pdf"))["report_group"], "which this command reads"),
        (commands(w, str(w / "res" / "tc"))["timecourse"], "which this command reads"),
        (commands(w, str(w / "study" / "participants.tsv"))["blind"], "exists"),
        (commands(w, str(w / "foreign.txt"))["export"], "--force"),
        (commands(w, str(w / "link_table"))["export"], "symbolic link"),
        (commands(w, str(w / "loop_a"))["run"], "symbolic link"),
        (commands(w, str(w / "foreign"))["simulate"], "not a study emgkit simulated"),
        (commands(w, str(w / "study" / "study.toml"))["report"], "is the input"),
        (commands(w, str(w / "study" / "coded.json"))["export"], "is the input"),
    ]
    for argv, needle in cases:
        code, err = _main(argv)
        assert code == 2 and needle in err, (argv, err)


def test_suggested_folder_is_one_the_guard_accepts(tmp_path):
    # bids convert reads its source folder as a whole: the suggestion used to be
    # SOURCE/derivatives/emgkit, which the same rule then refused
    src = tmp_path / "study"
    (src / "sub-01").mkdir(parents=True)
    rec = src / "sub-01" / "rec.bdf"
    rec.write_bytes(b"x")
    for reads in ([], [src]):
        with pytest.raises(OutputError, match="contains the input") as err:
            guard_output(src, kind="folder", inputs=[rec], reads=reads)
        suggested = Path(str(err.value).rsplit("e.g. ", 1)[1].rstrip("."))
        assert guard_output(suggested, kind="folder", inputs=[rec], reads=reads) == suggested
    assert suggested == tmp_path / "study-emgkit"


def test_force_replaces_a_foreign_file_but_never_an_input(world, tmp_path):
    mine = tmp_path / "wide.tsv"
    mine.write_text("old export")
    argv = commands(world, str(mine))["export"]
    code, err = _main(argv)
    assert code == 2 and "--force" in err and mine.read_text() == "old export"
    assert _main(argv + ["--force"])[0] == 0
    assert mine.read_text().startswith("participant_id")
    before = tree(world)
    for rel in ("study/coded.tsv", "res/participants.tsv", "link_table", "res/group"):
        code, err = _main(commands(world, str(world / rel))["export"] + ["--force"])
        assert code == 2, (rel, err)
    assert tree(world) == before


def test_hard_link_to_an_input_is_the_input(world, tmp_path):
    twin = tmp_path / "twin.tsv"
    os.link(world / "study" / "participants.tsv", twin)
    before = (world / "study" / "participants.tsv").read_bytes()
    code, err = _main(commands(world, str(twin))["blind"][:-2]
                      + ["--key", str(tmp_path / "k.json")])
    assert code == 2 and "exists" in err
    with pytest.raises(OutputError, match="is the input"):
        guard_output(twin, kind="file", inputs=[world / "study" / "participants.tsv"],
                     force=True)
    assert (world / "study" / "participants.tsv").read_bytes() == before


def test_blind_key_and_sidecar_are_separate_files(world, tmp_path):
    before = tree(world)
    src = str(world / "study" / "participants.tsv")
    for out, key in ((tmp_path / "k.tsv", tmp_path / "k.tsv"),
                     (tmp_path / "c.tsv", tmp_path / "c.json"),
                     (tmp_path / "c.json", tmp_path / "key.json")):
        code, err = _main(["blind", src, "--out", str(out), "--key", str(key)])
        assert code == 2 and "separate" in err, err
        assert not out.exists() and not key.exists()
    code, err = _main(["blind", src, "--out", str(tmp_path / "c.tsv"), "--key",
                       str(world / "study" / "participants.json")])
    assert code == 2
    assert tree(world) == before


def test_unblind_never_writes_over_its_key(template, tmp_path):
    w = copy_world(template, tmp_path / "w")
    # the key inside the folder unblind replaces, or named like its record
    (w / "res" / "unblinded").mkdir()
    shutil.copy(w / "key.json", w / "res" / "unblinded" / "key.json")
    before = tree(w)
    code, err = _main(["unblind", str(w / "res"), "--key",
                       str(w / "res" / "unblinded" / "key.json")])
    assert code == 2 and "contains the input" in err, err
    assert tree(w) == before
    shutil.rmtree(w / "res" / "unblinded")
    shutil.copy(w / "key.json", w / "res" / "unblinding.json")
    before = tree(w)
    code, err = _main(["unblind", str(w / "res"), "--key", str(w / "res" / "unblinding.json"),
                       "--force"])
    assert code == 2 and "is the input" in err, err
    assert tree(w) == before
    (w / "res" / "unblinding.json").unlink()
    assert _main(["unblind", str(w / "res"), "--key", str(w / "key.json")])[0] == 0
    assert (w / "res" / "unblinded" / "done.json").is_file()


# -- the lock and the staging folders -------------------------------------------------------

@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo", "dangling"])
def test_lock_cannot_be_redirected(tmp_path, kind):
    victim = tmp_path / "victim.tsv"
    victim.write_text("participant_id\tgroup\nsub-01\tA\n")
    folder = OutputFolder.open(tmp_path / "out")
    lock = folder.root / ".emgkit.lock"
    if kind == "symlink":
        lock.symlink_to(victim)
    elif kind == "hardlink":
        os.link(victim, lock)
    elif kind == "fifo":
        os.mkfifo(lock)
    else:
        lock.symlink_to(tmp_path / "created_by_lock")
    with pytest.raises(OutputError, match="lock"), folder.lock():
        pass
    assert victim.read_text() == "participant_id\tgroup\nsub-01\tA\n"
    assert not (tmp_path / "created_by_lock").exists()


def test_lock_is_created_fresh_and_reused(tmp_path):
    folder = OutputFolder.open(tmp_path / "out")
    with folder.lock():
        assert "pid" in (folder.root / ".emgkit.lock").read_text()
    assert (folder.root / ".emgkit.lock").read_text() == ""
    with folder.lock():
        pass
    assert os.stat(folder.root / ".emgkit.lock").st_nlink == 1


def test_clean_staging_removes_only_emgkit_staging(tmp_path, caplog):
    folder = OutputFolder.open(tmp_path / "out")
    ours = folder.staging("sub-01")
    assert (ours / STAGING_MARK).is_file()
    (ours / "trials.tsv").write_text("x")
    empty = folder.root / f"{STAGING}sub-02-1"
    empty.mkdir()  # interrupted between mkdir and marker
    theirs = folder.root / f"{STAGING}mine"
    theirs.mkdir()
    (theirs / "data.txt").write_text("not emgkit's")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / STAGING_MARK).write_text("")
    (elsewhere / "precious.txt").write_text("keep")
    (folder.root / f"{STAGING}link").symlink_to(elsewhere)
    with caplog.at_level("WARNING", logger="emgkit"):
        folder.clean_staging()
    assert not ours.exists() and not empty.exists()
    assert (theirs / "data.txt").read_text() == "not emgkit's"
    assert (elsewhere / "precious.txt").read_text() == "keep"
    assert (folder.root / f"{STAGING}link").is_symlink()
    assert "not a staging folder emgkit made" in caplog.text


def test_published_result_holds_no_staging_marker(tmp_path):
    folder = OutputFolder.open(tmp_path / "out")
    tmp = folder.staging("group")
    (tmp / "trials.tsv").write_text("x")
    dest = folder.publish(tmp, "group")
    assert sorted(p.name for p in dest.iterdir()) == ["done.json", "trials.tsv"]
    assert set(json.loads((dest / "done.json").read_text())["files"]) == {"trials.tsv"}


def test_staging_refuses_a_foreign_folder_of_its_name(tmp_path):
    folder = OutputFolder.open(tmp_path / "out")
    name = folder.root / f"{STAGING}sub-01-{os.getpid()}"
    name.mkdir()
    (name / "data.txt").write_text("keep")
    with pytest.raises(OutputError, match="not a staging folder"):
        folder.staging("sub-01")
    assert (name / "data.txt").read_text() == "keep"


def test_output_folder_holding_a_link_is_refused(tmp_path, study_factory):
    folder = OutputFolder.open(tmp_path / "out")
    victim = tmp_path / "victim"
    victim.mkdir()
    (folder.root / "sub-01").symlink_to(victim)
    with pytest.raises(OutputError, match="holds symbolic links"):
        OutputFolder.open(tmp_path / "out")
    assert list(victim.iterdir()) == []


def test_atomic_write_never_follows_a_planted_temporary_link(tmp_path):
    from emgkit._files import write_text

    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (tmp_path / f".out.txt.{os.getpid()}.tmp").symlink_to(victim)
    write_text("new", tmp_path / "out.txt")
    assert victim.read_text() == "keep" and (tmp_path / "out.txt").read_text() == "new"


def test_simulate_into_its_own_study_again(tmp_path):
    out = tmp_path / "sim"
    args = ["simulate", str(out), "--subjects", "1", "--sfreq", "256", "--trials", "1"]
    assert _main(args)[0] == 0
    assert _main(args)[0] == 0  # emgkit's own simulated study: rewritten
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "dataset_description.json").write_text(json.dumps(
        {"Name": "my lab's raw data", "GeneratedBy": [{"Name": "BioSemi"}]}))
    code, err = _main(["simulate", str(tmp_path / "mine")] + args[2:])
    assert code == 2 and "not a study emgkit simulated" in err


# -- the property: random --out placements change nothing outside emgkit's own output --------

PROPERTY_COMMANDS = ["run", "process", "export", "report", "report_group", "simulate", "blind",
                     "init", "stats"]
PLACES = (sorted(INPUT_FILES) + INPUT_FOLDERS + HOSTILE
          + ["", "study/sub-01/emg", "res/group", "fresh"])


def _hosts():
    return st.tuples(st.sampled_from(PROPERTY_COMMANDS), st.sampled_from(PLACES),
                     st.sampled_from(["", "/new", "/new.tsv", "/../study", "/sub-01"]))


@settings(max_examples=int(os.environ.get("EMGKIT_GUARD_EXAMPLES", "25")), deadline=None,
          database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(case=_hosts())
def test_random_out_placements_change_nothing_else(template, case):
    name, place, suffix = case
    with tempfile.TemporaryDirectory() as tmp:
        w = copy_world(template, Path(tmp) / "w")
        out = str(w / place) + suffix if place not in ("", ".") else str(w) + suffix
        before = tree(w)
        code, err = _main(commands(w, out)[name])
        event(f"{name}: exit {code}")
        assert code in (0, 2), (case, err)
        assert "Traceback" not in err
        after = tree(w)
        changed = [p for p in before if after.get(p) != before[p]]
        assert changed == [], (case, changed)
        added = [p for p in after if p not in before]
        if code == 2:
            assert added == [], (case, added)
        else:  # only the outputs emgkit was given, what lies inside them, their new parents
            targets = [Path(os.path.realpath(out))]
            if name == "blind":
                targets += [targets[0].with_suffix(".json"),
                            Path(os.path.realpath(w / "new_key.json"))]
            for p in added:
                full = Path(os.path.realpath(w / p))
                assert any(full == t or t in full.parents or full in t.parents
                           for t in targets), (case, p)


def test_force_never_replaces_a_runs_inputs(tmp_path):
    """Found by a stranger: ``report --group R --out study.toml --force`` and ``export R
    --out participants.tsv --force`` replaced the study's config and table; a subject
    report could overwrite another participant's recording."""
    import hashlib

    from emgkit.cli import main
    from emgkit.sim.recording import SimParams
    from emgkit.sim.study import simulate_study
    from emgkit.study.run import run_study

    study = tmp_path / "s"
    simulate_study(study, 4, seed=2, sfreq=256.0, params=SimParams(sfreq=256.0, n_trials=2))
    run_study(study / "study.toml", tmp_path / "r", reports=False, progress=False)

    def digest():
        return {p: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(study.rglob("*")) if p.is_file()}

    before = digest()
    rec = study / "sub-01" / "emg" / "sub-01_task-mimicry_emg.bdf"
    other = study / "sub-02" / "emg" / "sub-02_task-mimicry_emg.bdf"
    cases = [["report", "--group", str(tmp_path / "r"), "--out", str(study / "study.toml")],
             ["export", str(tmp_path / "r"), "--out", str(study / "participants.tsv")],
             ["report", str(rec), "--config", str(study / "study.toml"), "--out", str(other)]]
    for argv in cases:
        assert main(argv + ["--force"]) == 2, argv
    assert digest() == before
