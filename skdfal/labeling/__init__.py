"""Human-in-the-loop labeling: a store, the session, and the front-ends that use it.

* :mod:`skdfal.labeling.store` -- the folder's files: journal, snapshots,
  lock, pool and formats (nothing about what they mean);
* :mod:`skdfal.labeling.session` -- :class:`LabelingSession`, whose public
  methods are all a front-end may call;
* :mod:`skdfal.labeling.frontends` -- the Jupyter widget (:class:`Labeler`),
  the terminal (``skdfal label``) and the Label Studio backend
  (:class:`LabelStudioBackend`); a new annotation tool goes there.

Under all three, :mod:`skdfal.labeling._fs` opens every file (no link
followed, no file with other hard links written, ``0600``/``0700``), for the
store and for a front-end's own files alike.
"""

from ._fs import SessionError, SessionWarning
from .frontends import Labeler, LabelStudioBackend, serve_label_studio
from .session import LabelingSession, make_digits_session

__all__ = [
    "LabelStudioBackend",
    "Labeler",
    "LabelingSession",
    "SessionError",
    "SessionWarning",
    "make_digits_session",
    "serve_label_studio",
]
