"""Every adhésions service writes one journal entry, and the chain stays whole."""

import io
from datetime import date
from decimal import Decimal

import pytest

from emegalis.adhesions import services
from emegalis.core import journal
from emegalis.core.models import JournalEntry
from emegalis.core.services_catalog import Service
from tests.adhesions.helpers import pdf_bytes

pytestmark = pytest.mark.django_db


def _actions_since(last_id):
    return list(
        JournalEntry.objects.filter(id__gt=last_id).order_by("id").values_list("action", flat=True)
    )


def test_every_service_is_journaled_with_actor_and_organisation(staff, agglo, communes):
    last = JournalEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    convention = services.create_convention(
        actor=staff,
        organisation=agglo,
        kind="acces",
        reference="CA-2025-2029",
        start_date=date(2025, 1, 1),
        end_date=date(2029, 12, 31),
        services=[Service.MARCHES],
        deliberation_reference="DEL-2024-77",
    )
    assert _actions_since(last) == ["convention.created"]

    def check(action, run):
        nonlocal last
        last = JournalEntry.objects.order_by("-id").values_list("id", flat=True).first()
        run()
        assert _actions_since(last) == [action]
        entry = JournalEntry.objects.get(id__gt=last)
        assert entry.actor_id == staff.pk
        assert entry.organisation_id == agglo.pk

    check(
        "convention.status_changed",
        lambda: services.change_convention_status(
            actor=staff, convention=convention, status="en_cours", effective_on=date(2025, 1, 1)
        ),
    )
    check(
        "convention.services_changed",
        lambda: services.set_convention_services(
            actor=staff, convention=convention, services=[Service.MARCHES, Service.ACTES]
        ),
    )
    check(
        "convention.document_attached",
        lambda: services.attach_signed_document(
            actor=staff, convention=convention, file=io.BytesIO(pdf_bytes())
        ),
    )
    check(
        "contribution.created",
        lambda: services.create_contribution(
            actor=staff,
            payer=agglo,
            year=2026,
            amount_ht=Decimal("3000"),
            beneficiaries=[agglo, *communes],
        ),
    )
    calls = []
    check(
        "contribution_call.issued",
        lambda: calls.extend(
            services.generate_calls(actor=staff, year=2026, issued_on=date(2026, 1, 5))
        ),
    )
    check(
        "contribution_call.paid",
        lambda: services.mark_call_paid(
            actor=staff, call=calls[0], paid_on=date(2026, 2, 1), payment_reference="M-1"
        ),
    )
    assert journal.first_break() is None
