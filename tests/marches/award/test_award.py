"""Analysis, award decision, letters and notification, through the real deposit and opening
services: criteria rules, price formula and ranking, decisions, letters with the standstill
end date sent through the secure messaging, notification after the standstill (Contract)."""

import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from emegalis.core.models import JournalEntry
from emegalis.core.pdf import extract_text
from emegalis.marches import delays
from emegalis.marches.award import services as award_services
from emegalis.marches.award.models import (
    AwardDecision,
    AwardLetter,
    Contract,
    CriterionKind,
    DecisionOutcome,
    Evaluation,
    LetterKind,
)
from emegalis.marches.award.services import CriterionInput
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations.models import Consultation, State
from emegalis.marches.deposit import services as deposit_services
from emegalis.marches.deposit.models import Pli
from emegalis.marches.messaging import services as messaging_services
from emegalis.marches.messaging.models import Message
from emegalis.marches.opening import services as opening_services
from emegalis.organisations.models import Organisation
from tests.factories import collect_share, make_commission_member
from tests.marches.helpers import (
    CONTRACT_DEFAULTS,
    after_deadline,
    at,
    criterion,
    deposit,
    exclude,
    mark,
    open_now,
    paris_noon,
)


def test_criteria_weights_must_make_100_with_one_price_criterion(buyer_a, buyer_b, opened):  # noqa: F811
    consultation, _ = opened
    with pytest.raises(ValidationError) as exc:
        award_services.set_criteria(
            actor=buyer_a,
            consultation=consultation,
            lot=None,
            criteria=[
                CriterionInput(CriterionKind.PRIX, "Prix", 60),
                CriterionInput(CriterionKind.TECHNIQUE, "Valeur technique", 30),
            ],
        )
    assert "100 % (elle est de 90 %)" in exc.value.messages[0]
    with pytest.raises(ValidationError, match="Un seul critère de prix"):
        award_services.set_criteria(
            actor=buyer_a,
            consultation=consultation,
            lot=None,
            criteria=[
                CriterionInput(CriterionKind.PRIX, "Prix", 50),
                CriterionInput(CriterionKind.PRIX, "Coût global", 50),
            ],
        )
    with pytest.raises(ValidationError, match="au moins un critère"):
        award_services.set_criteria(actor=buyer_a, consultation=consultation, lot=None, criteria=[])
    with pytest.raises(PermissionDenied):
        award_services.set_default_criteria(actor=buyer_b, consultation=consultation, lot=None)
    assert not consultation.criteria.exists()
    award_services.set_default_criteria(actor=buyer_a, consultation=consultation, lot=None)
    assert [(c.kind, c.label, c.weight) for c in consultation.criteria.all()] == [
        ("prix", "Prix", 60),
        ("technique", "Valeur technique", 40),
    ]
    assert JournalEntry.objects.filter(action="marches.award.criteria_set").count() == 1


def test_analysis_before_the_opening_is_refused(
    opened,  # noqa: F811
    buyer_a,
    company_user,
    monkeypatch,
):
    consultation, _ = opened
    pli = deposit(company_user, consultation, b"offre")
    award_services.set_default_criteria(actor=buyer_a, consultation=consultation, lot=None)
    after_deadline(monkeypatch, consultation, 3600)
    with pytest.raises(ValidationError, match="après la séance d'ouverture"):
        award_services.save_evaluation(
            actor=buyer_a,
            consultation=consultation,
            lot=None,
            pli=pli,
            price=Decimal(1000),
            marks={},
        )
    with pytest.raises(ValidationError, match="après la séance d'ouverture"):
        award_services.decide(
            actor=buyer_a,
            consultation=consultation,
            lot=None,
            outcome=DecisionOutcome.INFRUCTUEUX,
            reason="Rien",
        )
    assert not Evaluation.objects.exists()


