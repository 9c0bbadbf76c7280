"""« Procédure seule »: after the allocation each member signs (référent, second factor) and
notifies its own marché; the holder gets the letter through the secure messaging; one DECP
record per notified member, valid against the official schema. Who may do and see what."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from emegalis.core import clock
from emegalis.core.models import JournalEntry
from emegalis.core.pdf import extract_text
from emegalis.groupements import opendata, services
from emegalis.groupements.models import Groupement, MemberContract
from emegalis.marches.award.models import AwardDecision, DecisionOutcome
from emegalis.marches.messaging.models import Message
from emegalis.marches.opendata import decp
from tests.marches.helpers import consultation_fields, make_company, make_pli

from .helpers import side
from .test_procedure import closed_survey  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

DECP = {
    "duration_months": 24,
    "forme_prix": "Unitaire",
    "types_prix": ["Définitif ferme"],
    "ccag": "Fournitures courantes et services",
    "techniques": ["Accord-cadre"],
    "modalites_execution": ["Bons de commande"],
    "considerations_sociales": ["Pas de considération sociale"],
    "considerations_environnementales": ["Pas de considération environnementale"],
    "marche_innovant": False,
    "attribution_avance": False,
    "taux_avance": None,
    "sous_traitance_declaree": False,
    "type_groupement": "Pas de groupement",
}


def _allocated(closed_survey, missions="procedure"):  # noqa: F811
    agglo, lorient, lanester, survey, (ream, pens, _toner) = closed_survey
    Groupement.objects.filter(pk=survey.groupement_id).update(missions=missions)
    services.close_survey(survey=survey)
    consultation = services.create_consultation(
        actor=agglo.coordinator, survey=survey, **consultation_fields()
    )
    holder = make_company()
    decision = AwardDecision.objects.create(
        consultation=consultation,
        lot=consultation.lots.get(number=1),
        outcome=DecisionOutcome.ATTRIBUE,
        winner=make_pli(consultation, holder),
        amount=Decimal("4567.13"),
        decided_at=clock.now(),
    )
    survey.refresh_from_db()
    services.allocate_lot(
        actor=agglo.coordinator,
        survey=survey,
        lot=survey.lots.get(number=1),
        unit_prices={ream.pk: "2,99", pens.pk: "8,33"},
    )
    return survey, decision, holder


def _letters_sent(decision, *, standstill_ended=True):
    ends = clock.today() - timedelta(days=1 if standstill_ended else -5)
    AwardDecision.objects.filter(pk=decision.pk).update(
        letters_sent_at=clock.now(), standstill_ends_on=ends
    )


def _sign(member, contract, **changes):
    values = {"number": "2027-PAP-01", "two_factor_verified": True, **DECP, **changes}
    return services.sign_member_contract(actor=member.referent, contract=contract, **values)


def test_each_member_with_a_share_gets_its_own_marche_to_sign(closed_survey):  # noqa: F811
    agglo, lorient, lanester, *_ = closed_survey
    survey, _decision, _holder = _allocated(closed_survey)
    contracts = {
        c.member.organisation: c.amount
        for c in MemberContract.objects.filter(allocation__lot__survey=survey)
    }
    # The coordinator entered no need for lot 1: no marché for it.
    assert contracts == {
        lorient.organisation: Decimal("3608.83"),
        lanester.organisation: Decimal("958.30"),
    }
    assert sum(contracts.values()) == Decimal("4567.13")


def test_the_coordinator_signing_for_all_makes_no_member_marche(closed_survey):  # noqa: F811
    survey, _decision, _holder = _allocated(closed_survey, missions="signature")
    assert not MemberContract.objects.filter(allocation__lot__survey=survey).exists()


def test_only_the_members_referent_signs_with_the_second_factor_and_valid_data(
    closed_survey,  # noqa: F811
):
    _agglo, lorient, lanester, *_ = closed_survey
    survey, _decision, _holder = _allocated(closed_survey)
    contract = MemberContract.objects.get(member__organisation=lorient.organisation)
    with pytest.raises(PermissionDenied, match="Seul le référent"):
        services.sign_member_contract(
            actor=lorient.coordinator,
            contract=contract,
            number="2027-1",
            two_factor_verified=True,
            **DECP,
        )
    with pytest.raises(PermissionDenied, match="Seul le référent"):
        _sign(lanester, contract)
    with pytest.raises(PermissionDenied, match="double authentification"):
        _sign(lorient, contract, two_factor_verified=False)
    with pytest.raises(ValidationError, match="16 caractères"):
        _sign(lorient, contract, number="numéro avec espaces")
    with pytest.raises(ValidationError, match="Données essentielles non publiables"):
        _sign(lorient, contract, forme_prix="Gratuit")
    contract.refresh_from_db()
    assert contract.signed_at is None and contract.number == ""
    _sign(lorient, contract)
    contract.refresh_from_db()
    assert contract.signed_by == lorient.referent and contract.decp["duration_months"] == 24
    assert JournalEntry.objects.filter(action="groupement.member_contract_signed").count() == 1
    with pytest.raises(ValidationError, match="déjà signé"):
        _sign(lorient, contract)
    other = MemberContract.objects.get(member__organisation=lanester.organisation)
    _sign(lanester, other)  # the same number, another buyer: allowed


def test_notified_after_the_standstill_the_holder_gets_the_letter_and_decp_follows(
    closed_survey,  # noqa: F811
):
    _agglo, lorient, lanester, *_ = closed_survey
    survey, decision, holder = _allocated(closed_survey)
    contract = MemberContract.objects.get(member__organisation=lorient.organisation)
    with pytest.raises(ValidationError, match="Signez d'abord"):
        services.notify_member_contract(actor=lorient.coordinator, contract=contract)
    _sign(lorient, contract)
    with pytest.raises(ValidationError, match="lettres de rejet et d'attribution"):
        services.notify_member_contract(actor=lorient.coordinator, contract=contract)
    _letters_sent(decision, standstill_ended=False)
    with pytest.raises(ValidationError, match="délai de suspension"):
        services.notify_member_contract(actor=lorient.coordinator, contract=contract)
    _letters_sent(decision)
    with pytest.raises(PermissionDenied):
        services.notify_member_contract(actor=lanester.coordinator, contract=contract)
    assert opendata.decp_records(survey) == []  # nothing notified, nothing published
    services.notify_member_contract(actor=lorient.coordinator, contract=contract)
    contract.refresh_from_db()
    assert contract.notified_on == clock.today()
    message = Message.objects.get(pk=contract.message_id)
    assert message.company == holder and "2027-PAP-01" in message.subject
    assert lorient.organisation.name in message.subject
    text = extract_text(bytes(contract.letter))
    assert "Ramette A4" in text and "3 608,83" in text and holder.name in text
    with pytest.raises(ValidationError, match="déjà notifié"):
        services.notify_member_contract(actor=lorient.coordinator, contract=contract)
    document = opendata.decp_document(survey)
    assert decp.schema_errors(document) == []
    (record,) = document["marches"]["marche"]
    assert record["acheteur"]["id"] == lorient.organisation.siret
    assert record["montant"] == 3608.83 and record["id"] == "2027-PAP-01"
    assert record["titulaires"][0]["titulaire"]["id"] == holder.siret
    assert record["dureeMois"] == 24


def test_pages_the_member_signs_and_notifies_others_reach_nothing(
    client,
    login,
    login_verified,
    closed_survey,  # noqa: F811
):
    agglo, lorient, lanester, *_ = closed_survey
    survey, decision, _holder = _allocated(closed_survey)
    _letters_sent(decision)
    contract = MemberContract.objects.get(member__organisation=lorient.organisation)
    url = f"/groupements/marches/{contract.pk}/"
    outsider = side()
    for user in (lanester.referent, outsider.referent):
        client.logout()
        login(user)
        assert client.get(url).status_code == 404
        assert client.post(f"{url}signer/", {}).status_code == 404
        assert client.get(f"{url}notification.pdf").status_code == 404
    client.logout()
    login(lorient.referent)
    page = client.get(url).content.decode()
    assert "Signer le marché" in page and "3608,83" in page.replace("\u202f", "")
    # Without the second factor, the signature sends the référent to pass it first.
    response = client.post(f"{url}signer/", {"number": "X"})
    assert response.status_code == 302 and "double-authentification" in response["Location"]
    client.logout()
    login_verified(lorient.referent)
    form = {
        "number": "2027 01",
        **{k: v for k, v in DECP.items() if v not in (None, False)},
    }
    page = client.post(f"{url}signer/", form).content.decode()
    assert "16 caractères" in page
    response = client.post(f"{url}signer/", {**form, "number": "2027-01"})
    assert response.status_code == 302
    assert "Notifier le marché au titulaire" in client.get(url).content.decode()
    client.post(f"{url}notifier/")
    page = client.get(url).content.decode()
    assert "lettre de notification (PDF)" in page
    letter = client.get(f"{url}notification.pdf")
    assert letter.status_code == 200 and letter.content.startswith(b"%PDF")
    # The coordinator follows every member's marché from the survey page.
    client.logout()
    login(agglo.coordinator)
    page = client.get(f"/groupements/recensements/{survey.pk}/").content.decode()
    assert "n° 2027-01 — Notifié" in page and "À signer" in page
    assert client.get(url).status_code == 200
    shares = client.get(f"/api/v1/groupements/recensements/{survey.pk}/repartition").json()
    states = {c["organisation"]: (c["number"], c["state"]) for c in shares[0]["contracts"]}
    assert states == {
        lorient.organisation.pk: ("2027-01", "Notifié"),
        lanester.organisation.pk: ("", "À signer"),
    }


def test_a_member_withdrawn_after_the_launch_keeps_its_marche_and_its_history(
    client,
    login,
    closed_survey,  # noqa: F811
):
    agglo, _lorient, lanester, *_ = closed_survey
    survey, _decision, _holder = _allocated(closed_survey)
    services.remove_member(
        actor=agglo.coordinator, groupement=survey.groupement, organisation=lanester.organisation
    )
    contract = MemberContract.objects.get(member__organisation=lanester.organisation)
    _sign(lanester, contract)  # still a party to the marché it took part in
    login(lanester.referent)
    assert client.get(f"/groupements/marches/{contract.pk}/").status_code == 200
    assert "958,30" in client.get(f"/groupements/recensements/{survey.pk}/").content.decode()
    client.logout()
    login(agglo.coordinator)
    page = client.get(f"/groupements/recensements/{survey.pk}/").content.decode()
    assert f"(retiré le {clock.today():%d/%m/%Y})" in page
