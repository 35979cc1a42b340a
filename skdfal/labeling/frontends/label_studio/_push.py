"""Fresh predictions pushed to Label Studio after every retrain (``label-studio-sdk``, optional).

Label Studio asks an ML backend for predictions only when a person presses
"Retrieve predictions" (or opens a task): after a retrain the Data
Manager's score column would still order the pool by the previous model.
With a Label Studio address and an API key (``skdfal serve-label-studio
--label-studio-url URL`` and ``LABEL_STUDIO_API_KEY``), the backend creates,
after each retrain, one prediction of the new model version for every task
of each project it has heard from since it started (its webhooks and
``/predict`` requests name the project), then makes that version the
project's ``model_version``, which is the version whose scores the Data
Manager shows.  A failed push is logged and changes nothing else: the
labels are the backend's own, predictions can always be retrieved by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

__all__ = ["PredictionPush", "project_id"]

logger = logging.getLogger("skdfal.labelstudio")


def project_id(value) -> int | None:
    """A Label Studio project id from a request: ``{"id": 3, ...}`` (webhooks), ``"3.1712345678"`` (``/predict``)."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, str):
        head = value.split(".", 1)[0]
        value = int(head) if head.isascii() and head.isdigit() and len(head) <= 18 else None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


class PredictionPush:
    """Creates predictions in Label Studio projects through ``label-studio-sdk``.

    Parameters
    ----------
    url : str
        Label Studio's address, e.g. ``"http://localhost:8080"``.
    api_key : str
        A Label Studio access token (Account & Settings).
    client : object, optional
        A ``label_studio_sdk.LabelStudio`` client (or an object with its
        ``tasks.list``, ``predictions.create`` and ``projects.update``);
        made from ``url`` and ``api_key`` when omitted.

    Examples
    --------
    >>> class Fake:  # the three calls the push makes
    ...     def __init__(self):
    ...         self.tasks, self.predictions, self.projects, self.made = self, self, self, []
    ...     def list(self, project, fields):
    ...         return [type("Task", (), {"id": 7, "data": {"image": "x.png"}})()]
    ...     def create(self, **prediction):
    ...         self.made.append(prediction)
    ...     def update(self, id, model_version):
    ...         self.version = model_version
    >>> fake = Fake()
    >>> push = PredictionPush("http://localhost:8080", "key", client=fake)
    >>> push.push(3, lambda tasks: [{"result": [], "score": 0.5, "model_version": "v2"} for _ in tasks], "v2")
    1
    >>> fake.made, fake.version
    ([{'task': 7, 'result': [], 'score': 0.5, 'model_version': 'v2'}], 'v2')
    """

    def __init__(self, url: str, api_key: str, *, client: Any = None):
        if not url or not api_key:
            raise ValueError("pushing predictions needs Label Studio's address and an API key (LABEL_STUDIO_API_KEY)")
        if client is None:
            try:
                from label_studio_sdk import LabelStudio
            except ImportError as exc:
                raise ValueError("pushing predictions needs label-studio-sdk: pip install 'skdfal[labelstudio]'"
                                 ) from exc
            client = LabelStudio(base_url=url, api_key=api_key, timeout=60)
        self.url, self.client = url, client

    def push(self, project: int, predict: Callable[[list], list], version: str) -> int:
        """One prediction per task of ``project`` (``predict(tasks)``, tasks as dicts), then its model version.

        Returns the number of predictions created.
        """
        tasks = [{"id": t.id, "data": t.data} for t in self.client.tasks.list(project=project, fields="all")]
        predictions = predict(tasks)
        for task, prediction in zip(tasks, predictions, strict=True):
            extra = {"cluster": prediction["cluster"]} if prediction.get("cluster") is not None else {}
            self.client.predictions.create(task=task["id"], result=prediction["result"], score=prediction["score"],
                                           model_version=prediction["model_version"], **extra)
        self.client.projects.update(id=project, model_version=version)
        return len(tasks)