def test_price_formula_and_weighted_ranking(bids, buyer_a):
    """Prices 100 000 and 125 000, weights 60/40, technical marks 14 and 18:
    A = 0.6 × 20 + 0.4 × 14 = 17.6 ; B = 0.6 × (20 × 100 000 / 125 000 = 16) + 0.4 × 18 = 16.8."""
    award_services.set_default_criteria(actor=buyer_a, consultation=bids.consultation, lot=None)
    armor, breizh, oceane = bids.plis
    mark(buyer_a, bids, breizh, "125000", "18")
    mark(buyer_a, bids, armor, "100000", "14")
    exclude(buyer_a, bids, oceane)
    price = criterion(bids.consultation, CriterionKind.PRIX)
    a = Evaluation.objects.get(pli=armor)
    b = Evaluation.objects.get(pli=breizh)
    c = Evaluation.objects.get(pli=oceane)
    assert (a.total, a.rank, a.scores[str(price.pk)]) == (Decimal("17.600"), 1, "20.000")
    assert (b.total, b.rank, b.scores[str(price.pk)]) == (Decimal("16.800"), 2, "16.000")
    assert (c.total, c.rank, c.excluded) == (None, None, True)
    assert c.exclusion_reason == "Offre irrégulière : Acte d'engagement non fourni."
    # An exclusion needs its reason.
    with pytest.raises(ValidationError) as exc:
        mark(buyer_a, bids, oceane, None, excluded=True, exclusion_kind="", exclusion_text="")
    assert set(exc.value.message_dict) == {"exclusion_kind", "exclusion_text"}
    # A cheaper offer re-marks the others' price mark at once: 20 × 80 000 / 100 000 = 16.
    mark(buyer_a, bids, oceane, "80000", "5")
    a.refresh_from_db()
    assert a.scores[str(price.pk)] == "16.000" and a.total == Decimal("15.200")
    saves = JournalEntry.objects.filter(action="marches.award.evaluation_saved")
    assert saves.count() == 4
    assert saves.order_by("id").last().payload["total"] == "14.000"  # 0.6 × 20 + 0.4 × 5


def test_a_tie_is_broken_by_the_lower_price(bids, buyer_a):
    """A: 100 000, technical 10 → 12 + 4 = 16; B (deposited earlier): 125 000, technical 16 →
    9.6 + 6.4 = 16. Same total: the cheaper A ranks first."""
    award_services.set_default_criteria(actor=buyer_a, consultation=bids.consultation, lot=None)
    earlier, later, third = bids.plis
    mark(buyer_a, bids, earlier, "125000", "16")
    mark(buyer_a, bids, later, "100000", "10")
    exclude(buyer_a, bids, third)
    first, second = (Evaluation.objects.get(pli=p) for p in (later, earlier))
    assert first.total == second.total == Decimal("16.000")
    assert (first.rank, second.rank) == (1, 2)


def test_decision_needs_every_offer_marked_and_is_taken_once(bids, buyer_a):
    award_services.set_default_criteria(actor=buyer_a, consultation=bids.consultation, lot=None)
    armor, breizh, oceane = bids.plis
    mark(buyer_a, bids, armor, "100000", "14")
    mark(buyer_a, bids, breizh, "125000")  # no technical mark yet
    exclude(buyer_a, bids, oceane)
    decide = {
        "actor": buyer_a,
        "consultation": bids.consultation,
        "lot": None,
        "outcome": DecisionOutcome.ATTRIBUE,
        "reason": "Offre économiquement la plus avantageuse.",
    }
    with pytest.raises(ValidationError, match="Reste à analyser : Breizh Nettoyage"):
        award_services.decide(**decide)
    mark(buyer_a, bids, breizh, "125000", "18")
    decision = award_services.decide(**decide)
    assert decision.winner == armor and decision.amount == Decimal("100000.00")
    assert [(r["company"], r["rank"], r["total"]) for r in decision.ranking] == [
        ("Armor Bâtiment", 1, "17.600"),
        ("Breizh Nettoyage", 2, "16.800"),
        ("Océane Services", None, None),
    ]
    with pytest.raises(ValidationError, match="déjà été prise"):
        award_services.decide(**decide)
    # The analysis and the criteria are closed.
    with pytest.raises(ValidationError, match="analyse est close"):
        mark(buyer_a, bids, breizh, "90000", "20")
    with pytest.raises(ValidationError, match="plus modifiables"):
        award_services.set_default_criteria(actor=buyer_a, consultation=bids.consultation, lot=None)
    bids.consultation.refresh_from_db()
    assert bids.consultation.state == State.ATTRIBUEE
    assert JournalEntry.objects.filter(action="marches.award.decided").count() == 1
    changed = JournalEntry.objects.filter(action="marches.consultation.state_changed")
    assert changed.order_by("id").last().payload["to"] == State.ATTRIBUEE


