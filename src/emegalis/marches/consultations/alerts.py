"""Saved searches and the daily alert e-mail of new consultations matching them."""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from emegalis.core import clock, journal
from emegalis.marches.consultations import selectors
from emegalis.marches.consultations.models import (
    SavedSearch,
)
from emegalis.marches.consultations.services import _email_each, _local, _notice_url
from emegalis.organisations.models import User


@transaction.atomic
def save_search(*, user: User, name: str, params: selectors.SearchParams) -> SavedSearch:
    if not user.is_authenticated:
        raise PermissionDenied("Identifiez-vous pour enregistrer une alerte.")
    name = (name or "").strip()[:100]
    if not name:
        raise ValidationError({"name": ["Donnez un nom à l'alerte."]})
    criteria = params.to_json()
    if not criteria:
        raise ValidationError("Choisissez au moins un critère avant d'enregistrer l'alerte.")
    if selectors.alerts_of(user).count() >= 50:
        raise ValidationError("Vous avez atteint le nombre maximal d'alertes (50).")
    alert = SavedSearch.objects.create(
        user=user, name=name, params=criteria, checked_until=clock.now()
    )
    journal.record(
        action="marches.alert.saved",
        actor=user,
        object_type="alert",
        object_id=alert.pk,
        payload={"name": name, "params": criteria},
    )
    return alert


@transaction.atomic
def delete_search(*, user: User, alert: SavedSearch) -> None:
    if alert.user_id != user.pk:
        raise PermissionDenied("Cette alerte ne vous appartient pas.")
    alert.delete()


def send_alert(*, alert: SavedSearch, now: datetime | None = None) -> int:
    """E-mail the consultations published since the alert was last checked; returns how many."""
    now = now or clock.now()
    params = selectors.SearchParams.from_json(alert.params)
    new = list(
        selectors.search_consultations(params).filter(
            published_at__gt=alert.checked_until, published_at__lte=now
        )[:50]
    )
    if new and alert.user.is_active:
        lines = [
            "Bonjour,",
            "",
            f"Nouvelles consultations pour votre alerte « {alert.name} » :",
            "",
        ]
        for consultation in new:
            lines.append(
                f"- {consultation.title} — {consultation.organisation.name} — date limite "
                f"{_local(consultation.bids_deadline)}\n  {_notice_url(consultation)}"
            )
        lines += ["", "Gérez vos alertes sur e-mégalis.", "— e-mégalis"]
        _email_each(
            [alert.user.email],
            f"e-mégalis : {len(new)} nouvelle(s) consultation(s) — {alert.name}",
            "\n".join(lines),
        )
    SavedSearch.objects.filter(pk=alert.pk).update(checked_until=now)
    return len(new)
