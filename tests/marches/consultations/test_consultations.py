"""Consultation life: who may create, the state machine, closing at the deadline, the journal."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from emegalis.core import clock
from emegalis.core.models import JournalEntry
from emegalis.core.services_catalog import Service
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations import workstation
from emegalis.marches.consultations.models import Consultation, State
from emegalis.organisations.roles import Role
from tests.factories import OrganisationFactory, make_convention, make_member
from tests.marches.helpers import consultation_fields, name_commission

pytestmark = pytest.mark.django_db


def test_buyer_creates_a_draft_with_lots_and_it_is_journaled(buyer_a, commune_a):
    consultation = consultations_services.create_consultation(
        actor=buyer_a,
        organisation=commune_a,
        lots=[
            {"number": 1, "title": "Écoles maternelles", "cpv": "90911200-8"},
            {"number": 2, "title": "Écoles élémentaires"},
        ],
        cpv_extra=["90919200-4"],
        **consultation_fields(),
    )
    assert consultation.state == State.BROUILLON
    assert consultation.departement == "056"
    assert [lot.number for lot in consultation.lots.all()] == [1, 2]
    assert consultation.cpv_search == " 90910000-9 90919200-4"
    assert "nettoyage des ecoles" in consultation.search_document
    assert JournalEntry.objects.filter(
        action="marches.consultation.created", object_id=str(consultation.pk)
    ).exists()


def test_cpv_codes_are_checked_against_the_shipped_list(buyer_a, commune_a):
    with pytest.raises(ValidationError) as exc:
        consultations_services.create_consultation(
            actor=buyer_a, organisation=commune_a, **consultation_fields(cpv_main="90910000-8")
        )
    assert "clé de contrôle" in exc.value.message_dict["cpv_main"][0]
    with pytest.raises(ValidationError) as exc:
        consultations_services.create_consultation(
            actor=buyer_a, organisation=commune_a, **consultation_fields(cpv_main="9091")
        )
    assert "8 chiffres" in exc.value.message_dict["cpv_main"][0]


def test_duplicate_reference_is_a_clear_error(buyer_a, commune_a, make_consultation):
    make_consultation(publish=False)
    with pytest.raises(ValidationError) as exc:
        consultations_services.create_consultation(
            actor=buyer_a, organisation=commune_a, **consultation_fields()
        )
    assert "référence" in " ".join(exc.value.messages)


def test_only_buyers_of_an_organisation_with_the_service_may_create(commune_a, company_user):
    referent = make_member(commune_a, Role.REFERENT)
    for user in (referent, company_user):
        with pytest.raises(PermissionDenied):
            consultations_services.create_consultation(
                actor=user, organisation=commune_a, **consultation_fields()
            )
    without_service = OrganisationFactory(name="Commune sans convention")
    make_convention(without_service, [Service.ACTES], start=date(2020, 1, 1), end=None)
    buyer = make_member(without_service, Role.ACHETEUR)
    with pytest.raises(PermissionDenied) as exc:
        consultations_services.create_consultation(
            actor=buyer, organisation=without_service, **consultation_fields()
        )
    assert "Salle des marchés" in str(exc.value)


def test_publication_needs_a_dce(buyer_a, make_consultation):
    consultation = make_consultation(publish=False, files=[])
    with pytest.raises(ValidationError) as exc:
        consultations_services.publish(actor=buyer_a, consultation=consultation)
    assert "DCE" in exc.value.messages[0]


def test_publication_makes_version_one(buyer_a, make_consultation):
    consultation = make_consultation()
    assert consultation.state == State.PUBLIEE
    assert consultation.published_at is not None
    version = consultation.dce_versions.get()
    assert version.number == 1
    assert list(consultation.dce_files.values_list("added_in", flat=True)) == [version.pk]
    actions = set(
        JournalEntry.objects.filter(object_id=str(consultation.pk)).values_list("action", flat=True)
    )
    assert {"marches.consultation.published", "marches.consultation.state_changed"} <= actions


def test_illegal_transitions_are_refused(buyer_a, make_consultation):
    draft = make_consultation(publish=False)
    with pytest.raises(ValidationError) as exc:
        consultations_services.change_state(
            actor=buyer_a, consultation=draft, to=State.INFRUCTUEUSE
        )
    assert "ne peut pas passer" in exc.value.messages[0]
    with pytest.raises(ValidationError) as exc:
        consultations_services.change_state(actor=buyer_a, consultation=draft, to=State.ATTRIBUEE)
    assert "ne se choisit pas ici" in exc.value.messages[0]
    with pytest.raises(ValidationError):
        consultations_services.change_state(actor=buyer_a, consultation=draft, to=State.CLOTUREE)
    with pytest.raises(ValidationError):
        consultations_services.change_state(actor=buyer_a, consultation=draft, to=State.PUBLIEE)
    published = make_consultation(reference="2026-010")
    with pytest.raises(ValidationError):
        consultations_services.change_state(
            actor=buyer_a, consultation=published, to=State.ATTRIBUEE
        )
    with pytest.raises(ValidationError) as exc:
        consultations_services.change_state(
            actor=buyer_a, consultation=published, to=State.CLOTUREE
        )
    assert "après sa date limite" in exc.value.messages[0]
    with pytest.raises(ValidationError):
        consultations_services.publish(actor=buyer_a, consultation=published)
    published.refresh_from_db()
    assert published.state == State.PUBLIEE


def test_cancellation_needs_a_reason_and_is_final(buyer_a, make_consultation):
    consultation = make_consultation()
    with pytest.raises(ValidationError):
        consultations_services.change_state(
            actor=buyer_a, consultation=consultation, to=State.ANNULEE
        )
    consultations_services.change_state(
        actor=buyer_a, consultation=consultation, to=State.ANNULEE, reason="Besoin disparu"
    )
    consultation.refresh_from_db()
    assert consultation.state == State.ANNULEE
    with pytest.raises(ValidationError):
        consultations_services.change_state(
            actor=buyer_a, consultation=consultation, to=State.ANNULEE, reason="encore"
        )


def test_deadline_closes_then_award_or_unsuccessful(buyer_a, make_consultation, monkeypatch):
    first = make_consultation()
    second = make_consultation(reference="2026-002")
    later = clock.now() + timedelta(days=41)
    assert consultations_services.close_due_consultations() == 0
    monkeypatch.setattr(clock, "now", lambda: later)
    assert consultations_services.close_due_consultations() == 2
    first.refresh_from_db()
    assert first.state == State.CLOTUREE
    # « Attribuée » is not a buyer's transition any more: it follows the award decisions.
    with pytest.raises(ValidationError, match="ne se choisit pas ici"):
        consultations_services.change_state(actor=buyer_a, consultation=first, to=State.ATTRIBUEE)
    consultations_services.change_state(actor=buyer_a, consultation=second, to=State.INFRUCTUEUSE)
    assert set(Consultation.objects.values_list("state", flat=True)) == {
        State.CLOTUREE,
        State.INFRUCTUEUSE,
    }
    with pytest.raises(ValidationError):
        consultations_services.change_state(
            actor=buyer_a, consultation=second, to=State.ANNULEE, reason="x"
        )


def test_close_command(make_consultation, monkeypatch):
    from django.core.management import call_command

    make_consultation()
    later = clock.now() + timedelta(days=41)
    monkeypatch.setattr(clock, "now", lambda: later)
    call_command("close_due_consultations")
    assert Consultation.objects.get().state == State.CLOTUREE


def test_the_test_consultation_is_always_open(commune_a, monkeypatch):
    consultation = workstation.ensure_test_consultation(organisation=commune_a)
    assert consultation.state == State.PUBLIEE and consultation.is_test
    assert consultation.dce_files.filter(added_in__isnull=False).count() == 1
    later = clock.now() + timedelta(days=400)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert consultations_services.close_due_consultations() == 0
    again = workstation.ensure_test_consultation(organisation=commune_a)
    assert again.pk == consultation.pk
    assert again.bids_deadline.year == 2099
    assert Consultation.objects.filter(is_test=True).count() == 1


def test_published_consultation_is_changed_by_rectificatif_only(buyer_a, make_consultation):
    consultation = make_consultation()
    with pytest.raises(ValidationError) as exc:
        consultations_services.update_consultation(
            actor=buyer_a, consultation=consultation, title="Autre"
        )
    assert "rectificatif" in exc.value.messages[0]
    with pytest.raises(ValidationError):
        consultations_services.add_lot(
            actor=buyer_a, consultation=consultation, number=1, title="Lot"
        )


def test_buyer_pages_create_and_publish(client_for, buyer_a, make_consultation):
    client = client_for(buyer_a)
    assert client.get("/services/marches/").url == "/marches/acheteur/"
    assert "Nouvelle consultation" in client.get("/marches/acheteur/").content.decode()
    consultation = make_consultation(publish=False)
    response = client.post(
        f"/marches/acheteur/{consultation.pk}/lots/",
        {"number": 1, "title": "Lot unique", "cpv": "90910000-9"},
    )
    assert response.status_code == 302
    response = client.post(
        f"/marches/acheteur/{consultation.pk}/lots/", {"number": 1, "title": "Doublon"}
    )
    assert response.status_code == 400
    assert "Un lot porte déjà ce numéro" in response.content.decode()
    response = client.post(f"/marches/acheteur/{consultation.pk}/publier/", follow=True)
    assert "Publication refusée : Désignez la commission" in response.content.decode()
    name_commission(buyer_a, consultation)
    response = client.post(f"/marches/acheteur/{consultation.pk}/publier/", follow=True)
    assert "La consultation est publiée" in response.content.decode()
    consultation.refresh_from_db()
    assert consultation.state == State.PUBLIEE
    assert 'value="attribuee"' not in response.content.decode()  # follows the decisions
    response = client.post(
        f"/marches/acheteur/{consultation.pk}/etat/", {"to": "attribuee"}, follow=True
    )
    assert "Choisissez un état" in response.content.decode()
    consultation.refresh_from_db()
    assert consultation.state == State.PUBLIEE


@pytest.mark.django_db(transaction=True)
def test_publish_runs_in_its_own_transaction(make_consultation):
    """Outside any caller's transaction (a script, a task), publish locks and commits alone."""
    consultation = make_consultation()
    assert consultation.state == State.PUBLIEE
