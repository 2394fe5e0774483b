"""emgkit multiverse announces its size and estimated time, refuses a grid above --max-specs
before touching anything, and spells --no-reports as emgkit run does."""

import json

import pytest

from emgkit.cli import build_parser, main
from emgkit.multiverse.grid import build_grid
from emgkit.multiverse.run import (
    DEFAULT_MAX_SPECS,
    ENVELOPE_S,
    FIT_S,
    SCORE_S,
    duration_text,
    estimate_seconds,
)
from emgkit.sim.study import simulate_study


@pytest.fixture(scope="module")
def study4(tmp_path_factory):
    root = tmp_path_factory.mktemp("mvcli") / "s"
    simulate_study(root, 4, seed=2, sfreq=512.0)
    return root


def _grid(study, text):
    toml = study / "study.toml"
    toml.write_text(toml.read_text().split("[multiverse]")[0] + "\n[multiverse]\n" + text)
    return toml


def test_estimate_counts_fits_scores_and_envelopes(study4):
    grid = build_grid(_grid(study4, 'smooth = [0.025, 0.05]\nbaseline_mode = ["ratio", '
                                    '"logratio", "percent"]\n'))
    assert len(grid) == 6
    want = 6 * (FIT_S + 4 * SCORE_S) + 4 * 2 * ENVELOPE_S  # two distinct envelopes
    assert estimate_seconds(grid, 4) == pytest.approx(want)
    assert estimate_seconds(grid, 4, jobs=2) == pytest.approx(want / 2)
    assert estimate_seconds(grid, 8) > estimate_seconds(grid, 4)
    assert [duration_text(s) for s in (0.2, 40, 420, 5400)] == [
        "about 1 s", "about 40 s", "about 7 min", "about 1.5 h"]


def test_above_max_specs_refused_naming_count_and_option(study4, tmp_path, capsys):
    toml = _grid(study4, 'smooth = [0.025, 0.05, 0.1]\nbaseline_mode = ["ratio", '
                         '"logratio"]\n')
    out = tmp_path / "mv"
    assert main(["multiverse", str(toml), "--out", str(out), "--max-specs", "4"]) == 2
    err = capsys.readouterr().err
    assert "makes 6 specifications, more than --max-specs 4" in err
    assert "for 4 participants" in err and "pass --max-specs 6" in err
    assert not out.exists()  # refused before anything is written
    with pytest.raises(SystemExit) as exit_:  # argparse: a whole number from 1
        main(["multiverse", str(toml), "--out", str(out), "--max-specs", "0"])
    assert exit_.value.code == 2 and "--max-specs" in capsys.readouterr().err


def test_default_max_specs_refuses_the_readme_sized_grid(study4, tmp_path, capsys):
    toml = _grid(study4, 'band_low = [15.0, 20.0, 28.0]\nsmooth = [0.025, 0.05, 0.125]\n'
                         'envelope = ["mean", "rms"]\nbaseline_mode = ["logratio", "percent", '
                         '"zscore"]\nreject_threshold = [0.0, 3.0, 3.5]\n'
                         'standardise = ["none", "participant_muscle"]\n')  # 324
    assert DEFAULT_MAX_SPECS == 200
    assert main(["multiverse", str(toml), "--out", str(tmp_path / "mv")]) == 2
    assert "specifications, more than --max-specs 200" in capsys.readouterr().err


def test_no_report_is_an_alias_of_no_reports():
    parser = build_parser()
    for flag in ("--no-reports", "--no-report"):
        assert parser.parse_args(["multiverse", "s.toml", "--out", "o", flag]).no_reports
    args = parser.parse_args(["multiverse", "s.toml", "--out", "o"])
    assert not args.no_reports and args.max_specs == 200


def test_announces_size_and_estimate_before_it_starts(study4, tmp_path, capsys):
    toml = _grid(study4, 'baseline_mode = ["ratio", "logratio"]\n')
    out = tmp_path / "mv"
    assert main(["multiverse", str(toml), "--out", str(out), "--no-reports"]) == 0
    err = capsys.readouterr().err
    announce = err.index("multiverse: 2 specifications × 4 participants; estimated about ")
    assert announce < err.index("participants: 1/4")
    assert not (out / "specification_curve.pdf").exists()
    record = json.loads((out / "multiverse.json").read_text(encoding="utf-8"))
    assert record["estimated_seconds"] > 0 and record["seconds"] > 0
