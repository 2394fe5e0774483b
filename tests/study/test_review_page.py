"""emgkit review: envelopes.npz, the offline page, its marks, and the --serve server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from emgkit.cli import main
from emgkit.epochs.baseline import correct
from emgkit.epochs.traces import (
    TrialExcerpts,
    decimate,
    dequantise,
    quantise,
    read_traces,
    write_traces,
)
from emgkit.errors import ConfigError
from emgkit.sim.study import simulate_study
from emgkit.study.review import read_overrides
from emgkit.study.review_page import (
    PAGE_START,
    apply_mark,
    overrides_text,
    review_data,
    write_review,
)
from emgkit.study.review_server import check_rows, make_server
from emgkit.study.run import run_study

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MUSCLES = ["corrugator", "zygomaticus", "depressor"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A 3-participant study, run once without overrides (config copy with the overrides
    key in ``review.toml``)."""
    root = tmp_path_factory.mktemp("review") / "study"
    simulate_study(root, 3, seed=6, sfreq=1000.0)
    text = (root / "study.toml").read_text()
    (root / "review.toml").write_text(text.replace("[study]\n",
                                                   '[study]\noverrides = "overrides.tsv"\n'))
    out = root.parent / "out"
    run_study(root / "study.toml", out, reports=False, group_step=False, progress=False)
    return root, out


def _fresh(study, tmp_path):
    """A copy of the study and its results (tests that write or rerun)."""
    root, out = study
    shutil.copytree(root, tmp_path / "study")
    shutil.copytree(out, tmp_path / "out")
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    run["config_file"] = str(tmp_path / "study" / "review.toml")
    (tmp_path / "out" / "run.json").write_text(json.dumps(run))
    return tmp_path / "study", tmp_path / "out"


def test_traces_are_block_means_of_the_corrected_envelope_within_budget(tmp_path):
    sfreq, n_trials = 2048.0, 240
    times = np.arange(int(-1.0 * sfreq), int(6.0 * sfreq)) / sfreq
    rng = np.random.default_rng(0)
    env = 5 + np.abs(rng.normal(0, 1, (n_trials, 3, times.size))).cumsum(-1) / times.size
    env[7, 1] = np.nan  # an epoch outside the recording
    base = env[..., times < 0].mean(-1)
    events = pd.DataFrame({"trial": np.arange(1, n_trials + 1)})
    trials = pd.DataFrame([{"trial": t, "muscle": m, "rejected": t == 3 and m == "depressor",
                            "reject_reason": "threshold" if t == 3 and m == "depressor" else ""}
                           for t in events["trial"] for m in MUSCLES])
    k = 40  # the excerpt: random bins, the least compressible case
    noise = rng.normal(0, 30, (n_trials, 3, k))
    excerpts = {"times": np.linspace(-1, 6, k), "low": -np.abs(noise), "high": np.abs(noise),
                "raw": rng.normal(0, 80, (n_trials, 3, k))}
    result = SimpleNamespace(
        muscles=MUSCLES, events=events, times=times, trials=trials, excerpts=excerpts,
        config=SimpleNamespace(epochs=SimpleNamespace(baseline_mode="ratio")),
        corrected_muscle=lambda m: correct(env[:, m], base[:, m, None], "ratio", None))
    path = write_traces(tmp_path / "envelopes.npz", result)
    assert path.stat().st_size <= 200_000  # the budget for 3 muscles × 240 trials
    tr = read_traces(path)
    assert tr["ex_low"].shape == (n_trials, 3, k)
    got = dequantise(tr["ex_raw"], tr["ex_raw_scale"])
    assert np.all(np.abs(got - excerpts["raw"]) <= tr["ex_raw_scale"][..., None] * 0.51)
    want = correct(env, base[..., None], "ratio", None)
    step = int(np.ceil(times.size / 100))
    n = times.size // step
    ref = want[..., :n * step].reshape(n_trials, 3, n, step).mean(-1)
    got = dequantise(tr["data"], tr["scale"])
    assert np.isnan(got[7, 1]).all() and not np.isnan(np.delete(got, 7, 0)).any()
    ok = ~np.isnan(ref)
    peak = np.abs(np.where(ok, ref, 0)).max(axis=-1, keepdims=True)
    assert np.all(np.abs(got - ref)[ok] <= (peak / 127 * 0.5 + 1e-9).repeat(n, -1)[ok])
    np.testing.assert_allclose(tr["times"], times[:n * step].reshape(n, step).mean(-1),
                               rtol=1e-6)
    assert tr["auto_rejected"][2, 2] and tr["auto_reason"][2, 2] == "threshold"
    assert tr["auto_rejected"].sum() == 1 and list(tr["muscles"]) == MUSCLES


