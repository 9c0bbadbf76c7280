"""The complete CPV 2008 list and the picker's search: by code or by words, accents ignored."""

import pytest

from emegalis.marches.consultations import cpv


def test_the_complete_list_is_shipped_with_check_digits():
    codes = cpv.codes()
    assert len(codes) == 9454
    assert codes["45233141-9"] == "Travaux d'entretien routier"
    assert all(cpv.CODE_RE.fullmatch(code) for code in codes)


def test_search_by_code_prefix_and_by_words_without_accents():
    by_code = cpv.search("452331")
    assert by_code and all(code.startswith("452331") for code, _ in by_code)
    by_words = dict(cpv.search("entretien routier"))
    assert "45233141-9" in by_words
    # « maconnerie » finds « maçonnerie »; case is ignored too.
    assert any("maçonnerie" in text.lower() for _, text in cpv.search("MACONNERIE"))
    assert cpv.search("") == []
    assert len(cpv.search("travaux")) == 20


@pytest.mark.django_db
def test_the_picker_endpoint_answers_json(client):
    response = client.get("/marches/cpv/", {"q": "voirie"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert results and all("voirie" in cpv.fold(r["label"]) for r in results)
    assert client.get("/marches/cpv/", {"q": "x" * 5000}).json() == {"results": []}
    assert client.post("/marches/cpv/").status_code == 405


@pytest.mark.django_db
def test_the_consultation_form_offers_the_picker(client_for, buyer_a):
    page = client_for(buyer_a).get("/marches/acheteur/nouvelle/").content.decode()
    assert 'data-cpv-picker="/marches/cpv/"' in page
    assert 'list="id_cpv_main_cpvlist"' in page and '<datalist id="id_cpv_main_cpvlist">' in page
