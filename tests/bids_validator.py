"""The schema-based BIDS validator for the tests: ``bids-validator-deno`` (it ships its own
Deno runtime and schema, so it runs offline), beside this Python or on PATH."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def validator():
    """The validator's path, or None when it is not installed."""
    beside = Path(sys.executable).parent / "bids-validator-deno"
    return str(beside) if beside.is_file() else shutil.which("bids-validator-deno")


needs_validator = pytest.mark.skipif(validator() is None,
                                     reason="bids-validator-deno is not installed")


def validate(folder):
    """Run the validator on ``folder`` (skips the test without it).

    Returns
    -------
    errors, warnings : list of dict
        The issues of each severity.
    report : dict
        The validator's whole JSON report (``summary``: subjects, modalities, …).
    """
    if validator() is None:
        pytest.skip("bids-validator-deno is not installed")
    proc = subprocess.run([validator(), "--format", "json", str(folder)], capture_output=True,
                          text=True, timeout=300, check=False)
    report = json.loads(proc.stdout)
    issues = report["issues"]["issues"]
    errors = [i for i in issues if i["severity"] == "error"]
    assert (proc.returncode == 0) == (not errors), proc.stderr[-2000:]
    return errors, [i for i in issues if i["severity"] == "warning"], report
