"""Nobody sees what is not theirs: a buyer of commune A cannot touch commune B's consultation
(pages and API), and a draft is invisible to companies and the public (pages, search, API)."""

import pytest

from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations.models import Consultation, State
from emegalis.organisations.services import create_api_key
from tests.marches.helpers import name_commission

pytestmark = pytest.mark.django_db


@pytest.fixture
def consultation_b(make_consultation, buyer_b, commune_b):
    return make_consultation(
        publish=False, actor=buyer_b, organisation=commune_b, title="Voirie de Quimper"
    )


def _token(user, organisation):
    _, raw = create_api_key(user=user, organisation=organisation, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_buyer_a_cannot_open_or_change_b_pages(client_for, buyer_a, consultation_b):
    client = client_for(buyer_a)
    pk = consultation_b.pk
    for url in (
        f"/marches/acheteur/{pk}/",
        f"/marches/acheteur/{pk}/modifier/",
        f"/marches/acheteur/{pk}/registre/",
        f"/marches/acheteur/{pk}/registre.csv",
        f"/marches/acheteur/{pk}/registre.pdf",
    ):
        assert client.get(url).status_code == 404, url
    for url, data in (
        (f"/marches/acheteur/{pk}/modifier/", {"title": "Piraté"}),
        (f"/marches/acheteur/{pk}/publier/", {}),
        (f"/marches/acheteur/{pk}/lots/", {"number": 9, "title": "Piraté"}),
        (f"/marches/acheteur/{pk}/etat/", {"to": "annulee", "reason": "x"}),
        (f"/marches/acheteur/{pk}/rectificatif/", {"reason": "x"}),
    ):
        assert client.post(url, data).status_code == 404, url
    consultation_b.refresh_from_db()
    assert consultation_b.title == "Voirie de Quimper"
    assert consultation_b.state == State.BROUILLON
    assert not consultation_b.lots.exists()
    # B's consultation is not listed among A's.
    assert "Voirie de Quimper" not in client.get("/marches/acheteur/").content.decode()


def test_buyer_a_cannot_change_b_through_the_api(client, buyer_a, commune_a, consultation_b):
    headers = _token(buyer_a, commune_a)
    pk = consultation_b.pk
    base = f"/api/v1/marches/acheteur/consultations/{pk}"
    assert client.get(base, **headers).status_code == 404
    response = client.patch(base, {"title": "Piraté"}, content_type="application/json", **headers)
    assert response.status_code == 404
    assert client.post(f"{base}/publier", **headers).status_code == 404
    response = client.post(
        f"{base}/lots", {"number": 1, "title": "x"}, content_type="application/json", **headers
    )
    assert response.status_code == 404
    consultation_b.refresh_from_db()
    assert consultation_b.title == "Voirie de Quimper"
    listed = client.get("/api/v1/marches/acheteur/consultations", **headers).json()
    assert pk not in [c["id"] for c in listed]


def test_services_refuse_a_buyer_of_another_organisation(buyer_a, consultation_b):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        consultations_services.update_consultation(
            actor=buyer_a, consultation=consultation_b, title="x"
        )
    with pytest.raises(PermissionDenied):
        consultations_services.publish(actor=buyer_a, consultation=consultation_b)


def test_draft_is_invisible_to_companies_and_the_public(
    client, client_for, company_user, buyer_b, consultation_b
):
    pk = consultation_b.pk
    for who in (None, company_user):
        if who is None:
            client.logout()
        else:
            client = client_for(who)
        assert client.get(f"/marches/consultations/{pk}/").status_code == 404
        assert client.get(f"/marches/consultations/{pk}/dce/").status_code == 404
        assert client.get(f"/marches/consultations/{pk}/dce.zip").status_code == 404
        file_pk = consultation_b.dce_files.get().pk
        assert client.get(f"/marches/consultations/{pk}/dce/fichiers/{file_pk}/").status_code == 404
        assert client.post(
            f"/marches/consultations/{pk}/questions/", {"text": "?"}
        ).status_code in (
            302,
            404,
        )
        page = client.get("/marches/", {"q": "Quimper", "include_closed": "on"}).content.decode()
        assert "Voirie de Quimper" not in page
        assert client.get(f"/api/v1/marches/consultations/{pk}").status_code == 404
        assert client.get(f"/api/v1/marches/consultations/{pk}/dce").status_code == 404
        assert client.get(f"/api/v1/marches/consultations/{pk}/lots").status_code == 404
        found = client.get("/api/v1/marches/consultations", {"q": "Quimper"}).json()
        assert found["count"] == 0
    assert not consultation_b.questions.exists()
    # Its own buyer previews it.
    client = client_for(buyer_b)
    assert client.get(f"/marches/consultations/{pk}/").status_code == 200


def test_once_published_it_is_public(client, buyer_b, consultation_b):
    name_commission(buyer_b, consultation_b)
    consultations_services.publish(actor=buyer_b, consultation=consultation_b)
    client.logout()
    assert client.get(f"/marches/consultations/{consultation_b.pk}/").status_code == 200
    found = client.get("/api/v1/marches/consultations", {"q": "Quimper"}).json()
    assert [c["id"] for c in found["results"]] == [consultation_b.pk]
    assert Consultation.objects.get().state == State.PUBLIEE


def test_question_answers_are_only_for_the_buyer(
    client_for, buyer_a, make_consultation, buyer_b, company_user, commune_b
):
    theirs = make_consultation(actor=buyer_b, organisation=commune_b, reference="B-1")
    question = consultations_services.ask_question(
        actor=company_user, organisation=None, consultation=theirs, text="Une question ?"
    )
    client = client_for(buyer_a)
    response = client.post(
        f"/marches/acheteur/{theirs.pk}/questions/{question.pk}/reponse/", {"answer": "Non"}
    )
    assert response.status_code == 404
    question.refresh_from_db()
    assert not question.is_answered


def test_company_of_never_returns_a_company_the_user_does_not_belong_to(
    company_user,
    company_b_user,  # noqa: F811
):
    from emegalis.marches import access

    own = access.company_of(company_user)
    other = access.company_of(company_b_user)
    assert own != other
    assert access.company_of(company_user, other) == own
    assert access.company_of(company_user, own) == own
