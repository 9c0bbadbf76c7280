"""A pli received after the deadline is not opened with the others; on the buyer's decision
the commission opens it with k shares and a motivation, in a complementary session with its
own signed PV, and it joins the analysis."""

import pytest
from django.core.exceptions import ValidationError

from emegalis.core.models import JournalEntry
from emegalis.core.pdf import extract_text
from emegalis.marches.award import selectors as award_selectors
from emegalis.marches.deposit import services as deposit_services
from emegalis.marches.deposit.models import PliStatus
from emegalis.marches.opening import services as opening_services
from emegalis.marches.opening.models import LateOpening, OpenedFile
from tests.marches.helpers import after_deadline, deposit, upload_offer

REASON = "L'entreprise a établi que la plateforme était indisponible à 11 h 58 (journaux)."


def open_late(member, consultation, pli, shares: dict, reason: str = REASON):
    return opening_services.open_late_pli(
        actor=member, consultation_pk=consultation.pk, pli_pk=pli.pk, shares=shares, reason=reason
    )


@pytest.fixture
def with_late_pli(opened, members, company_user, company_b_user, monkeypatch):  # noqa: F811
    consultation, shares = opened
    in_time = deposit(company_user, consultation, b"offre A", name="offre-a.pdf")
    late, _ = upload_offer(company_b_user, consultation, b"offre B", name="tardive.pdf")
    after_deadline(monkeypatch, consultation, 30)
    late = deposit_services.complete_deposit(actor=company_b_user, pli_pk=late.pk)
    assert late.status == PliStatus.HORS_DELAI
    after_deadline(monkeypatch, consultation, 3600)
    return consultation, shares, in_time, late


def test_a_late_pli_is_opened_on_decision_with_k_shares_and_joins_the_analysis(
    with_late_pli,
    members,  # noqa: F811
):
    consultation, shares, in_time, late = with_late_pli
    with pytest.raises(ValidationError, match="Ouvrez d'abord"):
        open_late(members[0], consultation, late, {1: shares[0], 2: shares[1]}, REASON)
    opening_services.open_plis(
        actor=members[0], consultation_pk=consultation.pk, shares={1: shares[0], 2: shares[1]}
    )
    assert not OpenedFile.objects.filter(pli_file__pli=late).exists()
    assert list(award_selectors.candidate_plis(consultation, None)) == [in_time]
    with pytest.raises(ValidationError, match="Motivez"):
        open_late(members[0], consultation, late, {1: shares[0], 2: shares[1]}, "parce que")
    with pytest.raises(ValidationError, match="il en faut 2"):
        open_late(members[0], consultation, late, {1: shares[0]}, REASON)
    with pytest.raises(ValidationError, match="hors délai"):
        open_late(members[0], consultation, in_time, {1: shares[0], 2: shares[1]}, REASON)
    result = open_late(members[1], consultation, late, {2: shares[1], 3: shares[2]}, REASON)
    opened_file = OpenedFile.objects.get(pli_file__pli=late)
    assert opened_file.intact and opened_file.content.read() == b"offre B"
    text = " ".join(extract_text(result.pv.read()).split())
    assert "pli reçu hors délai" in text and REASON[:40] in text and "Part 3" in text
    entry = JournalEntry.objects.get(action="marches.opening.late_pli_opened")
    assert entry.payload["pli"] == late.pk and entry.payload["reason"] == REASON
    assert set(award_selectors.candidate_plis(consultation, None)) == {in_time, late}
    with pytest.raises(ValidationError, match="déjà ouvert"):
        open_late(members[0], consultation, late, {1: shares[0], 2: shares[1]}, REASON)
    assert LateOpening.objects.count() == 1


def test_late_opening_page_and_pv_are_for_the_commission_and_buyer_only(
    with_late_pli,
    members,  # noqa: F811
    client_for,
    login_verified,
    buyer_a,
    buyer_b,
    company_b_user,  # noqa: F811
):
    consultation, shares, _, late = with_late_pli
    opening_services.open_plis(
        actor=members[0], consultation_pk=consultation.pk, shares={1: shares[0], 2: shares[1]}
    )
    client = login_verified(members[0])
    page = client.get(f"/marches/commission/{consultation.pk}/ouverture/").content.decode()
    assert f'id="late-pli-{late.pk}"' in page
    url = f"/marches/commission/{consultation.pk}/ouverture/hors-delai/{late.pk}/"
    response = client.post(url, {"reason": REASON, "share_1": shares[0], "share_2": shares[1]})
    assert response.status_code == 302
    pv_url = f"/marches/acheteur/{consultation.pk}/pv-hors-delai/{late.pk}.pdf"
    assert client.get(pv_url).status_code == 200
    assert client_for(buyer_a).get(pv_url).status_code == 200
    assert client_for(buyer_b).get(pv_url).status_code == 404
    assert client_for(company_b_user).get(pv_url).status_code == 404
    assert client_for(company_b_user).post(url, {"reason": REASON}).status_code == 404
