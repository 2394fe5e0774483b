"""The config reference (docs/config.md) is generated from the key table, and the key table
agrees with the parser, the dataclasses, [power] and [multiverse]."""

import copy
import dataclasses
import re
import sys
from pathlib import Path

import pytest

from emgkit.config import (
    BlocksConfig,
    EpochsConfig,
    EventsConfig,
    InputConfig,
    OnsetsConfig,
    PreprocessConfig,
    RejectConfig,
    config_from_dict,
    load_config,
)
from emgkit.config.keys import KEYS, REQUIRED, SECTIONS, section_keys
from emgkit.config.reference import REGENERATE, config_reference, section_example
from emgkit.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DOCS = Path(__file__).resolve().parents[2] / "docs" / "config.md"
MINIMAL = {"channels": {"corrugator": "EXG1-EXG2"},
           "events": {"conditions": {"1": "happy", "2": "angry", "9": "neutral"}}}
DATACLASSES = {"events": EventsConfig, "preprocess": PreprocessConfig, "epochs": EpochsConfig,
               "reject": RejectConfig, "onsets": OnsetsConfig, "input": InputConfig,
               "blocks": BlocksConfig}
#: dataclass fields set from another key (preprocess.band) or by the parser itself
DERIVED = {"preprocess": {"l_freq", "h_freq", "notch_from_sidecar"}}
#: keys whose value is spread over fields
SPREAD = {("preprocess", "band"): ("l_freq", "h_freq")}
#: read by emgkit.power.config and emgkit.multiverse.grid, not by load_config
OWN_READER = ("power", "multiverse")


def _with(section, name, value):
    d = copy.deepcopy(MINIMAL)
    table = d.setdefault(section, {})
    if name.startswith("<"):
        table.update(value)
    else:
        table[name] = value
    return d


def test_committed_page_is_the_generated_one():
    assert DOCS.read_text(encoding="utf-8") == config_reference(), (
        f"docs/config.md is out of date with emgkit/config/keys.py; regenerate it with "
        f"`{REGENERATE}`")


def test_every_key_is_on_the_page():
    text = config_reference()
    for key in KEYS:
        assert f"| `{key.name}` |" in text
    for section in SECTIONS:
        assert f"## `[{section}]`" in text


def test_table_keys_are_the_dataclass_fields():
    for section, cls in DATACLASSES.items():
        fields = {f.name for f in dataclasses.fields(cls)} - DERIVED.get(section, set())
        spread = {k for (s, k) in SPREAD if s == section}
        assert section_keys(section) - spread == fields, section


def test_documented_defaults_are_the_dataclass_defaults():
    for key in KEYS:
        cls = DATACLASSES.get(key.section)
        if cls is None or key.default is REQUIRED:
            continue
        names = SPREAD.get((key.section, key.name), (key.name,))
        got = [getattr(cls(), n) for n in names]
        want = key.default if len(names) > 1 else [key.default]
        norm = [list(v) if isinstance(v, tuple) else v for v in got]
        assert norm == want, f"{key.section}.{key.name}"


@pytest.mark.parametrize("key", [k for k in KEYS if k.section in DATACLASSES
                                 or k.section == "report"
                                 if k.default not in (None, REQUIRED, [], {}) and not k.note],
                         ids=lambda k: f"{k.section}.{k.name}")
def test_writing_the_default_is_omitting_it(key):
    """(``[study]`` and ``[model]`` are kept as written; an empty default reads "none".)"""
    assert (config_from_dict(_with(key.section, key.name, key.default)).to_dict()
            == config_from_dict(MINIMAL).to_dict())


@pytest.mark.parametrize("key", [k for k in KEYS if k.section not in OWN_READER],
                         ids=lambda k: f"{k.section}.{k.name}")
def test_every_example_is_accepted_and_used(key):
    """The example loads on its own and changes the config: a key that is accepted but
    ignored (or documented but not parsed) fails here."""
    cfg = config_from_dict(_with(key.section, key.name, key.example))
    assert cfg.to_dict() != config_from_dict(MINIMAL).to_dict()


def test_unknown_key_still_refused_naming_the_documented_ones():
    with pytest.raises(ConfigError, match=r"'onsets.kk'.*k, method, min_duration"):
        config_from_dict(_with("onsets", "kk", 1))
    with pytest.raises(ConfigError, match="Unknown config key 'filters'"):
        config_from_dict(dict(MINIMAL, filters={}))


def _page_config(tmp_path):
    """Every example block of the page as one study.toml."""
    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == len(SECTIONS)
    path = tmp_path / "study.toml"
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def test_page_examples_form_one_valid_config(tmp_path):
    path = _page_config(tmp_path)
    cfg = load_config(path)
    assert cfg.preprocess.l_freq == 15.0 and cfg.onsets.method == "neurokit2"
    assert set(tomllib.loads(path.read_text(encoding="utf-8"))) == set(SECTIONS)


def test_power_keys_agree_with_the_table(tmp_path):
    from emgkit.power.config import declared_models

    models = declared_models(_page_config(tmp_path))
    assert set(models) == {"corrugator"}
    (tmp_path / "bad.toml").write_text(
        "[power]\ntua = 0.3\n" + "\n".join(section_example("power")[1:]), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"power.tua.*allowed: conditions, groups, means"):
        declared_models(tmp_path / "bad.toml")


def test_multiverse_keys_are_the_axes(tmp_path):
    from emgkit.multiverse.grid import AXES, build_grid

    assert section_keys("multiverse") == set(AXES)
    grid = build_grid(_page_config(tmp_path))
    assert len(grid) == 2 * 2 * 2 * 2 * 2 + 1  # the page's own settings are added
