"""What a net's inputs go through before the module: cast, reshape, scale, standardise."""

from __future__ import annotations

import math
from typing import Any, TypeVar

import numpy as np
import torch
from sklearn.exceptions import NotFittedError

from ..utils._validation import check_count, check_positive_real
from ..utils._warnings import warn_user
from ._frozen import _check_channel_stats, channel_stats, fit_channel_stats

__all__ = ["InputTransform"]

_ArrayT = TypeVar("_ArrayT", np.ndarray, torch.Tensor)


def _check_input_shape(input_shape, *, allow_none=True):
    if input_shape is None and allow_none:
        return None
    if isinstance(input_shape, (str, bytes)) or not hasattr(input_shape, "__len__") or not len(input_shape):
        raise ValueError(f"input_shape must be a tuple of positive integers, got {input_shape!r}")
    return tuple(check_count(v, "input_shape") for v in input_shape)


def _check_scale(input_scale):
    return check_positive_real(input_scale, "input_scale", allow_none=True)


class InputTransform:
    """The input hooks of :class:`~skdfal.SeededNeuralNetClassifier` (not public on their own).

    Reads the net's ``input_shape``, ``input_scale``, ``input_mean`` and
    ``input_std``; keeps ``input_mean_``, ``input_std_`` and
    ``fit_unit_floats_``.
    """

    def _auto_stats(self) -> bool:
        return any(isinstance(v, str) and v == "auto" for v in (self.input_mean, self.input_std))

    def fit_input_stats(self, X: Any) -> InputTransform:
        """Learn the ``"auto"`` input statistics from ``X`` (``input_mean_``, ``input_std_``).

        ``partial_fit`` calls it on the first training inputs of a fresh
        module; call it yourself when you give a module trained weights
        without fitting it (the statistics are not in its ``state_dict``),
        with the inputs it was trained on.  Does nothing unless
        ``input_mean`` or ``input_std`` is ``"auto"``.

        Raises
        ------
        ValueError
            When ``X`` is not an array, a tensor or a list of samples (a
            Dataset or DataFrame: pass the statistics as numbers instead).
        """
        if not self._auto_stats():
            return self
        prepared = self._prepare_input(X)
        if not isinstance(prepared, (np.ndarray, torch.Tensor)):
            raise ValueError(
                f"input_mean/input_std='auto' learn from arrays or tensors, got {type(X).__name__}; "
                "pass the statistics as numbers (one per channel) instead"
            )
        self.input_mean_, self.input_std_ = fit_channel_stats(prepared)
        return self

    def transform_input(self, X: Any) -> Any:
        """``X`` as the module takes it: float32, reshaped to ``input_shape``, scaled, normalised.

        Numpy arrays and torch tensors are converted; anything else (a
        DataFrame, a Dataset, a dict) is returned unchanged for skorch.

        Raises
        ------
        ValueError
            For non-numeric samples, or samples that do not fit ``input_shape``.
        """
        X = self._prepare_input(X)
        if not isinstance(X, (np.ndarray, torch.Tensor)):
            return X
        mean, std = self._channel_stats(X)
        if mean is not None:
            X = X - mean
        if std is not None:
            X = X / std
        return X

    def _prepare_input(self, X):
        """``X`` cast to float32, reshaped and scaled (not normalised)."""
        if isinstance(X, torch.Tensor):
            if X.is_complex():
                raise ValueError(f"X must be real numbers for a torch net, got dtype {X.dtype}")
            X = X.to(torch.float32)
        elif isinstance(X, (np.ndarray, list)):
            X = np.asarray(X)
            if X.dtype.kind not in "biuf":
                raise ValueError(
                    f"X must be numeric for a torch net, got dtype {X.dtype}; encode texts or "
                    "categories first (e.g. in a Pipeline)"
                )
            X = X.astype(np.float32, copy=False)
        else:
            return X
        shape, scale, _, _ = self._input_params()
        if shape is not None:
            X = self._reshape(X, shape)
        if scale is not None:
            X = X * scale
        return X

    def _input_params(self):
        """``(input_shape, input_scale, input_mean, input_std)`` checked, once per value.

        ``initialize`` checks them, so that a bad one is named before torch
        runs; every batch transformed after it reuses that check, until
        ``set_params`` brings new values (checked at their first use).
        """
        raw = (self.input_shape, self.input_scale, self.input_mean, self.input_std)
        memo = self.__dict__.get("_checked_input_params_")
        if memo is None or any(old is not new for old, new in zip(memo[0], raw, strict=True)):
            checked = (
                _check_input_shape(raw[0]), _check_scale(raw[1]),
                _check_channel_stats(raw[2], "input_mean"), _check_channel_stats(raw[3], "input_std"),
            )
            memo = self.__dict__["_checked_input_params_"] = (raw, checked)
        return memo[1]

    def _channel_stats(self, X):
        _, _, mean, std = self._input_params()
        if self._auto_stats():
            if getattr(self, "input_mean_", None) is None:
                raise NotFittedError(
                    "input_mean/input_std='auto' are learned by the first fit: fit the net, or call "
                    "fit_input_stats(X) after loading trained weights"
                )
            mean = self.input_mean_ if isinstance(mean, str) else mean
            std = self.input_std_ if isinstance(std, str) else std
        return channel_stats(X, None, None, checked=(mean, std))

    def inverse_transform_input(self, Xt: _ArrayT) -> _ArrayT:
        """Undo the channel normalisation and ``input_scale`` (the reshape is left to the caller)."""
        mean, std = self._channel_stats(Xt)
        if std is not None:
            Xt = Xt * std
        if mean is not None:
            Xt = Xt + mean
        scale = self._input_params()[1]
        return Xt if scale is None else Xt / scale

    def _note_input_range(self, X):
        """Remember whether every training input so far was floats in [0, 1] (``fit_unit_floats_``).

        One min/max over the training inputs; ``None`` when they are not
        arrays or tensors (a Dataset: not looked into).
        """
        unit = _unit_floats(X)
        previous = getattr(self, "fit_unit_floats_", None)
        self.fit_unit_floats_ = unit if previous is None or unit is None else previous and unit

    def check_input_range(self, X: Any) -> None:
        """Warn when integer inputs reach a net trained on floats in [0, 1] without ``input_scale``.

        uint8 images after training on ``X / 255`` reach the module in
        [0, 255] and are predicted wrong without any error.
        """
        if self.input_scale is not None or not getattr(self, "fit_unit_floats_", None):
            return
        if isinstance(X, torch.Tensor):
            dtype, integer = X.dtype, not X.is_floating_point() and not X.is_complex() and X.dtype != torch.bool
        elif isinstance(X, np.ndarray):
            dtype, integer = X.dtype, X.dtype.kind in "iu"
        else:
            return
        if integer:
            warn_user(
                f"X has dtype {dtype}, but this net was trained on floats in [0, 1] and its "
                "input_scale is None: the integers reach the module unscaled and the predictions "
                "are wrong. Scale X as the training inputs were (e.g. X / 255), or train on the "
                "integer images with input_scale=1/255"
            )

    @staticmethod
    def _reshape(X, shape):
        sample = tuple(X.shape[1:])
        if sample == shape:
            return X
        same_size = math.prod(sample) == math.prod(shape)
        squeezed = tuple(d for d in sample if d != 1) == tuple(d for d in shape if d != 1)
        if same_size and (len(sample) == 1 or squeezed):
            return X.reshape((X.shape[0],) + shape)
        raise ValueError(
            f"X samples of shape {sample} do not fit this net's input_shape={shape}: pass samples "
            f"of that shape or flat rows of {math.prod(shape)} values"
        )


def _unit_floats(X) -> bool | None:
    """Whether ``X`` holds floats in [0, 1] (``None``: not an array or tensor)."""
    if isinstance(X, torch.Tensor):
        if not X.is_floating_point():
            return False
        return bool(X.numel() == 0 or (X.min() >= 0 and X.max() <= 1))
    if isinstance(X, np.ndarray):
        if X.dtype.kind != "f":
            return False
        return bool(X.size == 0 or (X.min() >= 0 and X.max() <= 1))
    return None
