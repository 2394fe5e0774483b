"""The configuration reference page (``docs/config.md``), generated from the key table
(:mod:`emgkit.config.keys`) so that it cannot drift from what ``load_config`` accepts.

Regenerate it with::

    python -m emgkit.config.reference > docs/config.md
"""

from __future__ import annotations

import json
import re
import sys

from .keys import KEYS, REQUIRED, SECTIONS

REGENERATE = "python -m emgkit.config.reference > docs/config.md"
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_value(value):
    """Spell a Python value (str, bool, int, float, list, dict) as a TOML value.

    Parameters
    ----------
    value : object

    Returns
    -------
    str
        E.g. ``[20.0, 500.0]``, ``"ratio"``, ``{ happy = 0.5 }``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }"
    raise TypeError(f"no TOML spelling for {value!r} ({type(value).__name__})")


def _key(name):
    return name if _BARE.match(name) else json.dumps(name, ensure_ascii=False)


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _default(key):
    if key.default is REQUIRED:
        return "required"
    empty = key.default is None or key.default in ([], {})  # some refuse to be written empty
    shown = "none" if empty else f"`{toml_value(key.default)}`"
    if key.note:
        return key.note if key.default is None else f"{shown} {key.note}"
    return shown


def _allowed(key):
    return ", ".join(a if isinstance(a, str) and " " in a else f"`{toml_value(a)}`"
                     for a in key.allowed)


def section_example(section):
    """The TOML lines of ``section`` with every key set to its example value.

    Parameters
    ----------
    section : str

    Returns
    -------
    list of str
    """
    lines = [f"[{section}]"]
    for key in KEYS:
        if key.section != section:
            continue
        if key.name.startswith("<"):  # a key the user names (a muscle)
            lines += [f"{_key(k)} = {toml_value(v)}" for k, v in key.example.items()]
        elif (section, key.name) in _EXCLUSIVE:  # shown, but not combined with its rival
            lines.append(f"# {key.name} = {toml_value(key.example)}   # "
                         f"{_EXCLUSIVE[(section, key.name)]}")
        else:
            lines.append(f"{key.name} = {toml_value(key.example)}")
    return lines


#: keys whose example cannot stand beside another key's example in one config
_EXCLUSIVE = {("model", "crossed"): "not together with re_formula"}


def config_reference():
    """The Markdown text of ``docs/config.md``: every key of every section with its type,
    default, unit, allowed values, description and an example.

    Returns
    -------
    str
    """
    generated = f"<!-- Generated from emgkit/config/keys.py by `{REGENERATE}`; do not edit. -->"
    intro = ("A study config is a TOML file with the tables below. Every key is checked: an "
             "unknown key, a wrong type or a value out of range stops emgkit with a message "
             "naming the key and the file. Relative paths are relative to the config file. "
             "Only `[channels]` and `[events] conditions` are required; `emgkit run` also "
             "needs `[study] participants` and `recordings`.")
    out = ["# Configuration reference (`study.toml`)", "", generated, "", intro, ""]
    for section, text in SECTIONS.items():
        out += [f"## `[{section}]`", "", text, "",
                "| Key | Type | Default | Unit | Allowed values | Description |",
                "|---|---|---|---|---|---|"]
        for key in KEYS:
            if key.section == section:
                out.append("| " + " | ".join(_cell(c) for c in (
                    f"`{key.name}`", key.type, _default(key), key.unit, _allowed(key),
                    key.help)) + " |")
        out += ["", "Example:", "", "```toml", *section_example(section), "```", ""]
    return "\n".join(out)


def main():
    """Print the reference page (``python -m emgkit.config.reference > docs/config.md``)."""
    sys.stdout.write(config_reference())


if __name__ == "__main__":  # pragma: no cover
    main()

__all__ = ["REGENERATE", "config_reference", "section_example", "toml_value"]
