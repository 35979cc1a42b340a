"""The stopping rules by name: what ``--stop stable``, ``--stop margin`` and ``--stop budget=N`` build.

One table, read by the command line (the option's help and its error name
the same choices) and by anyone who builds a rule from text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ._stopping import LabelBudget, StoppingRule
from ._stopping_rules import MarginPlateau, StabilizingPredictions

__all__ = ["STOPPING_RULES", "RuleSpec", "make_stopping_rule"]


@dataclass(frozen=True)
class RuleSpec:
    """A stopping rule the command line offers.

    Attributes
    ----------
    build : callable
        ``build()`` for a rule without a value, ``build(int)`` for one with.
    value : str or None
        The value's name in ``NAME=VALUE`` (``None``: the rule takes none).
    help : str
        What the rule watches, in a few words.
    """

    build: Callable[..., StoppingRule]
    value: str | None
    help: str

    def usage(self, name: str) -> str:
        """``name`` or ``name=VALUE``, as typed."""
        return name if self.value is None else f"{name}={self.value}"


#: The rules by the name the command line takes.
STOPPING_RULES: dict[str, RuleSpec] = {
    "stable": RuleSpec(StabilizingPredictions, None,
                       "predictions on a stop set stop changing, Bloodgood & Vijay-Shanker 2009"),
    "margin": RuleSpec(MarginPlateau, None, "the DFAL margins stop moving"),
    "budget": RuleSpec(LabelBudget, "N", "N labels are paid"),
}


def make_stopping_rule(text: str) -> StoppingRule:
    """The rule ``text`` names: ``NAME`` or ``NAME=VALUE`` from :data:`STOPPING_RULES`.

    Raises
    ------
    ValueError
        For a name not in the table, a value missing or given where none is
        taken, or a value that is not an integer >= 1.

    Examples
    --------
    >>> from skdfal.learners._stopping_registry import make_stopping_rule
    >>> make_stopping_rule("budget=30")
    LabelBudget(n_labels=30)
    """
    name, sep, value = text.partition("=")
    spec = STOPPING_RULES.get(name)
    choices = ", ".join(repr(s.usage(n)) for n, s in STOPPING_RULES.items())
    if spec is None or (spec.value is None) != (not sep):
        raise ValueError(f"expected one of {choices}, got {text!r}")
    if spec.value is None:
        return spec.build()
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"{name}= takes an integer >= 1, got {value!r}")
    return spec.build(number)
