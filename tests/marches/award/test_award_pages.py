"""The award pages: a buyer's journey from criteria to notification over HTTP, the buyer
panel and the public award notice; another commune's buyer and companies get 404."""

import html
from datetime import datetime
from decimal import Decimal

import pytest

from emegalis.core.models import JournalEntry
from emegalis.marches.award.models import AwardLetter, Contract, CriterionKind, Evaluation
from emegalis.marches.consultations.models import State
from emegalis.marches.messaging import services as messaging_services
from tests.marches.helpers import at, paris_noon


def text(response) -> str:
    return html.unescape(response.content.decode())


def award_urls(pk: int, letter_pk: int = 1) -> list[str]:
    base = f"/marches/acheteur/{pk}/attribution/"
    return [
        base,
        f"{base}lot/0/criteres/",
        f"{base}lot/0/analyse/",
        f"{base}lot/0/decision/",
        f"{base}lot/0/lettres/",
        f"{base}lot/0/notification/",
        f"{base}lettres/{letter_pk}.pdf",
        f"{base}marches/",
    ]


def evaluation_post(pli, technique, price: str, technical: str) -> dict:
    prefix = f"o{pli.pk}"
    return {
        "pli": pli.pk,
        f"{prefix}-price": price,
        f"{prefix}-mark_{technique.pk}": technical,
        f"{prefix}-comment": "Mémoire technique complet.",
    }


def contract_post(**overrides) -> dict:
    data = {
        "number": "2027-ECO-1",
        "duration_months": "24",
        "forme_prix": "Forfaitaire",
        "types_prix": ["Définitif ferme"],
        "ccag": "Fournitures courantes et services",
        "techniques": ["Sans objet"],
        "modalites_execution": ["Sans objet"],
        "considerations_sociales": ["Pas de considération sociale"],
        "considerations_environnementales": ["Pas de considération environnementale"],
        "type_groupement": "Pas de groupement",
    }
    data.update(overrides)
    return data


