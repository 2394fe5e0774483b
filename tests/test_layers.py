"""The package layout shows the data flow: lower layers never import higher ones, and no
top-level module belongs to a step's subpackage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "emgkit"

# lowest first; a module may import its own layer and lower ones
LAYERS = [
    {"errors", "_args", "_check", "_files", "_ids", "_interrupts", "_lazy", "_memory", "_numbers",
     "_version"},
    {"events"},
    {"signal"},
    {"io"},
    {"epochs"},
    {"config"},
    {"viz"},
    {"processed"},
    {"stats"},
    {"pipeline"},
    {"report"},
    {"sim"},
    {"study"},
    {"power", "multiverse"},
    {"cli", "commands", "data_commands", "__init__", "__main__"},
]
RANK = {name: k for k, names in enumerate(LAYERS) for name in names}


def _parts(path):
    """``emgkit/signal/filter.py`` -> ["emgkit", "signal", "filter"]."""
    return list(path.relative_to(PKG.parent).with_suffix("").parts)


def _unit(parts):
    """The layer unit of a module: its subpackage, or the top-level module's name."""
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(parts, source):
    """Every emgkit module a module imports (also inside functions), as name parts."""
    package = parts[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "emgkit":
                target = node.module.split(".")
            else:
                continue
            if len(target) == 1:  # from emgkit import x: x is the unit
                for alias in node.names:
                    yield node.lineno, ["emgkit", alias.name]
            else:
                yield node.lineno, target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "emgkit":
                    yield node.lineno, alias.name.split(".")


FILES = sorted(PKG.rglob("*.py"))


def test_every_module_has_a_layer():
    for f in FILES:
        assert _unit(_parts(f)) in RANK, f"{f}: no layer for {_unit(_parts(f))!r}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PKG.parent)))
def test_lower_layers_never_import_higher_ones(path):
    parts = _parts(path)
    own = _unit(parts)
    for line, target in _imports(parts, path.read_text()):
        unit = target[1] if len(target) > 1 else "__init__"
        if unit == "__version__":
            unit = "__init__"
        assert unit in RANK, f"{path.name}:{line} imports unknown emgkit.{unit}"
        assert RANK[unit] <= RANK[own], (
            f"{'/'.join(parts)}.py:{line} imports emgkit.{'.'.join(target[1:])} "
            f"(layer {unit!r} is above {own!r})")


def test_no_stray_top_level_modules():
    """Top level holds only the helpers, the chain and the entry points; every step
    lives in its subpackage."""
    top = {f.stem for f in PKG.glob("*.py")}
    assert top == {"__init__", "_args", "_check", "_files", "_ids", "_interrupts", "_lazy",
                   "_memory", "_numbers", "_version", "cli", "commands", "data_commands", "errors",
                   "pipeline", "processed"}
    subpackages = {d.name for d in PKG.iterdir() if (d / "__init__.py").exists()}
    assert subpackages == {"config", "epochs", "events", "io", "multiverse", "power", "report",
                           "signal",
                           "sim", "stats", "study", "viz"}


def test_checker_catches_a_violation():
    """The walker sees function-level and relative imports (so the test can fail)."""
    src = "def f():\n    from ..pipeline import process_recording\n"
    found = list(_imports(["emgkit", "signal", "probe"], src))
    assert found == [(2, ["emgkit", "pipeline"])]
    assert RANK[_unit(found[0][1])] > RANK["signal"]