def test_letters_state_the_standstill_end_and_are_read_with_a_receipt(
    decided,
    buyer_a,
    company_user,
    company_b_user,  # noqa: F811
    company_c_user,
    monkeypatch,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    bids, decision = decided
    armor, breizh, oceane = bids.plis
    sent_at = at(monkeypatch, paris_noon(datetime(2027, 3, 3).date()))
    with django_capture_on_commit_callbacks(execute=True):
        letters = award_services.send_letters(actor=buyer_a, decision=decision)
    decision.refresh_from_db()
    assert decision.letters_sent_at == sent_at
    assert decision.standstill_ends_on == datetime(2027, 3, 14).date()  # 3 March + 11 days
    assert delays.standstill_end(sent_at) == decision.standstill_ends_on
    assert sorted((x.pli_id, x.kind) for x in letters) == sorted(
        [(armor.pk, LetterKind.ATTRIBUTION), (breizh.pk, LetterKind.REJET), (oceane.pk, "rejet")]
    )
    # One message per bidder, each with its letter attached.
    messages = Message.objects.filter(consultation=bids.consultation)
    assert sorted(messages.values_list("company__name", flat=True)) == [
        "Armor Bâtiment",
        "Breizh Nettoyage",
        "Océane Services",
    ]
    assert {m.letter.pk for m in messages} == {x.pk for x in letters}
    assert len(mailoutbox) == 3  # « a message is waiting », without the content
    rejection = AwardLetter.objects.get(pli=breizh)
    text = extract_text(rejection.message.attachment.read())
    for expected in (
        "14 mars 2027",
        "14/03/2027",
        "Armor Bâtiment",
        "100 000,00 € HT",
        "rang 2",
        "16,80",
        "17,60",
        "R2182-1",
    ):
        assert expected in text, expected
    excluded = extract_text(AwardLetter.objects.get(pli=oceane).pdf.read())
    assert "Acte d'engagement non fourni" in excluded and "14 mars 2027" in excluded
    award = extract_text(AwardLetter.objects.get(pli=armor).pdf.read())
    assert "attestations fiscales et sociales" in award and "14 mars 2027" in award
    # Read receipt: the rejected company opens its message.
    message = rejection.message
    assert message.read_at is None
    read_at = at(monkeypatch, sent_at + timedelta(hours=2))
    messaging_services.mark_read(actor=company_b_user, message=message)
    message.refresh_from_db()
    assert message.read_at == read_at and message.read_by == company_b_user
    with pytest.raises(ValidationError, match="déjà été envoyées"):
        award_services.send_letters(actor=buyer_a, decision=decision)
    entry = JournalEntry.objects.get(action="marches.award.letters_sent")
    assert entry.payload["standstill_ends_on"] == "2027-03-14"


def test_notification_only_after_the_standstill(
    decided,
    buyer_a,
    monkeypatch,
):
    bids, decision = decided
    armor = bids.plis[0]
    at(monkeypatch, paris_noon(datetime(2027, 3, 3).date()))
    award_services.send_letters(actor=buyer_a, decision=decision)
    decision.refresh_from_db()
    # The last day of the standstill: refused, with the date.
    at(monkeypatch, paris_noon(datetime(2027, 3, 14).date()))
    with pytest.raises(ValidationError) as exc:
        award_services.notify_contract(
            actor=buyer_a, decision=decision, number="2027-001", **CONTRACT_DEFAULTS
        )
    assert "14 mars 2027 inclus" in exc.value.messages[0]
    assert not Contract.objects.exists()
    # The next day: accepted.
    at(monkeypatch, timezone.make_aware(datetime(2027, 3, 15, 0, 5)))
    with pytest.raises(ValidationError) as exc:
        award_services.notify_contract(
            actor=buyer_a, decision=decision, number="2027 001", **CONTRACT_DEFAULTS
        )
    assert "number" in exc.value.message_dict
    contract = award_services.notify_contract(
        actor=buyer_a, decision=decision, number="2027-001", **CONTRACT_DEFAULTS
    )
    assert contract.buyer == bids.consultation.organisation
    assert contract.holder == armor.company
    assert contract.amount == Decimal("100000.00")
    assert contract.cpv == "90910000"
    assert contract.notified_on == contract.data_published_on == datetime(2027, 3, 15).date()
    assert (contract.place_code, contract.place_code_type) == ("56", "Code département")
    assert contract.offers_received == 3
    assert contract.object == bids.consultation.object
    assert contract.duration_months == 24 and contract.types_prix == ["Définitif ferme"]
    notification = AwardLetter.objects.get(kind=LetterKind.NOTIFICATION)
    assert notification.pli == armor and notification.message.company == armor.company
    assert "Notification du marché n° 2027-001" in extract_text(notification.pdf.read())
    bids.consultation.refresh_from_db()
    assert bids.consultation.state == State.ATTRIBUEE
    assert (
        JournalEntry.objects.get(action="marches.award.contract_notified").payload["number"]
        == "2027-001"
    )
    with pytest.raises(ValidationError, match="déjà été notifié"):
        award_services.notify_contract(
            actor=buyer_a, decision=decision, number="2027-002", **CONTRACT_DEFAULTS
        )


def test_notification_needs_a_siret_and_a_place(decided, buyer_a, monkeypatch):
    bids, decision = decided
    at(monkeypatch, paris_noon(datetime(2027, 3, 3).date()))
    award_services.send_letters(actor=buyer_a, decision=decision)
    decision.refresh_from_db()
    at(monkeypatch, paris_noon(datetime(2027, 3, 20).date()))
    Organisation.objects.filter(pk=bids.plis[0].company_id).update(siret="")
    with pytest.raises(ValidationError, match="n'a pas de SIRET valide"):
        award_services.notify_contract(
            actor=buyer_a, decision=decision, number="N1", **CONTRACT_DEFAULTS
        )
    Organisation.objects.filter(pk=bids.plis[0].company_id).update(siret=bids.plis[0].company_siret)
    Consultation.objects.filter(pk=bids.consultation.pk).update(departement="")
    with pytest.raises(ValidationError, match="département d'exécution"):
        award_services.notify_contract(
            actor=buyer_a, decision=decision, number="N1", **CONTRACT_DEFAULTS
        )
    assert not Contract.objects.exists()


def test_notification_refuses_a_record_the_decp_would_reject(decided, buyer_a, monkeypatch):
    bids, decision = decided
    at(monkeypatch, paris_noon(datetime(2027, 3, 3).date()))
    award_services.send_letters(actor=buyer_a, decision=decision)
    decision.refresh_from_db()
    at(monkeypatch, paris_noon(datetime(2027, 3, 20).date()))
    # DECP wants a montant of at least 1 € HT.
    AwardDecision.objects.filter(pk=decision.pk).update(amount=Decimal("0.50"))
    with pytest.raises(ValidationError) as exc:
        award_services.notify_contract(
            actor=buyer_a, decision=decision, number="N1", **CONTRACT_DEFAULTS
        )
    assert any("Données essentielles non publiables" in m for m in exc.value.messages)
    assert any("montant" in m for m in exc.value.messages)
    assert not Contract.objects.exists()
    assert not AwardLetter.objects.filter(kind=LetterKind.NOTIFICATION).exists()


def deposit_lots(user, consultation, lots: list[int]) -> Pli:
    """A pli with one offer file per lot number given."""
    declared = [
        deposit_services.DeclaredFile(kind="offre", name=f"offre-lot{n}.pdf", size=5, lot=n)
        for n in lots
    ]
    pli = deposit_services.start_deposit(actor=user, consultation=consultation, files=declared)
    for pli_file in pli.files.all():
        deposit_services.receive(
            actor=user,
            pli_pk=pli.pk,
            file_pk=pli_file.pk,
            offset=0,
            stream=io.BytesIO(b"offre"),
            length=5,
        )
    return deposit_services.complete_deposit(actor=user, pli_pk=pli.pk)


def test_every_lot_infructueux_makes_the_consultation_infructueuse(
    make_consultation,
    buyer_a,
    commune_a,
    company_user,
    company_b_user,  # noqa: F811
    monkeypatch,
    mailoutbox,
):
    consultation = make_consultation(publish=False)
    for number in (1, 2):
        consultations_services.add_lot(
            actor=buyer_a, consultation=consultation, number=number, title=f"Secteur {number}"
        )
    commission_members = [make_commission_member(commune_a) for _ in range(3)]
    opening_services.create_opening_commission(
        actor=buyer_a, consultation=consultation, members=commission_members, threshold=2
    )
    consultations_services.publish(actor=buyer_a, consultation=consultation)
    shares = [collect_share(m, consultation.pk) for m in commission_members]
    consultation.refresh_from_db()
    both = deposit_lots(company_user, consultation, [1, 2])
    only_two = deposit_lots(company_b_user, consultation, [2])
    after_deadline(monkeypatch, consultation, 3600)
    open_now(consultation, commission_members, shares)
    lot1, lot2 = consultation.lots.order_by("number")
    from emegalis.marches.award import selectors as award_selectors

    assert list(award_selectors.candidate_plis(consultation, lot1)) == [both]
    assert list(award_selectors.candidate_plis(consultation, lot2)) == [both, only_two]
    with pytest.raises(ValidationError, match="Choisissez le lot"):
        award_services.set_default_criteria(actor=buyer_a, consultation=consultation, lot=None)
    with pytest.raises(ValidationError) as exc:
        award_services.decide(
            actor=buyer_a, consultation=consultation, lot=lot1, outcome="infructueux", reason=""
        )
    assert "reason" in exc.value.message_dict
    first = award_services.decide(
        actor=buyer_a,
        consultation=consultation,
        lot=lot1,
        outcome=DecisionOutcome.INFRUCTUEUX,
        reason="Offre unique au-delà du budget.",
    )
    consultation.refresh_from_db()
    assert consultation.state == State.PUBLIEE  # lot 2 still open
    award_services.decide(
        actor=buyer_a,
        consultation=consultation,
        lot=lot2,
        outcome=DecisionOutcome.INFRUCTUEUX,
        reason="Besoin redéfini.",
    )
    consultation.refresh_from_db()
    assert consultation.state == State.INFRUCTUEUSE
    sent = award_services.send_letters(actor=buyer_a, decision=first)
    first.refresh_from_db()
    assert [x.pli for x in sent] == [both] and first.standstill_ends_on is None
    assert "Offre unique au-delà du budget" in extract_text(sent[0].pdf.read())
    assert AwardDecision.objects.count() == 2
    with pytest.raises(ValidationError, match="infructueux"):
        award_services.notify_contract(
            actor=buyer_a, decision=first, number="X", **CONTRACT_DEFAULTS
        )


def test_the_standstill_counts_on_the_paris_date_of_sending():
    from datetime import UTC

    # 23:30 UTC on 3 March is 00:30 on 4 March in Paris: the standstill ends on 15 March.
    assert delays.standstill_end(datetime(2027, 3, 3, 23, 30, tzinfo=UTC)).isoformat() == (
        "2027-03-15"
    )
    assert delays.standstill_end(datetime(2027, 3, 3, 22, 30, tzinfo=UTC)).isoformat() == (
        "2027-03-14"
    )
    # Letters not sent electronically: 16 days (CCP R2182-1).
    sent = datetime(2027, 3, 3, 10, 0, tzinfo=UTC)
    assert delays.standstill_end(sent, electronic=False).isoformat() == "2027-03-19"
