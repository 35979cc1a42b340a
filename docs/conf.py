"""Sphinx configuration of skdfal's documentation.

Build from the repository root (warnings are errors in CI)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The gallery executes ``examples/*.py`` at build time (sphinx-gallery) and the
user guide's figures are drawn by ``.. plot::`` directives, so no figure is
committed.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Document (and run the examples against) this checkout, not an installed copy.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))  # _gallery_order
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import torch  # noqa: E402

import skdfal  # noqa: E402

# The gallery runs the examples in this process.  They train tiny nets, for
# which one torch thread is fastest, and immune to cores shared with other jobs
# (one example's run: 9.5 s with 1 thread, 73 s with 2 on a busy 2-core machine).
torch.set_num_threads(1)

project = "skdfal"
author = "skdfal developers"
copyright = "2026, skdfal developers"
version = release = skdfal.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "**.ipynb_checkpoints",
    # The results folder holds the benchmark's own summaries, linked from results.md.
    "results/**.md",
    # sphinx-gallery writes these beside the rendered examples.
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.md5",
    "auto_examples/*.json",
]

# -- API reference ---------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True}
autodoc_typehints = "none"  # numpydoc's Parameters section says the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False
numpydoc_xref_param_type = False

# -- MyST (the results and performance pages are markdown) ----------------
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

# -- Gallery ---------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    # Every example is executed at build time (about 10 minutes on 2 CPU cores).
    "filename_pattern": r"\.py$",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "_gallery_order.example_order",
    "download_all_examples": False,
    "remove_config_comments": True,
    "capture_repr": ("_repr_html_", "__repr__"),
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib",),
    "show_memory": False,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
}

# -- Figures drawn at build time (.. plot::) --------------------------------
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_rcparams = {"figure.autolayout": False}

# -- HTML ------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skdfal {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "header_links_before_dropdown": 7,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path: list[str] = []
html_show_sourcelink = False

# Examples print to the console while the gallery runs; torch and skorch warn on
# their own schedule, which must not fail a build made with -W.
warnings.filterwarnings("ignore", category=UserWarning, module="torch")
warnings.filterwarnings("ignore", category=UserWarning, module="skorch")


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """Hide scikit-learn's metadata-routing methods (``set_<method>_request``, ``get_metadata_routing``).

    scikit-learn adds them to every estimator class; their docstrings point at
    scikit-learn's own documentation, and they are not part of skdfal's API.
    """
    if (name.startswith("set_") and name.endswith("_request")) or name == "get_metadata_routing":
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
