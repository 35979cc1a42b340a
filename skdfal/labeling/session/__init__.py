"""The labeling session: answers, the model, and the public API every front-end uses.

:class:`LabelingSession` keeps a pool, an active learner and the answers a
person gave, in a folder (the files are the store's,
:mod:`skdfal.labeling.store`).  Front-ends (:mod:`skdfal.labeling.frontends`:
the terminal, the Jupyter widget, the Label Studio backend) call only its
public methods and attributes; the list is in the labeling user guide
("Adding a front-end").
"""

from ._demo import make_digits_session
from ._session import LabelingSession
from ._training import Ranking, TrainingSnapshot

__all__ = ["LabelingSession", "Ranking", "TrainingSnapshot", "make_digits_session"]
