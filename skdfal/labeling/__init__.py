"""Human-in-the-loop labeling sessions kept in a directory, and their Jupyter widget."""

from ._journal import SessionError
from ._session import LabelingSession, make_digits_session
from ._widget import Labeler  # imports ipywidgets only when a Labeler is built

__all__ = ["Labeler", "LabelingSession", "SessionError", "make_digits_session"]
