"""Writes of the formations service (docs/formations.md): the catalogue and its sessions, the
registrations with the employer's approval, the seats and the waiting list. Every change of
seats runs with the session's row locked, so that no seat is ever given twice."""

from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.text import slugify

from emegalis.adhesions.access import may_use
from emegalis.core import clock, journal
from emegalis.core.pdf import format_date
from emegalis.core.services_catalog import Service
from emegalis.organisations.models import Organisation, User
from emegalis.organisations.roles import Role
from emegalis.organisations.selectors import roles_in

from . import convocations
from .lifecycle import REGISTRATION_STATES, SESSION_STATES
from .models import Audience, Course, Half, Registration, RegistrationState, Session, Slot
from .models import SessionState as S

R = RegistrationState
SEATED = (R.INSCRITE, R.PROPOSEE)  # the states that hold a seat
OFFER_HOURS = 48
CANCEL_CUTOFF_DAYS = 2


def journal_entry(action: str, *, actor, organisation, target, **payload) -> None:
    journal.record(
        action=f"formations.{action}",
        actor=actor,
        organisation=organisation,
        target=target,
        payload=payload,
    )


def require_staff(actor: User) -> None:
    if not actor.is_platform_staff:
        raise PermissionDenied("Seule l'équipe du syndicat gère le catalogue et les sessions.")


def _mail(subject: str, body: str, addresses) -> None:
    recipients = sorted({a for a in addresses if a})
    transaction.on_commit(
        lambda: [send_mail(subject, body, None, [address]) for address in recipients]
    )


def _link(name: str, *args) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(name, args=args)


# --- the catalogue and its sessions -------------------------------------------------------

COURSE_FIELDS = (
    "title",
    "audience",
    "objectives",
    "prerequisites",
    "duration_hours",
    "methods",
    "assessment",
    "access_conditions",
    "accessibility",
    "price",
    "contact",
)


@transaction.atomic
def create_course(*, actor: User, **fields) -> Course:
    require_staff(actor)
    values = {name: fields.get(name) for name in COURSE_FIELDS}
    if values["audience"] not in Audience.values:
        raise ValidationError({"audience": "Public inconnu."})
    base = slugify(values["title"] or "")[:200] or "formation"
    slug, n = base, 1
    while Course.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    course = Course(slug=slug, **values)
    course.full_clean()
    course.save()
    journal_entry(
        "course_created", actor=actor, organisation=None, target=course, title=course.title
    )
    return course


def slots_between(first_day: date, last_day: date, halves: str) -> list[tuple[date, str]]:
    """The half-days of a session: each working day from the first to the last, mornings,
    afternoons or both (halves « journee »)."""
    if last_day < first_day:
        raise ValidationError({"last_day": "La session finit avant de commencer."})
    if (last_day - first_day).days > 30:
        raise ValidationError({"last_day": "Une session dure au plus un mois."})
    parts = {
        "journee": [Half.MATIN, Half.APRES_MIDI],
        Half.MATIN: [Half.MATIN],
        Half.APRES_MIDI: [Half.APRES_MIDI],
    }.get(halves)
    if parts is None:
        raise ValidationError({"halves": "Choisissez matin, après-midi ou journée."})
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    slots = [(day, half) for day in days if day.weekday() < 5 for half in parts]
    if not slots:
        raise ValidationError({"first_day": "La session ne compte aucun jour ouvré."})
    return slots


@transaction.atomic
def create_session(
    *,
    actor: User,
    course: Course,
    first_day: date,
    last_day: date,
    halves: str = "journee",
    capacity: int,
    minimum: int = 1,
    registration_deadline: date,
    venue: str = "",
    video_url: str = "",
    trainers=(),
    quota_per_organisation: int | None = None,
) -> Session:
    require_staff(actor)
    slots = slots_between(first_day, last_day, halves)
    errors = {}
    if not isinstance(capacity, int) or capacity < 1:
        errors["capacity"] = "Une session compte au moins une place."
    elif not isinstance(minimum, int) or not 1 <= minimum <= capacity:
        errors["minimum"] = "Le minimum est compris entre 1 et le nombre de places."
    if registration_deadline > first_day:
        errors["registration_deadline"] = "Les inscriptions se closent avant le premier jour."
    if not venue.strip() and not video_url.strip():
        errors["venue"] = "Indiquez un lieu ou un lien de visioconférence."
    if quota_per_organisation is not None and quota_per_organisation < 1:
        errors["quota_per_organisation"] = "Le quota par organisation est d'au moins une place."
    if errors:
        raise ValidationError(errors)
    session = Session.objects.create(
        course=course,
        venue=venue.strip()[:200],
        video_url=video_url.strip(),
        capacity=capacity,
        minimum=minimum,
        quota_per_organisation=quota_per_organisation,
        registration_deadline=registration_deadline,
    )
    Slot.objects.bulk_create(Slot(session=session, date=d, half=h) for d, h in slots)
    session.trainers.set(trainers)
    journal_entry(
        "session_created",
        actor=actor,
        organisation=None,
        target=session,
        course=course.pk,
        slots=len(slots),
        capacity=capacity,
    )
    return session


