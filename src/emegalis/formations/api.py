"""API of the formations: the public catalogue and sessions, one's registrations, and asking
to register (an agent for itself, a company's representative for one of its people). Same
rules as the pages."""

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from ninja import Router, Schema, Status
from ninja.security import django_auth

from emegalis.core.api_errors import AUTH, BODY, READ, errors
from emegalis.organisations.api_auth import TokenAuth
from emegalis.organisations.roles import Role
from emegalis.organisations.selectors import roles_in

from . import selectors, services

router = Router(tags=["formations"])
AUTHENTICATED = [TokenAuth(), django_auth]


class CourseOut(Schema):
    id: int
    slug: str
    title: str
    audience: str
    duration_hours: Decimal
    objectives: str
    price: str
    sessions: list[int]


class SessionOut(Schema):
    id: int
    course_id: int
    state: str
    capacity: int
    seats_taken: int
    registration_deadline: date
    half_days: list[str]
    venue: str
    video_url: str


class RegistrationIn(Schema):
    trainee_id: int | None = None  # a company's representative names one of its people


class RegistrationOut(Schema):
    id: int
    session_id: int
    course: str
    state: str
    state_label: str
    offer_expires_at: datetime | None


def _session_out(session) -> dict:
    return {
        "id": session.pk,
        "course_id": session.course_id,
        "state": session.state,
        "capacity": session.capacity,
        "seats_taken": services.seats_taken(session),
        "registration_deadline": session.registration_deadline,
        "half_days": [f"{s.date.isoformat()} {s.half}" for s in session.slots.all()],
        "venue": session.venue,
        "video_url": session.video_url,
    }


def _registration_out(registration) -> dict:
    return {
        "id": registration.pk,
        "session_id": registration.session_id,
        "course": registration.session.course.title,
        "state": registration.state,
        "state_label": registration.get_state_display(),
        "offer_expires_at": registration.offer_expires_at,
    }


@router.get("/formations/catalogue", response={200: list[CourseOut]}, auth=None)
def catalogue(request):
    return [
        {
            "id": c.pk,
            "slug": c.slug,
            "title": c.title,
            "audience": c.audience,
            "duration_hours": c.duration_hours,
            "objectives": c.objectives,
            "price": c.price,
            "sessions": list(selectors.sessions_of(c).values_list("pk", flat=True)),
        }
        for c in selectors.public_courses()
    ]


@router.get("/formations/sessions/{pk}", response={200: SessionOut, **errors(404, 422)}, auth=None)
def session(request, pk: int):
    found = selectors.get_session(pk)
    if not found.course.published or found.state == "annulee":
        raise ValidationError("Cette session n'est pas au catalogue.")
    return _session_out(found)


@router.get(
    "/formations/inscriptions",
    response={200: list[RegistrationOut], **errors(*AUTH)},
    auth=AUTHENTICATED,
)
def my_registrations(request):
    return [_registration_out(r) for r in selectors.my_registrations(request.user)]


@router.post(
    "/formations/sessions/{pk}/inscription",
    response={201: RegistrationOut, **errors(*READ, *BODY)},
    auth=AUTHENTICATED,
)
def register(request, pk: int, payload: RegistrationIn):
    """An agent asks for itself (its référent approves); a company's representative names one
    of its people in `trainee_id` (a seat or the waiting list at once)."""
    found = selectors.get_session(pk)
    organisation = getattr(request, "organisation", None)
    if organisation is None:
        raise ValidationError("Aucune organisation active.")
    if Role.ENTREPRISE in roles_in(request.user, organisation):
        people = {p.pk: p for p in selectors.company_people(organisation)}
        if payload.trainee_id not in people:
            raise ValidationError("Indiquez dans trainee_id une personne de votre entreprise.")
        registration = services.register_employee(
            actor=request.user,
            company=organisation,
            session=found,
            trainee=people[payload.trainee_id],
        )
    else:
        registration = services.request_registration(
            actor=request.user, organisation=organisation, session=found
        )
    return Status(201, _registration_out(registration))
