"""Writes after the opening of the plis: award criteria, analysis of the offers, award
decision, letters (rejection, award, infructueux) and notification of the contract.

Per lot (lot None: a consultation without lots):

    criteria (weights = 100) → analysis (opening done) → decision (frozen ranking)
        → letters (standstill starts) → notification after the standstill (Contract)

When every lot has a decision the consultation becomes « attribuée » (at least one lot
awarded) or « infructueuse » (none), through the consultation's state machine.

Every function is keyword-only, checks that the actor is a buyer of the consultation's
organisation (access.require_buyer), validates with French messages, writes in one
transaction and journals."""

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from emegalis.core import clock, journal
from emegalis.core.pdf import format_date
from emegalis.marches import access, delays
from emegalis.marches.award import letters, selectors
from emegalis.marches.award.models import (
    AwardCriterion,
    AwardDecision,
    AwardLetter,
    Contract,
    CriterionKind,
    DecisionOutcome,
    Evaluation,
    LetterKind,
)
from emegalis.marches.consultations import services as consultations_services
from emegalis.marches.consultations.models import Consultation, Lot, State
from emegalis.marches.deposit.models import Pli
from emegalis.marches.messaging import services as messaging_services
from emegalis.marches.messaging.models import MessageDirection
from emegalis.marches.opendata import decp, decp_vocabulary
from emegalis.marches.opening.models import OpeningSession
from emegalis.organisations.models import User
from emegalis.organisations.validators import validate_siret

MAX_MARK = Decimal(20)


THOUSANDTH = Decimal("0.001")


DEFAULT_CRITERIA = (
    (CriterionKind.PRIX, "Prix", 60),
    (CriterionKind.TECHNIQUE, "Valeur technique", 40),
)


EXCLUSION_KINDS = {
    "irreguliere": "Offre irrégulière",
    "inacceptable": "Offre inacceptable",
    "inappropriee": "Offre inappropriée",
}


CONTRACT_NUMBER = re.compile(r"[A-Za-z0-9_./-]{1,16}")


def _lot_label(lot: Lot | None) -> str:
    return f"lot {lot.number}" if lot is not None else "marché unique"


def _check_lot(consultation: Consultation, lot: Lot | None) -> None:
    has_lots = consultation.lots.exists()
    if lot is None and has_lots:
        raise ValidationError("Choisissez le lot concerné.")
    if lot is not None and lot.consultation_id != consultation.pk:
        raise ValidationError("Ce lot n'appartient pas à la consultation.")


def _lock(consultation: Consultation) -> Consultation:
    return (
        Consultation.objects.select_for_update(of=("self",))
        .select_related("organisation")
        .get(pk=consultation.pk)
    )


def _decision_exists(consultation: Consultation, lot: Lot | None) -> bool:
    return AwardDecision.objects.filter(consultation=consultation, lot=lot).exists()


def _require_opened(consultation: Consultation) -> None:
    if not OpeningSession.objects.filter(consultation=consultation).exists():
        raise ValidationError(
            "L'analyse des offres n'est possible qu'après la séance d'ouverture des plis.",
            code="not_opened",
        )


def _require_open_for_award(consultation: Consultation) -> None:
    if consultation.state not in (State.PUBLIEE, State.CLOTUREE):
        raise ValidationError(
            f"Une consultation « {consultation.get_state_display().lower()} » ne peut plus "
            "être analysée ni attribuée.",
            code="state",
        )


