"""PDF reports: page count, text, atomic writing, and figures for edge cases."""

import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import recording_of
from matplotlib.figure import Figure

from emgkit import process_recording
from emgkit.cli import main
from emgkit.report.subject import subject_report
from emgkit.viz import group as vizgroup
from emgkit.viz import qc as vizqc

pypdf = pytest.importorskip("pypdf")


def _text(path):
    reader = pypdf.PdfReader(str(path))
    return len(reader.pages), "\n".join(p.extract_text() for p in reader.pages)


@pytest.fixture(scope="module")
def processed(study_factory):
    study = study_factory("bdf", 1000.0, n_subjects=4, seed=3)
    results = {}
    for sub in ("sub-01", "sub-02", "sub-03", "sub-04"):
        results[sub] = process_recording(recording_of(study, sub), study / "study.toml")
    return study, results


def test_subject_report_pages_and_text(processed, tmp_path):
    study, results = processed
    out = tmp_path / "sub-01.pdf"
    subject_report(recording_of(study), study / "study.toml", out, result=results["sub-01"])
    n, text = _text(out)
    assert n == 8  # the two rejection tables share a page
    # matplotlib 3.7 (the declared floor) writes — and − without a text mapping: the page
    # shows them, pypdf's text extraction drops them
    text = text.replace("—", "").replace("−", "")
    for needle in ("emgkit report — sub-01", "sha256", "Sampling rate:    1000 Hz",
                   "corrugator: EXG1 − EXG2", "Group:            placebo", "Signal quality",
                   "Methods", "band-pass filtered between 20 and 450 Hz",
                   "ratio to the baseline mean", "Counts per condition × muscle", "Rejected trials",
                   "Whole session", "Spectra before and after filtering"):
        needle = needle.replace("—", "").replace("−", "")
        assert needle in text, needle
    assert not list(tmp_path.glob(".*tmp"))


def test_blinded_report_and_cli(processed, tmp_path, capsys):
    study, _ = processed
    cfg = tmp_path / "study.toml"
    cfg.write_text((study / "study.toml").read_text() + "\n[report]\nblinded = true\n")
    shutil.copy(study / "participants.tsv", tmp_path / "participants.tsv")
    out = tmp_path / "r.pdf"
    assert main(["report", str(recording_of(study, "sub-02")), "--config", str(cfg),
                 "--out", str(out)]) == 0
    _, text = _text(out)
    assert "Group:            blinded" in text and "naltrexone" not in text


def test_failed_report_leaves_no_file(processed, tmp_path, monkeypatch):
    study, results = processed
    import emgkit.viz.qc as vizqc_module

    def boom(*a, **k):
        raise RuntimeError("plot failed")

    monkeypatch.setattr(vizqc_module, "plot_scores", boom)
    out = tmp_path / "x.pdf"
    with pytest.raises(RuntimeError):
        subject_report(recording_of(study), study / "study.toml", out,
                       result=results["sub-01"])
    assert list(tmp_path.iterdir()) == []


