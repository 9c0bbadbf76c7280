"""Reads of the opening stage (commission seats, opening sessions, late plis), scoped to the
user."""

from django.db.models import QuerySet
from django.http import Http404

from emegalis.marches.access import is_buyer
from emegalis.marches.consultations.models import (
    Consultation,
)
from emegalis.marches.deposit.models import Pli, PliStatus
from emegalis.marches.opening.models import CommissionMember, LateOpening, OpeningSession
from emegalis.organisations.models import Organisation, User
from emegalis.organisations.roles import Role
from emegalis.organisations.selectors import active_holders


def commission_candidates(organisation: Organisation) -> QuerySet[User]:
    """Active users holding the role « membre de commission d'ouverture » in the organisation
    (a role that requires a second factor at login)."""
    return active_holders(organisation, Role.COMMISSION).order_by(
        "last_name", "first_name", "email"
    )


def holds_commission_role(user: User) -> bool:
    """Whether the user is a member of an opening commission in any organisation."""
    return (
        user.is_authenticated
        and User.objects.filter(
            pk=user.pk,
            is_active=True,
            memberships__is_active=True,
            memberships__roles__role=Role.COMMISSION,
        ).exists()
    )


def is_commission_member(user: User, organisation: Organisation) -> bool:
    return user.is_authenticated and commission_candidates(organisation).filter(pk=user.pk).exists()


def commission_seats(user: User) -> QuerySet[CommissionMember]:
    """The user's seats in opening commissions, newest consultation first."""
    if not user.is_authenticated:
        return CommissionMember.objects.none()
    return (
        CommissionMember.objects.filter(user=user)
        .select_related("commission__consultation__organisation")
        .order_by("-commission__consultation__bids_deadline", "-pk")
    )


def get_commission_seat(user: User, consultation_pk: int) -> CommissionMember:
    """The user's seat in that consultation's commission, else 404."""
    seat = commission_seats(user).filter(commission__consultation_id=consultation_pk).first()
    if seat is None:
        raise Http404("Vous n'êtes pas membre de la commission d'ouverture de cette consultation.")
    return seat


def get_opening_session(user: User, consultation_pk: int) -> OpeningSession:
    """The opening session of a consultation, for its buyers and its commission; else 404."""
    session = (
        OpeningSession.objects.select_related("consultation__organisation")
        .filter(consultation_id=consultation_pk)
        .first()
    )
    if session is not None and user.is_authenticated:
        if is_buyer(user, session.consultation.organisation):
            return session
        if commission_seats(user).filter(commission__consultation_id=consultation_pk).exists():
            return session
    raise Http404("Séance d'ouverture introuvable.")


def late_plis(consultation: Consultation) -> QuerySet[Pli]:
    """The plis of a consultation received after its deadline (for its commission's page)."""
    return (
        consultation.plis.filter(status=PliStatus.HORS_DELAI)
        .select_related("late_opening")
        .order_by("completed_at", "pk")
    )


def get_late_opening(user: User, consultation_pk: int, pli_pk: int) -> LateOpening:
    """A late pli's opening, for the consultation's buyers and commission; else 404."""
    get_opening_session(user, consultation_pk)  # same audience as the main PV
    late = (
        LateOpening.objects.select_related("pli__consultation")
        .filter(pli_id=pli_pk, pli__consultation_id=consultation_pk)
        .first()
    )
    if late is None:
        raise Http404("Ouverture introuvable.")
    return late
