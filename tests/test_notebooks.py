"""The notebooks run top to bottom and show their figures as images."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _figure_outputs(cell):
    return [o for o in cell.get("outputs", [])
            if "<Figure size" in str(o.get("data", {}).get("text/plain", ""))]


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")))
def test_notebook_executes(name):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    figure_cells = [c for c in code if _figure_outputs(c)]
    assert figure_cells, f"{name}: no cell shows a figure"
    for cell in figure_cells:  # a figure shows as a PNG, not only as "<Figure size ...>"
        for out in _figure_outputs(cell):
            assert "image/png" in out.get("data", {}), cell.source
    # no progress-bar noise in the saved outputs: no tqdm bars, per-participant progress
    # lines or TqdmWarning (emgkit's progress is off in a notebook; MNE's bar is plain tqdm)
    streams = [o.get("text", "") for c in code for o in c.get("outputs", [])
               if o.get("output_type") == "stream"]
    noise = [t for t in streams if re.search(r"TqdmWarning|\[\d+/\d+\]|\d+%\||it/s", t)]
    assert not noise, noise
    if name == "01_quickstart.ipynb":  # fits a model and shows its estimated marginal means
        shown = [str(o.get("data", {}).get("text/plain", "")) for c in code
                 for o in c.get("outputs", [])]
        assert any("MixedResult" in t for t in shown)
        assert any("emmean" in t and "ci_low" in t for t in shown)
    # notebook 02 works from `emgkit run` outputs through the public API only
    private = [c.source for c in code if "._" in c.source or "from emgkit." in c.source]
    assert not private