def test_group_report(processed, tmp_path):
    """The group report reads results and fits nothing: without model tables it says so
    and writes nothing beside the PDF; after an explicit fit it shows the model pages."""
    import emgkit

    study, results = processed
    res_dir = tmp_path / "res"
    for sub, res in results.items():
        res.write(res_dir / sub)
    shutil.copy(study / "participants.tsv", res_dir / "participants.tsv")
    before = sorted(p.relative_to(res_dir) for p in res_dir.rglob("*"))
    out = tmp_path / "plain.pdf"
    assert main(["report", "--group", str(res_dir), "--out", str(out)]) == 0
    assert sorted(p.relative_to(res_dir) for p in res_dir.rglob("*")) == before
    _, text = _text(out)
    assert "No model results in group/" in text and "Type III tests" not in text
    # fitting is an explicit step (emgkit run's group step does the same)
    parts = emgkit.study.read_participants(res_dir / "participants.tsv")
    split, models = emgkit.stats.fit_models(emgkit.read_trials(res_dir),
                                           "score ~ group * condition", participants=parts)
    emgkit.stats.write_models(split, models, res_dir / "group")
    out = tmp_path / "group.pdf"
    assert main(["report", "--group", str(res_dir), "--out", str(out)]) == 0
    n, text = _text(out)
    assert n >= 7
    for needle in ("emgkit group report", "Grand-average time courses", "Estimated marginal",
                   "Raw baseline levels by group", "Type III tests", "Contrasts (p Holm",
                   "Data quality per participant", "naltrexone - placebo"):
        assert needle in text, needle
    assert "No model results" not in text
    assert "Model diagnostics (muscle-corrugator)" in text
    # the model pages state the small groups (2 per group here) for every muscle
    flat = " ".join(text.split())
    for m in results["sub-01"].muscles:
        assert f"muscle-{m}: fewer than 5 participants in a level of group" in flat, m
    tables = emgkit.stats.read_models(res_dir / "group")
    assert set(tables) >= {"anova", "contrasts", "emmeans", "fixed_effects", "summary"}


def _edge(result, kind):
    r = result
    trials = r.trials.copy()
    if kind == "all_rejected":
        trials["rejected"] = True
        trials["reject_reason"] = "baseline_outlier"
        r = replace(r, trials=trials)
    elif kind == "one_trial":
        keep = r.events.index[:1]
        r = replace(r, events=r.events.loc[keep], envelope_epochs=r.envelope_epochs[keep],
                    baseline_level=r.baseline_level[keep],
                    trials=trials[trials.trial == r.events.trial.iloc[0]])
    elif kind == "one_muscle":
        ch = {"corrugator": r.channels["corrugator"]}
        q = dict(r.quality)
        for k in ("psd_raw", "psd_filtered", "excerpt_raw", "excerpt_filtered",
                  "session_envelope", "window_power"):
            q[k] = q[k][:1]
        r = replace(r, channels=ch, envelope_epochs=r.envelope_epochs[:, :1],
                    baseline_level=r.baseline_level[:, :1],
                    trials=trials[trials.muscle == "corrugator"], quality=q)
    return r


@pytest.mark.parametrize("kind", ["all_rejected", "one_trial", "one_muscle"])
def test_figures_for_edge_cases(processed, kind, tmp_path):
    _, results = processed
    r = _edge(results["sub-01"], kind)
    for fn in (vizqc.plot_raw_excerpt, vizqc.plot_psd, vizqc.plot_session,
               vizqc.plot_trial_images, vizqc.plot_scores):
        assert isinstance(fn(r), Figure)
    assert isinstance(r.plot_average(), Figure)
    if kind == "all_rejected":
        fig = r.plot_average()
        assert any("no usable trials" in t.get_text() for a in fig.axes for t in a.texts)


def test_group_figures_edge_cases(processed):
    _, results = processed
    trials = pd.concat([r.trials for r in results.values()])
    parts = pd.DataFrame({"participant_id": list(results), "group": ["placebo", "naltrexone",
                                                                     "placebo", "naltrexone"]})
    one = trials[trials.participant_id == "sub-01"]
    tcs = results["sub-01"].timecourses
    for fig in (vizgroup.plot_group_timecourses(tcs, parts.iloc[:1]),
                vizgroup.plot_baselines(one, parts),
                vizgroup.plot_emmeans(pd.DataFrame({"group": ["placebo", "naltrexone"],
                                                    "condition": ["happy", "happy"],
                                                    "emmean": [1.0, 1.2], "ci_low": [0.9, 1.0],
                                                    "ci_high": [1.1, 1.4]}))):
        assert isinstance(fig, Figure)
    assert np.isfinite(trials["baseline"]).any()


