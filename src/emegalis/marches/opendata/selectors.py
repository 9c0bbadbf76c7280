"""Which contracts and consultations open data may show.

- public: the notified contracts of consultations that were published (never a draft's),
  once their essential-data publication date has come; the OCDS package of a published,
  closed, awarded, unsuccessful or cancelled consultation (a draft is a 404);
- a buyer: every contract of the organisations where they hold the buyer role, whatever
  their publication date, with the DECP verdict of each."""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from emegalis.core import clock
from emegalis.marches import access
from emegalis.marches.award.models import Contract
from emegalis.marches.consultations import selectors as consultations_selectors
from emegalis.marches.consultations.models import Consultation, State
from emegalis.marches.opendata.decp import decp_errors
from emegalis.organisations.models import User

RELATED = ("buyer", "holder", "consultation__organisation", "decision")


PREFETCH = ("modifications__holder",)


def public_contracts() -> QuerySet[Contract]:
    return (
        Contract.objects.exclude(consultation__state=State.BROUILLON)
        .filter(data_published_on__lte=clock.today())
        .select_related(*RELATED)
        .prefetch_related(*PREFETCH)
        .order_by("notified_on", "pk")
    )


def latest_public_contracts(limit: int) -> list[Contract]:
    """The most recently notified public contracts whose DECP record is valid (the ones the
    public file holds), newest first."""
    found = []
    for contract in public_contracts().reverse().iterator(chunk_size=limit * 2):
        if not decp_errors(contract):
            found.append(contract)
            if len(found) == limit:
                break
    return found


def buyer_contracts(user: User) -> QuerySet[Contract]:
    """The contracts of the organisations where the user is a buyer (none for anyone else)."""
    return (
        Contract.objects.filter(buyer__in=access.buyer_organisations(user))
        .select_related(*RELATED)
        .prefetch_related(*PREFETCH)
        .order_by("-notified_on", "-pk")
    )


def consultation_contracts(user: User, consultation: Consultation) -> QuerySet[Contract]:
    return buyer_contracts(user).filter(consultation=consultation)


def get_ocds_consultation(pk: int) -> Consultation:
    """A consultation whose OCDS package is public (every state but draft), else 404."""
    return consultations_selectors.get_public_consultation(pk)


@dataclass(frozen=True)
class DecpFilters:
    acheteur: str = ""
    annee: int | None = None

    def apply(self, contracts: QuerySet[Contract]) -> QuerySet[Contract]:
        if self.acheteur:
            contracts = contracts.filter(buyer__siret=self.acheteur)
        if self.annee:
            contracts = contracts.filter(notified_on__year=self.annee)
        return contracts

    @property
    def suffix(self) -> str:
        """For file names: « -21560121400017-2026 »."""
        return "".join(f"-{v}" for v in (self.acheteur, self.annee) if v)


def parse_filters(params) -> DecpFilters:
    """?acheteur=<SIRET>&annee=<AAAA>, checked; French ValidationError per parameter."""
    errors = {}
    acheteur = (params.get("acheteur") or "").strip()
    if acheteur and not re.fullmatch(r"[0-9]{14}", acheteur):
        errors["acheteur"] = "Le paramètre « acheteur » est un SIRET de 14 chiffres."
    raw_year = (params.get("annee") or "").strip()
    annee = None
    if raw_year:
        if re.fullmatch(r"[0-9]{4}", raw_year) and 2000 <= int(raw_year) <= 2100:
            annee = int(raw_year)
        else:
            errors["annee"] = (
                "Le paramètre « annee » est une année sur 4 chiffres, par exemple 2026."
            )
    if errors:
        raise ValidationError(errors)
    return DecpFilters(acheteur=acheteur, annee=annee)
