"""Function forms of the strategies show their own signature (for users and the API docs)."""

from __future__ import annotations

import inspect

import pytest

import skdfal
import skdfal.strategies

P = inspect.Parameter
EXPECTED = [
    ("classifier", P.POSITIONAL_OR_KEYWORD, P.empty),
    ("X_pool", P.POSITIONAL_OR_KEYWORD, P.empty),
    ("n_instances", P.POSITIONAL_OR_KEYWORD, 1),
    ("random_tie_break", P.KEYWORD_ONLY, False),  # modAL's option
    ("params", P.VAR_KEYWORD, P.empty),
]
FUNCTIONS = sorted({entry.function for entry in skdfal.all_strategies().values()}, key=lambda f: f.__name__)


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_function_form_signature(function):
    signature = inspect.signature(function)
    assert [(p.name, p.kind, p.default) for p in signature.parameters.values()] == EXPECTED
    bare = signature.replace(
        parameters=[p.replace(annotation=P.empty) for p in signature.parameters.values()],
        return_annotation=signature.empty,
    )
    assert str(bare).startswith("(classifier, X_pool, n_instances")
    # Annotated like the strategies' own query (tests/test_type_hints.py resolves them).
    assert all(p.annotation is not P.empty for p in signature.parameters.values())
    assert signature.return_annotation == "QueryResult"
    # Public under its own name (skdfal.strategies exports every one), documented in numpydoc sections.
    assert getattr(skdfal.strategies, function.__name__) is function
    assert "Parameters\n----------" in function.__doc__ and "Returns\n-------" in function.__doc__


def test_every_registered_strategy_has_a_function_form():
    assert {"dfal_margin", "random_sampling", "bald", "coreset", "badge"} <= {f.__name__ for f in FUNCTIONS}
