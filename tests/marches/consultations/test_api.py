"""Buyer API with personal tokens: create, update, lots, DCE upload, publish; errors are
structured and French, never a 500."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from emegalis.core import clock
from emegalis.marches.consultations.models import Consultation, State
from emegalis.organisations import services as account_services
from emegalis.organisations.models import ApiKey
from tests.factories import make_commission_member

pytestmark = pytest.mark.django_db


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
        "lots": [{"number": 1, "title": "Parcs"}, {"number": 2, "title": "Cimetières"}],
    }
    data.update(overrides)
    return data


@pytest.fixture
def headers(buyer_a, commune_a):
    _, raw = account_services.create_api_key(user=buyer_a, organisation=commune_a, name="Logiciel")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_token_page_shows_the_token_once_and_stores_its_hash(client_for, buyer_a, commune_a):
    client = client_for(buyer_a)
    response = client.post("/compte/cles-api/", {"name": "Mon logiciel"})
    html = response.content.decode()
    token = ApiKey.objects.get()
    raw = html.split('id="new-key">')[1].split("<")[0]
    assert raw.startswith(token.prefix)
    assert token.key_hash == account_services.hash_api_key(raw)
    assert raw not in client.get("/compte/cles-api/").content.decode()
    assert (
        client.get(
            "/api/v1/marches/acheteur/consultations", HTTP_AUTHORIZATION=f"Bearer {raw}"
        ).status_code
        == 200
    )
    client.post(f"/compte/cles-api/{token.pk}/revoquer/")
    client.logout()
    response = client.get(
        "/api/v1/marches/acheteur/consultations", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code in (401, 403)


def test_create_update_upload_publish(client, headers, commune_a):
    buyer_org = commune_a
    base = "/api/v1/marches/acheteur/consultations"
    response = client.post(base, _payload(), content_type="application/json", **headers)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["state"] == "brouillon"
    assert [lot["number"] for lot in created["lots"]] == [1, 2]
    pk = created["id"]
    response = client.patch(
        f"{base}/{pk}", {"title": "Entretien des parcs"}, content_type="application/json", **headers
    )
    assert response.json()["title"] == "Entretien des parcs"
    response = client.post(f"{base}/{pk}/publier", **headers)
    assert response.status_code == 422
    assert "DCE" in " ".join(response.json()["errors"])
    response = client.post(
        f"{base}/{pk}/dce",
        {"file": SimpleUploadedFile("RC.pdf", b"%PDF-1.4 rc"), "folder": "Administratif"},
        **headers,
    )
    assert response.status_code == 201, response.content
    assert response.json()["folder"] == "Administratif"
    response = client.post(f"{base}/{pk}/publier", **headers)
    assert response.status_code == 422
    assert "commission d'ouverture" in " ".join(response.json()["errors"])
    members = [make_commission_member(buyer_org) for _ in range(3)]
    response = client.post(
        f"{base}/{pk}/commission",
        {"members": [members[0].email, "inconnu@example.test"], "threshold": 2},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 422
    assert "inconnu@example.test" in " ".join(response.json()["errors"])
    response = client.post(
        f"{base}/{pk}/commission",
        {"members": [m.email for m in members], "threshold": 2},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 201, response.content
    commission = response.json()
    assert commission["threshold"] == 2 and len(commission["members"]) == 3
    assert not commission["complete"]
    response = client.post(f"{base}/{pk}/publier", **headers)
    assert response.status_code == 200
    assert response.json()["state"] == "publiee"
    public = client.get(f"/api/v1/marches/consultations/{pk}").json()
    assert public["title"] == "Entretien des parcs"
    assert len(client.get(f"/api/v1/marches/consultations/{pk}/lots").json()) == 2


def test_api_refuses_short_deadlines_with_the_reason(client, headers):
    local = timezone.localtime(clock.now())
    response = client.post(
        "/api/v1/marches/acheteur/consultations",
        _payload(
            questions_deadline=(local + timedelta(days=5)).isoformat(),
            bids_deadline=(local + timedelta(days=10)).isoformat(),
        ),
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 422
    assert any("Délai trop court" in e for e in response.json()["errors"])
    assert not Consultation.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"procedure": "inconnue"},
        {"cpv_main": "123"},
        {"bids_deadline": "demain"},
        {"lots": [{"number": 1, "title": "A"}, {"number": 1, "title": "B"}]},
        {"reference": ""},
    ],
)
def test_bad_payloads_are_422_not_500(client, headers, payload):
    response = client.post(
        "/api/v1/marches/acheteur/consultations",
        _payload(**payload),
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 422, response.content
    assert not Consultation.objects.exists()


def test_without_or_with_a_bad_token(client):
    base = "/api/v1/marches/acheteur/consultations"
    assert client.get(base).status_code == 401
    assert client.get(base, HTTP_AUTHORIZATION="Bearer faux").status_code == 401
    response = client.post(base, _payload(), content_type="application/json")
    assert response.status_code in (401, 403)


def test_company_token_cannot_create(client, company, company_user):
    _, raw = account_services.create_api_key(user=company_user, organisation=company, name="x")
    response = client.post(
        "/api/v1/marches/acheteur/consultations",
        _payload(),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 403
    assert "acheteurs" in response.json()["detail"]


def test_token_for_someone_elses_organisation_is_refused(buyer_a, commune_b):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        account_services.create_api_key(user=buyer_a, organisation=commune_b, name="x")


def test_openapi_lists_the_procurement_endpoints(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert "/api/v1/marches/consultations" in paths
    assert "/api/v1/marches/acheteur/consultations/{pk}/publier" in paths


def test_buyer_list_via_session(client_for, buyer_a, make_consultation):
    make_consultation(publish=False)
    client = client_for(buyer_a)
    listed = client.get("/api/v1/marches/acheteur/consultations").json()
    assert [c["state"] for c in listed] == [State.BROUILLON]


def _draft(client, headers) -> int:
    base = "/api/v1/marches/acheteur/consultations"
    response = client.post(base, _payload(), content_type="application/json", **headers)
    return response.json()["id"]


def test_api_dce_upload_over_the_cap_is_refused_before_spooling(client, headers, settings):
    settings.MARCHES_DCE_MAX_BYTES = 1000
    pk = _draft(client, headers)
    url = f"/api/v1/marches/acheteur/consultations/{pk}/dce"
    # Announced too big: refused from the Content-Length alone.
    response = client.post(
        url, {"file": SimpleUploadedFile("gros.pdf", b"%PDF" + b"x" * 2 * 1024 * 1024)}, **headers
    )
    assert response.status_code == 413
    assert "taille maximale" in response.json()["detail"]
    # Within the announced margin but over the cap: the upload handler stops reading.
    response = client.post(
        url, {"file": SimpleUploadedFile("moyen.pdf", b"%PDF" + b"x" * 5000)}, **headers
    )
    assert response.status_code == 413
    assert not Consultation.objects.get(pk=pk).dce_files.exists()
    response = client.post(url, {"folder": "Administratif"}, **headers)
    assert response.status_code == 422
    assert "champ « file »" in " ".join(response.json()["errors"])
    response = client.post(url, {"file": SimpleUploadedFile("RC.pdf", b"%PDF-1.4")}, **headers)
    assert response.status_code == 201
