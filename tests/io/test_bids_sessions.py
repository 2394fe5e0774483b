"""Several recordings per participant in EMG-BIDS: ``emgkit bids convert --recordings``
gives each its ``ses-``/``acq-``/``run-`` entities, ``emgkit run --bids`` finds every
session and run through mne-bids and processes each recording on its own, the trials
carrying ``session``/``run`` columns, as the run on the original files with the same table."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from emgkit.cli import main
from emgkit.errors import OutputError, ReadError
from emgkit.study.plan import folder_name, plan_from_bids, recording_key, split_key

pytest.importorskip("mne_bids")


def test_recording_keys():
    key = recording_key("sub-01", session="pre", acquisition="face", run="2")
    assert key == "sub-01_ses-pre_acq-face_run-2"
    assert split_key(key) == ("sub-01", {"session": "ses-pre", "acquisition": "acq-face",
                                         "run": "run-2"})
    assert split_key("sub-01") == ("sub-01", {})
    assert split_key("sub-01_ses-1") == ("sub-01", {"session": "ses-1"})
    assert folder_name("sub-01_ses-pre_run-1") == "sub-01_ses-pre_run-1"
    assert recording_key("sub-01", run="") == "sub-01"
    with pytest.raises(OutputError, match="not BIDS entities"):
        split_key("sub-01_ses-a b")
    with pytest.raises(OutputError, match="not BIDS entities"):
        split_key("sub-01_run-1_x")


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    """Eight simulated 512 Hz recordings (2 trials per condition) as four participants'
    sessions pre (runs 1 and 2, the second recorded with acq-b) and post, the recordings
    table, and the converted dataset."""
    from emgkit.sim.recording import SimParams
    from emgkit.sim.study import simulate_study

    base = tmp_path_factory.mktemp("sessions")
    sim = base / "sim"
    simulate_study(sim, 8, seed=11, sfreq=512.0, params=SimParams(sfreq=512.0, n_trials=2))
    src = base / "src"
    src.mkdir()
    rows = ["participant_id\trecording\tsession\tacquisition\trun"]
    plan = {1: ("pre", "", "1"), 2: ("pre", "b", "2"), 3: ("post", "", "")}
    for k in range(1, 5):
        sims = {1: k, 2: k + 4, 3: 9 - k}
        for n, (ses, acq, run) in plan.items():
            name = f"p{k}_{ses}{run}_task-mimicry.bdf"
            shutil.copy(sim / f"sub-0{sims[n]}" / "emg" /
                        f"sub-0{sims[n]}_task-mimicry_emg.bdf", src / name)
            rows.append(f"0{k}\t{name}\t{ses}\t{acq}\t{run or 'n/a'}")
    table = src / "recordings.tsv"
    table.write_text("\n".join(rows) + "\n")
    parts = pd.read_csv(sim / "participants.tsv", sep="\t").iloc[:4]
    parts.to_csv(src / "participants.tsv", sep="\t", index=False)
    (src / "study.toml").write_text((sim / "study.toml").read_text())
    out = base / "bids"
    assert main(["bids", "convert", str(src), "--config", str(src / "study.toml"),
                 "--out", str(out), "--task", "mimicry", "--recordings", str(table)]) == 0
    return src, out, table


def test_layout_and_validator(sessions):
    from bids_validator import validate

    src, out, _ = sessions
    emg = out / "sub-02" / "ses-pre" / "emg"
    assert (emg / "sub-02_ses-pre_task-mimicry_run-1_emg.bdf").read_bytes() == \
        (src / "p2_pre1_task-mimicry.bdf").read_bytes()
    assert (emg / "sub-02_ses-pre_task-mimicry_acq-b_run-2_emg.bdf").is_file()
    assert (out / "sub-02/ses-post/emg/sub-02_ses-post_task-mimicry_emg.bdf").is_file()
    errors, _, report = validate(out)
    assert errors == [], errors
    assert sorted(report["summary"]["sessions"]) == ["post", "pre"]
    # copies with BIDS names in sourcedata/ and derivatives/ are not raw data
    for extra in ("sourcedata", "derivatives/x"):
        (out.parent / "extra" / extra / "sub-01/emg").mkdir(parents=True)
    shutil.copytree(out, out.parent / "extra", dirs_exist_ok=True)
    for extra in ("sourcedata", "derivatives/x"):
        shutil.copy(emg / "sub-02_ses-pre_task-mimicry_run-1_emg.bdf",
                    out.parent / "extra" / extra / "sub-01/emg/sub-01_task-mimicry_emg.bdf")
    plan = plan_from_bids(out.parent / "extra", task="mimicry")
    assert sorted(plan.recordings) == sorted(
        f"sub-0{k}_{e}" for k in range(1, 5)
        for e in ("ses-pre_run-1", "ses-pre_acq-b_run-2", "ses-post"))


@pytest.mark.slow
def test_run_on_sessions_matches_original(sessions, tmp_path):
    """Each recording on its own, the trials with session/acquisition/run columns, equal
    to 1e-9 to the run on the original files with the same recordings table."""
    from test_bids_convert import MINIMAL

    src, out, table = sessions
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["run", str(src / "study.toml"), "--recordings", str(table), "--out", str(a),
                 "--no-reports"]) == 0
    cfg = tmp_path / "minimal.toml"
    cfg.write_text(MINIMAL)
    assert main(["run", str(cfg), "--bids", str(out), "--out", str(b), "--no-reports"]) == 0
    ta = pd.read_csv(a / "group" / "trials.tsv", sep="\t")
    tb = pd.read_csv(b / "group" / "trials.tsv", sep="\t")
    assert list(ta.columns[:4]) == ["participant_id", "session", "acquisition", "run"]
    assert len(ta) == len(tb) == 4 * 3 * 4 * 2 * 3
    keys = ["participant_id", "session", "acquisition", "run", "trial", "muscle"]
    ta = ta.sort_values(keys, na_position="first").reset_index(drop=True)
    tb = tb.sort_values(keys, na_position="first").reset_index(drop=True)
    assert set(ta["run"].dropna()) == {"run-1", "run-2"}
    assert set(ta["acquisition"].dropna()) == {"acq-b"}
    assert ta["session"].value_counts().to_dict() == {"ses-pre": 192, "ses-post": 96}
    assert (tb["code"] == ta["condition"]).all()
    for col in ta.columns.drop("code"):
        if pd.api.types.is_float_dtype(ta[col]) and not ta[col].isna().all():
            np.testing.assert_allclose(tb[col], ta[col], rtol=0, atol=1e-9, err_msg=col)
        else:
            pd.testing.assert_series_equal(tb[col], ta[col], obj=col)
    # every recording has its own output folder
    assert (b / "sub-03_ses-pre_acq-b_run-2").is_dir() and (b / "sub-03_ses-post").is_dir()


def test_recordings_table_errors(sessions, tmp_path):
    from emgkit.config import load_config
    from emgkit.study.plan import plan_from_recordings

    src, _, table = sessions
    config = load_config(src / "study.toml")
    bad = tmp_path / "r.tsv"
    bad.write_text(table.read_text() + "01\tx.bdf\tpre\t\t1\n")
    with pytest.raises(ReadError, match="second recording for sub-01_ses-pre_run-1"):
        plan_from_recordings(config, bad, src)
    bad.write_text("participant_id\trecording\trun\n01\tx.bdf\tone\n")
    with pytest.raises(ReadError, match="run 'one' is not a BIDS index"):
        plan_from_recordings(config, bad, src)
    bad.write_text("participant_id\trecording\n09\tx.bdf\n")
    with pytest.raises(ReadError, match="participant 'sub-09' is not in"):
        plan_from_recordings(config, bad, src)
    # hostile entity labels never become folder names (../x, /abs)
    for label in ("../x", "/abs", "pre_run-1"):
        bad.write_text(f"participant_id\trecording\tsession\n01\tx.bdf\t{label}\n")
        with pytest.raises(ReadError, match="is not a BIDS label"):
            plan_from_recordings(config, bad, src)


def test_review_marks_one_recording_of_a_participant(sessions, tmp_path):
    """The review page names a recording by its key (``sub-01_ses-pre_acq-b_run-2``): the
    server saves such a mark and emgkit run applies it to that recording alone (it used to
    refuse the id as no BIDS label); a participant id still marks all its recordings."""
    import json
    import threading
    import urllib.request

    from emgkit.study.review_page import review_data
    from emgkit.study.review_server import make_server

    src, _, _ = sessions
    root = tmp_path / "src"
    shutil.copytree(src, root)
    (root / "study.toml").write_text((root / "study.toml").read_text().replace(
        "[study]\n", '[study]\noverrides = "overrides.tsv"\n'))
    (root / "overrides.tsv").write_text("participant_id\ttrial\tmuscle\taction\n")
    out = tmp_path / "out"
    run = ["run", str(root / "study.toml"), "--recordings", str(root / "recordings.tsv"),
           "--out", str(out), "--no-reports"]
    assert main(run) == 0
    one = "sub-01_ses-pre_acq-b_run-2"
    assert one in [p["id"] for p in review_data(out)["participants"]]
    server = make_server(out)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base, token = server.url.split("?")

    def post(rows):
        req = urllib.request.Request(base + "overrides?" + token,
                                     data=json.dumps({"rows": rows}).encode())
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    mark = {"participant_id": one, "trial": "2", "muscle": "corrugator",
            "action": "exclude", "reason": "yawn", "reviewer": "AB"}
    try:
        code, text = post([dict(mark, participant_id="sub-01_ses-mid")])
        assert code == 400 and "'sub-01_ses-mid' is not one of this study's recordings" in text
        code, text = post([mark, dict(mark, participant_id="sub-02", trial="*",
                                      muscle="depressor"),
                           dict(mark, participant_id="sub-02_ses-post", trial="1",
                                muscle="depressor", action="include")])
        assert code == 400 and "line 4: includes" in text and "line 3 excludes" in text
        code, text = post([mark, dict(mark, participant_id="sub-02", trial="1",
                                      muscle="depressor")])
        assert code == 200, text
    finally:
        server.shutdown()
        server.server_close()
    assert main(run) == 0
    record = json.loads((out / "run.json").read_text())
    done = sorted(k for k, v in record["participants"].items() if v["status"] == "done")
    assert done == [one, "sub-02_ses-post", "sub-02_ses-pre_acq-b_run-2", "sub-02_ses-pre_run-1"]
    trials = pd.read_csv(out / "group" / "trials.tsv", sep="\t", keep_default_na=False)
    manual = trials[trials["reject_reason"] == "manual"]
    first = manual[manual["participant_id"] == "sub-01"]
    assert first[["session", "acquisition", "run", "trial", "muscle"]].values.tolist() == [
        ["ses-pre", "acq-b", "run-2", 2, "corrugator"]]
    second = manual[manual["participant_id"] == "sub-02"]
    assert second[["trial", "muscle"]].values.tolist() == [[1, "depressor"]] * 3
