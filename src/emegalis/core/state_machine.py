"""One explicit state machine helper for every legal object (consultation, pli, acte, convention).

Each service declares which state may follow which and how a refusal reads in French; moving
an object anywhere else raises a ValidationError coded « illegal_transition ».
"""

from collections.abc import Callable, Collection, Hashable, Mapping

from django.core.exceptions import ValidationError


class StateMachine[S: Hashable]:
    def __init__(
        self,
        transitions: Mapping[S, Collection[S]],
        *,
        refusal: Callable[[S | None, S], str],
        initial: Collection[S] | None = None,
    ) -> None:
        """`refusal(current, target)` is the message; `initial` the states an object may start
        in (None: any), checked when `current` is None."""
        self.transitions = {state: frozenset(after) for state, after in transitions.items()}
        self.refusal = refusal
        self.initial = None if initial is None else frozenset(initial)

    def allowed(self, current: S | None) -> frozenset[S]:
        """The states that may follow `current` (the initial states when there is none)."""
        if current is None:
            return self.initial if self.initial is not None else frozenset(self.transitions)
        return self.transitions.get(current, frozenset())

    def may(self, current: S | None, target: S) -> bool:
        return target in self.allowed(current)

    def check(self, current: S | None, target: S) -> None:
        if not self.may(current, target):
            raise ValidationError(self.refusal(current, target), code="illegal_transition")
