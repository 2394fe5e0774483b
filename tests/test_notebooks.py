"""The notebooks run top to bottom and show their figures as images."""

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
    # notebook 02 works from `emgkit run` outputs through the public API only
    private = [c.source for c in code if "._" in c.source or "from emgkit." in c.source]
    assert not private
