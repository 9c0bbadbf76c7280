"""Writes of the attendance: the trainer opens the half-day's sheet (a code shown in the room),
each trainee checks in with it, the trainer records the others (late, absent, excused) and
countersigns; the signed sheet is a PDF whose SHA-256 goes to the journal. Only on the day."""

import hashlib
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from emegalis.core import clock
from emegalis.core.pdf import format_date
from emegalis.organisations.models import User

from ..models import Attendance, Presence, Registration, RegistrationState, Sheet, Slot
from ..services import journal_entry
from . import sheet_pdf


def is_trainer(user: User, slot: Slot) -> bool:
    return user.is_platform_staff or slot.session.trainers.filter(pk=user.pk).exists()


def _require_today(slot: Slot) -> None:
    if slot.date != clock.today():
        raise ValidationError(
            f"L'émargement de cette demi-journée se fait le {format_date(slot.date)}, pas "
            "aujourd'hui.",
            code="not_today",
        )


def _open_sheet(slot: Slot) -> Sheet:
    sheet = Sheet.objects.select_for_update().filter(slot=slot).first()
    if sheet is not None and sheet.countersigned_at is not None:
        raise ValidationError("Cette feuille est déjà contresignée.", code="closed")
    return sheet


@transaction.atomic
def open_sheet(*, actor: User, slot: Slot) -> Sheet:
    if not is_trainer(actor, slot):
        raise PermissionDenied("Seuls les formateurs de la session ouvrent l'émargement.")
    _require_today(slot)
    sheet = Sheet.objects.select_for_update().filter(slot=slot).first()
    if sheet is None:
        sheet = Sheet.objects.create(slot=slot, code=f"{secrets.randbelow(10**6):06d}")
        journal_entry("sheet_opened", actor=actor, organisation=None, target=sheet)
    return sheet


def seated(slot: Slot):
    return slot.session.registrations.filter(state=RegistrationState.INSCRITE).select_related(
        "trainee", "organisation"
    )


@transaction.atomic
def check_in(*, actor: User, slot: Slot, code: str) -> Attendance:
    """The trainee signs in with the code shown in the room."""
    _require_today(slot)
    registration = seated(slot).filter(trainee=actor).first()
    if registration is None:
        raise PermissionDenied("Vous n'êtes pas inscrit à cette session.")
    sheet = _open_sheet(slot)
    if sheet is None or not secrets.compare_digest(sheet.code, str(code or "").strip()):
        raise ValidationError("Ce code n'est pas celui de la demi-journée.", code="bad_code")
    attendance, _ = Attendance.objects.update_or_create(
        registration=registration,
        slot=slot,
        defaults={"status": Presence.PRESENT, "signed_at": clock.now(), "method": "code"},
    )
    journal_entry(
        "checked_in",
        actor=actor,
        organisation=registration.organisation,
        target=attendance,
        slot=slot.pk,
    )
    return attendance


@transaction.atomic
def mark(*, actor: User, slot: Slot, registration: Registration, status: str) -> Attendance:
    """The trainer records a trainee's presence (late, absent, excused…)."""
    if not is_trainer(actor, slot):
        raise PermissionDenied("Seuls les formateurs de la session tiennent l'émargement.")
    _require_today(slot)
    if status not in Presence.values:
        raise ValidationError("Présence inconnue.")
    if not seated(slot).filter(pk=registration.pk).exists():
        raise ValidationError("Cette personne n'est pas inscrite à la session.")
    _open_sheet(slot)
    attendance, _ = Attendance.objects.update_or_create(
        registration=registration,
        slot=slot,
        defaults={
            "status": status,
            "signed_at": clock.now() if status in (Presence.PRESENT, Presence.RETARD) else None,
            "method": "formateur",
        },
    )
    journal_entry(
        "attendance_marked",
        actor=actor,
        organisation=registration.organisation,
        target=attendance,
        status=status,
    )
    return attendance


@transaction.atomic
def countersign(*, actor: User, slot: Slot) -> Sheet:
    """The trainer closes the half-day: whoever has not signed is absent; the sheet becomes a
    PDF kept with its SHA-256, written to the journal."""
    if not is_trainer(actor, slot):
        raise PermissionDenied("Seuls les formateurs de la session contresignent.")
    _require_today(slot)
    sheet = _open_sheet(slot)
    if sheet is None:
        raise ValidationError("Ouvrez d'abord l'émargement de la demi-journée.")
    for registration in seated(slot):
        Attendance.objects.get_or_create(
            registration=registration,
            slot=slot,
            defaults={"status": Presence.ABSENT, "method": "formateur"},
        )
    sheet.countersigned_by = actor
    sheet.countersigned_at = clock.now()
    rows = Attendance.objects.filter(slot=slot).select_related(
        "registration__trainee", "registration__organisation"
    )
    pdf = sheet_pdf.render(sheet, rows)
    sheet.pdf = pdf
    sheet.sha256 = hashlib.sha256(pdf).hexdigest()
    sheet.save()
    journal_entry(
        "sheet_countersigned",
        actor=actor,
        organisation=None,
        target=sheet,
        sha256=sheet.sha256,
        present=rows.filter(status__in=("present", "retard")).count(),
    )
    return sheet


SIGNATURE_MAX_BYTES = 200 * 1024


def _drawn_png(data_url: str) -> bytes:
    """The PNG of a signature drawn on the tablet (a data: URL from the page's canvas),
    checked to be a real, reasonable image."""
    import base64
    import io

    from PIL import Image, UnidentifiedImageError

    prefix = "data:image/png;base64,"
    if not str(data_url or "").startswith(prefix):
        raise ValidationError("La signature dessinée est vide ou illisible.", code="bad_signature")
    try:
        data = base64.b64decode(data_url[len(prefix) :], validate=True)
    except ValueError:
        raise ValidationError(
            "La signature dessinée est illisible.", code="bad_signature"
        ) from None
    if not data or len(data) > SIGNATURE_MAX_BYTES:
        raise ValidationError("La signature dessinée est trop lourde.", code="bad_signature")
    try:
        with Image.open(io.BytesIO(data)) as picture:
            picture.verify()
            if picture.format != "PNG" or picture.width > 1200 or picture.height > 600:
                raise ValidationError("La signature dessinée n'a pas le bon format.")
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise ValidationError(
            "La signature dessinée est illisible.", code="bad_signature"
        ) from None
    return data


@transaction.atomic
def sign_on_tablet(
    *, actor: User, slot: Slot, registration: Registration, drawing: str
) -> Attendance:
    """A trainee signs by hand on the trainer's tablet: present, the drawing kept for the
    sheet."""
    if not is_trainer(actor, slot):
        raise PermissionDenied("L'émargement sur tablette se fait sur celle du formateur.")
    _require_today(slot)
    if not seated(slot).filter(pk=registration.pk).exists():
        raise ValidationError("Cette personne n'est pas inscrite à la session.")
    png = _drawn_png(drawing)
    if _open_sheet(slot) is None:
        raise ValidationError("Ouvrez d'abord l'émargement de la demi-journée.")
    attendance, _ = Attendance.objects.update_or_create(
        registration=registration,
        slot=slot,
        defaults={
            "status": Presence.PRESENT,
            "signed_at": clock.now(),
            "method": "tablette",
            "signature": png,
        },
    )
    journal_entry(
        "signed_on_tablet",
        actor=actor,
        organisation=registration.organisation,
        target=attendance,
        sha256=hashlib.sha256(png).hexdigest(),
    )
    return attendance
