"""Names of a package imported on first use (as scipy and MNE do), so that importing the
package — and starting the command line — costs nothing until a name is used."""

from __future__ import annotations

import importlib
import sys


def lazy_names(package, names):
    """Return ``(__getattr__, __dir__)`` for ``package`` (its ``__name__``) that import
    ``names`` (name -> submodule) on first use and keep them in the package."""
    def __getattr__(name):
        if name in names:
            value = getattr(importlib.import_module(f".{names[name]}", package), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