def test_decimate_and_quantise_small_cases():
    v, c = decimate(np.arange(10.0)[None], np.arange(10.0), max_points=4)
    np.testing.assert_allclose(v, [[1, 4, 7]])  # blocks of 3, the incomplete last dropped
    np.testing.assert_allclose(c, [1, 4, 7])
    codes, scale = quantise(np.array([[0.0, 0.0], [np.nan, np.nan]]))
    assert scale.tolist() == [1.0, 1.0] and codes[1].tolist() == [-128, -128]
    codes, scale = quantise(np.array([[[1.0, -2.0], [4.0, np.nan]]]), 2)  # one shared scale
    assert codes.dtype == np.int8 and scale.tolist() == [np.float32(4 / 127)]
    assert codes.tolist() == [[[32, -64], [127, -128]]]
    back = dequantise(codes, scale)
    np.testing.assert_allclose(back[0, 0], [1.0, -2.0], atol=2 / 127)
    assert np.isnan(back[0, 1, 1])


def test_excerpts_gathered_block_by_block_equal_those_of_the_whole_signal():
    rng = np.random.default_rng(3)
    n_times, n_epoch = 5000, 333
    x = rng.normal(0, 20, (2, n_times)).cumsum(-1) * 0.01 + rng.normal(0, 5, (2, n_times))
    y = rng.normal(0, 10, (2, n_times))
    starts = np.array([-50, 10, 900, 1234, 4667, 4700])  # the last ends after the recording
    inside = (starts >= 0) & (starts + n_epoch <= n_times)
    times = (np.arange(n_epoch) - 100) / 500.0
    whole = TrialExcerpts(starts, n_epoch, inside, 2, points=40)
    whole.add(0, n_times, x, 0, y, 0)
    parts = TrialExcerpts(starts, n_epoch, inside, 2, points=40)
    for a, b in [(0, 950), (950, 1300), (1300, 1301), (1301, 5000)]:  # blocks with margins
        x0, y0 = max(0, a - 7), max(0, a - 3)
        parts.add(a, b, x[:, x0:b + 5], x0, y[:, y0:b + 2], y0)
    got, ref = parts.result(times), whole.result(times)
    step = parts.step
    assert step == 9 and parts.k == 37  # ceil(333 / 40) samples, the last bin shorter
    for k in ("low", "high", "raw"):
        np.testing.assert_allclose(got[k], ref[k])
        assert np.isnan(got[k][[0, 5]]).all() and not np.isnan(got[k][1:5]).any()
    s = starts[2]
    seg_y, seg_x = y[:, s:s + n_epoch], x[:, s:s + n_epoch]
    np.testing.assert_allclose(got["low"][2, :, 3], seg_y[:, 27:36].min(-1))
    np.testing.assert_allclose(got["high"][2, :, -1], seg_y[:, 324:].max(-1))
    np.testing.assert_allclose(got["raw"][2, :, 1],
                               seg_x[:, 9:18].mean(-1) - seg_x.mean(-1))
    np.testing.assert_allclose(got["times"][[0, -1]], [times[:9].mean(), times[324:].mean()])


def test_run_writes_envelopes_in_the_manifest_within_budget(study):
    root, out = study
    done = json.loads((out / "sub-01" / "done.json").read_text())
    assert "envelopes.npz" in done["files"]
    rec = root / "sub-01" / "emg" / "sub-01_task-mimicry_emg.bdf"
    size = (out / "sub-01" / "envelopes.npz").stat().st_size
    assert size <= 0.05 * rec.stat().st_size
    tr = read_traces(out / "sub-01" / "envelopes.npz")
    trials = pd.read_csv(out / "sub-01" / "trials.tsv", sep="\t", keep_default_na=False)
    assert tr["trial"].tolist() == sorted(set(trials["trial"]))
    # the response-window mean of a trace is close to the trial's score (same function)
    one = trials[(trials["trial"] == 2) & (trials["muscle"] == "zygomaticus")].iloc[0]
    win = (tr["times"] >= 0.5) & (tr["times"] <= 3.0)
    trace = dequantise(tr["data"], tr["scale"])[1, 1]
    assert trace[win].mean() == pytest.approx(one["score"], rel=0.05)