def test_buyer_journey_from_criteria_to_the_award_notice(
    bids,  # noqa: F811
    buyer_a,
    company_b_user,  # noqa: F811
    client_for,
    monkeypatch,
):
    consultation = bids.consultation
    armor, breizh, oceane = bids.plis
    client = client_for(buyer_a)
    base = f"/marches/acheteur/{consultation.pk}/attribution/lot/0/"
    # Buyer panel on the management page.
    page = text(client.get(f"/marches/acheteur/{consultation.pk}/"))
    assert 'id="award-panel"' in page and "Critères à définir" in page
    # Criteria: a wrong total is refused with the reason, the default is one click.
    wrong = client.post(
        f"{base}criteres/",
        {
            "crit-TOTAL_FORMS": "2",
            "crit-INITIAL_FORMS": "0",
            "crit-0-kind": "prix",
            "crit-0-label": "Prix",
            "crit-0-weight": "50",
            "crit-1-kind": "technique",
            "crit-1-label": "Valeur technique",
            "crit-1-weight": "40",
        },
    )
    assert wrong.status_code == 400
    assert "elle est de 90 %" in text(wrong)
    assert client.post(f"{base}criteres/", {"default": "1"}).status_code == 302
    technique = consultation.criteria.get(kind=CriterionKind.TECHNIQUE)
    # Analysis: the offers with their opened files and integrity.
    page = text(client.get(f"{base}analyse/"))
    for name in ("Armor Bâtiment", "Breizh Nettoyage", "Océane Services", "intègre"):
        assert name in page, name
    opened_file = armor.files.get().opened
    assert f"/marches/acheteur/{consultation.pk}/ouverts/{opened_file.pk}/" in page
    bad = client.post(f"{base}analyse/", evaluation_post(armor, technique, "100000", "25"))
    assert bad.status_code == 400
    for pli, price, technical in ((armor, "100000", "14"), (breizh, "125000,00", "18")):
        response = client.post(f"{base}analyse/", evaluation_post(pli, technique, price, technical))
        assert response.status_code == 302, text(response)[:2000]
    response = client.post(
        f"{base}analyse/",
        {
            "pli": oceane.pk,
            f"o{oceane.pk}-excluded": "on",
            f"o{oceane.pk}-exclusion_kind": "",
            f"o{oceane.pk}-exclusion_text": "",
        },
    )
    assert response.status_code == 400
    assert "Motivez l'éviction" in text(response)
    client.post(
        f"{base}analyse/",
        {
            "pli": oceane.pk,
            f"o{oceane.pk}-excluded": "on",
            f"o{oceane.pk}-exclusion_kind": "inacceptable",
            f"o{oceane.pk}-exclusion_text": "Prix au-delà des crédits budgétaires.",
        },
    )
    assert Evaluation.objects.get(pli=breizh).total == Decimal("16.800")  # « 125000,00 » read
    page = text(client.get(f"{base}analyse/"))
    assert "17,60" in page and "16,80" in page
    # Decision.
    assert client.post(f"{base}decision/", {"outcome": "attribue", "reason": ""}).status_code == 400
    response = client.post(f"{base}decision/", {"outcome": "attribue", "reason": "Meilleure note."})
    assert response.status_code == 302
    consultation.refresh_from_db()
    assert consultation.state == State.ATTRIBUEE
    again = client.post(f"{base}decision/", {"outcome": "attribue", "reason": "Encore."})
    assert again.status_code == 400 and "déjà été prise" in text(again)
    # Letters, then the read receipt of the rejected company.
    at(monkeypatch, paris_noon(datetime(2027, 3, 3).date()))
    assert client.post(f"{base}lettres/").status_code == 302
    page = text(client.get(f"{base}lettres/"))
    assert "14/03/2027" in page and page.count("Non lue") == 3
    letter = AwardLetter.objects.get(pli=breizh)
    pdf = client.get(f"/marches/acheteur/{consultation.pk}/attribution/lettres/{letter.pk}.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    messaging_services.mark_read(actor=company_b_user, message=letter.message)
    page = text(client.get(f"{base}lettres/"))
    assert page.count("Non lue") == 2 and "Lue le 03/03/2027" in page
    # Notification: refused on the last day of the standstill, accepted the next day.
    at(monkeypatch, paris_noon(datetime(2027, 3, 14).date()))
    page = text(client.get(f"{base}notification/"))
    assert "14 mars 2027 inclus" in page
    refused = client.post(f"{base}notification/", contract_post())
    assert refused.status_code == 400 and "14 mars 2027 inclus" in text(refused)
    at(monkeypatch, paris_noon(datetime(2027, 3, 15).date()))
    form_page = text(client.get(f"{base}notification/"))
    assert f'value="2027-{consultation.pk}-0"' in form_page
    response = client.post(f"{base}notification/", contract_post())
    assert response.status_code == 302, text(response)[:3000]
    contract = Contract.objects.get()
    assert (contract.number, contract.holder, contract.amount) == (
        "2027-ECO-1",
        armor.company,
        100000,
    )
    page = text(client.get(f"/marches/acheteur/{consultation.pk}/attribution/marches/"))
    assert "2027-ECO-1" in page and "Armor Bâtiment" in page
    assert "Marché notifié" in text(client.get(f"/marches/acheteur/{consultation.pk}/"))
    # The public notice shows the award, even without an account.
    client.logout()
    notice = text(client.get(f"/marches/consultations/{consultation.pk}/"))
    assert "Avis d'attribution" in notice
    assert "Armor Bâtiment" in notice and "100 000,00 €" in notice
    actions = set(JournalEntry.objects.values_list("action", flat=True))
    assert {
        "marches.award.criteria_set",
        "marches.award.evaluation_saved",
        "marches.award.decided",
        "marches.award.letters_sent",
        "marches.award.contract_notified",
    } <= actions


def test_the_notice_shows_no_award_before_notification(bids, client):  # noqa: F811
    notice = text(client.get(f"/marches/consultations/{bids.consultation.pk}/"))
    assert "Avis d'attribution" not in notice


@pytest.mark.parametrize("who", ["buyer_b", "company_user"])
def test_others_get_404_on_every_award_page(
    who,
    request,
    bids,  # noqa: F811
    buyer_a,
    client_for,
):
    consultation = bids.consultation
    from emegalis.marches.award import services as award_services

    award_services.set_default_criteria(actor=buyer_a, consultation=consultation, lot=None)
    client = client_for(request.getfixturevalue(who))
    for url in award_urls(consultation.pk):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"default": "1", "pli": bids.plis[0].pk}).status_code == 404, url
    page = text(client.get(f"/marches/consultations/{consultation.pk}/"))
    assert 'id="award-panel"' not in page
    assert consultation.criteria.count() == 2 and not Evaluation.objects.exists()