def _lock(session: Session) -> Session:
    return Session.objects.select_for_update().select_related("course").get(pk=session.pk)


def seats_taken(session: Session, organisation: Organisation | None = None) -> int:
    taken = session.registrations.filter(state__in=SEATED)
    if organisation is not None:
        taken = taken.filter(organisation=organisation)
    return taken.count()


def _has_seat_for(session: Session, organisation: Organisation) -> bool:
    if seats_taken(session) >= session.capacity:
        return False
    quota = session.quota_per_organisation
    return quota is None or seats_taken(session, organisation) < quota


def _refresh_state(session: Session, actor=None) -> None:
    """Open ↔ full, as the seats go."""
    if session.state not in (S.OUVERTE, S.COMPLETE):
        return
    full = seats_taken(session) >= session.capacity
    target = S.COMPLETE if full else S.OUVERTE
    if session.state != target:
        SESSION_STATES.check(session.state, target)
        session.state = target
        session.save(update_fields=["state"])


@transaction.atomic
def set_capacity(*, actor: User, session: Session, capacity: int) -> Session:
    require_staff(actor)
    session = _lock(session)
    taken = seats_taken(session)
    if capacity < taken:
        raise ValidationError(
            f"{taken} places sont déjà données : la capacité ne peut pas descendre à {capacity}."
        )
    session.capacity = capacity
    session.save(update_fields=["capacity"])
    _offer_next(session)
    _refresh_state(session)
    journal_entry(
        "capacity_changed", actor=actor, organisation=None, target=session, capacity=capacity
    )
    return session


# --- registrations ------------------------------------------------------------------------


def first_day(session: Session) -> date | None:
    slot = session.slots.order_by("date").first()
    return slot.date if slot else None


def registration_refusal(session: Session, trainee: User) -> str:
    """Why nobody may register on this session today for `trainee` ("" when one may)."""
    if session.state in (S.CLOSE, S.TENUE, S.ANNULEE):
        return f"La session est {S(session.state).label.lower()} : on ne s'y inscrit plus."
    if clock.today() > session.registration_deadline:
        return (
            f"La date limite d'inscription était le {format_date(session.registration_deadline)}."
        )
    if (
        session.registrations.filter(trainee=trainee)
        .exclude(state__in=(R.ANNULEE, R.REFUSEE))
        .exists()
    ):
        return f"{trainee.get_full_name() or trainee.email} est déjà inscrit à cette session."
    return ""


def _place(registration: Registration, session: Session) -> None:
    """A seat if one is free (within the organisation's quota), else the waiting list."""
    if _has_seat_for(session, registration.organisation):
        registration.state = R.INSCRITE
        registration.waiting_since = None
    else:
        registration.state = R.EN_ATTENTE
        registration.waiting_since = clock.now()


def _new_registration(session, trainee, organisation, actor, state) -> Registration:
    registration = Registration(
        session=session,
        trainee=trainee,
        organisation=organisation,
        requested_by=actor,
        created_at=clock.now(),
        state=state,
    )
    if state != R.A_VALIDER:
        _place(registration, session)
    REGISTRATION_STATES.check(None, registration.state)
    registration.save()
    return registration


def _referent_emails(organisation: Organisation) -> list[str]:
    from emegalis.organisations.models import RoleAssignment

    return list(
        RoleAssignment.objects.filter(
            role=Role.REFERENT,
            membership__organisation=organisation,
            membership__is_active=True,
            membership__user__is_active=True,
        ).values_list("membership__user__email", flat=True)
    )


