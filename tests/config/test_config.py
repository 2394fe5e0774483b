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
    (dict(BASE, channels={}), r"\[channels\] is missing or empty"),
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


# -- issue 25: bounds that fail before a traceback or a hang ------------------------------

@pytest.mark.parametrize("d,match", [
    (_with("preprocess", band=[1e-9, 230.0]),
     r"preprocess.band\[0\]=1e-09 Hz is below 0.1 Hz.*10-30 Hz"),
    (_with("preprocess", notch=1e-6), r"preprocess.notch=1e-06 Hz is below 1 Hz.*50 or 60"),
    (_with("epochs", bin=7.0),
     r"epochs.bin=7 s gives no time bin inside the epoch -1..6 s.*at most 6 s"),
    (_with("epochs", bin=6.9), r"epochs.bin=6.9 s gives no time bin"),
    (_with("epochs", tmin=0.5, tmax=2.0, baseline=[0.5, 1.0], response=[1.0, 2.0], bin=1.2),
     r"epochs.bin=1.2 s gives no time bin inside the epoch 0.5..2 s"),
    (_with("events", min_duration=-0.001), r"events.min_duration=-0.001 is out of range"),
    (_with("events", min_duration=2.0), r"events.min_duration=2 s is longer than any trigger"),
    (_with("events", min_interval=-1), r"events.min_interval=-1 is out of range"),
])
def test_values_that_broke_the_pipeline_are_config_errors(d, match):
    with pytest.raises(ConfigError, match=match):
        config_from_dict(d)


def test_bins_that_fit_are_accepted():
    assert config_from_dict(_with("epochs", bin=6.0)).epochs.bin == 6.0
    assert config_from_dict(_with("epochs", bin=1.0)).epochs.bin == 1.0


def test_new_event_keys_keep_earlier_digests():
    cfg = config_from_dict(BASE)
    assert cfg.events.min_duration is None and cfg.events.min_interval == 0.05
    assert "min_duration" not in cfg.to_dict()["events"]
    assert config_from_dict(_with("events", min_duration=0.002)).to_dict()["events"][
        "min_duration"] == 0.002


@pytest.mark.parametrize("value, rate", [(0.0001, 1024.0), (0.001, 1024.0),
                                         (0.002, 1024.0), (0.05, 128.0)])
def test_flat_lines_of_a_few_samples_are_config_errors(value, rate):
    """A 'flat' run of 1-2 equal samples is quantisation: reject.flat = 0.001 s at 1024 Hz
    flagged 93 % (BDF) to 100 % (EDF) of simulated trials as flat."""
    from emgkit.config import check_sample_settings

    d = _with("preprocess", band=[20.0, 40.0])
    cfg = config_from_dict(d | {"reject": {"flat": value}})
    least = f"{10 / rate:g}"
    with pytest.raises(ConfigError, match=rf"reject.flat \({value:g} s, in the config\) is "
                                          rf"shorter than 10 samples \({least} s at {rate:g} "
                                          rf"Hz in rec.bdf\).*Use at least {least} s"):
        check_sample_settings(cfg, rate, 10, 1, "rec.bdf")
    check_sample_settings(cfg, 10.1 / value, 10, 1, "rec.bdf")  # 10 samples or more
    check_sample_settings(config_from_dict(d | {"reject": {"flat": 0}}), rate, 10, 1, "rec.bdf")


@pytest.mark.parametrize("section, key, value", [
    ("preprocess", "smooth", 0.0001),
    ("onsets", "min_duration", 0.0001), ("events", "min_duration", 0.0001),
    ("epochs", "bin", 0.0001)])
def test_durations_below_one_sample_name_key_value_rate_and_minimum(section, key, value):
    from emgkit.config import check_sample_settings

    cfg = config_from_dict(_with(section, **{key: value}))
    with pytest.raises(ConfigError, match=rf"{section}.{key} \(0.0001 s, in the config\) is "
                                          rf"shorter than one sample \(0.000976562 s at 1024 "
                                          rf"Hz in rec.bdf; the rate is from here\).*at least "
                                          rf"0.000976562 s"):
        check_sample_settings(cfg, 1024.0, 10, 1, "rec.bdf", "from here")
    check_sample_settings(cfg, 16384.0, 10, 1, "rec.bdf")  # longer than a sample there
    if key == "smooth" or section == "events":  # 0 switches them off
        check_sample_settings(config_from_dict(_with(section, **{key: 0.0})), 1024.0, 10, 1,
                              "rec.bdf")


def test_band_and_notch_are_checked_against_the_recording_rate():
    from emgkit.config import check_sample_settings

    cfg = config_from_dict(_with("preprocess", band=[0.2, 400.0]))
    check_sample_settings(cfg, 1024.0, 10, 1, "rec.bdf")
    with pytest.raises(ConfigError, match=r"\[preprocess\] .* does not suit 65536 Hz in "
                                          r"rec.bdf; the rate is HDR: l_freq=0.2 Hz is too low "
                                          r"for a stable filter.*at least 0.655 Hz"):
        check_sample_settings(cfg, 65536.0, 10, 1, "rec.bdf", "HDR")
    with pytest.raises(ConfigError, match=r"h_freq=500 Hz is at or above Nyquist"):
        check_sample_settings(config_from_dict(BASE), 512.0, 10, 1, "rec.bdf", "HDR")
    cfg = config_from_dict(_with("preprocess", band=[20.0], notch=1.5))
    with pytest.raises(ConfigError, match=r"notch=1.5 Hz with its harmonics below 4096 Hz "
                                          r"would need 2730 notch filters \(at most 200\)"):
        check_sample_settings(cfg, 8192.0, 10, 1, "rec.bdf")
