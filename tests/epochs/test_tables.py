"""One table convention: missing values are ``n/a`` in every table emgkit writes, and
:func:`emgkit.read_trials` reads them back with the right types."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import recording_of

import emgkit
from emgkit.errors import ReadError


@pytest.fixture(scope="module")
def written(study_factory, tmp_path_factory):
    study = study_factory("bdf", 1024.0)
    res = emgkit.process_recording(recording_of(study), study / "study.toml", quality=True)
    out = tmp_path_factory.mktemp("tables") / "sub-01"
    res.write(out)
    return res, out


def test_missing_values_are_na_and_read_back(written):
    res, out = written
    text = (out / "trials.tsv").read_text()
    n_missing = int(res.trials["latency_s"].isna().sum())
    assert n_missing > 0            # relaxations have no onset
    assert text.count("\tn/a") >= n_missing
    back = emgkit.read_trials(out / "trials.tsv")
    assert back["rejected"].dtype == bool
    assert pd.api.types.is_string_dtype(back["participant_id"])  # object (pandas 2) or str (3)
    assert back["latency_s"].isna().sum() == n_missing
    pd.testing.assert_series_equal(back["rejected"], res.trials["rejected"],
                                   check_names=False)
    kept = back[~back["rejected"]]
    assert (kept["reject_reason"] == "").all()
    np.testing.assert_allclose(back["score"], res.trials["score"], rtol=1e-5,
                               equal_nan=True)
    tcs = emgkit.read_trials(out / "timecourses.tsv")
    assert tcs["rejected"].dtype == bool and len(tcs) == len(res.timecourses)
    quality = (out / "quality.tsv").read_text()
    assert "\t\t" not in quality and not quality.split("\n")[1].endswith("\t")


def test_read_trials_of_a_results_folder_and_bad_tables(written, tmp_path):
    res, out = written
    both = emgkit.read_trials(out.parent)   # sub-*/trials.tsv stacked
    assert len(both) == len(res.trials)
    with pytest.raises(ReadError, match="no group/trials.tsv"):
        emgkit.read_trials(tmp_path)
    bad = tmp_path / "bad.tsv"
    bad.write_text("participant_id\ttrial\tcondition\tmuscle\trejected\n01\t1\thappy\tzyg\tmaybe\n")
    with pytest.raises(ReadError, match="rejected holds 'maybe'"):
        emgkit.read_trials(bad)
    bad.write_text("a\tb\n1\t2\n")
    with pytest.raises(ReadError, match="not an emgkit trial table"):
        emgkit.read_trials(bad)
    with pytest.raises(ReadError, match="does not exist"):
        emgkit.read_trials(tmp_path / "none.tsv")
    ids = tmp_path / "ids.tsv"
    ids.write_text("participant_id\ttrial\tcondition\tmuscle\trejected\n"
                   "01\t1\thappy\tzyg\tFalse\nNA\t1\thappy\tzyg\tTrue\n")
    t = emgkit.read_trials(ids)
    # ids stay text (01 is not 1, NA is not missing), written sub-<label> (emgkit._ids)
    assert t["participant_id"].tolist() == ["sub-01", "sub-NA"]


def test_public_api():
    for name in ("stats", "sim", "read_trials", "run_study", "process_recording", "viz",
                 "study"):
        assert hasattr(emgkit, name), name
    assert callable(emgkit.stats.fit_model) and callable(emgkit.sim.simulate_study)
    assert callable(emgkit.stats.read_models)
