"""The groupement's states (docs/groupements.md): one explicit state machine."""

from emegalis.core.state_machine import StateMachine

from .models import State

TRANSITIONS = {
    State.BROUILLON: {State.EN_SIGNATURE, State.DISSOUS},
    # A change of the record in signature makes a new version: the state stays.
    State.EN_SIGNATURE: {State.EN_SIGNATURE, State.CONSTITUE, State.DISSOUS},
    # An avenant (a member added to a permanent groupement) goes back to signature.
    State.CONSTITUE: {State.EN_SIGNATURE, State.DISSOUS},
    State.DISSOUS: set(),
}


def _refusal(current: str | None, target: str) -> str:
    if current == State.DISSOUS:
        return "Ce groupement est dissous : il ne peut plus être modifié."
    return (
        f"Un groupement « {State(current).label.lower()} » ne peut pas passer à l'état "
        f"« {State(target).label.lower()} »."
    )


MACHINE = StateMachine(TRANSITIONS, refusal=_refusal, initial={State.BROUILLON})