def _q(value: Decimal) -> Decimal:
    return value.quantize(THOUSANDTH, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CriterionInput:
    kind: str
    label: str
    weight: int


def _validate_criteria(criteria: list[CriterionInput]) -> None:
    errors = []
    if not criteria:
        errors.append("Indiquez au moins un critère d'attribution.")
    for item in criteria:
        if item.kind not in CriterionKind.values:
            errors.append(f"Type de critère inconnu : « {item.kind} ».")
        if not (item.label or "").strip():
            errors.append("Chaque critère doit avoir un intitulé.")
        if not isinstance(item.weight, int) or not 1 <= item.weight <= 100:
            errors.append("Chaque pondération est un nombre entier entre 1 et 100.")
    prices = sum(1 for item in criteria if item.kind == CriterionKind.PRIX)
    if prices > 1:
        errors.append("Un seul critère de prix par lot.")
    total = sum(item.weight for item in criteria if isinstance(item.weight, int))
    if criteria and total != 100:
        errors.append(f"La somme des pondérations doit être de 100 % (elle est de {total} %).")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def set_criteria(
    *,
    actor: User,
    consultation: Consultation,
    lot: Lot | None,
    criteria: list[CriterionInput],
) -> list[AwardCriterion]:
    """Replace the weighted criteria of a lot (weights add up to 100, one price criterion
    at most). Refused once the lot has a decision."""
    access.require_buyer(actor, consultation.organisation)
    consultation = _lock(consultation)
    _check_lot(consultation, lot)
    if _decision_exists(consultation, lot):
        raise ValidationError(
            "Les critères ne sont plus modifiables : une décision a été prise pour ce lot."
        )
    _require_open_for_award(consultation)
    criteria = [
        CriterionInput(kind=c.kind, label=(c.label or "").strip(), weight=c.weight)
        for c in criteria
    ]
    _validate_criteria(criteria)
    # Rows are updated in place, position by position, so the marks already given on a
    # criterion survive a change of its weight or label; removed criteria lose their marks.
    existing = list(AwardCriterion.objects.filter(consultation=consultation, lot=lot))
    created = []
    for index, c in enumerate(criteria, start=1):
        row = (
            existing[index - 1]
            if index <= len(existing)
            else AwardCriterion(consultation=consultation, lot=lot)
        )
        row.kind, row.label, row.weight, row.position = c.kind, c.label[:200], c.weight, index
        row.save()
        created.append(row)
    AwardCriterion.objects.filter(pk__in=[r.pk for r in existing[len(criteria) :]]).delete()
    _recompute(consultation, lot)
    journal.record(
        action="marches.award.criteria_set",
        actor=actor,
        organisation=consultation.organisation,
        target=consultation,
        payload={
            "reference": consultation.reference,
            "lot": lot.number if lot else None,
            "criteria": [{"kind": c.kind, "label": c.label, "weight": c.weight} for c in criteria],
        },
    )
    return created


def set_default_criteria(
    *, actor: User, consultation: Consultation, lot: Lot | None
) -> list[AwardCriterion]:
    """One click: Prix 60 %, Valeur technique 40 %."""
    return set_criteria(
        actor=actor,
        consultation=consultation,
        lot=lot,
        criteria=[CriterionInput(kind=k, label=lbl, weight=w) for k, lbl, w in DEFAULT_CRITERIA],
    )


def _is_complete(evaluation: Evaluation, criteria: list[AwardCriterion]) -> bool:
    if evaluation.excluded:
        return True
    if evaluation.price is None:
        return False
    return all(str(c.pk) in evaluation.scores for c in criteria if c.kind != CriterionKind.PRIX)


def _recompute(consultation: Consultation, lot: Lot | None) -> None:
    """Price marks, totals and ranks of every evaluation of the lot.

    Price mark = 20 × lowest admissible price / price; total = Σ weight × mark / 100 (three
    decimals); rank by total descending, ties broken by the lower price, then the earlier
    deposit. Excluded or incompletely marked offers have no total and no rank.
    """
    criteria = list(AwardCriterion.objects.filter(consultation=consultation, lot=lot))
    price_criterion = next((c for c in criteria if c.kind == CriterionKind.PRIX), None)
    keep = {str(c.pk) for c in criteria if c.kind != CriterionKind.PRIX}
    evaluations = list(
        Evaluation.objects.filter(consultation=consultation, lot=lot).select_related("pli")
    )
    prices = [e.price for e in evaluations if not e.excluded and e.price]
    best = min(prices) if prices else None
    ranked = []
    for evaluation in evaluations:
        scores = {k: v for k, v in evaluation.scores.items() if k in keep}
        evaluation.total = None
        evaluation.rank = None
        if not evaluation.excluded and evaluation.price and best is not None:
            price_mark = MAX_MARK * best / evaluation.price
            if price_criterion is not None:
                scores[str(price_criterion.pk)] = str(_q(price_mark))
            if _is_complete(evaluation, criteria):
                total = Decimal(0)
                for criterion in criteria:
                    mark = (
                        price_mark
                        if criterion.kind == CriterionKind.PRIX
                        else Decimal(scores[str(criterion.pk)])
                    )
                    total += Decimal(criterion.weight) * mark / 100
                evaluation.total = _q(total)
                ranked.append(evaluation)
        evaluation.scores = scores
    ranked.sort(key=lambda e: (-e.total, e.price, e.pli.completed_at, e.pli_id))
    for position, evaluation in enumerate(ranked, start=1):
        evaluation.rank = position
    for evaluation in evaluations:
        evaluation.save(update_fields=["scores", "total", "rank"])


@transaction.atomic
def save_evaluation(
    *,
    actor: User,
    consultation: Consultation,
    lot: Lot | None,
    pli: Pli,
    price: Decimal | None,
    marks: dict[int, Decimal | None],
    excluded: bool = False,
    exclusion_kind: str = "",
    exclusion_text: str = "",
    comment: str = "",
) -> Evaluation:
    """Record the analysis of one offer (price, mark /20 per non-price criterion, or its
    exclusion with a reason), then recompute the ranking of the whole lot."""
    access.require_buyer(actor, consultation.organisation)
    consultation = _lock(consultation)
    _check_lot(consultation, lot)
    if _decision_exists(consultation, lot):
        raise ValidationError("L'analyse est close : une décision a été prise pour ce lot.")
    _require_open_for_award(consultation)
    _require_opened(consultation)
    if not selectors.candidate_plis(consultation, lot).filter(pk=pli.pk).exists():
        raise ValidationError("Ce pli ne contient pas d'offre reçue dans les délais pour ce lot.")
    criteria = list(AwardCriterion.objects.filter(consultation=consultation, lot=lot))
    if not criteria:
        raise ValidationError("Définissez d'abord les critères d'attribution du lot.")
    errors: dict[str, list[str]] = {}
    reason = ""
    if excluded:
        text = (exclusion_text or "").strip()
        if exclusion_kind not in EXCLUSION_KINDS:
            errors["exclusion_kind"] = [
                "Indiquez pourquoi l'offre est écartée (irrégulière, inacceptable, inappropriée)."
            ]
        if not text:
            errors["exclusion_text"] = ["Motivez l'éviction de l'offre."]
        reason = f"{EXCLUSION_KINDS.get(exclusion_kind, '')} : {text}"
    if price is not None and price <= 0:
        errors["price"] = ["Le montant de l'offre doit être positif."]
    scores: dict[str, str] = {}
    for criterion in criteria:
        if criterion.kind == CriterionKind.PRIX:
            continue
        mark = marks.get(criterion.pk)
        if mark is None:
            continue
        if not Decimal(0) <= mark <= MAX_MARK:
            errors[f"mark_{criterion.pk}"] = ["La note est comprise entre 0 et 20."]
        else:
            scores[str(criterion.pk)] = str(_q(Decimal(mark)))
    if errors:
        raise ValidationError(errors)
    evaluation, _ = Evaluation.objects.get_or_create(
        consultation=consultation, lot=lot, pli=pli, defaults={"updated_by": actor}
    )
    evaluation.price = price
    evaluation.excluded = bool(excluded)
    evaluation.exclusion_reason = reason[:2000] if excluded else ""
    evaluation.scores = scores
    evaluation.comment = (comment or "").strip()
    evaluation.updated_by = actor
    evaluation.save()
    _recompute(consultation, lot)
    evaluation.refresh_from_db()
    journal.record(
        action="marches.award.evaluation_saved",
        actor=actor,
        organisation=consultation.organisation,
        target=evaluation,
        payload={
            "reference": consultation.reference,
            "lot": lot.number if lot else None,
            "pli": pli.pk,
            "company": pli.company_label,
            "price": evaluation.price,
            "scores": evaluation.scores,
            "excluded": evaluation.excluded,
            "reason": evaluation.exclusion_reason,
            "total": evaluation.total,
            "rank": evaluation.rank,
        },
    )
    return evaluation


def _frozen_ranking(evaluations: list[Evaluation], criteria: list[AwardCriterion]) -> list[dict]:
    rows = []
    for e in sorted(evaluations, key=lambda e: (e.rank is None, e.rank or 0, e.pli_id)):
        rows.append(
            {
                "pli": e.pli_id,
                "company": e.pli.company_label,
                "siret": e.pli.company_siret,
                "price": str(e.price) if e.price is not None else None,
                "scores": {
                    c.label: e.scores.get(str(c.pk)) for c in criteria if str(c.pk) in e.scores
                },
                "total": str(e.total) if e.total is not None else None,
                "rank": e.rank,
                "excluded": e.excluded,
                "reason": e.exclusion_reason,
            }
        )
    return rows


@transaction.atomic
def decide(
    *,
    actor: User,
    consultation: Consultation,
    lot: Lot | None,
    outcome: str,
    reason: str,
) -> AwardDecision:
    """Award the lot to the best-ranked offer, or declare it infructueux (reason required).

    The ranking is frozen into the decision. Once every lot has a decision, the consultation
    becomes « attribuée » (one lot awarded at least) or « infructueuse ».
    """
    access.require_buyer(actor, consultation.organisation)
    consultation = _lock(consultation)
    _check_lot(consultation, lot)
    if _decision_exists(consultation, lot):
        raise ValidationError(f"Une décision a déjà été prise pour le {_lot_label(lot)}.")
    _require_open_for_award(consultation)
    _require_opened(consultation)
    reason = (reason or "").strip()
    criteria = list(AwardCriterion.objects.filter(consultation=consultation, lot=lot))
    candidates = list(selectors.candidate_plis(consultation, lot))
    evaluations = {
        e.pli_id: e
        for e in Evaluation.objects.filter(consultation=consultation, lot=lot).select_related("pli")
    }
    winner = None
    amount = None
    if outcome == DecisionOutcome.ATTRIBUE:
        if not criteria:
            raise ValidationError("Définissez d'abord les critères d'attribution du lot.")
        missing = [
            p.company_label
            for p in candidates
            if p.pk not in evaluations or not _is_complete(evaluations[p.pk], criteria)
        ]
        if missing:
            raise ValidationError(
                "Toutes les offres doivent être notées ou écartées avant de décider. "
                f"Reste à analyser : {', '.join(missing)}."
            )
        ranked = sorted((e for e in evaluations.values() if e.rank), key=lambda e: e.rank)
        if not ranked:
            raise ValidationError(
                "Aucune offre classée : déclarez le lot infructueux ou reprenez l'analyse."
            )
        if not reason:
            raise ValidationError({"reason": ["Motivez le choix de l'offre retenue."]})
        winner, amount = ranked[0].pli, ranked[0].price
    elif outcome == DecisionOutcome.INFRUCTUEUX:
        if not reason:
            raise ValidationError({"reason": ["Indiquez pourquoi le lot est infructueux."]})
    else:
        raise ValidationError({"outcome": ["Choisissez : attribuer ou déclarer infructueux."]})
    considered = [evaluations[p.pk] for p in candidates if p.pk in evaluations]
    unanalysed = [
        {"pli": p.pk, "company": p.company_label, "siret": p.company_siret, "rank": None}
        for p in candidates
        if p.pk not in evaluations
    ]
    try:
        with transaction.atomic():
            decision = AwardDecision.objects.create(
                consultation=consultation,
                lot=lot,
                outcome=outcome,
                winner=winner,
                amount=amount,
                reason=reason,
                ranking=_frozen_ranking(considered, criteria) + unanalysed,
                decided_at=clock.now(),
                decided_by=actor,
            )
    except IntegrityError:
        raise ValidationError(f"Une décision a déjà été prise pour le {_lot_label(lot)}.") from None
    journal.record(
        action="marches.award.decided",
        actor=actor,
        organisation=consultation.organisation,
        target=decision,
        payload={
            "reference": consultation.reference,
            "lot": lot.number if lot else None,
            "outcome": outcome,
            "winner": winner.pk if winner else None,
            "winner_company": winner.company_label if winner else "",
            "amount": amount,
            "reason": reason,
            "ranking": decision.ranking,
        },
    )
    _settle_consultation(consultation, actor)
    return decision


def _settle_consultation(consultation: Consultation, actor: User) -> None:
    lots = list(consultation.lots.all()) or [None]
    decisions = list(AwardDecision.objects.filter(consultation=consultation))
    if len(decisions) < len(lots):
        return
    awarded = any(d.outcome == DecisionOutcome.ATTRIBUE for d in decisions)
    if consultation.state == State.PUBLIEE:
        consultations_services._close(consultation, actor=actor)
    consultations_services._set_state(
        consultation,
        State.ATTRIBUEE if awarded else State.INFRUCTUEUSE,
        actor=actor,
        reason="décisions prises pour tous les lots",
    )


def _send_letter(
    *, actor: User, decision: AwardDecision, pli: Pli, kind: str, subject: str, body: str, pdf
) -> AwardLetter:
    consultation = decision.consultation
    name = f"{kind}-{consultation.pk}-{decision.lot.number if decision.lot else 0}-{pli.pk}.pdf"
    message = messaging_services.send_message(
        actor=actor,
        consultation=consultation,
        company=pli.company,
        direction=MessageDirection.TO_COMPANY,
        subject=subject,
        body=body,
        attachment_name=name,
        attachment_content=pdf,
        check_permission=False,
    )
    letter = AwardLetter(decision=decision, pli=pli, kind=kind, message=message)
    letter.sent_at = message.sent_at
    letter.pdf.save(name, ContentFile(pdf), save=False)
    letter.save()
    return letter


@transaction.atomic
def send_letters(*, actor: User, decision: AwardDecision) -> list[AwardLetter]:
    """Send the decision's letters once, each as a PDF through the secure messaging:
    rejection letters to the other bidders (with the standstill end date), the award letter
    to the winner, or, for an infructueux lot, a letter to every bidder."""
    consultation = decision.consultation
    access.require_buyer(actor, consultation.organisation)
    _lock(consultation)
    decision = AwardDecision.objects.select_for_update().get(pk=decision.pk)
    if decision.letters_sent_at is not None:
        raise ValidationError("Les lettres de cette décision ont déjà été envoyées.")
    now = clock.now()
    bidders = {p.pk: p for p in Pli.objects.filter(pk__in=[r["pli"] for r in decision.ranking])}
    lot_text = f" — lot {decision.lot.number}" if decision.lot else ""
    sent: list[AwardLetter] = []
    if decision.outcome == DecisionOutcome.ATTRIBUE:
        ends_on = delays.standstill_end(now)
        decision.standstill_ends_on = ends_on
        standstill = (
            f"Le marché ne sera pas signé avant la fin du délai de suspension, le "
            f"{format_date(ends_on)} (CCP R2182-1)."
        )
        for row in decision.ranking:
            pli = bidders[row["pli"]]
            if pli.pk == decision.winner_id:
                kind, subject = LetterKind.ATTRIBUTION, "Attribution envisagée"
                body = (
                    "Votre offre est retenue. Vous trouverez ci-joint la lettre d'attribution et "
                    f"la liste des documents à fournir avant la signature. {standstill}"
                )
                pdf = letters.award_letter(decision, ends_on)
            else:
                kind, subject = LetterKind.REJET, "Rejet de votre offre"
                body = (
                    "Nous avons le regret de vous informer que votre offre n'a pas été retenue. "
                    f"Les motifs figurent dans la lettre ci-jointe. {standstill}"
                )
                pdf = letters.rejection_letter(decision, row, ends_on)
            sent.append(
                _send_letter(
                    actor=actor,
                    decision=decision,
                    pli=pli,
                    kind=kind,
                    subject=f"{subject} — {consultation.reference}{lot_text}",
                    body=body,
                    pdf=pdf,
                )
            )
    else:
        for row in decision.ranking:
            pli = bidders[row["pli"]]
            sent.append(
                _send_letter(
                    actor=actor,
                    decision=decision,
                    pli=pli,
                    kind=LetterKind.REJET,
                    subject=f"Procédure infructueuse — {consultation.reference}{lot_text}",
                    body=(
                        "La procédure a été déclarée infructueuse pour ce lot. Les motifs "
                        "figurent dans la lettre ci-jointe."
                    ),
                    pdf=letters.infructueux_letter(decision, row),
                )
            )
    decision.letters_sent_at = now
    decision.save(update_fields=["letters_sent_at", "standstill_ends_on"])
    journal.record(
        action="marches.award.letters_sent",
        actor=actor,
        organisation=consultation.organisation,
        target=decision,
        payload={
            "reference": consultation.reference,
            "lot": decision.lot.number if decision.lot else None,
            "letters": [{"pli": x.pli_id, "kind": x.kind, "message": x.message_id} for x in sent],
            "standstill_ends_on": decision.standstill_ends_on,
        },
    )
    return sent


def default_contract_number(decision: AwardDecision) -> str:
    year = clock.today().year
    lot = decision.lot.number if decision.lot else 0
    return f"{year}-{decision.consultation_id}-{lot}"[:16]


def place_code(departement: str) -> str:
    """The INSEE code of a département as DECP expects it: « 056 » → « 56 », « 02A » → « 2A »,
    « 974 » stays."""
    if len(departement) == 3 and departement.startswith("0"):
        return departement[1:]
    return departement


def notification_refusal(decision: AwardDecision) -> str:
    """Why the contract cannot be notified today ("" when it can)."""
    if decision.outcome != DecisionOutcome.ATTRIBUE:
        return "Ce lot est infructueux : il n'y a pas de marché à notifier."
    if hasattr(decision, "contract"):
        return "Le marché de ce lot a déjà été notifié."
    if decision.letters_sent_at is None or decision.standstill_ends_on is None:
        return "Envoyez d'abord les lettres de rejet et d'attribution."
    if clock.today() <= decision.standstill_ends_on:
        return (
            "Le délai de suspension court jusqu'au "
            f"{format_date(decision.standstill_ends_on)} inclus : le marché peut être notifié "
            "à partir du lendemain."
        )
    return ""


def _check_list(errors: dict, name: str, values: list[str], allowed: tuple[str, ...]) -> None:
    if not values:
        errors[name] = ["Choisissez au moins une valeur."]
    elif any(v not in allowed for v in values):
        errors[name] = ["Valeur non prévue par le format des données essentielles."]


@transaction.atomic
def notify_contract(
    *,
    actor: User,
    decision: AwardDecision,
    number: str,
    duration_months: int,
    forme_prix: str,
    types_prix: list[str],
    ccag: str,
    techniques: list[str],
    modalites_execution: list[str],
    considerations_sociales: list[str],
    considerations_environnementales: list[str],
    marche_innovant: bool = False,
    attribution_avance: bool = False,
    taux_avance: Decimal | None = None,
    sous_traitance_declaree: bool = False,
    type_groupement: str = "Pas de groupement",
) -> Contract:
    """Record the contract at its notification (after the standstill) and send the
    notification letter to the holder through the secure messaging_services."""
    consultation = decision.consultation
    access.require_buyer(actor, consultation.organisation)
    consultation = _lock(consultation)
    decision = (
        AwardDecision.objects.select_for_update(of=("self",))
        .select_related("winner__company", "lot")
        .get(pk=decision.pk)
    )
    refusal = notification_refusal(decision)
    if refusal:
        raise ValidationError(refusal, code="not_now")
    holder = decision.winner.company
    try:
        validate_siret(holder.siret)
    except ValidationError:
        raise ValidationError(
            f"L'entreprise {holder.name} n'a pas de SIRET valide : il est obligatoire pour "
            "publier les données essentielles du marché. Demandez-lui de compléter son profil."
        ) from None
    if not consultation.departement:
        raise ValidationError(
            "Indiquez le département d'exécution de la consultation : il est le lieu "
            "d'exécution publié dans les données essentielles."
        )
    errors: dict[str, list[str]] = {}
    number = (number or "").strip()
    if not CONTRACT_NUMBER.fullmatch(number):
        errors["number"] = [
            "Le numéro du marché a de 1 à 16 caractères : lettres, chiffres, « - », « _ », "
            "« / » ou « . », sans espace."
        ]
    elif Contract.objects.filter(buyer=consultation.organisation, number=number).exists():
        errors["number"] = ["Votre organisation a déjà un marché portant ce numéro."]
    if not isinstance(duration_months, int) or duration_months < 1:
        errors["duration_months"] = ["La durée est un nombre entier de mois, au moins 1."]
    if forme_prix not in decp_vocabulary.FORMES_PRIX:
        errors["forme_prix"] = ["Forme du prix inconnue."]
    if ccag not in decp_vocabulary.CCAG:
        errors["ccag"] = ["CCAG inconnu."]
    if type_groupement not in decp_vocabulary.TYPES_GROUPEMENT:
        errors["type_groupement"] = ["Type de groupement inconnu."]
    _check_list(errors, "types_prix", types_prix, decp_vocabulary.TYPES_PRIX)
    _check_list(errors, "techniques", techniques, decp_vocabulary.TECHNIQUES)
    _check_list(
        errors, "modalites_execution", modalites_execution, decp_vocabulary.MODALITES_EXECUTION
    )
    _check_list(
        errors,
        "considerations_sociales",
        considerations_sociales,
        decp_vocabulary.CONSIDERATIONS_SOCIALES,
    )
    _check_list(
        errors,
        "considerations_environnementales",
        considerations_environnementales,
        decp_vocabulary.CONSIDERATIONS_ENVIRONNEMENTALES,
    )
    if attribution_avance:
        if taux_avance is None or not Decimal(0) <= taux_avance <= Decimal(1):
            errors["taux_avance"] = ["Le taux de l'avance est compris entre 0 et 1 (0,05 = 5 %)."]
    else:
        taux_avance = None
    if errors:
        raise ValidationError(errors)
    lot = decision.lot
    obj = consultation.object.strip()
    if lot is not None:
        obj = f"{obj} — Lot {lot.number} : {lot.title}"
    cpv_code = ((lot.cpv if lot is not None else "") or consultation.cpv_main).split("-")[0]
    today = clock.today()
    contract = Contract.objects.create(
        decision=decision,
        consultation=consultation,
        buyer=consultation.organisation,
        holder=holder,
        number=number,
        object=obj[:1000],
        cpv=cpv_code,
        amount=decision.amount,
        duration_months=duration_months,
        notified_on=today,
        data_published_on=today,
        forme_prix=forme_prix,
        types_prix=list(types_prix),
        techniques=list(techniques),
        modalites_execution=list(modalites_execution),
        ccag=ccag,
        considerations_sociales=list(considerations_sociales),
        considerations_environnementales=list(considerations_environnementales),
        marche_innovant=bool(marche_innovant),
        attribution_avance=bool(attribution_avance),
        taux_avance=taux_avance,
        sous_traitance_declaree=bool(sous_traitance_declaree),
        type_groupement=type_groupement,
        offers_received=max(1, len(decision.ranking)),
        place_code=place_code(consultation.departement),
        place_code_type="Code département",
        created_by=actor,
    )
    # The record must be publishable as it is: initial DECP values never change afterwards.
    problems = decp.decp_errors(contract)
    if problems:
        raise ValidationError(
            [f"Données essentielles non publiables : {problem}" for problem in problems]
        )
    lot_text = f" — lot {lot.number}" if lot else ""
    letter = _send_letter(
        actor=actor,
        decision=decision,
        pli=decision.winner,
        kind=LetterKind.NOTIFICATION,
        subject=f"Notification du marché n° {number} — {consultation.reference}{lot_text}",
        body=(
            f"Le marché n° {number} vous est notifié ce jour. La lettre de notification est "
            "jointe ; elle fait courir les délais d'exécution."
        ),
        pdf=letters.notification_letter(contract),
    )
    journal.record(
        action="marches.award.contract_notified",
        actor=actor,
        organisation=consultation.organisation,
        target=contract,
        payload={
            "reference": consultation.reference,
            "lot": lot.number if lot else None,
            "number": number,
            "holder_siret": holder.siret,
            "amount": contract.amount,
            "notified_on": contract.notified_on,
            "letter": letter.pk,
        },
    )
    return contract
