"""Contributions and their calls: amounts, numbering, the PDF, payment."""

import io
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from pypdf import PdfReader

from emegalis.adhesions import selectors, services
from emegalis.adhesions.models import Contribution, ContributionCall
from emegalis.core import clock, journal
from emegalis.core.models import JournalEntry
from emegalis.core.pdf import format_euros
from emegalis.organisations.roles import Role
from tests.adhesions.conftest import COMMUNE_NAMES
from tests.adhesions.helpers import stored_files
from tests.factories import OrganisationFactory, make_member

pytestmark = pytest.mark.django_db


def _contribution(actor, payer, beneficiaries, year=2026, amount="3000.00", label=""):
    return services.create_contribution(
        actor=actor,
        payer=payer,
        year=year,
        amount_ht=amount,
        beneficiaries=beneficiaries,
        label=label,
    )


def _pdf_text(call) -> str:
    with call.pdf.open("rb") as f:
        reader = PdfReader(io.BytesIO(f.read()))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_agglomeration_call_pdf_has_french_amounts_and_every_commune(
    staff, syndicat, agglo, communes
):
    assert len(communes) == 6
    _contribution(staff, agglo, [agglo, *communes])
    [call] = services.generate_calls(actor=staff, year=2026, issued_on=date(2026, 1, 15))
    assert call.number == "AC-2026-0001"
    assert (call.amount_ht, call.vat_amount, call.amount_ttc) == (
        Decimal("3000.00"),
        Decimal("600.00"),
        Decimal("3600.00"),
    )
    text = _pdf_text(call)
    assert "3 000,00 € HT" in text
    assert "600,00 € TVA" in text
    assert "600,00 € TVA (20 %)" in text
    assert "3 600,00 € TTC" in text
    for name in COMMUNE_NAMES:
        assert f"Commune de {name}" in text
    for commune in communes:
        assert commune.siren in text
    assert "AC-2026-0001" in text
    assert "15 janvier 2026" in text
    assert syndicat.name in text
    assert agglo.name in text and agglo.siren in text
    assert "Modalités de paiement" in text


def test_amounts_are_rounded_to_the_cent_half_up():
    assert services.compute_amounts(Decimal("1234.56")) == (
        Decimal("1234.56"),
        Decimal("246.91"),  # 246.912
        Decimal("1481.47"),
    )
    assert services.compute_amounts(Decimal("0.03")) == (
        Decimal("0.03"),
        Decimal("0.01"),  # 0.006 rounds up
        Decimal("0.04"),
    )
    assert services.compute_amounts(Decimal("0.025"))[0] == Decimal("0.03")
    assert format_euros(Decimal("1234567.8"), "TTC") == "1 234 567,80 € TTC"


