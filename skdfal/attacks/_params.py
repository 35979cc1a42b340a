"""DeepFool's parameters, declared once: the attack's checks, the strategies' constraints, the learner's keys."""

from __future__ import annotations

import math
import numbers
from numbers import Integral, Real

from ..utils._sklearn_compat import Interval, Options, validate_parameter_constraints

__all__ = ["DEEPFOOL_CONSTRAINTS", "check_clip", "check_deepfool_params"]


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


#: DeepFool's parameters in scikit-learn's vocabulary, declared once: checked
#: here, the strategies' own constraints, the learner's augmentation keys.
DEEPFOOL_CONSTRAINTS = {
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "overshoot": [Interval(Real, 0, None, closed="left")],
    "norm": [Options(Real, {2, math.inf})],
    "candidates": [None, Interval(Integral, 2, None, closed="left")],
    "clip": [None, tuple, list],  # its bounds (and the attack's message): check_clip
    "step_eps": [Interval(Real, 0, None, closed="left")],
}


def _check_params(max_iter, overshoot, norm, candidates, batch_size, step_eps, clip):
    """Validate every parameter; returns ``clip`` as a pair of floats (or ``None``)."""
    constraints = {key: value for key, value in DEEPFOOL_CONSTRAINTS.items() if key != "clip"}
    constraints["batch_size"] = [None, Interval(Integral, 1, None, closed="left")]  # the attack's chunks
    params = dict(max_iter=max_iter, overshoot=overshoot, norm=norm, candidates=candidates,
                  batch_size=batch_size, step_eps=step_eps)
    validate_parameter_constraints(constraints, params, caller_name="deepfool")
    return check_clip(clip)


def check_deepfool_params(*, max_iter=50, overshoot=0.02, norm=2, candidates=None, batch_size=256,
                          step_eps=1e-4, clip=None):
    """:func:`deepfool`'s checks, once at a caller's door; returns ``clip`` as floats (or ``None``)."""
    return _check_params(max_iter, overshoot, norm, candidates, batch_size, step_eps, clip)


def check_clip(clip):
    """``clip`` as a pair of floats (or ``None``); ``ValueError`` for anything else."""
    if clip is None:
        return None
    if (
        isinstance(clip, (str, bytes))
        or not hasattr(clip, "__len__")
        or len(clip) != 2
        or not all(_is_real(bound) for bound in clip)
        or not clip[0] < clip[1]
    ):
        raise ValueError(f"clip must be None or a pair (low, high) of finite numbers with low < high, got {clip!r}")
    return float(clip[0]), float(clip[1])