def test_run_writes_the_signal_excerpt_of_every_trial_from_its_one_pass(study):
    """The excerpts in envelopes.npz equal those of the whole filtered and input signals
    (one block, no threads) within half a count."""
    from emgkit import load_config
    from emgkit.epochs.cut import epoch_starts, epoch_times
    from emgkit.pipeline import open_recording, recording_config
    from emgkit.signal.chunked import process_blocks
    from emgkit.signal.filter import design_filter

    root, out = study
    rec = root / "sub-02" / "emg" / "sub-02_task-mimicry_emg.bdf"
    config = recording_config(rec, load_config(root / "study.toml"))
    pp, ep = config.preprocess, config.epochs
    loaded, events = open_recording(rec, config, "sub-02")
    sos = design_filter(loaded.sfreq, pp.l_freq, pp.h_freq, order=pp.order, notch=pp.notch,
                        harmonics=pp.notch_harmonics)
    times = epoch_times(loaded.sfreq, ep.tmin, ep.tmax)
    starts = epoch_starts(events["onset_s"].to_numpy(), loaded.sfreq, ep.tmin, loaded.n_times)
    _, inside, full = process_blocks(loaded.source, sos, 1, starts, len(times),
                                     keep=("derived", "filtered"), workers=1,
                                     block=loaded.n_times)
    ref = TrialExcerpts(starts, len(times), inside, len(loaded.resolved))
    ref.add(0, loaded.n_times, full["derived"], 0, full["filtered"], 0)
    want = ref.result(times)
    tr = read_traces(out / "sub-02" / "envelopes.npz")
    assert tr["ex_low"].dtype == np.int8 and tr["ex_low"].shape == want["low"].shape
    band = np.stack([tr["ex_low"], tr["ex_high"]], axis=2)
    got = {"low": dequantise(band, tr["ex_scale"])[:, :, 0],
           "high": dequantise(band, tr["ex_scale"])[:, :, 1],
           "raw": dequantise(tr["ex_raw"], tr["ex_raw_scale"])}
    for k, scale in [("low", tr["ex_scale"]), ("high", tr["ex_scale"]),
                     ("raw", tr["ex_raw_scale"])]:
        tol = scale[..., None].astype(float) * 0.5 + 1e-3 * np.abs(want[k]) + 1e-6
        assert np.all(np.abs(got[k] - want[k]) <= tol), k
    assert (want["low"] < 0).all() and (want["high"] > 0).all()  # a band around zero
    np.testing.assert_allclose(tr["ex_times"], want["times"], atol=1e-5)
    assert tr["ex_times"][0] < 0 < tr["ex_times"][-1] and len(tr["ex_times"]) <= 40