def test_call_numbers_are_sequential_per_year_and_generation_is_idempotent(staff, agglo):
    payers = [OrganisationFactory(name=f"Payeur {i}") for i in range(3)]
    for payer in payers:
        _contribution(staff, payer, [payer])
    _contribution(staff, agglo, [agglo], year=2025)
    first = services.generate_calls(actor=staff, year=2026)
    assert [c.number for c in first] == ["AC-2026-0001", "AC-2026-0002", "AC-2026-0003"]
    assert services.generate_calls(actor=staff, year=2026) == []
    assert ContributionCall.objects.filter(contribution__year=2026).count() == 3
    late = OrganisationFactory(name="Payeur tardif")
    _contribution(staff, late, [late])
    [fourth] = services.generate_calls(actor=staff, year=2026)
    assert fourth.number == "AC-2026-0004"
    [other_year] = services.generate_calls(actor=staff, year=2025)
    assert other_year.number == "AC-2025-0001"
    numbers = list(ContributionCall.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == 5
    assert JournalEntry.objects.filter(action="contribution_call.issued").count() == 5
    assert journal.first_break() is None


def test_generate_calls_is_staff_only(agent_a, commune_a, staff):
    _contribution(staff, commune_a, [commune_a])
    with pytest.raises(PermissionDenied):
        services.generate_calls(actor=agent_a, year=2026)
    assert not ContributionCall.objects.exists()


def test_generate_calls_failure_leaves_no_call_and_no_file(staff, agglo, monkeypatch):
    payers = [OrganisationFactory(name=f"Payeur {i}") for i in range(2)]
    for payer in payers:
        _contribution(staff, payer, [payer])
    before = stored_files("adhesions/appels")
    original = services.render_call_pdf
    calls_made = []

    def flaky(**kwargs):
        calls_made.append(1)
        if len(calls_made) == 2:
            raise RuntimeError("panne simulée")
        return original(**kwargs)

    monkeypatch.setattr(services, "render_call_pdf", flaky)
    with pytest.raises(RuntimeError):
        services.generate_calls(actor=staff, year=2026)
    assert not ContributionCall.objects.exists()
    assert stored_files("adhesions/appels") == before
    assert not JournalEntry.objects.filter(action="contribution_call.issued").exists()


def test_create_contribution_validates(staff, agglo, commune_a):
    with pytest.raises(ValidationError, match="positif"):
        _contribution(staff, agglo, [agglo], amount="0")
    with pytest.raises(ValidationError, match="positif"):
        _contribution(staff, agglo, [agglo], amount="-5")
    with pytest.raises(ValidationError, match="centime"):
        _contribution(staff, agglo, [agglo], amount="10.005")
    with pytest.raises(ValidationError, match="pas un nombre"):
        _contribution(staff, agglo, [agglo], amount="trois mille")
    with pytest.raises(ValidationError, match="bénéficiaire"):
        _contribution(staff, agglo, [])
    with pytest.raises(ValidationError, match="année"):
        _contribution(staff, agglo, [agglo], year=1850)
    _contribution(staff, agglo, [agglo, commune_a])
    with pytest.raises(ValidationError, match="déjà une contribution pour 2026"):
        _contribution(staff, agglo, [agglo])
    assert Contribution.objects.count() == 1
    entry = JournalEntry.objects.get(action="contribution.created")
    assert entry.payload["amount_ht"] == "3000.00"
    with pytest.raises(PermissionDenied):
        _contribution(make_member(agglo, Role.REFERENT), agglo, [agglo], year=2027)


def test_mark_paid_and_unpaid_list(staff, agglo, communes):
    treasurer = make_member(agglo, Role.REFERENT)
    _contribution(staff, agglo, [agglo, *communes])
    other = OrganisationFactory(name="Autre payeur")
    _contribution(staff, other, [other])
    calls = services.generate_calls(actor=staff, year=2026, issued_on=date(2026, 1, 10))
    call_agglo, call_other = _by_payer(calls, agglo, other)
    assert set(selectors.unpaid_calls(staff)) == {call_agglo, call_other}
    assert list(selectors.unpaid_calls(treasurer)) == [call_agglo]
    paid = services.mark_call_paid(
        actor=staff, call=call_agglo, paid_on=date(2026, 2, 1), payment_reference="Mandat 2026-118"
    )
    assert paid.is_paid and paid.payment_reference == "Mandat 2026-118"
    assert list(selectors.unpaid_calls(treasurer)) == []
    assert list(selectors.unpaid_calls(staff)) == [call_other]
    with pytest.raises(ValidationError, match="déjà payé"):
        services.mark_call_paid(
            actor=staff, call=call_agglo, paid_on=date(2026, 2, 2), payment_reference="Bis"
        )
    call_agglo.refresh_from_db()
    assert call_agglo.payment_reference == "Mandat 2026-118"
    assert JournalEntry.objects.filter(action="contribution_call.paid").count() == 1
    assert journal.first_break() is None


def _by_payer(calls, *payers):
    by_payer = {c.contribution.payer_id: c for c in calls}
    return [by_payer[p.pk] for p in payers]


def test_mark_paid_validates(staff, agglo):
    treasurer = make_member(agglo, Role.REFERENT)
    _contribution(staff, agglo, [agglo])
    [call] = services.generate_calls(actor=staff, year=2026, issued_on=date(2026, 1, 10))
    with pytest.raises(ValidationError, match="précéder"):
        services.mark_call_paid(
            actor=staff, call=call, paid_on=date(2026, 1, 9), payment_reference="X"
        )
    with pytest.raises(ValidationError, match="futur"):
        services.mark_call_paid(
            actor=staff,
            call=call,
            paid_on=clock.today() + timedelta(days=1),
            payment_reference="X",
        )
    with pytest.raises(ValidationError, match="référence"):
        services.mark_call_paid(
            actor=staff, call=call, paid_on=date(2026, 1, 20), payment_reference="  "
        )
    with pytest.raises(PermissionDenied):
        services.mark_call_paid(
            actor=treasurer, call=call, paid_on=date(2026, 1, 20), payment_reference="X"
        )
    call.refresh_from_db()
    assert not call.is_paid


def test_calls_visibility_payer_members_and_staff_only(staff, agglo, communes):
    agglo_agent = make_member(agglo, Role.ACHETEUR)
    commune_agent = make_member(communes[0], Role.ACHETEUR)
    contribution = _contribution(staff, agglo, [agglo, *communes])
    [call] = services.generate_calls(actor=staff, year=2026)
    assert list(selectors.calls_visible_to(agglo_agent)) == [call]
    assert list(selectors.calls_visible_to(staff)) == [call]
    assert list(selectors.calls_visible_to(commune_agent)) == []
    # The commune sees the contribution that covers it, not the call.
    assert list(selectors.contributions_visible_to(commune_agent)) == [contribution]
    _, rows = selectors.contributions_of(commune_agent, communes[0].pk)
    assert [(r.contribution, r.call, r.has_call) for r in rows] == [(contribution, None, True)]
    outsider = make_member(OrganisationFactory(name="Ailleurs"), Role.ACHETEUR)
    assert list(selectors.contributions_visible_to(outsider)) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_generation_numbers_each_contribution_once(syndicat):
    """Two operators generating the same year at once: no duplicate, no gap (PostgreSQL)."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is exercised on PostgreSQL (SQLite serialises writers)")
    staff = make_member(syndicat, Role.OPERATEUR)
    for i in range(6):
        payer = OrganisationFactory(name=f"Payeur concurrent {i}")
        _contribution(staff, payer, [payer])
    barrier = threading.Barrier(3)
    errors = []

    def worker():
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            services.generate_calls(actor=staff, year=2026)
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    numbers = sorted(ContributionCall.objects.values_list("number", flat=True))
    assert numbers == [f"AC-2026-{i:04d}" for i in range(1, 7)]
    assert journal.first_break() is None