@transaction.atomic
def request_registration(
    *, actor: User, organisation: Organisation, session: Session
) -> Registration:
    """An agent asks to attend; the request waits for a référent of its organisation."""
    session = _lock(session)
    if not actor.memberships.filter(organisation=organisation, is_active=True).exists():
        raise PermissionDenied("Vous n'êtes pas rattaché à cette organisation.")
    if not may_use(organisation, Service.FORMATIONS):
        raise PermissionDenied(
            f"{organisation.name} n'a pas ouvert le service « Formations » par sa convention : "
            "son référent peut demander à l'ouvrir."
        )
    if session.course.audience == Audience.ENTREPRISES:
        raise ValidationError("Cette formation s'adresse aux entreprises.")
    refusal = registration_refusal(session, actor)
    if refusal:
        raise ValidationError(refusal, code="refused")
    registration = _new_registration(session, actor, organisation, actor, R.A_VALIDER)
    who = actor.get_full_name() or actor.email
    _mail(
        f"Demande d'inscription — {session.course.title}",
        f"{who} demande à suivre « {session.course.title} » ({session}). Donnez votre accord "
        f"ou refusez : {_link('formations_approvals')}\n",
        _referent_emails(organisation),
    )
    journal_entry(
        "registration_requested",
        actor=actor,
        organisation=organisation,
        target=registration,
        session=session.pk,
    )
    return registration


@transaction.atomic
def register_employee(
    *, actor: User, company: Organisation, session: Session, trainee: User
) -> Registration:
    """A company's representative registers one of its people: a seat or the waiting list."""
    session = _lock(session)
    if Role.ENTREPRISE not in roles_in(actor, company):
        raise PermissionDenied("Seul un représentant de l'entreprise inscrit ses salariés.")
    if not trainee.memberships.filter(organisation=company, is_active=True).exists():
        raise ValidationError("Cette personne n'est pas rattachée à votre entreprise.")
    if session.course.audience != Audience.ENTREPRISES:
        raise ValidationError("Cette formation s'adresse aux collectivités, pas aux entreprises.")
    refusal = registration_refusal(session, trainee)
    if refusal:
        raise ValidationError(refusal, code="refused")
    registration = _new_registration(session, trainee, company, actor, R.INSCRITE)
    registration.decided_by, registration.decided_at = actor, clock.now()
    registration.save(update_fields=["decided_by", "decided_at"])
    if registration.state == R.INSCRITE:
        convocations.convoke(registration)
    _refresh_state(session)
    journal_entry(
        "registration_made",
        actor=actor,
        organisation=company,
        target=registration,
        session=session.pk,
        state=registration.state,
    )
    return registration


def _lock_registration(registration: Registration) -> tuple[Registration, Session]:
    session = _lock(registration.session)
    registration = (
        Registration.objects.select_for_update()
        .select_related("trainee", "organisation")
        .get(pk=registration.pk)
    )
    return registration, session


def _is_referent(user: User, organisation: Organisation) -> bool:
    return Role.REFERENT in roles_in(user, organisation)


@transaction.atomic
def decide(
    *, actor: User, registration: Registration, approve: bool, reason: str = ""
) -> Registration:
    """The référent of the trainee's organisation approves (a seat, or the waiting list) or
    refuses (with a reason) a request."""
    registration, session = _lock_registration(registration)
    if not _is_referent(actor, registration.organisation):
        raise PermissionDenied(
            f"Seul un référent de {registration.organisation.name} valide ses inscriptions."
        )
    if registration.state != R.A_VALIDER:
        raise ValidationError("Cette demande a déjà reçu une réponse.", code="decided")
    if approve:
        if session.state in (S.CLOSE, S.TENUE, S.ANNULEE):
            raise ValidationError(f"La session est {S(session.state).label.lower()}.")
        _place(registration, session)
    else:
        reason = " ".join(str(reason or "").split())[:300]
        if not reason:
            raise ValidationError({"reason": "Donnez le motif du refus."})
        registration.state = R.REFUSEE
        registration.reason = reason
    registration.decided_by, registration.decided_at = actor, clock.now()
    registration.save()
    if registration.state == R.INSCRITE:
        convocations.convoke(registration)
    _refresh_state(session)
    label = R(registration.state).label.lower()
    _mail(
        f"Votre inscription — {session.course.title}",
        f"Votre demande pour « {session.course.title} » ({session}) : {label}."
        + (f" Motif : {registration.reason}." if registration.reason else "")
        + f"\n{_link('formations_mine')}\n",
        [registration.trainee.email],
    )
    journal_entry(
        "registration_decided",
        actor=actor,
        organisation=registration.organisation,
        target=registration,
        state=registration.state,
        reason=registration.reason,
    )
    return registration


