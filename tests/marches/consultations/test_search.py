"""Search of published consultations: the same criteria on the page and in the API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from emegalis.core import clock
from emegalis.marches.consultations import selectors as consultations_selectors
from emegalis.marches.consultations.models import Nature, Procedure
from emegalis.marches.consultations.selectors import SearchParams

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(make_consultation, buyer_b, commune_b):
    return {
        "nettoyage": make_consultation(reference="A-1"),
        "voirie": make_consultation(
            reference="A-2",
            title="Réfection de la voirie",
            object="Travaux d'enrobés sur les chaussées communales.",
            nature=Nature.TRAVAUX,
            cpv_main="45000000-7",
            procedure=Procedure.MAPA,
            bids_deadline=clock.now() + timedelta(days=25),
            questions_deadline=clock.now() + timedelta(days=15),
        ),
        "quimper": make_consultation(
            actor=buyer_b,
            organisation=commune_b,
            reference="B-1",
            title="Logiciel de gestion financière",
            object="Acquisition et maintenance d'un progiciel.",
            nature=Nature.FOURNITURES,
            cpv_main="48000000-8",
            procedure=Procedure.AO_OUVERT,
            bids_deadline=clock.now() + timedelta(days=60),
            questions_deadline=clock.now() + timedelta(days=40),
        ),
        "draft": make_consultation(reference="A-3", title="Nettoyage brouillon", publish=False),
    }


def _refs(params: SearchParams) -> list[str]:
    return [c.reference for c in consultations_selectors.search_consultations(params)]


def test_full_text_on_title_object_and_buyer(catalogue):
    assert _refs(SearchParams(q="nettoyage")) == ["A-1"]
    assert _refs(SearchParams(q="chaussées")) == ["A-2"]  # a word of the object
    assert _refs(SearchParams(q="chaussees")) == ["A-2"]  # accents ignored
    assert _refs(SearchParams(q="Quimper")) == ["B-1"]  # the buyer's name
    assert _refs(SearchParams(q="progic")) == ["B-1"]  # prefix
    assert _refs(SearchParams(q="nettoyage vitrerie")) == ["A-1"]  # every word
    assert _refs(SearchParams(q="nettoyage progiciel")) == []
    assert _refs(SearchParams(q="  ;;; ")) == ["A-2", "A-1", "B-1"]  # no word: no text filter


def test_filters_and_sort(catalogue):
    assert _refs(SearchParams(cpv="45000000-7")) == ["A-2"]
    assert _refs(SearchParams(cpv="90910000-9")) == ["A-1"]
    assert _refs(SearchParams(procedure=Procedure.AO_OUVERT)) == ["A-1", "B-1"]
    assert _refs(SearchParams(nature=Nature.FOURNITURES)) == ["B-1"]
    assert _refs(SearchParams(departement="029")) == ["B-1"]
    today = timezone.localdate(clock.now())
    assert _refs(SearchParams(deadline_from=today + timedelta(days=30))) == ["A-1", "B-1"]
    assert _refs(SearchParams(deadline_to=today + timedelta(days=30))) == ["A-2"]
    assert _refs(SearchParams(sort="-echeance")) == ["B-1", "A-1", "A-2"]


def test_closed_consultations_only_on_request(catalogue, buyer_a, monkeypatch):
    later = clock.now() + timedelta(days=26)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert "A-2" not in _refs(SearchParams())
    assert "A-2" in _refs(SearchParams(include_closed=True))
    assert "A-3" not in _refs(SearchParams(include_closed=True))


def test_page_search_without_account(client, catalogue):
    client.logout()
    html = client.get("/marches/", {"q": "chaussées"}).content.decode()
    assert "Réfection de la voirie" in html
    assert "Nettoyage des écoles" not in html
    assert "1 consultation" in html
    html = client.get("/marches/").content.decode()
    assert "3 consultations" in html
    assert "Nettoyage brouillon" not in html


def test_bad_criteria_get_french_messages(client):
    response = client.get(
        "/marches/",
        {
            "cpv": "1234",
            "departement": "9",
            "deadline_from": "2026-05-01",
            "deadline_to": "2026-04-01",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "n&#x27;est pas un code CPV" in html or "n'est pas un code CPV" in html
    assert "3 caractères" in html
    assert "précède son début" in html
    assert client.get("/marches/", {"deadline_from": "pas-une-date"}).status_code == 200


def test_pagination(client, make_consultation, settings):
    settings.MARCHES_PAGE_SIZE = 2
    for n in range(5):
        make_consultation(reference=f"P-{n}", files=[("", f"f{n}.pdf", b"x")])
    html = client.get("/marches/", {"page": 3}).content.decode()
    assert "Page 3 sur 3" in html
    assert client.get("/marches/", {"page": "abc"}).status_code == 200
    data = client.get("/api/v1/marches/consultations", {"per_page": 2, "page": 2}).json()
    assert data["count"] == 5 and data["pages"] == 3 and len(data["results"]) == 2


def test_api_gives_the_same_results(client, catalogue):
    for params, expected in (
        ({"q": "chaussées"}, ["A-2"]),
        ({"q": "Quimper"}, ["B-1"]),
        ({"cpv": "45000000-7"}, ["A-2"]),
        ({"procedure": "ao_ouvert", "sort": "-echeance"}, ["B-1", "A-1"]),
        ({"departement": "029"}, ["B-1"]),
    ):
        data = client.get("/api/v1/marches/consultations", params).json()
        assert [c["reference"] for c in data["results"]] == expected, params
    detail = client.get(f"/api/v1/marches/consultations/{catalogue['voirie'].pk}").json()
    assert detail["url"] == f"/marches/consultations/{catalogue['voirie'].pk}/"
    assert detail["buyer"]["name"] == "Commune de Lorient"
    files = client.get(f"/api/v1/marches/consultations/{catalogue['voirie'].pk}/dce").json()
    assert files[0]["name"] == "RC.pdf"


def test_api_bad_criteria_are_422_in_french(client):
    response = client.get("/api/v1/marches/consultations", {"cpv": "nope"})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "Critères de recherche invalides."
    assert any("code CPV" in e for e in body["errors"])
    assert client.get("/api/v1/marches/consultations", {"sort": "x"}).status_code == 422
    assert client.get("/api/v1/marches/consultations/999999").status_code == 404
