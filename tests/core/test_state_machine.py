import pytest
from django.core.exceptions import ValidationError

from emegalis.core.state_machine import StateMachine

MACHINE = StateMachine(
    {"draft": {"published"}, "published": {"closed", "cancelled"}, "closed": set()},
    refusal=lambda current, target: f"« {current} » ne peut pas devenir « {target} ».",
    initial={"draft"},
)


def test_a_declared_transition_passes_and_the_allowed_states_are_listed():
    MACHINE.check("draft", "published")
    assert MACHINE.allowed("published") == {"closed", "cancelled"}
    assert MACHINE.may("published", "closed")


def test_an_undeclared_transition_is_refused_with_the_services_message():
    with pytest.raises(ValidationError) as refused:
        MACHINE.check("closed", "draft")
    assert refused.value.code == "illegal_transition"
    assert refused.value.messages == ["« closed » ne peut pas devenir « draft »."]


def test_an_unknown_current_state_allows_nothing():
    assert MACHINE.allowed("archived") == frozenset()
    assert not MACHINE.may("archived", "draft")


def test_only_initial_states_may_start_an_object():
    MACHINE.check(None, "draft")
    with pytest.raises(ValidationError):
        MACHINE.check(None, "published")
    free = StateMachine({"a": {"b"}}, refusal=lambda c, t: "non")
    assert free.allowed(None) == {"a"}
