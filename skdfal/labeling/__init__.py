"""Human-in-the-loop labeling sessions kept in a directory, their Jupyter widget, and a Label Studio backend."""

from ._demo import make_digits_session
from ._fs import SessionError, SessionWarning
from ._labelstudio import LabelStudioBackend
from ._ls_serve import serve_label_studio
from ._session import LabelingSession
from ._widget import Labeler  # imports ipywidgets only when a Labeler is built

__all__ = [
    "LabelStudioBackend",
    "Labeler",
    "LabelingSession",
    "SessionError",
    "SessionWarning",
    "make_digits_session",
    "serve_label_studio",
]
