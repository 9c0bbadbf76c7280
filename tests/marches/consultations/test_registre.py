"""Registre des retraits: identified downloads and anonymous counts, in CSV and PDF."""

import csv
import io

import pytest

from emegalis.core.pdf import extract_text
from emegalis.marches.consultations import dce
from emegalis.marches.consultations import services as consultations_services
from tests.marches.helpers import dce_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def downloaded(make_consultation, company, company_user, buyer_a):
    consultation = make_consultation()
    consultations_services.record_retrait(
        consultation=consultation, user=company_user, organisation=company, kind="zip"
    )
    for _ in range(3):
        consultations_services.record_retrait(
            consultation=consultation, user=None, organisation=None, kind="zip"
        )
    dce.add_dce_file(
        actor=buyer_a,
        consultation=consultation,
        uploaded_file=dce_file("v2.pdf"),
    )
    consultations_services.publish_rectificatif(
        actor=buyer_a, consultation=consultation, reason="Ajout"
    )
    consultations_services.record_retrait(
        consultation=consultation, user=None, organisation=None, kind="zip"
    )
    return consultation


def test_csv_lists_identified_and_anonymous(client_for, buyer_a, company, company_user, downloaded):
    client = client_for(buyer_a)
    response = client.get(f"/marches/acheteur/{downloaded.pk}/registre.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:3] == ["Date et heure (Paris)", "Entreprise", "SIRET"]
    identified = [r for r in rows[1:] if len(r) == 6]
    assert len(identified) == 1
    assert identified[0][1] == company.name
    assert identified[0][2] == company.siret
    assert company_user.email in identified[0][3]
    assert identified[0][4] == "1"
    assert ["Retraits anonymes", "4"] in rows
    assert ["Retraits anonymes, version 1", "3"] in rows
    assert ["Retraits anonymes, version 2", "1"] in rows


def test_pdf_lists_identified_and_anonymous(client_for, buyer_a, company, company_user, downloaded):
    client = client_for(buyer_a)
    response = client.get(f"/marches/acheteur/{downloaded.pk}/registre.pdf")
    assert response["Content-Type"] == "application/pdf"
    text = extract_text(response.content)
    assert "Registre des retraits du DCE" in text
    assert company.name in text
    assert company_user.email in text
    assert "Retraits anonymes : 4" in text
    assert "Version 2 : 1" in text


def test_page_shows_counts(client_for, buyer_a, downloaded):
    page = client_for(buyer_a).get(f"/marches/acheteur/{downloaded.pk}/registre/").content.decode()
    assert '<span id="anonymous-count">4</span>' in page


def test_companies_cannot_read_the_registre(client_for, company_user, downloaded):
    client = client_for(company_user)
    for suffix in ("registre/", "registre.csv", "registre.pdf"):
        assert client.get(f"/marches/acheteur/{downloaded.pk}/{suffix}").status_code == 404
