"""The operator's journal screen: reads of the journal (platform staff only), its filters,
and the CSV export. Writes go through core.journal_checks."""

from dataclasses import dataclass
from datetime import date, datetime, time

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from emegalis.core.forms import StyledFormMixin
from emegalis.core.models import JournalEntry, JournalVerification

from .models import Organisation, User


def require_staff(user: User) -> None:
    if not user.is_platform_staff:
        raise PermissionDenied("Réservé aux gestionnaires de la plateforme.")


class JournalFilterForm(StyledFormMixin, forms.Form):
    date_from = forms.DateField(
        label="Du",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label="Au",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    organisation = forms.ModelChoiceField(
        label="Organisation",
        required=False,
        queryset=Organisation.objects.order_by("name"),
        empty_label="Toutes",
    )
    action = forms.ChoiceField(label="Type d'événement", required=False)
    object_type = forms.CharField(label="Type d'objet", required=False, max_length=100)
    object_id = forms.CharField(label="Identifiant de l'objet", required=False, max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        actions = (
            JournalEntry.objects.order_by("action").values_list("action", flat=True).distinct()
        )
        self.fields["action"].choices = [("", "Tous")] + [(a, a) for a in actions]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("La date de début est postérieure à la date de fin.")
        return data


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
    require_staff(user)
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
    require_staff(user)
    try:
        return JournalEntry.objects.get(pk=pk)
    except JournalEntry.DoesNotExist:
        raise Http404("Entrée du journal introuvable.") from None


def verifications(user: User) -> QuerySet[JournalVerification]:
    require_staff(user)
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
