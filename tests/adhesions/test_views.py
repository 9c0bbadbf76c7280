"""Pages: an organisation's conventions and contributions, the operator's pages."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from emegalis.adhesions import services
from emegalis.adhesions.models import ContributionCall, Convention, ConventionStatus
from emegalis.core import clock, journal
from emegalis.core.models import JournalEntry
from emegalis.core.services_catalog import Service
from emegalis.organisations.models import OrganisationKind
from emegalis.organisations.roles import Role
from tests.adhesions.helpers import pdf_bytes
from tests.factories import OrganisationFactory, make_convention, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_convention(staff, convention_a):
    services.attach_signed_document(
        actor=staff, convention=convention_a, file=io.BytesIO(pdf_bytes("Charte signée"))
    )
    convention_a.refresh_from_db()
    return convention_a


def _body(response) -> str:
    return response.content.decode()


# --- Organisation pages ---------------------------------------------------------------------------


def test_member_sees_own_conventions_with_history_and_services(
    login, staff, agent_a, commune_a, signed_convention
):
    services.change_convention_status(
        actor=staff,
        convention=signed_convention,
        status=ConventionStatus.RESILIE,
        effective_on=date(2027, 6, 30),
        note="Retrait voté",
    )
    client = login(agent_a)
    response = client.get(f"/organisations/{commune_a.pk}/conventions/")
    assert response.status_code == 200
    body = _body(response)
    assert signed_convention.reference in body
    assert "Charte d&#x27;utilisation" in body or "Charte d'utilisation" in body
    assert "01/01/2025" in body and "31/12/2029" in body and "30/06/2027" in body
    assert "Résilié" in body and "Adhérent" in body and "Retrait voté" in body
    assert "Salle des marchés" in body and "Contrôle de légalité" in body
    assert f"/organisations/conventions/{signed_convention.pk}/document/" in body
    assert "<caption>" in body and 'scope="col"' in body

    download = client.get(f"/organisations/conventions/{signed_convention.pk}/document/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF-")


def test_agent_of_commune_a_cannot_read_commune_b(login, staff, agent_a, commune_b, agglo_call):
    convention_b = make_convention(commune_b, [Service.MARCHES])
    services.attach_signed_document(
        actor=staff, convention=convention_b, file=io.BytesIO(pdf_bytes())
    )
    client = login(agent_a)
    for url in (
        f"/organisations/{commune_b.pk}/conventions/",
        f"/organisations/{commune_b.pk}/contributions/",
        f"/organisations/conventions/{convention_b.pk}/document/",
        f"/organisations/contributions/appels/{agglo_call.pk}/pdf/",
        f"/organisations/{agglo_call.contribution.payer_id}/contributions/",
    ):
        assert client.get(url).status_code == 404, url


def test_missing_objects_give_404_not_500(login, agent_a, convention_a):
    client = login(agent_a)
    assert client.get("/organisations/999999/conventions/").status_code == 404
    assert client.get("/organisations/conventions/999999/document/").status_code == 404
    # A convention without a signed document.
    assert client.get(f"/organisations/conventions/{convention_a.pk}/document/").status_code == 404
    assert client.get("/organisations/contributions/appels/999999/pdf/").status_code == 404


def test_anonymous_is_sent_to_login(client, commune_a):
    response = client.get(f"/organisations/{commune_a.pk}/conventions/")
    assert response.status_code == 302 and "/compte/connexion/" in response["Location"]
    response = client.get("/operateur/membres/")
    assert response.status_code == 302 and "/compte/connexion/" in response["Location"]


def test_commune_sees_the_contribution_covering_it_but_not_the_call(
    login, agent_a, commune_a, agglo_call
):
    client = login(agent_a)
    response = client.get(f"/organisations/{commune_a.pk}/contributions/")
    assert response.status_code == 200
    body = _body(response)
    assert "Lorient Agglomération" in body
    assert "3\xa0000,00 €" in body
    assert agglo_call.number not in body
    assert "Appel adressé à Lorient Agglomération" in body


def test_payer_member_sees_call_status_and_downloads_pdf(login, staff, agglo, agglo_call):
    treasurer = make_member(agglo, Role.REFERENT)
    client = login(treasurer)
    body = _body(client.get(f"/organisations/{agglo.pk}/contributions/"))
    assert agglo_call.number in body and "impayé" in body
    response = client.get(f"/organisations/contributions/appels/{agglo_call.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    data = b"".join(response.streaming_content)
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "3 600,00 € TTC" in text
    services.mark_call_paid(
        actor=staff, call=agglo_call, paid_on=date(2026, 2, 1), payment_reference="M-12"
    )
    body = _body(client.get(f"/organisations/{agglo.pk}/contributions/"))
    assert "payé" in body and "01/02/2026" in body


# --- Operator pages -----------------------------------------------------------------------------


OPERATOR_GETS = [
    "/operateur/membres/",
    "/operateur/membres/{org}/",
    "/operateur/conventions/{convention}/statut/",
    "/operateur/conventions/{convention}/document/",
    "/operateur/contributions/",
]
OPERATOR_POSTS = [
    "/operateur/conventions/{convention}/statut/",
    "/operateur/conventions/{convention}/document/",
    "/operateur/contributions/generer/",
    "/operateur/appels/{call}/paiement/",
]


def test_non_staff_cannot_reach_operator_pages(login, agent_a, commune_a, convention_a, agglo_call):
    referent = make_member(commune_a, Role.REFERENT, user=agent_a)
    client = login(referent)
    values = {"org": commune_a.pk, "convention": convention_a.pk, "call": agglo_call.pk}
    for url in OPERATOR_GETS:
        assert client.get(url.format(**values)).status_code == 403, url
    for url in OPERATOR_POSTS:
        response = client.post(
            url.format(**values),
            {"status": "resilie", "effective_on": "2026-01-01", "year": "2026"},
        )
        assert response.status_code == 403, url
    convention_a.refresh_from_db()
    assert convention_a.current_status == ConventionStatus.ADHERENT
    assert not JournalEntry.objects.filter(action="convention.status_changed").exists()


def test_staff_without_second_factor_is_redirected(client, staff):
    client.force_login(staff)
    response = client.get("/operateur/membres/")
    assert response.status_code == 302
    assert "/compte/" in response["Location"]


def test_operator_member_list_filters(staff_client, agglo, communes, staff):
    commune_a, commune_b, commune_c = communes[:3]
    make_convention(commune_a, [Service.MARCHES], start=date(2020, 1, 1), end=None)
    make_convention(commune_b, [Service.ACTES], start=date(2020, 1, 1), end=None)
    resilie = make_convention(commune_c, [Service.MARCHES], start=date(2020, 1, 1), end=None)
    services.change_convention_status(
        actor=staff, convention=resilie, status="resilie", effective_on=date(2021, 1, 1)
    )
    other_epci = OrganisationFactory(
        name="Quimperlé Communauté", kind=OrganisationKind.COMMUNAUTE_COMMUNES
    )
    outside = OrganisationFactory(name="Commune de Quimperlé", parent=other_epci)
    company = OrganisationFactory(name="Entreprise Dupont", kind=OrganisationKind.ENTREPRISE)

    def names(query):
        response = staff_client.get("/operateur/membres/", query)
        assert response.status_code == 200
        return {o.name for o in (row["organisation"] for row in response.context["rows"])}

    everything = names({})
    assert {agglo.name, outside.name, *(c.name for c in communes)} <= everything
    assert company.name not in everything  # companies sign no convention
    assert names({"type": "ca"}) == {agglo.name}
    assert names({"epci": agglo.pk}) == {c.name for c in communes}
    assert names({"epci": other_epci.pk}) == {outside.name}
    assert names({"statut": "adherent"}) == {commune_a.name, commune_b.name}
    assert names({"statut": "resilie"}) == {commune_c.name}
    assert names({"service": "marches"}) == {commune_a.name}
    assert names({"service": "actes", "epci": agglo.pk}) == {commune_b.name}
    assert names({"service": "marches", "statut": "resilie"}) == set()
    # Bad filter values never give a 500: they are reported and ignored.
    response = staff_client.get("/operateur/membres/", {"type": "nope", "epci": "abc"})
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in _body(response)
    assert {o["organisation"].name for o in response.context["rows"]} == everything


def test_operator_member_detail_shows_everything(staff_client, agglo, commune_a, agglo_call):
    make_convention(commune_a, [Service.MARCHES], start=date(2020, 1, 1), end=None)
    agent = make_member(commune_a, Role.ACHETEUR)
    response = staff_client.get(f"/operateur/membres/{commune_a.pk}/")
    assert response.status_code == 200
    body = _body(response)
    assert agent.email in body
    assert "Salle des marchés" in body
    assert "Lorient Agglomération" in body  # the contribution covering the commune
    assert f"Utilisation en {clock.today().year}" in body
    assert "Utilisateurs actifs" in body and "Conventions en vigueur" in body
    usage = {
        label: value for s in response.context["detail"].usage for label, value in s.figures.items()
    }
    assert usage["Utilisateurs actifs"] == 1
    assert usage["Conventions en vigueur"] == 1
    assert staff_client.get("/operateur/membres/999999/").status_code == 404


def test_operator_changes_status_through_the_form(staff_client, commune_a):
    convention = make_convention(
        commune_a, [Service.MARCHES], status="en_cours", start=date(2025, 1, 1)
    )
    url = f"/operateur/conventions/{convention.pk}/statut/"
    page = staff_client.get(url)
    assert page.status_code == 200
    assert 'for="id_status"' in _body(page) and 'for="id_effective_on"' in _body(page)
    response = staff_client.post(
        url, {"status": "adherent", "effective_on": "2025-03-01", "note": "Délibération"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/operateur/membres/{commune_a.pk}/"
    convention.refresh_from_db()
    assert convention.current_status == "adherent"
    assert journal.first_break() is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"status": "prospect", "effective_on": "2025-03-01"}, "Sélectionnez un choix valide"),
        ({"status": "adherent", "effective_on": "pas une date"}, "Saisissez une date valide"),
        ({"status": "adherent", "effective_on": ""}, "Ce champ est obligatoire"),
        ({"status": "adherent", "effective_on": "2024-01-01"}, "ne peut pas précéder"),
        ({}, "Ce champ est obligatoire"),
    ],
)
def test_status_form_errors_are_french_and_not_500(staff_client, commune_a, data, message):
    convention = make_convention(
        commune_a, [Service.MARCHES], status="en_cours", start=date(2025, 1, 1)
    )
    response = staff_client.post(f"/operateur/conventions/{convention.pk}/statut/", data)
    assert response.status_code == 400
    assert message in _body(response)
    convention.refresh_from_db()
    assert convention.current_status == "en_cours"


def test_operator_uploads_signed_document(staff_client, convention_a):
    url = f"/operateur/conventions/{convention_a.pk}/document/"
    bad = SimpleUploadedFile("faux.pdf", b"<html>pas un pdf</html>", "application/pdf")
    response = staff_client.post(url, {"document": bad})
    assert response.status_code == 400
    assert "pas un PDF valide" in _body(response)
    convention_a.refresh_from_db()
    assert not convention_a.signed_document
    good = SimpleUploadedFile("charte.pdf", pdf_bytes(), "application/pdf")
    response = staff_client.post(url, {"document": good, "signed_on": "15/01/2025"})
    assert response.status_code == 302
    convention_a.refresh_from_db()
    assert convention_a.signed_document and convention_a.signed_on == date(2025, 1, 15)


def test_operator_generates_calls_and_marks_paid(staff_client, staff, agglo, communes):
    services.create_contribution(
        actor=staff,
        payer=agglo,
        year=2026,
        amount_ht=Decimal("3000"),
        beneficiaries=[agglo, *communes],
    )
    page = staff_client.get("/operateur/contributions/", {"annee": 2026})
    assert page.status_code == 200
    assert "Générer les appels de l" in _body(page)
    response = staff_client.post(
        "/operateur/contributions/generer/", {"year": "2026", "issued_on": "2026-01-05"}
    )
    assert response.status_code == 302
    call = ContributionCall.objects.get()
    assert call.number == "AC-2026-0001"
    # Generating again issues nothing new.
    staff_client.post("/operateur/contributions/generer/", {"year": "2026"})
    assert ContributionCall.objects.count() == 1

    body = _body(staff_client.get("/operateur/contributions/", {"annee": 2026, "impayes": "on"}))
    assert "AC-2026-0001" in body and "3\xa0600,00 €" in body
    prefix = f"appel-{call.pk}"
    response = staff_client.post(
        f"/operateur/appels/{call.pk}/paiement/",
        {f"{prefix}-paid_on": "2026-02-01", f"{prefix}-payment_reference": "Mandat 118"},
    )
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.paid_on == date(2026, 2, 1)
    unpaid = staff_client.get("/operateur/contributions/", {"annee": 2026, "impayes": "on"})
    assert unpaid.context["rows"] == []
    assert 'data-call="AC-2026-0001"' not in _body(unpaid)
    paid = staff_client.get("/operateur/contributions/", {"annee": 2026})
    assert [r["call"] for r in paid.context["rows"]] == [call]
    # Paying twice is refused with a message, not a 500.
    response = staff_client.post(
        f"/operateur/appels/{call.pk}/paiement/",
        {f"{prefix}-paid_on": "2026-02-02", f"{prefix}-payment_reference": "Bis"},
    )
    assert response.status_code == 400
    assert "déjà payé" in _body(response)


@pytest.mark.parametrize(
    "data",
    [
        {"year": "deux mille"},
        {"year": "1850"},
        {"year": ""},
        {"year": "2026", "issued_on": "31/02/2026"},
    ],
)
def test_generate_form_errors_are_not_500(staff_client, data):
    response = staff_client.post("/operateur/contributions/generer/", data)
    assert response.status_code == 400
    assert "errorlist" in _body(response)
    assert not ContributionCall.objects.exists()


def test_mark_paid_form_errors_are_not_500(staff_client, agglo_call):
    prefix = f"appel-{agglo_call.pk}"
    response = staff_client.post(
        f"/operateur/appels/{agglo_call.pk}/paiement/",
        {f"{prefix}-paid_on": "hier", f"{prefix}-payment_reference": ""},
    )
    assert response.status_code == 400
    body = _body(response)
    assert "Saisissez une date valide" in body and "Ce champ est obligatoire" in body
    assert staff_client.post("/operateur/appels/999999/paiement/", {}).status_code == 404
    agglo_call.refresh_from_db()
    assert not agglo_call.is_paid


def test_operator_contributions_bad_year_is_not_500(staff_client):
    response = staff_client.get("/operateur/contributions/", {"annee": "abc"})
    assert response.status_code == 200
    assert "Année invalide" in _body(response)


def test_convention_model_is_untouched_by_failed_posts(staff_client, convention_a):
    before = Convention.objects.values().get(pk=convention_a.pk)
    staff_client.post(
        f"/operateur/conventions/{convention_a.pk}/statut/",
        {"status": "prospect", "effective_on": "2026-01-01"},
    )
    assert Convention.objects.values().get(pk=convention_a.pk) == before