def cancellation_refusal(actor: User, registration: Registration) -> str:
    """Why `actor` may not cancel this registration now ("" when it may)."""
    if registration.state in (R.ANNULEE, R.REFUSEE):
        return "Cette inscription est déjà close."
    if actor.is_platform_staff:
        return ""
    own = actor.pk == registration.trainee_id
    for_organisation = _is_referent(actor, registration.organisation) or (
        Role.ENTREPRISE in roles_in(actor, registration.organisation)
    )
    if not own and not for_organisation:
        return "Vous ne pouvez pas annuler cette inscription."
    start = first_day(registration.session)
    if start is not None and clock.today() > start - timedelta(days=CANCEL_CUTOFF_DAYS):
        return (
            f"On annule au plus tard {CANCEL_CUTOFF_DAYS} jours avant la session : "
            "contactez l'équipe du syndicat."
        )
    return ""


@transaction.atomic
def cancel(*, actor: User, registration: Registration, reason: str = "") -> Registration:
    registration, session = _lock_registration(registration)
    refusal = cancellation_refusal(actor, registration)
    if refusal:
        raise PermissionDenied(refusal)
    held_seat = registration.state in SEATED
    convoked = registration.state == R.INSCRITE
    REGISTRATION_STATES.check(registration.state, R.ANNULEE)
    registration.state = R.ANNULEE
    registration.reason = " ".join(str(reason or "").split())[:300]
    registration.offer_expires_at = None
    registration.save()
    if convoked:
        convocations.cancel_notice(registration, "Votre place est libérée.")
    if held_seat:
        _offer_next(session)
    _refresh_state(session)
    journal_entry(
        "registration_cancelled",
        actor=actor,
        organisation=registration.organisation,
        target=registration,
        held_seat=held_seat,
    )
    return registration


def _offer_next(session: Session) -> list[Registration]:
    """Offer each free seat to the first person waiting (whose organisation's quota allows);
    the offer runs OFFER_HOURS hours. Called with the session locked."""
    offered = []
    if session.state in (S.TENUE, S.ANNULEE):
        return offered
    for waiting in (
        session.registrations.filter(state=R.EN_ATTENTE)
        .order_by("waiting_since", "pk")
        .select_related("trainee", "organisation")
    ):
        if seats_taken(session) >= session.capacity:
            break
        if not _has_seat_for(session, waiting.organisation):
            continue
        REGISTRATION_STATES.check(waiting.state, R.PROPOSEE)
        waiting.state = R.PROPOSEE
        waiting.offer_expires_at = clock.now() + timedelta(hours=OFFER_HOURS)
        waiting.save(update_fields=["state", "offer_expires_at"])
        _mail(
            f"Une place se libère — {session.course.title}",
            f"Une place vous est proposée pour « {session.course.title} » ({session}). "
            f"Confirmez-la avant le {waiting.offer_expires_at:%d/%m/%Y à %H:%M} (UTC), sinon elle "
            f"passera à la personne suivante : {_link('formations_mine')}\n",
            [waiting.trainee.email],
        )
        journal_entry(
            "seat_offered",
            actor=None,
            organisation=waiting.organisation,
            target=waiting,
            expires=waiting.offer_expires_at,
        )
        offered.append(waiting)
    return offered


def _may_answer_offer(actor: User, registration: Registration) -> bool:
    return actor.pk == registration.trainee_id or _is_referent(actor, registration.organisation)


@transaction.atomic
def answer_offer(*, actor: User, registration: Registration, accept: bool) -> Registration:
    registration, session = _lock_registration(registration)
    if not _may_answer_offer(actor, registration):
        raise PermissionDenied("Cette place est proposée à quelqu'un d'autre.")
    if registration.state != R.PROPOSEE:
        raise ValidationError("Aucune place ne vous est proposée pour cette session.")
    if registration.offer_expires_at and registration.offer_expires_at < clock.now():
        raise ValidationError("Le délai pour confirmer cette place est passé.", code="expired")
    target = R.INSCRITE if accept else R.ANNULEE
    REGISTRATION_STATES.check(registration.state, target)
    registration.state = target
    registration.offer_expires_at = None
    if not accept:
        registration.reason = "Place proposée déclinée"
    registration.save()
    if accept:
        convocations.convoke(registration)
    else:
        _offer_next(session)
    _refresh_state(session)
    journal_entry(
        "offer_answered",
        actor=actor,
        organisation=registration.organisation,
        target=registration,
        accepted=accept,
    )
    return registration


def expire_offers() -> int:
    """The scheduler's job: an offer not confirmed in time passes to the next person."""
    count = 0
    due = Registration.objects.filter(state=R.PROPOSEE, offer_expires_at__lt=clock.now())
    for session_pk in sorted(set(due.values_list("session_id", flat=True))):
        with transaction.atomic():
            session = _lock(Session(pk=session_pk))
            for registration in session.registrations.select_for_update().filter(
                state=R.PROPOSEE, offer_expires_at__lt=clock.now()
            ):
                registration.state = R.ANNULEE
                registration.reason = "Place proposée non confirmée à temps"
                registration.save(update_fields=["state", "reason"])
                journal_entry(
                    "offer_expired",
                    actor=None,
                    organisation=registration.organisation,
                    target=registration,
                )
                count += 1
            _offer_next(session)
            _refresh_state(session)
    return count


