"""Human-in-the-loop labeling sessions kept in a directory, and their Jupyter widget."""

from ._demo import make_digits_session
from ._fs import SessionError, SessionWarning
from ._session import LabelingSession
from ._widget import Labeler  # imports ipywidgets only when a Labeler is built

__all__ = ["Labeler", "LabelingSession", "SessionError", "SessionWarning", "make_digits_session"]
