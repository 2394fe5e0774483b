"""Property test: random participant ids, config values and event tables fed to
``emgkit run`` never change anything outside ``--out``, never modify an input, and always end
in a result or an :class:`~emgkit.errors.EmgkitError` (participants fail with emgkit errors
only, never with a raw exception)."""

import hashlib
import math
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from emgkit.config.load import config_from_dict, tomllib
from emgkit.errors import EmgkitError
from emgkit.sim.recording import SimParams
from emgkit.sim.study import simulate_study
from emgkit.study.run import run_study

EMGKIT_ERRORS = ("EmgkitError", "ReadError", "ConfigError", "EventError", "ModelError",
                 "OutputError")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("prop")
    simulate_study(root, 2, seed=11, sfreq=256.0, params=SimParams(sfreq=256.0, n_trials=2))
    return root


def tree(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


ids = st.one_of(
    st.sampled_from(["sub-02", "02", "NA"]),
    st.sampled_from(["../victim", "/tmp/x", "a/b", "..", ".", "", " ", "NA", "sub-", "sub-02",
                     "02", "sub-0 2", "sub-02/../..", "~", "\\\\x", "sub-02\\n"]),
    st.text(alphabet="ab0./\\- _~", min_size=0, max_size=8))
numbers = st.one_of(st.floats(min_value=-2, max_value=2),
                    st.floats(allow_nan=True, allow_infinity=True, width=32),
                    st.integers(-10 ** 12, 10 ** 12), st.text(max_size=3), st.booleans())
settings_keys = st.sampled_from([
    ("epochs", "bin"), ("epochs", "tmin"), ("epochs", "tmax"), ("preprocess", "smooth"),
    ("reject", "threshold"), ("reject", "flat"), ("events", "mask"), ("events", "idle"),
    ("events", "min_interval"), ("preprocess", "notch"), ("preprocess", "order")])
onsets = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.floats(min_value=-5, max_value=100))
event_rows = st.lists(st.tuples(onsets, st.sampled_from(["happy", "angry", "sad", "neutral",
                                                         "x", "", "n/a"])), max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pid=ids, changes=st.one_of(st.just([]),
                                  st.lists(st.tuples(settings_keys, numbers), max_size=2)),
       events=st.one_of(st.none(), event_rows))
def test_run_never_harms_inputs(base, pid, changes, events):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        study = root / "study"
        shutil.copytree(base, study)
        victim = root / "victim"
        victim.mkdir()
        (victim / "precious.txt").write_text("do not touch")
        parts = pd.read_csv(study / "participants.tsv", sep="\t", dtype=str)
        parts.loc[1, "participant_id"] = pid
        parts.to_csv(study / "participants.tsv", sep="\t", index=False)
        if pid in ("02", "NA"):  # a valid id: its recording follows it
            shutil.move(study / "sub-02", study / pid)
            for f in (study / pid / "emg").iterdir():
                f.rename(f.with_name(f.name.replace("sub-02", pid)))
        doc = tomllib.loads((study / "study.toml").read_text())
        for (section, key), value in changes:
            if isinstance(value, float) and not math.isfinite(value):
                value = str(value)  # TOML has no NaN literal in our writer; a string is bad too
            doc.setdefault(section, {})[key] = value
        if events is not None:
            doc["events"]["source"] = "events.tsv"
            rows = pd.DataFrame(events, columns=["onset", "trial_type"])
            rows.to_csv(study / "sub-01" / "emg" / "sub-01_task-mimicry_events.tsv", sep="\t",
                        index=False)
        before = tree(root)
        out = root / "out"
        try:
            config = config_from_dict(doc, path=study / "study.toml")
            record = run_study(config, out, reports=False, progress=False)
        except EmgkitError as exc:
            event(f"refused: {type(exc).__name__}")
            record = None
        assert {k: v for k, v in tree(root).items() if not k.startswith("out/")} == before
        if record is not None:
            event(f"run: {sorted(i['status'] for i in record['participants'].values())}")
            assert record["status"] in ("ok", "failed")
            for info in record["participants"].values():
                if info["status"] == "failed":
                    assert info["message"].startswith(EMGKIT_ERRORS), info["message"]
            for p in out.rglob("*"):
                assert out.resolve() in p.resolve().parents
