"""A skorch classifier for active learning: seeded, any numeric input, any class labels."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from sklearn.preprocessing import LabelEncoder
from skorch import NeuralNetClassifier
from torch import nn

from ..utils._heads import logits_of
from ..utils._modules import check_device
from ._cached_head import check_embedding_cache, on_embeddings, scoring_lookup
from ._frozen import backbone_eval, freeze_backbone
from ._input import InputTransform
from ._training import StepBudget

__all__ = ["SeededNeuralNetClassifier"]

class SeededNeuralNetClassifier(InputTransform, NeuralNetClassifier):
    """skorch ``NeuralNetClassifier`` with a seed, any numeric input and any class labels.

    * ``random_state`` seeds weight initialisation, shuffling and dropout in
      a forked RNG, so results repeat without touching the global torch RNG;
    * inputs of any numeric dtype (uint8 or integer images, bool, float16,
      float64) are **cast** to float32; they are **scaled** only when
      ``input_scale`` is set (``1/255`` puts uint8 images in [0, 1]);
    * flat rows of ``prod(input_shape)`` values are reshaped to
      ``input_shape`` when it is set;
    * class labels may be anything (strings, floats, integers): with
      ``classes`` set they are encoded as their position in it, without it
      non-integer labels are encoded as their position in ``np.unique(y)``;
      ``predict`` decodes, so ``classes_`` holds the original labels, as in
      scikit-learn.  Integer labels without ``classes`` are output indices
      (skorch's convention) and must be non-negative (``CrossEntropyLoss``
      silently ignores ``-100``).  A label outside ``classes`` raises.

    Parameters
    ----------
    module : torch.nn.Module class or instance
    random_state : int or None, default=None
    input_shape : tuple of int or None, default=None
        Shape of one sample as the module takes it, e.g. ``(1, 28, 28)``.
        Samples of that shape pass as they are; flat rows of the same
        number of values (or the same shape without its size-1 axes) are
        reshaped; any other sample shape raises ``ValueError``.  ``None``:
        no reshaping, no check.
    input_scale : float or None, default=None
        Inputs are multiplied by it after the float32 cast, whatever their
        dtype.  ``None``: cast only, never rescaled (uint8 images then reach
        the module in [0, 255]).
    full_batches : bool, default=False
        Every training step averages ``batch_size`` samples: each shuffled
        epoch drops its last, smaller batch (other samples each epoch), and a
        training set smaller than ``batch_size`` is one batch.  Without it a
        set of 100 labels trains one step in four on a batch of 4, and such
        steps shake the model (docs/results.md: the rounds whose last batch
        was that small lost more than 2 points six times as often).
        ``make_classifier`` turns it on.
    class_weight : {"balanced"} or None, default=None
        ``"balanced"`` weighs each class's loss by ``n / (k * n_c)`` over the
        ``k`` classes of the training set (scikit-learn's rule), recomputed at
        every fit, so that a labeled set skewed towards a few classes (what
        uncertainty sampling buys) does not tilt the model.  Needs a
        ``CrossEntropyLoss`` criterion.
    input_mean, input_std : "auto", sequence of float or None, default=None
        Per-channel normalisation after ``input_scale``: channel ``c`` (axis
        1 of the reshaped input) becomes ``(x - input_mean[c]) / input_std[c]``,
        e.g. ImageNet's statistics for a pretrained backbone.  ``"auto"``:
        each channel's mean and standard deviation over the training inputs
        of the first fit of a fresh module (``input_mean_``/``input_std_``;
        :meth:`fit_input_stats`), kept by later ``partial_fit`` calls.
        Either may be ``None`` (mean 0, standard deviation 1).
    freeze : bool, default=False
        Train the head only (see ``head``): every other parameter keeps
        ``requires_grad=False`` and stays out of the optimiser, and every
        other layer runs in eval mode while training, so batch-norm
        statistics do not move either.  The backbone's weights are then
        bit-identical after any number of fits.
    head : str or None, default=None
        Name of the trainable head in the module (``"fc"`` for a torchvision
        ResNet, ``"classifier"`` for skdfal's nets or Hugging Face models).
        ``None``: the ``head`` of a module with ``backbone`` and ``head``
        attributes (:class:`~skdfal.models.BackboneHead`), else the last
        ``nn.Linear``.  Used by ``freeze``.
    embedding_cache : "auto", False or path, default="auto"
        With ``freeze``: keep what the head receives for each sample met (a
        hash of its bytes is the key; a changed backbone or input preparation
        empties the cache), train the head on it and score head-space DFAL
        on it, so the backbone runs once per sample.  Training uses it only
        without input augmentation and a ``SemiSupervised`` callback (see
        ``skdfal.models._cached_head``).  ``"auto"``: in memory; a folder:
        in memory-mapped files under it; ``False``: never.

    Modules whose forward returns a tuple ``(logits, ...)`` or an object with
    a ``.logits`` tensor (Hugging Face image models) train and predict on
    those logits.
    **kwargs
        skorch's parameters (``classes``, ``max_epochs``, ``device`` ...).

    Examples
    --------
    >>> import numpy as np
    >>> from skdfal import LeNet5, SeededNeuralNetClassifier
    >>> net = SeededNeuralNetClassifier(
    ...     LeNet5, module__input_size=8, module__n_classes=2, classes=["cat", "dog"],
    ...     input_shape=(1, 8, 8), input_scale=1 / 255, max_epochs=2, train_split=None,
    ...     verbose=0, random_state=0,
    ... )
    >>> X = np.random.RandomState(0).randint(0, 256, size=(20, 64)).astype(np.uint8)
    >>> y = np.array(["cat", "dog"] * 10)
    >>> net.fit(X, y).predict(X[:3]).dtype.kind  # flat uint8 rows in, labels out
    'U'
    """

    def __init__(
        self, module: type[nn.Module] | nn.Module, *, random_state: int | None = None,
        input_shape: Sequence[int] | None = None, input_scale: float | None = None,
        full_batches: bool = False, class_weight: str | None = None,
        input_mean: Sequence[float] | None = None, input_std: Sequence[float] | None = None,
        freeze: bool = False, head: str | None = None, embedding_cache: Any = "auto", **kwargs: Any,
    ):
        super().__init__(module, **kwargs)
        self.input_mean = input_mean
        self.input_std = input_std
        self.freeze = freeze
        self.head = head
        self.embedding_cache = embedding_cache
        self.random_state = random_state
        self.input_shape = input_shape
        self.input_scale = input_scale
        self.full_batches = full_batches
        self.class_weight = class_weight

    @contextlib.contextmanager
    def _seeded(self):
        if self.random_state is None:
            yield
            return
        devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(np.random.RandomState(self.random_state).randint(2**31 - 1)))
            yield

    def initialize(self) -> SeededNeuralNetClassifier:
        # Parameters are checked here, not in __init__ (scikit-learn's rule),
        # so that a bad device or shape is named before any torch error.
        check_device(self.device)
        self._input_params()
        _check_class_weight(self.class_weight)
        if not isinstance(self.full_batches, (bool, np.bool_)):
            raise ValueError(f"full_batches must be True or False, got {self.full_batches!r}")
        if not isinstance(self.freeze, (bool, np.bool_)):
            raise ValueError(f"freeze must be True or False, got {self.freeze!r}")
        check_embedding_cache(self.embedding_cache)
        self.label_set_ = None  # a fresh module learns a fresh label encoding
        self.input_mean_ = self.input_std_ = None  # and fresh "auto" input statistics
        self.fit_unit_floats_ = None  # what the fresh module is trained on is not known yet
        with self._seeded():
            return super().initialize()

    def initialize_module(self) -> SeededNeuralNetClassifier:
        super().initialize_module()
        if self.freeze:
            freeze_backbone(self.module_, self.head)
        return self

    def get_all_learnable_params(self) -> Iterator[tuple[str, nn.Parameter]]:
        # Frozen parameters stay out of the optimiser: no state, no weight decay.
        for name, param in super().get_all_learnable_params():
            if param.requires_grad:
                yield name, param

    def infer(self, x: Any, **fit_params: Any) -> torch.Tensor:
        """The module's logits on a batch (a tuple's first item, or ``.logits``)."""
        if self.freeze and self.module_.training and not self.__dict__.get("_on_embeddings"):
            backbone_eval(self.module_, self.head)
        return logits_of(super().infer(x, **fit_params))

    def fit(self, X: Any, y: Any = None, X_unlabeled: Any = None, **fit_params: Any) -> SeededNeuralNetClassifier:
        """Initialise the module and train it on ``(X, y)``, and on ``X_unlabeled`` if given.

        Parameters
        ----------
        X, y : array-like
            The labeled training set.
        X_unlabeled : array-like or None, default=None
            Samples without labels (in ``X``'s format: a memory-mapped array
            is read a batch at a time), for a
            :class:`~skdfal.models.SemiSupervised` callback of this net; it
            may hold the labeled samples too.  Not kept after the fit.
        **fit_params
            skorch's fit parameters.
        """
        return super().fit(X, y, X_unlabeled=X_unlabeled, **fit_params)

    def partial_fit(
        self, X: Any, y: Any = None, classes: npt.ArrayLike | None = None, X_unlabeled: Any = None,
        **fit_params: Any,
    ) -> SeededNeuralNetClassifier:
        """Train the current module on ``(X, y)``, and on ``X_unlabeled`` (see :meth:`fit`)."""
        if not self.initialized_:
            self.initialize()  # skorch would; here first, so the note below survives it
        self._note_input_range(X)
        if self._auto_stats() and getattr(self, "input_mean_", None) is None:
            self.fit_input_stats(X)
        # Read by a SemiSupervised callback in on_train_begin; dropped after the
        # fit, so that the net never holds (nor pickles) the caller's pool.
        self.__dict__["_X_unlabeled"] = X_unlabeled
        try:
            with self._seeded():
                return super().partial_fit(X, y, classes=classes, **fit_params)
        finally:
            self.__dict__.pop("_X_unlabeled", None)

    # A StepBudget callback decides the number of epochs of each fit.
    _plans_epochs_from_budget = True

    def fit_loop(
        self, X: Any, y: Any = None, epochs: int | None = None, **fit_params: Any
    ) -> SeededNeuralNetClassifier:
        budget = self._step_budget()
        if epochs is None and budget is not None:
            epochs = budget.epochs_
        if self.class_weight is not None and y is not None:
            self._balance_classes(y)
        elif getattr(self, "class_weight_", None) is not None:
            self.criterion_.weight, self.class_weight_ = None, None  # turned off since the last fit
        with on_embeddings(self, X) as X_fit:  # a frozen backbone: the head alone, on embeddings
            return super().fit_loop(X_fit, y, epochs=epochs, **fit_params)

    def embedding_lookup(self, head: str | None = None) -> Any:
        """``batch -> embeddings`` from the frozen backbone's cache, for head-space scoring (or ``None``)."""
        return scoring_lookup(self, head)

    def _balance_classes(self, y):
        """Give the criterion scikit-learn's balanced class weights for the labels ``y``."""
        from sklearn.utils.class_weight import compute_class_weight

        if not isinstance(self.criterion_, nn.CrossEntropyLoss):
            raise ValueError(
                f"class_weight='balanced' needs a CrossEntropyLoss criterion, got "
                f"{type(self.criterion_).__name__}"
            )
        codes = np.asarray(self._encode_labels(y))
        if codes.ndim != 1 or not codes.size:
            return
        n_outputs = len(self.classes) if self.classes is not None and len(self.classes) else int(codes.max()) + 1
        present = np.unique(codes)
        weights = np.zeros(n_outputs, dtype=np.float64)  # a class absent from y weighs 0
        weights[present] = compute_class_weight("balanced", classes=present, y=codes)
        self.class_weight_ = weights
        # A buffer of the loss module: moved with it, used by its forward.
        self.criterion_.weight = torch.as_tensor(weights, dtype=torch.float32, device=self.device or "cpu")

    def get_iterator(self, dataset: Any, training: bool = False) -> Any:
        if not (training and self.full_batches):
            return super().get_iterator(dataset, training=training)
        # skorch's own get_iterator, with whole batches only (see full_batches).
        kwargs = self.get_params_for("iterator_train")
        size = kwargs.get("batch_size", self.batch_size)
        n = len(dataset)
        kwargs["batch_size"] = n if size == -1 else max(1, min(int(size), n))
        kwargs.setdefault("drop_last", True)
        return self.iterator_train(dataset, **kwargs)

    def _step_budget(self):
        for _, callback in getattr(self, "callbacks_", []):
            if isinstance(callback, StepBudget):
                return callback
        return None

    # ------------------------------------------------------------------ labels
    @property
    def classes_(self):
        label_set = getattr(self, "label_set_", None)
        default = self.classes is None or isinstance(self.classes, range)  # make_classifier's default
        if default and label_set is not None:
            return label_set
        if isinstance(self.classes, range):
            return np.asarray(self.classes)
        return NeuralNetClassifier.classes_.fget(self)

    def _encode_labels(self, y):
        y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1:
            return y  # multi-output targets: the criterion's business
        integers = y.dtype.kind in "biu" or (y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0))
        named = isinstance(self.classes, range) and not integers  # the default classes, other labels
        if self.classes is not None and len(self.classes) and not named:
            return _positions(y, np.asarray(self.classes), "classes")
        if integers and not named:
            if y.size and y.min() < 0:
                raise ValueError(
                    f"y contains negative labels {np.unique(y[y < 0])[:5].tolist()}: integer labels "
                    "are output indices (CrossEntropyLoss silently ignores -100); pass classes=... "
                    "to use any labels"
                )
            return y.astype(np.int64)
        if getattr(self, "label_set_", None) is None:
            # scikit-learn's encoding (sorted unique labels); _positions gives the
            # message that names the labels of the first fit for an unknown one.
            label_set = LabelEncoder().fit(y).classes_
            if named and len(label_set) > len(self.classes):
                raise ValueError(
                    f"y has {len(label_set)} labels but the net has {len(self.classes)} outputs: pass "
                    f"n_classes={len(label_set)}, or classes=[...] to name them in output order"
                )
            self.label_set_ = label_set
        return _positions(y, self.label_set_, "the labels of the first fit")

    def check_data(self, X: Any, y: Any) -> None:
        # skorch reads the classes from y before get_dataset sees it; a list
        # of labels is as good as an array.
        super().check_data(X, np.asarray(y) if isinstance(y, (list, tuple)) else y)

    def get_dataset(self, X: Any, y: Any = None) -> torch.utils.data.Dataset:
        if not self.__dict__.get("_on_embeddings"):  # embeddings are the head's input already
            X = self.transform_input(X)
        if y is not None:
            y = self._encode_labels(y)
        return super().get_dataset(X, y)

    def get_loss(
        self, y_pred: torch.Tensor, y_true: torch.Tensor, *args: Any, **kwargs: Any
    ) -> torch.Tensor:
        # A label beyond the module's outputs is an index error deep in torch.
        if (
            isinstance(y_true, torch.Tensor)
            and y_true.ndim == 1
            and not y_true.is_floating_point()
            and y_pred.ndim == 2
            and y_true.numel()
            and int(y_true.max()) >= y_pred.shape[1]
        ):
            raise ValueError(
                f"y contains label index {int(y_true.max())} but the module has {y_pred.shape[1]} "
                "outputs; build the net with as many outputs as classes"
            )
        return super().get_loss(y_pred, y_true, *args, **kwargs)

    def predict_proba(self, X: Any) -> np.ndarray:
        self.check_input_range(X)
        proba = super().predict_proba(X)
        if self.classes is not None and len(self.classes) and proba.shape[1] != len(self.classes):
            raise ValueError(
                f"the module returns {proba.shape[1]} outputs but classes has {len(self.classes)} "
                "labels; they must agree"
            )
        return proba

    def predict(self, X: Any) -> np.ndarray:
        index = self.predict_proba(X).argmax(axis=1)
        classes = self.classes_ if getattr(self, "label_set_", None) is not None or self.classes is not None else None
        return index if classes is None or not len(classes) else np.asarray(classes)[index]


def _check_class_weight(class_weight):
    if class_weight is not None and not (isinstance(class_weight, str) and class_weight == "balanced"):
        raise ValueError(f"class_weight must be 'balanced' or None, got {class_weight!r}")


def _positions(y, classes, what):
    """Position of each label of ``y`` in ``classes``; ``ValueError`` for unknown ones."""
    lookup = {}
    for i, c in enumerate(classes.tolist()):
        lookup.setdefault(c, i)
    try:
        out = np.fromiter((lookup[v] for v in y.tolist()), dtype=np.int64, count=len(y))
    except (KeyError, TypeError):
        unknown = [v for v in y.tolist() if _missing(lookup, v)]
        raise ValueError(
            f"y contains labels {', '.join(sorted(set(map(repr, unknown)))[:5])} that are not in {what} "
            f"({classes.tolist()[:10]}{' ...' if len(classes) > 10 else ''})"
        ) from None
    return out


def _missing(lookup, v):
    try:
        return v not in lookup
    except TypeError:  # unhashable label
        return True
