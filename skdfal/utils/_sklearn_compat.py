"""The one door to scikit-learn's private API: parameter constraints and their error.

scikit-learn's own estimators declare ``_parameter_constraints`` with the
constraint classes of ``sklearn.utils._param_validation``, and skdfal's
estimators and strategies follow them so that a bad parameter raises the
same ``InvalidParameterError`` with the same wording.  That module is private
and may move in any release, so skdfal imports it here and nowhere else.

The choice: ``setup.cfg`` caps scikit-learn below the next minor release not
tested yet (``tests/test_sklearn_compat.py`` checks that the cap and this
module agree with the installed version).  Should a release move the module
anyway, importing skdfal fails here, once, with a message that says which
scikit-learn versions skdfal supports, not with an ``ImportError`` deep in a
strategy.
"""

from __future__ import annotations

#: The scikit-learn versions skdfal is tested with; keep in step with setup.cfg.
SUPPORTED_SKLEARN = ">=1.6,<1.10"

try:
    from sklearn.utils._param_validation import (
        HasMethods,
        Hidden,
        Interval,
        InvalidParameterError,
        Options,
        RealNotInt,
        StrOptions,
        validate_parameter_constraints,
        validate_params,
    )
except ImportError as exc:  # pragma: no cover - only on an unsupported scikit-learn
    import sklearn

    raise ImportError(
        f"skdfal needs scikit-learn{SUPPORTED_SKLEARN}; scikit-learn {sklearn.__version__} no longer "
        f"provides its parameter constraints where skdfal looks for them ({exc}); install a "
        f"supported version: pip install 'scikit-learn{SUPPORTED_SKLEARN}'"
    ) from exc

__all__ = [
    "SUPPORTED_SKLEARN",
    "HasMethods",
    "Hidden",
    "Interval",
    "InvalidParameterError",
    "Options",
    "RealNotInt",
    "StrOptions",
    "validate_parameter_constraints",
    "validate_params",
]
