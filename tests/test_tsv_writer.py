"""write_tsv formats float columns itself: the bytes equal pandas' ``to_csv``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emgkit._files import TABLE_FLOAT, write_tsv


def _hostile():
    rng = np.random.default_rng(0)
    n = 9
    df = pd.DataFrame({
        "participant_id": [f"sub-{k:02d}" for k in range(n)],
        "trial": np.arange(n),
        "score": [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-300, 1e300, 123456.5, -2.5e-7],
        "f32": rng.normal(size=n).astype(np.float32),
        "ratio": rng.lognormal(size=n),
        "rejected": [True, False] * 4 + [False],
        "note": ["a\tb", 'say "hi"', "line\nbreak", "", None, "n/a", "x", "é", "1.5"],
        "nullable": pd.array([1.5, None, 2.25, 3.0, None, 0.1, 7.0, 8.0, 9.0],
                             dtype="Float64"),
        "count": pd.array([1, None, 3, 4, 5, 6, 7, 8, 9], dtype="Int64"),
    })
    df.insert(3, "score_dup", df["score"] * 3)
    return df


@pytest.mark.parametrize("frame", ["hostile", "duplicate names", "empty", "no floats"])
def test_write_tsv_bytes_equal_to_csv(tmp_path, frame):
    df = _hostile()
    if frame == "duplicate names":
        df.columns = ["a", "b", "c", "c", "d", "c", "e", "f", "g", "h"]
    elif frame == "empty":
        df = df.iloc[:0]
    elif frame == "no floats":
        df = df[["participant_id", "trial", "note"]]
    before = df.copy(deep=True)
    path = write_tsv(df, tmp_path / "t.tsv", float_format=TABLE_FLOAT)
    ref = df.to_csv(sep="\t", index=False, na_rep="n/a", float_format=TABLE_FLOAT)
    assert path.read_bytes() == ref.encode()
    assert df.equals(before)  # the caller's frame is not changed


@pytest.mark.parametrize("fmt", ["%d", "%r", "{:.3g}", "abc", "%.2f%%", "%+8.3e", "%.6g"])
def test_write_tsv_any_float_format_as_pandas(tmp_path, fmt):
    """Formats that are not one ``%`` float conversion stay with pandas (``%d`` with NaN
    raised, ``%r`` wrote ``1.5`` where pandas 3 writes ``np.float64(1.5)``, ``{:.3g}`` raised
    a TypeError; found by the stranger audit); simple ones equal it byte for byte."""
    df = pd.DataFrame({"x": [1.5, np.nan, -2.25, 1e16], "s": ["a", "b", "c", "d"]})
    try:
        want = df.to_csv(sep="\t", index=False, na_rep="n/a", float_format=fmt)
    except (TypeError, ValueError) as exc:  # this pandas refuses the format itself
        with pytest.raises(type(exc)):
            write_tsv(df, tmp_path / "t.tsv", float_format=fmt)
        return
    write_tsv(df, tmp_path / "t.tsv", float_format=fmt)
    assert (tmp_path / "t.tsv").read_text() == want
