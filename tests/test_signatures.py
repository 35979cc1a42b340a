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
# bald takes modAL's mc_dropout_bald arguments, in modAL's positional order.
MODAL_BALD = [
    *EXPECTED[:3],
    ("random_tie_break", P.POSITIONAL_OR_KEYWORD, False),
    ("dropout_layer_indexes", P.POSITIONAL_OR_KEYWORD, None),
    ("num_cycles", P.POSITIONAL_OR_KEYWORD, None),
    ("sample_per_forward_pass", P.POSITIONAL_OR_KEYWORD, None),
    ("logits_adaptor", P.POSITIONAL_OR_KEYWORD, None),
    EXPECTED[-1],
]
# Every registered scorer's function form (a wrapper such as Screened has none of its own).
FUNCTIONS = sorted({entry.function for entry in skdfal.all_strategies().values() if entry.function is not None},
                   key=lambda f: f.__name__)


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_function_form_signature(function):
    signature = inspect.signature(function)
    expected = MODAL_BALD if function is skdfal.bald else EXPECTED
    assert [(p.name, p.kind, p.default) for p in signature.parameters.values()] == expected
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
    doc = inspect.getdoc(function)  # bald's is written in the source, indented
    assert "Parameters\n----------" in doc and "Returns\n-------" in doc


def test_every_registered_strategy_has_a_function_form():
    assert {"dfal_margin", "random_sampling", "bald", "coreset", "badge"} <= {f.__name__ for f in FUNCTIONS}
