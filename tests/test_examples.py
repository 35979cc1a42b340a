"""Every ``examples/*.py`` runs, so the examples cannot rot.

Examples are percent-format scripts (``# %%`` cells): plain Python for CI and
the command line, notebooks for Jupyter (with jupytext, or converted as in
:func:`percent_to_notebook`).  Each runs in a fresh interpreter from the
repository root (so data paths such as ``../shared/data/mnist`` resolve as in
the rest of the project), with the Agg backend and ``SKDFAL_EXAMPLES_OUT``
pointing at a temporary folder for the files they write.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# Files some examples promise to write (checked on top of a clean exit).
WRITES = {
    "quick_start.py": ["margins.png", "gallery.png"],
    "strategy_comparison.py": ["learning_curves.png"],
    "pipeline.py": ["pipeline.html"],
    "finetune_resnet_head.py": ["finetune_resnet_head.png"],
}


def _env(out_dir):
    env = dict(os.environ, MPLBACKEND="Agg", SKDFAL_EXAMPLES_OUT=str(out_dir))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def test_the_documented_examples_exist():
    assert set(WRITES) <= {path.name for path in EXAMPLES}


@pytest.mark.slow  # each example in a fresh interpreter, up to minutes (a ResNet)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_as_a_script(path, tmp_path):
    proc = subprocess.run(
        [sys.executable, str(path)],
        cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, (
        f"{path.name} failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )
    for name in WRITES.get(path.name, []):
        written = tmp_path / name
        assert written.is_file() and written.stat().st_size > 0, f"{path.name} did not write {name}"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_fits_the_gallery_and_shows_its_figures(path):
    """sphinx-gallery needs a docstring with an rst title; every saved figure is also shown."""
    import ast

    source = path.read_text()
    docstring = ast.get_docstring(ast.parse(source))
    assert docstring, f"{path.name} has no module docstring (the gallery's title and intro)"
    title, underline = docstring.splitlines()[:2]
    assert set(underline) == {"="} and len(underline) >= len(title), f"{path.name}: no rst title"
    # The docstring is the first cell, a markdown one (jupytext reads it so).
    assert source.index("# %% [markdown]") < source.index('"""') < source.index("# %%\n")
    assert source.count(".savefig(") <= source.count("plt.show()")
    assert "plt.close(" not in source, f"{path.name} closes figures before Jupyter or the gallery shows them"


def percent_to_notebook(text):
    """A percent-format script as an ``nbformat`` notebook (what jupytext does, minimally).

    A markdown cell is either commented lines or, as the first cell (which is
    also the module docstring sphinx-gallery needs), a triple-quoted string.
    """
    import nbformat

    cells, kind, lines = [], None, []

    def flush():
        source = "\n".join(lines).strip("\n")
        if kind == "markdown":
            if source.startswith('"""') and source.endswith('"""'):
                source = source[3:-3].strip("\n")
            else:
                source = "\n".join(
                    line[2:] if line.startswith("# ") else line.lstrip("#") for line in source.splitlines()
                )
            cells.append(nbformat.v4.new_markdown_cell(source))
        elif kind == "code" and source:
            cells.append(nbformat.v4.new_code_cell(source))

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line)
    flush()
    return nbformat.v4.new_notebook(cells=cells)


@pytest.mark.slow  # starts a Jupyter kernel and runs the quick start
def test_quick_start_runs_as_a_notebook(tmp_path, monkeypatch):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from nbclient import NotebookClient

    nb = percent_to_notebook((ROOT / "examples" / "quick_start.py").read_text())
    kinds = [cell.cell_type for cell in nb.cells]
    assert kinds.count("markdown") >= 3 and kinds.count("code") >= 4
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("Quick start")
    for key, value in _env(tmp_path).items():
        monkeypatch.setenv(key, value)
    # As in Jupyter: figures go to the inline backend, not to Agg.
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    printed = "".join(
        out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
    )
    assert "round 5: 70 labels paid" in printed
    assert (tmp_path / "gallery.png").is_file()
    # The figures show inline (as well as being saved): one PNG each.
    shown = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
             if "image/png" in out.get("data", {})]
    assert len(shown) == 2


@pytest.mark.slow  # the labeling example in a fresh interpreter
def test_labeling_example_runs_without_ipywidgets(tmp_path):
    """A plain ``pip install skdfal`` has no ipywidgets: the example answers through the session."""
    blocked = (
        "import runpy, sys; sys.modules['ipywidgets'] = None; "  # `import ipywidgets` now fails
        f"runpy.run_path({str(ROOT / 'examples' / 'labeling_session.py')!r}, run_name='__main__')"
    )
    proc = subprocess.run([sys.executable, "-c", blocked], cwd=ROOT, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "pip install 'skdfal[jupyter]'" in proc.stdout
    # 24 answers, one slip undone, one skip: as with the widget.
    assert "resumed: 24 labels" in proc.stdout
