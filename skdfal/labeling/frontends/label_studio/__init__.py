"""A Label Studio ML backend over a :class:`~skdfal.LabelingSession` (see :mod:`._backend`).

The protocol and the files the backend keeps (:mod:`._backend`), webhooks
(:mod:`._webhook`), annotations as the unit (:mod:`._annotations`), Label
Studio's files and label config (:mod:`._files`), who may reach it
(:mod:`._http`), background retraining (:mod:`._training`), predictions
pushed to projects (:mod:`._push`) and serving (:mod:`._serve`).
"""

from ._backend import LabelStudioBackend
from ._serve import auth_from_env, serve_label_studio

__all__ = ["LabelStudioBackend", "auth_from_env", "serve_label_studio"]
