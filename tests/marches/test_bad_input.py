"""Bad input found by the outside tester (issue 9, §3 A): references with control characters,
file names in headers, formulas in the CSV register, implausible deadlines. Each is refused
with a French reason by the form and the API, and nothing answers 500."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from emegalis.core import clock
from emegalis.marches.consultations import dce
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations.models import Consultation
from emegalis.organisations import services as account_services
from emegalis.organisations.models import OrganisationKind
from emegalis.organisations.roles import Role
from tests.factories import OrganisationFactory, UserFactory, make_member
from tests.marches.helpers import consultation_fields

pytestmark = pytest.mark.django_db

API = "/api/v1/marches/acheteur/consultations"
CONTROL_REFERENCES = ["2026-001\nX", "2026\r\n001", "2026\t001", "2026\x00001", "REF\u202eFDP"]


@pytest.fixture
def headers(buyer_a, commune_a):
    _, raw = account_services.create_api_key(user=buyer_a, organisation=commune_a, name="Logiciel")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _payload(**overrides):
    local = timezone.localtime(clock.now())
    data = {
        "reference": "API-1",
        "title": "Entretien des espaces verts",
        "object": "Tonte, taille et désherbage des parcs.",
        "procedure": "ao_ouvert",
        "nature": "services",
        "cpv_main": "77000000-0",
        "questions_deadline": (local + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
        "bids_deadline": (local + timedelta(days=40)).strftime("%Y-%m-%dT%H:%M"),
    }
    data.update(overrides)
    return data


def _form(**overrides):
    local = timezone.localtime(clock.now())
    data = {
        "reference": "2026-042",
        "title": "Nettoyage des écoles",
        "object": "Prestations de nettoyage.",
        "procedure": "ao_ouvert",
        "nature": "services",
        "cpv_main": "90910000-9",
        "questions_deadline": (local + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
        "bids_deadline": (local + timedelta(days=40)).strftime("%Y-%m-%dT%H:%M"),
        "electronic_submission": "on",
    }
    data.update(overrides)
    return data


def _messages(response) -> str:
    body = response.json()
    return " ".join(str(x) for x in [body.get("detail"), *body.get("errors", [])])


# --- 1. References with control characters --------------------------------------------------


@pytest.mark.parametrize("reference", CONTROL_REFERENCES)
def test_the_api_refuses_a_reference_with_a_control_character(client, headers, reference):
    response = client.post(
        API, _payload(reference=reference), content_type="application/json", **headers
    )
    assert response.status_code == 422, response.content
    assert "La référence ne peut contenir aucun caractère de contrôle" in _messages(response)
    assert not Consultation.objects.exists()


def test_the_api_refuses_a_patched_reference_with_a_line_break(client, headers):
    pk = client.post(API, _payload(), content_type="application/json", **headers).json()["id"]
    response = client.patch(
        f"{API}/{pk}", {"reference": "A\nB"}, content_type="application/json", **headers
    )
    assert response.status_code == 422
    assert Consultation.objects.get().reference == "API-1"


@pytest.mark.parametrize("reference", CONTROL_REFERENCES[:3])
def test_the_form_refuses_a_reference_with_a_control_character(client_for, buyer_a, reference):
    response = client_for(buyer_a).post("/marches/acheteur/nouvelle/", _form(reference=reference))
    assert response.status_code == 200
    page = response.content.decode()
    assert "La référence ne peut contenir aucun caractère de contrôle" in page
    assert not Consultation.objects.exists()


def test_the_service_refuses_a_reference_with_a_control_character(buyer_a, commune_a):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        consultations_services.create_consultation(
            actor=buyer_a, organisation=commune_a, **consultation_fields(reference="A\nB")
        )
    assert "reference" in caught.value.message_dict


def test_a_slash_or_accents_stay_allowed_in_a_reference(buyer_a, commune_a):
    consultation = consultations_services.create_consultation(
        actor=buyer_a, organisation=commune_a, **consultation_fields(reference="2026/015-É")
    )
    assert consultation.reference == "2026/015-É"


@pytest.fixture
def awkward(make_consultation, company_user, company):
    """A consultation stored before the check existed, whose reference holds a line break,
    quotes, a slash and accents; one identified retrait."""
    consultation = make_consultation(reference="Réf. 2026/1")
    Consultation.objects.filter(pk=consultation.pk).update(reference='Réf. "2026"/1\r\nX: y')
    consultation.refresh_from_db()
    consultations_services.record_retrait(
        consultation=consultation, user=company_user, organisation=company, kind="zip"
    )
    return consultation


def _assert_safe_disposition(response, ascii_part: str):
    value = response["Content-Disposition"]
    assert "\r" not in value and "\n" not in value
    assert value.startswith('attachment; filename="')
    assert ascii_part in value
    assert "filename*=UTF-8''" in value
    value.encode("ascii")


@pytest.mark.parametrize(("path", "suffix"), [("registre.csv", ".csv"), ("registre.pdf", ".pdf")])
def test_the_register_downloads_survive_an_awkward_reference(
    client_for, buyer_a, awkward, path, suffix
):
    response = client_for(buyer_a).get(f"/marches/acheteur/{awkward.pk}/{path}")
    assert response.status_code == 200
    _assert_safe_disposition(response, f'filename="registre-retraits-Ref. _2026_-1 X_ y{suffix}"')
    assert "R%C3%A9f." in response["Content-Disposition"]


def test_the_public_dce_zip_survives_an_awkward_reference(client, awkward):
    response = client.get(f"/marches/consultations/{awkward.pk}/dce.zip")
    assert response.status_code == 200
    _assert_safe_disposition(response, 'filename="DCE-Ref. _2026_-1 X_ y-v1.zip"')
    b"".join(response.streaming_content)


def test_a_dce_file_with_accents_and_quotes_is_served_with_both_names(client, make_consultation):
    consultation = make_consultation(files=[("", 'Règlement "RC".pdf', b"%PDF-1.4 rc")])
    dce_file = consultation.dce_files.get()
    response = client.get(f"/marches/consultations/{consultation.pk}/dce/fichiers/{dce_file.pk}/")
    assert response.status_code == 200
    _assert_safe_disposition(response, 'filename="Reglement _RC_.pdf"')
    assert "R%C3%A8glement%20%22RC%22.pdf" in response["Content-Disposition"]
    b"".join(response.streaming_content)


# --- 2. CSV injection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["=cmd|' /C calc'!A0", "+33 SA", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)", "\tTab SA", "\rCR"],
)
def test_the_register_csv_neutralises_formulas(client_for, buyer_a, make_consultation, name):
    consultation = make_consultation()
    evil = OrganisationFactory(
        name=name, kind=OrganisationKind.ENTREPRISE, insee_nature="", departement=""
    )
    user = make_member(evil, Role.ENTREPRISE, user=UserFactory(first_name="=HYPERLINK(1)"))
    consultations_services.record_retrait(
        consultation=consultation, user=user, organisation=evil, kind="zip"
    )
    response = client_for(buyer_a).get(f"/marches/acheteur/{consultation.pk}/registre.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    identified = [r for r in rows[1:] if len(r) == 6]
    assert identified[0][1] == "'" + name
    assert identified[0][3].startswith("'=HYPERLINK(1)")
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


# --- 3. Plausible deadlines -------------------------------------------------------------------


@pytest.mark.parametrize(
    "bids",
    ["9999-12-31T18:00", "9999-12-31T23:59:59-05:00", "2099-01-01T12:00"],
)
def test_the_api_refuses_a_deadline_years_ahead_with_the_reason(client, headers, bids):
    response = client.post(
        API, _payload(bids_deadline=bids), content_type="application/json", **headers
    )
    assert response.status_code == 422, response.content
    assert "plus de 2 ans" in _messages(response)
    assert not Consultation.objects.exists()


def test_the_form_refuses_a_deadline_years_ahead_with_the_reason(client_for, buyer_a):
    response = client_for(buyer_a).post(
        "/marches/acheteur/nouvelle/",
        _form(questions_deadline="9999-12-01T12:00", bids_deadline="9999-12-31T12:00"),
    )
    assert response.status_code == 200
    assert "plus de 2 ans" in response.content.decode()
    assert not Consultation.objects.exists()


def test_a_deadline_just_under_two_years_is_accepted(buyer_a, commune_a):
    now = clock.now()
    consultation = consultations_services.create_consultation(
        actor=buyer_a,
        organisation=commune_a,
        **consultation_fields(
            bids_deadline=now + timedelta(days=700),
            questions_deadline=now + timedelta(days=690),
        ),
    )
    assert consultation.pk


def test_a_rectificatif_cannot_push_the_deadline_years_ahead(buyer_a, make_consultation):
    from django.core.exceptions import ValidationError

    consultation = make_consultation()
    with pytest.raises(ValidationError) as caught:
        consultations_services.publish_rectificatif(
            actor=buyer_a,
            consultation=consultation,
            reason="Report",
            bids_deadline=clock.now() + timedelta(days=365 * 5),
        )
    assert "plus de 2 ans" in " ".join(caught.value.messages)


def test_schema_errors_are_french_and_shaped_like_the_services_refusals(client, headers):
    response = client.post(
        API,
        {"title": "Sans référence", "procedure": "inconnue", "bids_deadline": "demain"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("Requête invalide")
    errors = " | ".join(body["errors"])
    assert "« reference » : obligatoire" in errors
    assert "« procedure » : valeur non admise (valeurs possibles : " in errors
    assert "« bids_deadline » : date et heure attendues" in errors
    response = client.post(API, "{pas du json", content_type="application/json", **headers)
    assert response.status_code in (400, 422)
    assert not Consultation.objects.exists()


# --- 4. Company names: they go into e-mail subjects (a header) ---------------------------------


def test_a_company_name_on_several_lines_is_refused_at_signup(client):
    from emegalis.organisations.identifiers import siren_from_prefix, siret_from_siren
    from emegalis.organisations.models import Organisation

    response = client.post(
        "/marches/entreprises/inscription/",
        {
            "siret": siret_from_siren(siren_from_prefix("52345678")),
            "company_name": "Kerne\nBcc: tous@exemple.test",
            "first_name": "Maël",
            "last_name": "Le Du",
            "email": "mael@kerne.test",
            "password": "un-mot-de-passe-solide-42",
            "password2": "un-mot-de-passe-solide-42",
            "accept_terms": "on",
        },
    )
    assert "La raison sociale ne peut contenir aucun caractère de contrôle" in (
        response.content.decode()
    )
    assert not Organisation.objects.filter(kind=OrganisationKind.ENTREPRISE).exists()


def test_a_company_name_on_several_lines_is_refused_in_the_profile(
    client_for, company, company_user
):
    response = client_for(company_user).post(
        "/marches/entreprise/profil/", {"name": "Armor\r\nBâtiment", "postcode": "56000"}
    )
    assert "La raison sociale ne peut contenir aucun caractère de contrôle" in (
        response.content.decode()
    )
    company.refresh_from_db()
    assert company.name == "Armor Bâtiment"


# --- 4. Search dates: year 1 or 9999 overflowed when turned into Paris datetimes ---------------


@pytest.mark.parametrize(
    "query", ["deadline_to=9999-12-31", "deadline_from=0001-01-01", "deadline_from=31/12/9999"]
)
def test_search_dates_out_of_range_are_refused_with_the_reason(client, query):
    response = client.get(f"/marches/?{query}")
    assert response.status_code == 200
    assert "entre le 01/01/2000 et le 31/12/2100" in response.content.decode()
    response = client.get(f"/api/v1/marches/consultations?{query}")
    assert response.status_code == 422
    assert any("entre le 01/01/2000 et le 31/12/2100" in e for e in response.json()["errors"])


def test_an_alert_cannot_be_saved_with_an_out_of_range_date(client_for, company_user):
    from emegalis.marches.consultations.models import SavedSearch

    client = client_for(company_user)
    client.post("/marches/alertes/", {"name": "Tout", "deadline_to": "9999-12-31"})
    assert not SavedSearch.objects.exists()


def test_an_alert_saved_before_the_rule_still_runs(make_consultation):
    from datetime import date

    from emegalis.marches.consultations import selectors as consultations_selectors

    consultation = make_consultation()
    params = consultations_selectors.SearchParams(
        deadline_from=date(1, 1, 1), deadline_to=date(9999, 12, 31)
    )
    assert list(consultations_selectors.search_consultations(params)) == [consultation]


def test_dce_file_names_lose_invisible_characters(buyer_a, make_consultation):
    from tests.marches.helpers import dce_file

    consultation = make_consultation(publish=False)
    stored = dce.add_dce_file(
        actor=buyer_a, consultation=consultation, uploaded_file=dce_file("plan\u202efdp.exe\x7f")
    )
    assert stored.name == "planfdp.exe"


@pytest.mark.parametrize("folder", ["Plans\u202efdp", "Plans\x7f", "Plans\u2028Lot 2"])
def test_dce_folders_with_invisible_characters_are_refused(buyer_a, make_consultation, folder):
    from django.core.exceptions import ValidationError

    from tests.marches.helpers import dce_file

    consultation = make_consultation(publish=False)
    with pytest.raises(ValidationError) as caught:
        dce.add_dce_file(
            actor=buyer_a, consultation=consultation, uploaded_file=dce_file(), folder=folder
        )
    assert "Nom de dossier invalide" in caught.value.message_dict["folder"][0]
