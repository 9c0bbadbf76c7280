"""Reads of the award phase (analysis, decisions, letters, contracts), scoped to the user.

Buyers of the consultation's organisation see everything of its award; nobody else sees any
of it (404), except the public award notice: once a lot's contract is notified, its holder
and amount are public on the consultation's notice."""

from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from emegalis.core import clock
from emegalis.marches.award.models import (
    AwardCriterion,
    AwardDecision,
    AwardLetter,
    Contract,
    Evaluation,
)
from emegalis.marches.consultations import selectors as consultations_selectors
from emegalis.marches.consultations.models import Consultation, Lot
from emegalis.marches.deposit.models import Pli, PliFile, PliFileKind, PliStatus
from emegalis.marches.opening.models import OpenedFile, OpeningSession
from emegalis.organisations.models import User


def get_award_consultation(user: User, pk: int) -> Consultation:
    """A consultation whose award the user manages (buyer of its organisation), else 404."""
    return consultations_selectors.get_buyer_consultation(user, pk)


def lots_of(consultation: Consultation) -> list[Lot | None]:
    """The lots to decide on: every lot, or [None] for a consultation without lots."""
    return list(consultation.lots.all()) or [None]


def get_lot(consultation: Consultation, number: int) -> Lot | None:
    """Lot by number; 0 names the single contract of a consultation without lots. 404 else."""
    lots = list(consultation.lots.all())
    if number == 0 and not lots:
        return None
    for lot in lots:
        if lot.number == number:
            return lot
    raise Http404("Lot introuvable.")


def lot_number(lot: Lot | None) -> int:
    return lot.number if lot is not None else 0


def criteria_of(consultation: Consultation, lot: Lot | None) -> QuerySet[AwardCriterion]:
    return AwardCriterion.objects.filter(consultation=consultation, lot=lot).order_by(
        "position", "pk"
    )


def _offer_files(lot: Lot | None) -> Q:
    offer = Q(files__kind=PliFileKind.OFFRE)
    return offer & Q(files__lot=lot) if lot is not None else offer


def candidate_plis(consultation: Consultation, lot: Lot | None) -> QuerySet[Pli]:
    """The offers to analyse for a lot: plis received in time, or late ones the commission
    opened on the buyer's decision, holding an offer file for it (any offer for a
    consultation without lots)."""
    return (
        Pli.objects.filter(consultation=consultation)
        .filter(
            Q(status=PliStatus.RECU) | Q(status=PliStatus.HORS_DELAI, late_opening__isnull=False)
        )
        .filter(_offer_files(lot))
        .select_related("company")
        .distinct()
        .order_by("completed_at", "pk")
    )


def opening_session(consultation: Consultation) -> OpeningSession | None:
    return OpeningSession.objects.filter(consultation=consultation).first()


def decision_of(consultation: Consultation, lot: Lot | None) -> AwardDecision | None:
    return (
        AwardDecision.objects.filter(consultation=consultation, lot=lot)
        .select_related("winner", "lot")
        .first()
    )


@dataclass
class OfferRow:
    pli: Pli
    evaluation: Evaluation | None
    # (file of the pli, its OpenedFile or None when it was not opened)
    files: list[tuple[PliFile, OpenedFile | None]] = field(default_factory=list)


def offers(consultation: Consultation, lot: Lot | None) -> list[OfferRow]:
    """Each candidate offer with its evaluation and the files to read: candidature files and
    the offer files of the lot (OpenedFile when opened, with its integrity status)."""
    wanted = Q(kind=PliFileKind.CANDIDATURE) | (
        Q(kind=PliFileKind.OFFRE, lot=lot) if lot is not None else Q(kind=PliFileKind.OFFRE)
    )
    plis = candidate_plis(consultation, lot).prefetch_related(
        Prefetch(
            "files",
            queryset=PliFile.objects.filter(wanted).select_related("opened", "lot"),
            to_attr="award_files",
        )
    )
    evaluations = {
        e.pli_id: e for e in Evaluation.objects.filter(consultation=consultation, lot=lot)
    }
    rows = [
        OfferRow(
            pli=p,
            evaluation=evaluations.get(p.pk),
            files=[(f, getattr(f, "opened", None)) for f in p.award_files],
        )
        for p in plis
    ]
    rows.sort(
        key=lambda r: (
            r.evaluation is None or r.evaluation.rank is None,
            r.evaluation.rank if r.evaluation and r.evaluation.rank else 0,
            r.pli.completed_at,
        )
    )
    return rows


def letters_of(decision: AwardDecision) -> QuerySet[AwardLetter]:
    return decision.letters.select_related("pli", "message").order_by("kind", "pk")


def contracts_of(consultation: Consultation) -> QuerySet[Contract]:
    return (
        Contract.objects.filter(consultation=consultation)
        .select_related("holder", "decision__lot")
        .order_by("decision__lot__number", "pk")
    )


def get_decision_letter(user: User, consultation_pk: int, letter_pk: int) -> AwardLetter:
    consultation = get_award_consultation(user, consultation_pk)
    letter = AwardLetter.objects.filter(pk=letter_pk, decision__consultation=consultation).first()
    if letter is None:
        raise Http404("Lettre introuvable.")
    return letter


@dataclass
class LotState:
    lot: Lot | None
    number: int
    criteria: list[AwardCriterion]
    offer_count: int
    analysed: int
    decision: AwardDecision | None
    contract: Contract | None

    @property
    def label(self) -> str:
        return f"Lot {self.lot.number} — {self.lot.title}" if self.lot else "Marché unique"

    @property
    def step(self) -> str:
        if self.contract is not None:
            return "Marché notifié"
        if self.decision is not None:
            sent = self.decision.letters_sent_at is not None
            if self.decision.outcome == "infructueux":
                return (
                    "Infructueux — lettres envoyées" if sent else "Infructueux — lettres à envoyer"
                )
            if not sent:
                return "Attribué — lettres à envoyer"
            ends_on = self.decision.standstill_ends_on
            if clock.today() <= ends_on:
                return f"Attribué — délai de suspension jusqu'au {ends_on:%d/%m/%Y}"
            return "Attribué — marché à notifier"
        if not self.criteria:
            return "Critères à définir"
        return f"Analyse : {self.analysed} offre(s) sur {self.offer_count}"


def award_overview(consultation: Consultation) -> list[LotState]:
    """The state of the award per lot (buyer panel and overview page)."""
    states = []
    for lot in lots_of(consultation):
        decision = decision_of(consultation, lot)
        states.append(
            LotState(
                lot=lot,
                number=lot_number(lot),
                criteria=list(criteria_of(consultation, lot)),
                offer_count=candidate_plis(consultation, lot).count(),
                analysed=Evaluation.objects.filter(consultation=consultation, lot=lot)
                .filter(Q(excluded=True) | Q(total__isnull=False))
                .count(),
                decision=decision,
                contract=Contract.objects.filter(decision=decision).first() if decision else None,
            )
        )
    return states


def public_awards(consultation: Consultation) -> QuerySet[Contract]:
    """The award notice of a public consultation: notified contracts only."""
    if not consultation.is_public:
        return Contract.objects.none()
    return contracts_of(consultation)
