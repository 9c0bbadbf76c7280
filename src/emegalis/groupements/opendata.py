"""Open data of a groupement's consultation (docs/groupements.md, « Données essentielles »).

DECP v2: when each member signs its own marché (« procédure seule »), one record per member,
that member as acheteur and its share of the lot as montant (the DECP identify a marché by its
acheteur, so each keeps the contract's number); when the coordinator signs for all, the one
record of the notified contract, the coordinator as acheteur. OCDS: the consultation's own
release package, with every member a party in the buyer role."""

from decimal import Decimal

from emegalis.marches.award.models import Contract
from emegalis.marches.opendata import decp, ocds

from .models import Missions, Survey
from .services import member_amounts


def _contracts(survey: Survey):
    """(lot, its allocation, the contract notified for its decision) of each allocated lot."""
    for lot in survey.lots.filter(allocation__isnull=False).select_related("allocation"):
        contract = (
            Contract.objects.filter(decision_id=lot.allocation.decision_id)
            .select_related("consultation", "buyer", "holder")
            .first()
        )
        if contract is not None:
            yield lot, lot.allocation, contract


def decp_records(survey: Survey) -> list[dict]:
    records = []
    groupement = survey.groupement
    for lot, allocation, contract in _contracts(survey):
        if groupement.missions != Missions.PROCEDURE:
            records.append(decp.marche_record(contract))
            continue
        prices = {p.item_id: p.unit_price for p in allocation.prices.all()}
        members = {m.pk: m for m in survey.participants.select_related("organisation")}
        for member_pk, amount in sorted(member_amounts(lot, prices).items()):
            if amount <= Decimal(0):
                continue
            record = decp.marche_record(contract)
            record["acheteur"] = {"id": members[member_pk].organisation.siret}
            record["montant"] = decp.number(amount)
            records.append(record)
    return records


def decp_document(survey: Survey) -> dict:
    return decp.document(decp_records(survey))


def ocds_package(survey: Survey) -> dict:
    package = ocds.release_package(survey.consultation)
    members = [m.organisation for m in survey.participants.select_related("organisation")]
    for release in package["releases"]:
        parties = release.setdefault("parties", [])
        known = {p["id"]: p for p in parties}
        for organisation in members:
            found = known.get(ocds.party_id(organisation))
            if found is None:
                parties.append(ocds.party(organisation, ["buyer"]))
            elif "buyer" not in found["roles"]:
                found["roles"].append("buyer")
    return package
