"""Open data of a groupement's consultation (docs/groupements.md, « Données essentielles »).

DECP v2: when each member signs its own marché (« procédure seule »), one record per notified
member marché, that member as acheteur, its number and its share of the lot as montant; when
the coordinator signs for all, the one record of the contract it notified in the salle des
marchés, the coordinator as acheteur. OCDS: the consultation's own release package, with
every member a party in the buyer role."""

from emegalis.marches.award.models import Contract
from emegalis.marches.opendata import decp, ocds

from . import member_contracts
from .models import MemberContract, Missions, Survey


def decp_records(survey: Survey) -> list[dict]:
    if survey.groupement.missions == Missions.PROCEDURE:
        notified = (
            MemberContract.objects.filter(allocation__lot__survey=survey, notified_on__isnull=False)
            .select_related(
                "member__organisation",
                "allocation__decision__consultation",
                "allocation__decision__lot",
                "allocation__decision__winner__company",
            )
            .order_by("allocation__lot__number", "member__organisation__name")
        )
        return [
            decp.marche_record(
                member_contracts.as_contract(
                    c, number=c.number, decp=c.decp, notified_on=c.notified_on
                )
            )
            for c in notified
        ]
    contracts = Contract.objects.filter(
        decision_id__in=survey.lots.filter(allocation__isnull=False).values(
            "allocation__decision_id"
        )
    ).select_related("consultation", "buyer", "holder")
    return [decp.marche_record(c) for c in contracts.order_by("notified_on", "pk")]


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
