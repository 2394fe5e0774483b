import pytest

from emgkit.config import config_from_dict, load_config
from emgkit.errors import ConfigError

BASE = {
    "channels": {"corrugator": "EXG1-EXG2"},
    "events": {"source": "stim", "mask": 65535, "conditions": {"1": "happy", "2": "angry"}},
    "preprocess": {"band": [20.0, 500.0], "notch": 50.0, "smooth": 0.05},
    "epochs": {"tmin": -1.0, "tmax": 6.0, "baseline": [-1.0, 0.0], "baseline_mode": "ratio",
               "response": [0.5, 3.0], "bin": 0.5},
}


def _with(section, **changes):
    d = {k: dict(v) for k, v in BASE.items()}
    d.setdefault(section, {}).update(changes)
    return d


def test_documented_keys_are_accepted(tmp_path):
    cfg = config_from_dict(BASE)
    assert cfg.preprocess.h_freq == 500.0 and cfg.epochs.response == (0.5, 3.0)
    assert cfg.events.conditions == {"1": "happy", "2": "angry"}
    assert "ratio baseline" in repr(cfg)
    p = tmp_path / "study.toml"
    p.write_text('[channels]\nzyg = "EXG3-EXG4"\n[events]\nsource = "annotations"\n'
                 '[events.conditions]\nhappy = "happy"\n[events.shift]\nhappy = 0.5\n')
    cfg = load_config(p)
    assert cfg.events.shift == {"happy": 0.5} and cfg.path == p.resolve()


@pytest.mark.parametrize("d,match", [
    (dict(BASE, filters={}), r"Unknown config key 'filters'"),
    (_with("preprocess", smoth=0.1), r"Unknown config key 'preprocess.smoth'"),
    (_with("epochs", baseline_mode="db"), r"epochs.baseline_mode='db' is not allowed"),
    (_with("epochs", tmin="-1"), r"epochs.tmin must be a number, got '-1'"),
    (_with("epochs", response=[0.5, 7.0]), r"epochs.response ends at 7 s, after the epoch"),
    (_with("epochs", baseline=[0.0, -1.0]), r"epochs.baseline=\[0.0, -1.0\] is empty"),
    (_with("preprocess", band=[500.0, 20.0]), r"preprocess.band\[1\]=20 is out of range"),
    (_with("preprocess", band="20-500"), r"preprocess.band must be \[l_freq, h_freq\]"),
    (_with("events", mask=-1), r"events.mask must be an integer"),
    (_with("events", conditions={}), r"events.conditions must be a non-empty table"),
    (_with("events", shift={"sad": 0.5}), r"events.shift.sad: 'sad' is not a condition"),
    (_with("preprocess", envelope="hilbert"), r"preprocess.envelope='hilbert'"),
    (_with("reject", threshold=-2), r"reject.threshold=-2 is out of range"),
    ({k: v for k, v in BASE.items() if k != "channels"}, r"\[channels\] is missing"),
])
def test_bad_config_names_the_key(d, match):
    with pytest.raises(ConfigError, match=match):
        config_from_dict(d)


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    p = tmp_path / "bad.toml"
    p.write_text("[channels\n")
    with pytest.raises(ConfigError, match=r"bad.toml is not valid TOML"):
        load_config(p)
    p.write_text('[channels]\ncorr = "A-B"\n[events.conditions]\n"1" = "x"\n[epochs]\nbin = 0\n')
    with pytest.raises(ConfigError, match=r"epochs.bin \(in .*bad.toml\)=0 is out of range"):
        load_config(p)