@pytest.mark.parametrize("n_cols", [3, 11, 30])
def test_tables_fit_the_page(n_cols):
    """No table column is cut off: wide tables shrink, go landscape, then split columns."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from emgkit.report.pages import table_pages

    df = pd.DataFrame({f"snr_db_zygomaticus_{k}": np.linspace(0, 1, 50) * 1e3 + k
                       for k in range(n_cols)})
    df.insert(0, "participant_id", [f"sub-{i:02d}" for i in range(50)])
    pages = table_pages("Data quality per participant", df)
    seen = set()
    for fig in pages:
        FigureCanvasAgg(fig)
        renderer = fig.canvas.get_renderer()
        for t in fig.texts:
            box = t.get_window_extent(renderer)
            assert box.x1 <= fig.bbox.width + 0.5 and box.y0 >= -0.5, t.get_text()[:40]
            seen |= set(t.get_text().split())
    assert set(df.columns) <= seen                                  # every header shown
    assert {f"sub-{i:02d}" for i in range(50)} <= seen              # every row shown


def test_reference_lines_and_shared_scales(processed):
    """Averages carry a "no change" line (1 for ratio); the group time-course grid shares one
    y scale per muscle across conditions, also on report pages (axes passed in)."""
    from emgkit.report.pages import figure_page

    _, results = processed
    r = results["sub-01"]
    assert r.config.epochs.baseline_mode == "ratio"
    fig = r.plot_average()
    for a in fig.axes[:len(r.muscles)]:
        assert any(list(ln.get_ydata()) == [1.0, 1.0] and ln.get_linestyle() == "--"
                   for ln in a.lines)
    tcs = pd.concat([x.timecourses for x in results.values()])
    parts = pd.DataFrame({"participant_id": list(results),
                          "group": ["placebo", "naltrexone", "placebo", "naltrexone"]})
    n_m, n_c = tcs["muscle"].nunique(), tcs["condition"].nunique()
    page = figure_page("t", vizgroup.plot_group_timecourses, n_m, n_c, timecourses=tcs,
                       participants=parts, mode="ratio")
    grid = np.array(page.axes).reshape(n_m, n_c)
    for row in grid:
        assert len({a.get_ylim() for a in row}) == 1


def test_trial_images_mark_rejected_trials(processed):
    _, results = processed
    r = _edge(results["sub-01"], "all_rejected")
    fig = vizqc.plot_trial_images(r)
    marks = [ln for a in fig.axes for ln in a.lines if ln.get_marker() == "<"]
    assert len(marks) == len(r.muscles)
    assert all(len(ln.get_ydata()) == len(r.events) for ln in marks)
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert titles == [f"{m} ({len(r.events)} rejected: red ◀)" for m in r.muscles]
    # rows follow the config's condition order, top down (as the other pages read)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == r.conditions and fig.axes[0].yaxis_inverted()
    ticks = fig.axes[0].get_yticks()
    assert ticks[0] < ticks[-1]  # the first condition nearest the top


def test_group_pages_follow_the_config_order(tmp_path):
    import json

    from emgkit.report.group import config_orders as _orders
    from emgkit.report.group import in_order

    trials = pd.DataFrame({"muscle": ["zygomaticus", "corrugator", "extra"] * 2,
                           "condition": ["sad", "sad", "sad", "angry", "angry", "happy"]})
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"config": {
        "channels": {"corrugator": "A-B", "zygomaticus": "C-D"},
        "events": {"conditions": {"1": "happy", "2": "angry", "3": "sad"}}}}))
    muscles, conds = _orders(run, trials)
    assert muscles == ["corrugator", "zygomaticus", "extra"]
    assert conds == ["happy", "angry", "sad"]
    got = in_order(trials, muscles, conds)
    assert list(got["muscle"]) == ["corrugator", "corrugator", "zygomaticus", "zygomaticus",
                                   "extra", "extra"]
    assert list(got["condition"]) == ["angry", "sad", "angry", "sad", "happy", "sad"]
    # without run.json: order of appearance
    assert _orders(tmp_path / "none.json", trials)[0] == ["zygomaticus", "corrugator", "extra"]
