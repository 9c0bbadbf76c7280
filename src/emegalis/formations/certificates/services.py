"""Attestations de présence: issued once a session is held, for each person who attended at
least one half-day, with the hours attended; a PDF sealed by the platform (PAdES, the same
signing as the receipts) carrying a code to check it online."""

import hashlib
import secrets
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from emegalis.core import clock, signing

from ..models import Attendance, Certificate, Presence, RegistrationState, Session, SessionState
from ..services import journal_entry, require_staff
from . import pdf

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


@transaction.atomic
def issue(*, actor, session: Session) -> list[Certificate]:
    require_staff(actor)
    session = Session.objects.select_for_update().select_related("course").get(pk=session.pk)
    if session.state != SessionState.TENUE:
        raise ValidationError("Les attestations se délivrent une fois la session tenue.")
    slots = session.slots.count()
    issued = []
    registrations = session.registrations.filter(
        state=RegistrationState.INSCRITE, certificate__isnull=True
    ).select_related("trainee", "organisation")
    for registration in registrations:
        attended = Attendance.objects.filter(
            registration=registration, status__in=(Presence.PRESENT, Presence.RETARD)
        ).count()
        if not attended:
            continue
        hours = (session.course.duration_hours * attended / slots).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
        certificate = Certificate(
            registration=registration, code=_code(), hours=hours, issued_at=clock.now()
        )
        document = signing.sign_pdf(
            pdf.render(certificate, attended=attended, slots=slots),
            reason="Attestation de présence",
            kind="attestation",
            object_type="formations.certificate",
            object_id=certificate.code,
        )
        certificate.pdf = document
        certificate.sha256 = hashlib.sha256(document).hexdigest()
        certificate.save()
        journal_entry(
            "certificate_issued",
            actor=actor,
            organisation=registration.organisation,
            target=certificate,
            code=certificate.code,
            sha256=certificate.sha256,
            hours=hours,
        )
        issued.append(certificate)
    return issued
