"""The magics in Jupyter: examples/magics.ipynb run headless by nbclient
(a real ipykernel, as a notebook server runs it), on one CPython (the
kernel is slow to start and the magics are tested on every version by
tests/test_ipython.py). Pictures must come out as pictures: record's
flame graph as SVG, an HTML report as HTML, and text as text.
"""
import json
import shutil
from pathlib import Path

import pytest

from test_ipython import ipython_env

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "magics.ipynb"

RUN = '''
import json, sys
import nbclient, nbformat
nb = nbformat.read(sys.argv[1], as_version=4)
nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                        resources={"metadata": {"path": sys.argv[2]}}).execute()
print(json.dumps([{"source": c.source, "outputs": c.outputs}
                  for c in nb.cells if c.cell_type == "code"]))
'''


def _outputs(cells, start):
    """The outputs of the cell whose source starts with start."""
    found = [c["outputs"] for c in cells if c["source"].startswith(start)]
    assert len(found) == 1, start
    return found[0]


def _data(outputs, mime):
    return [o["data"][mime] for o in outputs
            if o["output_type"] == "display_data" and mime in o["data"]]


def _text(outputs):
    return "".join(o["text"] for o in outputs if o["output_type"] == "stream")


@pytest.mark.py_versions("3.12")
def test_notebook_shows_pictures_inline(py, tmp_path):
    nb = tmp_path / NOTEBOOK.name
    shutil.copy(NOTEBOOK, nb)
    proc = py.py("-c", RUN, nb, tmp_path, env=ipython_env(py, tmp_path))
    assert proc.returncode == 0, proc.stderr
    cells = json.loads(proc.stdout.splitlines()[-1])
    # No cell failed.
    for c in cells:
        assert not [o for o in c["outputs"] if o["output_type"] == "error"], c
    # record: the flame graph, inline, with the cell's function in it.
    svg = _data(_outputs(cells, "%%sgrecord"), "image/svg+xml")
    assert len(svg) == 1 and "<svg" in svg[0] and "spin" in svg[0]
    # profile -o x.html: the report inline (in a frame of its own).
    page = _data(_outputs(cells, "%sgprun -o"), "text/html")
    assert len(page) == 1 and "<iframe" in page[0] and "fib" in page[0]
    # Text stays text: timeit's report and cProfile's table.
    assert "Relative to the fastest" in _text(_outputs(cells, "%%sgtimeit"))
    assert "function calls" in _text(_outputs(cells, "%sgprun -s"))
    assert "total += i" in _text(_outputs(cells, "%sglprun"))
