"""Front-ends of a labeling session: where a person (or an annotation tool) answers.

* :class:`Labeler` -- a Jupyter panel (ipywidgets);
* :func:`run_label_loop` -- the terminal (``skdfal label``);
* :class:`LabelStudioBackend` and :func:`serve_label_studio` -- a Label
  Studio ML backend (:mod:`skdfal.labeling.frontends.label_studio`).

A front-end calls only the public methods and attributes of
:class:`~skdfal.LabelingSession` (never the store, never a private name:
import-linter and ``tests/test_labeling_frontends.py`` hold that).  A new
annotation tool (CVAT, Argilla) is a new module or subpackage here; the
labeling user guide lists the session methods it may call.
"""

from ._terminal import HELP, run_label_loop
from ._widget import Labeler  # imports ipywidgets only when a Labeler is built
from .label_studio import LabelStudioBackend, serve_label_studio

__all__ = ["HELP", "LabelStudioBackend", "Labeler", "run_label_loop", "serve_label_studio"]
