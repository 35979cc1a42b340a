"""Checks shared by every layer: one size parser, one count check, one shim for renamed parameters."""

from __future__ import annotations

import functools
import math
import numbers
import warnings

import numpy as np

from ._sklearn_compat import Interval, InvalidParameterError

__all__ = ["check_count", "check_positive_real", "renamed_parameter", "resolve_size", "warn_renamed"]

#: The release that renamed a parameter, and the one that will drop its old name.
RENAMED_IN, REMOVED_IN = "0.1.0", "0.2.0"


def warn_renamed(old: str, new: str, value: object, *, stacklevel: int) -> None:
    """The FutureWarning for a parameter passed under its old name.

    ``stacklevel`` counts from the caller of this function, as
    :func:`warnings.warn`'s does from its own caller.
    """
    warnings.warn(
        f"{old} was renamed {new} in skdfal {RENAMED_IN} and will be removed in {REMOVED_IN}: "
        f"pass {new}={value!r} instead",
        FutureWarning, stacklevel=stacklevel + 1,
    )


def renamed_parameter(old: str, new: str):
    """Decorator: accept keyword ``old`` for ``new`` for one release, with a FutureWarning.

    The warning points at the line that called the decorated function.
    Giving both names is a ``TypeError``, as Python's own for a repeated
    argument.

    Examples
    --------
    >>> import warnings
    >>> @renamed_parameter("query_size", "n_instances")
    ... def run(*, n_instances=10):
    ...     return n_instances
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     run(query_size=5), caught[0].category.__name__
    (5, 'FutureWarning')
    """

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            if old in kwargs:
                if new in kwargs:
                    raise TypeError(
                        f"{function.__name__}() got {old} and {new}: {old} is the old name of {new}; "
                        f"pass {new} only"
                    )
                value = kwargs.pop(old)
                warn_renamed(old, new, value, stacklevel=2)
                kwargs[new] = value
            return function(*args, **kwargs)

        return wrapper

    return decorate


@functools.lru_cache(maxsize=64)
def _integers(minimum: int, maximum: int | None) -> Interval:
    # Built once per bounds: scikit-learn checks an Interval's own arguments when it is made.
    return Interval(numbers.Integral, minimum, maximum, closed="left" if maximum is None else "both")


def check_count(
    value: object, name: str, *, minimum: int = 1, maximum: int | None = None, allow_none: bool = False,
    error: type[Exception] = InvalidParameterError, alternatives: str = "",
) -> int | None:
    """``value`` as a Python int in ``[minimum, maximum]`` (numpy integers accepted).

    The one integer check of skdfal: scikit-learn's ``Interval(Integral)``
    constraint decides, and a bool (which ``Interval`` takes for 0 or 1) is
    refused as the flag it is.

    Parameters
    ----------
    value : object
    name : str
        How the message names the value.
    minimum, maximum : int or None
        Bounds, both included; ``maximum=None``: no upper bound.
    allow_none : bool, default=False
        ``None`` passes (and is returned).
    error : exception class, default=InvalidParameterError
        Raised for anything else; modules that promised a plain
        ``ValueError`` pass it.
    alternatives : str, default=""
        The other values the caller accepts, for the message (``"'auto' or "``
        reads "steps must be 'auto' or an integer >= 1"); the caller handles them.

    Raises
    ------
    InvalidParameterError
        Naming ``name`` for anything else (floats such as ``2.5``, bools,
        strings).  It is a ``ValueError`` and a ``TypeError``, as
        scikit-learn raises for invalid parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from skdfal.utils import check_count
    >>> check_count(np.int64(3), "n_instances")
    3
    >>> check_count(2.5, "n_instances")
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: n_instances must be an integer >= 1, got 2.5
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not _integers(minimum, maximum).is_satisfied_by(value):
        bounds = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        extra = " or None" if allow_none else ""
        raise error(f"{name} must be {alternatives}an integer {bounds}{extra}, got {value!r}")
    return int(value)


def check_positive_real(value: object, name: str, *, allow_none: bool = False) -> float | None:
    """``value`` as a float that is finite and > 0 (``None`` too when ``allow_none``).

    Raises
    ------
    ValueError
        Naming ``name`` for anything else (bools, strings, 0, ``nan``, ``inf``).

    Examples
    --------
    >>> check_positive_real(0.5, "lr")
    0.5
    """
    if value is None and allow_none:
        return None
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        extra = " or None" if allow_none else ""
        raise ValueError(f"{name} must be a positive finite number{extra}, got {value!r}")
    return float(value)


def resolve_size(value: object, n_total: int, name: str, *, fraction_max_inclusive: bool = True) -> int:
    """An int-or-fraction size as a number of samples out of ``n_total``.

    An integer is taken as it is; a float in ``(0, 1]`` (``(0, 1)`` when
    ``fraction_max_inclusive`` is false) is that share of ``n_total``,
    rounded up.

    Raises
    ------
    ValueError
        Naming ``name`` when ``value`` is neither.

    Examples
    --------
    >>> from skdfal.utils import resolve_size
    >>> resolve_size(0.25, 10, "subsample"), resolve_size(4, 10, "subsample")
    (3, 4)
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        if value < 1:
            raise ValueError(f"{name} must be an integer >= 1 or a fraction; got {value!r}")
        return int(value)
    high_ok = fraction_max_inclusive
    if (
        isinstance(value, numbers.Real)
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(value)
        and 0 < value
        and (value < 1 or (high_ok and value == 1))
    ):
        return int(math.ceil(float(value) * n_total))
    interval = "(0, 1]" if high_ok else "(0, 1)"
    raise ValueError(f"{name} must be an integer >= 1 or a fraction in {interval}; got {value!r}")