def test_review_page_is_self_contained_and_shows_the_run(study, tmp_path, capsys):
    root, out = _fresh(study, tmp_path)
    assert main(["review", str(out)]) == 0
    page = out / "review" / "index.html"
    assert capsys.readouterr().out.strip() == str(page)
    html = page.read_text()
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)\s*=", html, re.IGNORECASE)
    assert not re.search(r"https?://", html)
    data = json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>',
                                html, re.DOTALL).group(1))
    assert [p["id"] for p in data["participants"]] == ["sub-01", "sub-02", "sub-03"]
    assert data["conditions"] == ["happy", "angry", "sad", "neutral"]
    assert data["response"] == [0.5, 3.0] and data["muscles"] == MUSCLES
    assert page.stat().st_size < 3 * 250_000  # ≈ 10 MB for 40 × 240 trials
    # the page is written again (it is emgkit's), but never through a link
    assert main(["review", str(out)]) == 0
    page.write_text("<html>my notes on this study</html>")  # a file emgkit did not write
    assert main(["review", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert page.read_text() == "<html>my notes on this study</html>"
    assert main(["review", str(out), "--force"]) == 0
    assert page.read_text().startswith(PAGE_START)
    page.unlink()
    page.symlink_to(root / "study.toml")
    assert main(["review", str(out)]) == 2


def test_apply_mark_keeps_the_table_strict():
    trials = list(range(1, 7))
    rows = apply_mark([], "sub-01", trials, MUSCLES, 2, "*", "exclude", "yawn\tbig", "AB")
    rows = apply_mark(rows, "sub-01", trials, MUSCLES, 2, "zygomaticus", "include", "ok", "AB")
    rows = apply_mark(rows, "sub-02", trials, MUSCLES, 4, "depressor", "exclude", "", "CD")
    rows = apply_mark(rows, "sub-02", trials, MUSCLES, 4, "depressor", "exclude", "x", "CD")
    got = [(r["participant_id"], r["trial"], r["muscle"], r["action"]) for r in rows]
    assert got == [("sub-01", "2", "corrugator", "exclude"), ("sub-01", "2", "depressor",
                                                             "exclude"),
                   ("sub-01", "2", "zygomaticus", "include"),
                   ("sub-02", "4", "depressor", "exclude")]
    assert rows[0]["reason"] == "yawn big"
    with pytest.raises(ConfigError, match="action 'drop'"):
        apply_mark(rows, "sub-01", trials, MUSCLES, 1, "*", "drop")


def test_downloaded_overrides_rerun_only_the_participant_touched(study, tmp_path):
    root, out = _fresh(study, tmp_path)
    data = review_data(out)
    p2 = next(p for p in data["participants"] if p["id"] == "sub-02")
    rows = []
    for trial, muscle in [(p2["trials"][0], "*"), (p2["trials"][1], "zygomaticus"),
                          (p2["trials"][2], "corrugator")]:
        rows = apply_mark(rows, "sub-02", p2["trials"], MUSCLES, trial, muscle, "exclude",
                          "movement", "AB")
    rows = rows[:-1]  # undo the last
    (root / "overrides.tsv").write_text(overrides_text(rows))
    record = run_study(root / "review.toml", out, reports=False, group_step=False,
                       progress=False)
    status = {k: v["status"] for k, v in record["participants"].items()}
    assert status == {"sub-01": "skipped", "sub-02": "done", "sub-03": "skipped"}
    t = pd.read_csv(out / "sub-02" / "trials.tsv", sep="\t", keep_default_na=False)
    manual = t[t["reject_reason"] == "manual"]
    want = {(p2["trials"][0], m) for m in MUSCLES} | {(p2["trials"][1], "zygomaticus")}
    assert set(zip(manual["trial"], manual["muscle"])) == want
    # the automatic decisions are kept in envelopes.npz; the page shows both
    tr = read_traces(out / "sub-02" / "envelopes.npz")
    assert not tr["auto_reason"].tolist().count("manual")
    again = review_data(out)
    assert len(again["rows"]) == 2
    cur = next(p for p in again["participants"] if p["id"] == "sub-02")["current"]
    assert cur[0] == ["manual"] * 3


def _request(url, body=None, origin=None):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    if origin:
        req.add_header("Origin", origin)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_server_saves_valid_marks_and_refuses_bad_ones(study, tmp_path):
    root, out = _fresh(study, tmp_path)
    server = make_server(out)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base, token = server.url.split("?")
        assert server.url.startswith("http://127.0.0.1:")
        code, page = _request(server.url)
        assert code == 200 and token.split("=")[1] in page
        assert _request(base)[0] == 403  # no token
        good = {"rows": [{"participant_id": "sub-01", "trial": "2", "muscle": "*",
                          "action": "exclude", "reason": "yawn", "reviewer": "AB"}]}
        post = base + "overrides?" + token
        assert _request(post, good, origin="http://evil.example")[0] == 403
        code, text = _request(post, good, origin=base.rstrip("/"))
        assert code == 200, text
        table = read_overrides(root / "overrides.tsv", participants=["01", "02", "03"],
                               muscles=MUSCLES)
        assert table["sub-01"][0]["trial"] == 2 and table["sub-01"][0]["reason"] == "yawn"
        before = (root / "overrides.tsv").read_bytes()
        bad = {"rows": good["rows"] + [dict(good["rows"][0], trial="x")]}
        code, text = _request(post, bad)
        assert code == 400 and "line 3: trial 'x' is not a trial number" in text
        assert str(root / "overrides.tsv") in text
        assert _request(post, {"rows": "nope"})[0] == 400
        code, text = _request(post, [1, 2])  # not an object
        assert code == 400 and '{"rows": [...]}' in text
        # nested deeper than json's stack: a 400 answer, not a dropped connection
        deep = urllib.request.Request(post, data=b"[" * 100_000 + b"]" * 100_000)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(deep, timeout=10)
        assert err.value.code == 400 and b"nested too deeply" in err.value.read()
        assert _request(post + "x", good)[0] == 403  # a token it merely starts with
        # a new mark on a trial the results do not have: emgkit run would refuse the table
        code, text = _request(post, {"rows": [dict(good["rows"][0], trial="999")]})
        assert code == 400 and "line 2: trial 999 of sub-01 is not in its results" in text
        assert (root / "overrides.tsv").read_bytes() == before
        # ... but a stale mark the table already holds is kept (the page shows it as stale)
        stale = dict(good["rows"][0], trial="99", reason="old mark", reviewer="ZZ")
        (root / "overrides.tsv").write_text(overrides_text([stale]))
        assert _request(server.url)[0] == 200  # the page as loaded now
        code, text = _request(post, {"rows": [stale, dict(good["rows"][0], trial="3")]})
        assert code == 200, text
        (root / "overrides.tsv").write_bytes(before)
        assert (root / "overrides.tsv").read_bytes() == before  # kept as it was
        assert _request(base + "etc/passwd?" + token)[0] == 404
    finally:
        server.shutdown()
        server.server_close()


def test_check_rows_names_the_overrides_file(tmp_path):
    with pytest.raises(ConfigError, match=r"o\.tsv line 2: muscle 'frontalis'"):
        check_rows([{"participant_id": "sub-01", "trial": "1", "muscle": "frontalis",
                     "action": "exclude"}], path=tmp_path / "o.tsv", participants=["01"],
                   muscles=MUSCLES)


def _chromium(url, tmp_path, *args):
    profile = tmp_path / "profile"
    shutil.rmtree(profile, ignore_errors=True)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--window-size=1300,900", *args, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_page_marks_with_keys_and_mouse_like_apply_mark(study, tmp_path):
    root, out = _fresh(study, tmp_path)
    (root / "overrides.tsv").write_text(
        "participant_id\ttrial\tmuscle\taction\treason\treviewer\n"
        "sub-01\t99\t*\texclude\told mark\tZZ\n")  # a trial the results do not have
    page = write_review(out)
    keys = "x,j,x,click:5:zygomaticus,x,u,click:6:*,x"
    dom = _chromium(f"{page.as_uri()}#sub-02&keys={keys}&reviewer=AB", tmp_path,
                    "--dump-dom").stdout
    got = re.search(r'<pre id="tsv">(.*?)</pre>', dom, re.DOTALL).group(1)
    p2 = next(p for p in review_data(out)["participants"] if p["id"] == "sub-02")
    order = [t for c in ["happy", "angry", "sad", "neutral"]
             for t, tc in zip(p2["trials"], p2["conditions"]) if tc == c]
    rows = [{"participant_id": "sub-01", "trial": "99", "muscle": "*", "action": "exclude",
             "reason": "old mark", "reviewer": "ZZ"}]
    for trial, muscle in [(order[0], "*"), (order[1], "*"), (6, "*")]:
        rows = apply_mark(rows, "sub-02", p2["trials"], MUSCLES, trial, muscle, "exclude",
                          "movement", "AB")
    assert got == overrides_text(rows)
    assert 'id="stale"' in _chromium(f"{page.as_uri()}#sub-01", tmp_path, "--dump-dom").stdout
    for name, hash_ in [("overview", ""), ("participant", "#sub-02")]:
        shot = tmp_path / f"{name}.png"
        _chromium(page.as_uri() + hash_, tmp_path, f"--screenshot={shot}")
        assert shot.stat().st_size > 10_000


def test_markup_typed_in_a_reason_cannot_break_the_page(study, tmp_path):
    # a reason "<!--<script>" used to put the HTML parser in its double-escaped script state:
    # the page's own script was swallowed and it stayed at "Loading…"
    root, out = _fresh(study, tmp_path)
    reason = "<!--<script>a & b</script>"
    (root / "overrides.tsv").write_text(
        "participant_id\ttrial\tmuscle\taction\treason\treviewer\n"
        f"sub-01\t2\t*\texclude\t{reason}\tAB\n")
    page = write_review(out)
    html = page.read_text()
    match = re.search(r'<script id="data" type="application/json">(.*?)</script>', html,
                      re.DOTALL)
    assert not set("<>&") & set(match.group(1))
    assert json.loads(match.group(1))["rows"][0]["reason"] == reason
    if CHROMIUM is not None:
        dom = _chromium(page.as_uri(), tmp_path, "--dump-dom").stdout
        assert 'id="overview"' in dom and "Loading…" not in dom


def test_a_broken_run_json_is_named_not_a_traceback(study, tmp_path, capsys):
    _, out = _fresh(study, tmp_path)
    for text in ("{", "[1, 2]", "\udcff"):
        (out / "run.json").write_text(text, errors="surrogateescape")
        assert main(["review", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"{out / 'run.json'} " in err and "rerun emgkit run" in err
        assert "Traceback" not in err
