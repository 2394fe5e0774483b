"""The README's real-data example runs as a user types it, reports included (skipped
without ../shared/real_data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REAL

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nilsonne_oxazepam.toml"
pytestmark = pytest.mark.skipif(not (REAL / "nilsonne-oxazepam-2").is_dir(),
                                reason="shared real data absent")


def test_nilsonne_example_runs_with_reports(tmp_path):
    """100 Hz processed channels: no notch/band check, a report that says they were not
    filtered, and no claim that a notch came from an EMG-BIDS sidecar."""
    from pypdf import PdfReader

    from emgkit.study.run import run_study

    out = tmp_path / "out"
    record = run_study(EXAMPLE, out, progress=False)
    assert record["status"] == "ok", record
    assert {p: r["status"] for p, r in record["participants"].items()} == {
        "sub-09": "done", "sub-10": "done", "sub-11": "done"}
    text = " ".join(page.extract_text() for page in
                    PdfReader(out / "sub-09" / "report.pdf").pages[:3])
    text = " ".join(text.split())
    assert "used as recorded (no filtering" in text
    assert "band-pass filtered" not in text
    assert "PowerLineFrequency" not in text
    assert (out / "group" / "group.pdf").is_file()
    # a within-participant design: each condition against neutral, per muscle
    con = pd.read_csv(out / "group" / "contrasts.tsv", sep="\t")
    assert set(con["factor"]) == {"condition"}
    assert sorted(zip(con["muscle"], con["contrast"])) == [
        (m, f"{c} - neutral") for m in ("corrugator", "zygomaticus") for c in ("angry", "happy")]
    assert np.isfinite(con[["estimate", "se", "df", "p_adj", "ci_low", "ci_high"]]).all().all()
    first = " ".join(PdfReader(out / "group" / "group.pdf").pages[0].extract_text().split())
    assert "Within-participant design" in first and "Main result" in first
    assert "Happy (vs neutral)" in first and "zygomaticus responses" in first
    # three participants: said first, and in every significant sentence
    assert "Caution: only 3 participants" in first
    assert "nominally increased (< 5 participants: not evidence)" in first


def test_notch_above_nyquist_message_does_not_contradict_itself():
    from emgkit.errors import ConfigError
    from emgkit.signal.filter import notch_frequencies

    with pytest.raises(ConfigError) as err:
        notch_frequencies(100.0, 50.0)
    msg = str(err.value)
    assert "use 50 or 60" not in msg and "notch = 0" in msg and "processed" in msg
