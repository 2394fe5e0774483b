"""Each command imports only what it uses (issue 30): measured in a fresh interpreter, as a user
starts it, by the modules loaded when the command has finished."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import recording_of

ROOT = Path(__file__).resolve().parents[1]

#: runs the command line in a fresh interpreter, then prints its exit code and sys.modules
CODE = """
import json, sys
from emgkit.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:  # --version, --help
    code = exc.code
print("\\nMODULES " + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""

#: loaded by no data command that does not draw, fit or read with MNE
PLOTTING_AND_MODELS = ("matplotlib", "statsmodels", "mne", "neurokit2", "tqdm")


def _modules(*argv):
    """Exit code and the modules loaded by ``emgkit ARGV`` in a fresh interpreter."""
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", CODE, *map(str, argv)],
                         check=False, capture_output=True,
                         text=True, env=env, timeout=300)
    line = [s for s in out.stdout.splitlines() if s.startswith("MODULES ")]
    assert line, f"no module list (exit {out.returncode}):\n{out.stderr[-2000:]}"
    record = json.loads(line[-1][len("MODULES "):])
    return record["code"], set(record["modules"])


def _loaded(modules, names):
    """The packages of ``names`` (or their submodules) that are in ``modules``."""
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in modules))


def test_command_line_starts_without_the_scientific_stack():
    code, modules = _modules("--version")
    assert code == 0
    assert _loaded(modules, ("numpy", "pandas", "scipy", *PLOTTING_AND_MODELS)) == []


def test_process_imports_only_what_it_uses(small, tmp_path):
    # pandas (the trial tables) and scipy.signal (the filters, which itself loads
    # scipy.stats) are used; plotting, models, MNE, the study runner and its pools are not
    code, modules = _modules("process", recording_of(small, "sub-01"), "--config",
                             small / "study.toml", "--out", tmp_path / "out")
    assert code == 0 and (tmp_path / "out" / "trials.tsv").is_file()
    assert _loaded(modules, PLOTTING_AND_MODELS + ("patsy",)) == []
    assert _loaded(modules, ("emgkit.stats", "emgkit.viz", "emgkit.report", "emgkit.sim",
                             "emgkit.power", "emgkit.multiverse", "emgkit.study.run",
                             "emgkit.study.executors", "emgkit.study.review",
                             "concurrent.futures.process")) == []


def test_run_without_reports_draws_nothing(small, tmp_path):
    code, modules = _modules("run", small / "study.toml", "--out", tmp_path / "out",
                             "--no-reports")
    assert code in (0, 3)  # 3: a condition missing in some participants (2 trials each)
    assert (tmp_path / "out" / "group" / "anova.tsv").is_file()
    assert _loaded(modules, PLOTTING_AND_MODELS) == []
    assert _loaded(modules, ("emgkit.viz", "emgkit.report", "emgkit.sim", "emgkit.power",
                             "emgkit.multiverse")) == []


def test_study_package_names_load_on_first_use():
    # the package's public names are still there, imported when first used
    code = ("import sys, emgkit.study as s; before = 'emgkit.study.run' in sys.modules; "
            "f = s.run_study; print(before, f.__module__, s.plan_from_config.__module__, "
            "'run_study' in dir(s))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT),
                                                      os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True)
    assert out.stdout.split() == ["False", "emgkit.study.run", "emgkit.study.plan", "True"]
