"""The operator's journal screen: reads of the journal (platform staff only) and the rows of
its CSV export. Writes go through core.journal_checks."""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from emegalis.core.models import JournalEntry, JournalVerification

from .models import Organisation, User
from .selectors import require_platform_staff


@dataclass(frozen=True)
class JournalFilters:
    date_from: date | None = None
    date_to: date | None = None
    organisation: Organisation | None = None
    action: str = ""
    object_type: str = ""
    object_id: str = ""


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def journal_entries(user: User, filters: JournalFilters) -> QuerySet[JournalEntry]:
    """The entries that match, newest first."""
    require_platform_staff(user)
    entries = JournalEntry.objects.all()
    if filters.date_from:
        entries = entries.filter(recorded_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        entries = entries.filter(
            recorded_at__lt=_day_start(filters.date_to) + timezone.timedelta(days=1)
        )
    if filters.organisation:
        entries = entries.filter(organisation_id=filters.organisation.pk)
    if filters.action:
        entries = entries.filter(action=filters.action)
    if filters.object_type:
        entries = entries.filter(object_type=filters.object_type.strip())
    if filters.object_id:
        entries = entries.filter(object_id=filters.object_id.strip())
    return entries.order_by("-id")


def journal_entry(user: User, pk: int) -> JournalEntry:
    require_platform_staff(user)
    try:
        return JournalEntry.objects.get(pk=pk)
    except JournalEntry.DoesNotExist:
        raise Http404("Entrée du journal introuvable.") from None


def verifications(user: User) -> QuerySet[JournalVerification]:
    require_platform_staff(user)
    return JournalVerification.objects.all()


def verification(user: User, pk: int) -> JournalVerification:
    try:
        return verifications(user).get(pk=pk)
    except JournalVerification.DoesNotExist:
        raise Http404("Vérification introuvable.") from None


CSV_HEADER = [
    "Numéro",
    "Horodatage (UTC)",
    "Acteur",
    "Organisation",
    "Événement",
    "Type d'objet",
    "Identifiant de l'objet",
    "Empreinte du contenu",
    "Empreinte précédente",
    "Empreinte de l'entrée",
]


def csv_row(entry: JournalEntry) -> list:
    return [
        entry.pk,
        entry.recorded_at.astimezone(timezone.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        entry.actor_label,
        entry.organisation_label,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.payload_digest,
        entry.previous_hash,
        entry.entry_hash,
    ]