def close_due_sessions() -> int:
    """The scheduler's job: a session whose registration deadline has passed is closed."""
    closed = 0
    for session in Session.objects.filter(
        Q(state=S.OUVERTE) | Q(state=S.COMPLETE), registration_deadline__lt=clock.today()
    ):
        with transaction.atomic():
            session = _lock(session)
            if session.state in (S.OUVERTE, S.COMPLETE):
                SESSION_STATES.check(session.state, S.CLOSE)
                session.state = S.CLOSE
                session.save(update_fields=["state"])
                journal_entry("session_closed", actor=None, organisation=None, target=session)
                closed += 1
    return closed


@transaction.atomic
def cancel_session(*, actor: User, session: Session, reason: str) -> Session:
    require_staff(actor)
    session = _lock(session)
    reason = " ".join(str(reason or "").split())[:300]
    if not reason:
        raise ValidationError({"reason": "Donnez le motif de l'annulation."})
    SESSION_STATES.check(session.state, S.ANNULEE)
    session.state = S.ANNULEE
    session.cancelled_reason = reason
    session.save(update_fields=["state", "cancelled_reason"])
    live = session.registrations.exclude(state__in=(R.ANNULEE, R.REFUSEE)).select_related(
        "trainee", "organisation", "session__course"
    )
    emails = [r.trainee.email for r in live if r.state != R.INSCRITE]
    for registration in live.filter(state=R.INSCRITE):
        convocations.cancel_notice(registration, f"La session est annulée : {reason}.")
    live.update(state=R.ANNULEE, reason=f"Session annulée : {reason}", offer_expires_at=None)
    _mail(
        f"Session annulée — {session.course.title}",
        f"La session « {session.course.title} » ({session}) est annulée. Motif : {reason}.\n",
        emails,
    )
    journal_entry(
        "session_cancelled", actor=actor, organisation=None, target=session, reason=reason
    )
    return session


@transaction.atomic
def mark_held(*, actor: User, session: Session) -> Session:
    """The staff records that a closed session took place (after its last half-day)."""
    require_staff(actor)
    session = _lock(session)
    last = session.slots.order_by("-date").first()
    if last is None or last.date > clock.today():
        raise ValidationError("Une session est tenue une fois son dernier jour passé.")
    SESSION_STATES.check(session.state, S.TENUE)
    session.state = S.TENUE
    session.save(update_fields=["state"])
    journal_entry("session_held", actor=actor, organisation=None, target=session)
    return session


@transaction.atomic
def update_session(
    *,
    actor: User,
    session: Session,
    first_day: date,
    last_day: date,
    halves: str = "journee",
    registration_deadline: date,
    venue: str = "",
    video_url: str = "",
    trainers=(),
) -> Session:
    """Move a session (dates, half-days, place, trainers) before its attendance starts: its
    SEQUENCE goes up and each person seated gets the updated convocation and invitation."""
    from .models import Attendance

    require_staff(actor)
    session = _lock(session)
    if session.state not in (S.OUVERTE, S.COMPLETE, S.CLOSE):
        raise ValidationError(f"Une session {S(session.state).label.lower()} ne change plus.")
    if Attendance.objects.filter(slot__session=session).exists():
        raise ValidationError("L'émargement a commencé : la session ne change plus.")
    slots = slots_between(first_day, last_day, halves)
    if registration_deadline > first_day:
        raise ValidationError(
            {"registration_deadline": "Les inscriptions se closent avant le premier jour."}
        )
    if not venue.strip() and not video_url.strip():
        raise ValidationError({"venue": "Indiquez un lieu ou un lien de visioconférence."})
    session.slots.all().delete()
    Slot.objects.bulk_create(Slot(session=session, date=d, half=h) for d, h in slots)
    session.venue, session.video_url = venue.strip()[:200], video_url.strip()
    session.registration_deadline = registration_deadline
    session.sequence += 1
    session.save()
    session.trainers.set(trainers)
    for registration in session.registrations.filter(state=R.INSCRITE).select_related(
        "trainee", "organisation"
    ):
        convocations.convoke(registration, changed=True)
    journal_entry(
        "session_changed",
        actor=actor,
        organisation=None,
        target=session,
        sequence=session.sequence,
        slots=len(slots),
    )
    return session
