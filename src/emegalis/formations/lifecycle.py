"""The two state machines of the formations service."""

from emegalis.core.state_machine import StateMachine

from .models import RegistrationState as R
from .models import SessionState as S

SESSION_STATES = StateMachine(
    {
        S.OUVERTE: {S.COMPLETE, S.CLOSE, S.ANNULEE},
        S.COMPLETE: {S.OUVERTE, S.CLOSE, S.ANNULEE},
        S.CLOSE: {S.TENUE, S.ANNULEE},
        S.TENUE: set(),
        S.ANNULEE: set(),
    },
    refusal=lambda current, target: (
        f"Une session « {S(current).label.lower()} » ne peut pas passer à "
        f"« {S(target).label.lower()} »."
    ),
    initial={S.OUVERTE},
)

REGISTRATION_STATES = StateMachine(
    {
        R.A_VALIDER: {R.INSCRITE, R.EN_ATTENTE, R.REFUSEE, R.ANNULEE},
        R.EN_ATTENTE: {R.PROPOSEE, R.ANNULEE},
        R.PROPOSEE: {R.INSCRITE, R.ANNULEE},
        R.INSCRITE: {R.ANNULEE},
        R.REFUSEE: set(),
        R.ANNULEE: set(),
    },
    refusal=lambda current, target: (
        f"Une inscription « {R(current).label.lower()} » ne peut pas devenir "
        f"« {R(target).label.lower()} »."
    ),
    initial={R.A_VALIDER, R.INSCRITE, R.EN_ATTENTE},
)
