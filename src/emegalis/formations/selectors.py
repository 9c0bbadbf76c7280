"""Reads of the formations service. The catalogue is public; a registration is seen by its
trainee, by a référent (or a company's representative) of its organisation, and by the
syndicat's staff; a session's list by its trainers and the staff; anyone else gets a 404."""

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from emegalis.core import usage
from emegalis.organisations.models import Organisation, User
from emegalis.organisations.roles import Role
from emegalis.organisations.selectors import roles_in

from .models import (
    Certificate,
    Course,
    Registration,
    RegistrationState,
    Session,
    SessionState,
    Slot,
)

SEATED = (RegistrationState.INSCRITE, RegistrationState.PROPOSEE)


def public_courses() -> QuerySet[Course]:
    return Course.objects.filter(published=True)


def get_public_course(slug: str) -> Course:
    try:
        return public_courses().get(slug=slug)
    except Course.DoesNotExist:
        raise Http404("Formation introuvable.") from None


def sessions_of(course: Course) -> QuerySet[Session]:
    return (
        course.sessions.exclude(state=SessionState.ANNULEE)
        .annotate(
            taken=Count("registrations", filter=Q(registrations__state__in=SEATED)),
            waiting=Count(
                "registrations", filter=Q(registrations__state=RegistrationState.EN_ATTENTE)
            ),
        )
        .prefetch_related("slots")
    )


def get_session(pk) -> Session:
    try:
        return Session.objects.select_related("course").get(pk=pk)
    except (Session.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("Session introuvable.") from None


def my_registrations(user: User) -> QuerySet[Registration]:
    return Registration.objects.filter(trainee=user).select_related("session__course")


def manages_registrations(user: User, organisation: Organisation | None) -> bool:
    if organisation is None or not user.is_authenticated:
        return False
    return bool(roles_in(user, organisation) & {Role.REFERENT, Role.ENTREPRISE})


def organisation_registrations(
    user: User, organisation: Organisation | None
) -> QuerySet[Registration]:
    if not manages_registrations(user, organisation):
        return Registration.objects.none()
    return Registration.objects.filter(organisation=organisation).select_related(
        "session__course", "trainee"
    )


def get_registration(user: User, organisation: Organisation | None, pk) -> Registration:
    """A registration its trainee, its organisation's référent or representative, or the
    staff may see."""
    try:
        registration = Registration.objects.select_related(
            "session__course", "trainee", "organisation"
        ).get(pk=pk)
    except (Registration.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("Inscription introuvable.") from None
    if (
        registration.trainee_id == user.pk
        or user.is_platform_staff
        or (
            organisation is not None
            and registration.organisation_id == organisation.pk
            and manages_registrations(user, organisation)
        )
    ):
        return registration
    raise Http404("Inscription introuvable.")


def staff_sessions(user: User) -> QuerySet[Session]:
    """Every session for the staff, one's own for a trainer."""
    sessions = Session.objects.select_related("course").annotate(
        taken=Count("registrations", filter=Q(registrations__state__in=SEATED)),
        waiting=Count("registrations", filter=Q(registrations__state=RegistrationState.EN_ATTENTE)),
    )
    if user.is_platform_staff:
        return sessions
    return sessions.filter(trainers=user)


def get_managed_session(user: User, pk) -> Session:
    try:
        return staff_sessions(user).get(pk=pk)
    except (Session.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("Session introuvable.") from None


def company_people(organisation: Organisation) -> QuerySet[User]:
    return User.objects.filter(
        memberships__organisation=organisation, memberships__is_active=True, is_active=True
    ).order_by("last_name", "email")


def get_trainer_slot(user: User, pk) -> Slot:
    """A half-day of a session the user trains (or any, for the staff)."""
    try:
        slot = Slot.objects.select_related("session__course").get(pk=pk)
    except (Slot.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("Demi-journée introuvable.") from None
    if user.is_platform_staff or slot.session.trainers.filter(pk=user.pk).exists():
        return slot
    raise Http404("Demi-journée introuvable.")


def todays_slots(user: User, today) -> list:
    """The half-days of today in the sessions where the user has a seat."""
    return list(
        Slot.objects.filter(
            date=today,
            session__registrations__trainee=user,
            session__registrations__state=RegistrationState.INSCRITE,
        ).select_related("session__course")
    )


def get_certificate_by_code(code: str) -> Certificate:
    try:
        return Certificate.objects.select_related(
            "registration__trainee", "registration__organisation", "registration__session__course"
        ).get(code=str(code or "").strip().upper())
    except Certificate.DoesNotExist:
        raise Http404("Aucune attestation ne porte ce code.") from None


@usage.register("formations", title="Formations")
def formations_usage(organisation: Organisation, year: int) -> dict[str, int]:
    """The organisation's trainings of the year, beside the other services on the operator's
    dashboard."""
    certificates = Certificate.objects.filter(
        registration__organisation=organisation, issued_at__year=year
    )
    return {
        "Demandes d'inscription": Registration.objects.filter(
            organisation=organisation, created_at__year=year
        ).count(),
        "Personnes formées": certificates.values("registration__trainee").distinct().count(),
        "Heures de formation": int(sum(c.hours for c in certificates)),
    }
