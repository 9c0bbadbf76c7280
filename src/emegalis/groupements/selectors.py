"""Reads of the groupements service, scoped to the asking user's organisation.

Rules: a groupement is visible to the agents of its member organisations (withdrawn members
keep their history) who hold a role of the service or are référent; anyone else gets a 404,
as if it did not exist. The coordinator's managers see every member's detailed needs; a
member sees its own and the totals."""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet
from django.http import Http404

from emegalis.core import usage
from emegalis.marches.award.models import Contract
from emegalis.organisations.models import Organisation, User

from .models import (
    ConventionVersion,
    Groupement,
    Item,
    Lot,
    Member,
    MemberContract,
    Need,
    Survey,
)
from .permissions import may_manage


def groupements_for(user: User, organisation: Organisation | None) -> QuerySet[Groupement]:
    if organisation is None or not may_manage(user, organisation):
        return Groupement.objects.none()
    return (
        Groupement.objects.filter(members__organisation=organisation)
        .select_related("coordinator")
        .distinct()
    )


def get_groupement(user: User, organisation: Organisation | None, pk) -> Groupement:
    try:
        return groupements_for(user, organisation).get(pk=pk)
    except (Groupement.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("Groupement introuvable.") from None


def is_coordinator(user: User, organisation: Organisation | None, groupement: Groupement) -> bool:
    return (
        organisation is not None
        and organisation.pk == groupement.coordinator_id
        and may_manage(user, organisation)
    )


def members_of(groupement: Groupement) -> QuerySet[Member]:
    return groupement.members.select_related("organisation").order_by(
        "withdrawn_on", "organisation__name"
    )


def get_version(user: User, organisation: Organisation | None, pk) -> ConventionVersion:
    try:
        return ConventionVersion.objects.select_related("groupement").get(
            pk=pk, groupement__in=groupements_for(user, organisation)
        )
    except (ConventionVersion.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("Version introuvable.") from None


def get_survey(user: User, organisation: Organisation | None, pk) -> Survey:
    try:
        return Survey.objects.select_related("groupement__coordinator").get(
            pk=pk, groupement__in=groupements_for(user, organisation)
        )
    except (Survey.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("Recensement introuvable.") from None


@dataclass
class ItemRow:
    item: Item
    total: Decimal
    own: Decimal | None  # the asking member's quantity, None if it takes no part
    by_member: dict[int, Decimal]  # filled for the coordinator only

    @property
    def estimated_total(self) -> Decimal:
        return (self.total * self.item.unit_price).quantize(Decimal("0.01"))


def survey_table(
    user: User, organisation: Organisation | None, survey: Survey
) -> tuple[list[ItemRow], list[Member]]:
    """The survey's items with the totals, the asking member's quantities and, for the
    coordinator, every member's; the members shown as columns (coordinator only)."""
    coordinator = is_coordinator(user, organisation, survey.groupement)
    needs = Need.objects.filter(item__lot__survey=survey).select_related("member")
    totals: dict[int, Decimal] = defaultdict(Decimal)
    own: dict[int, Decimal] = {}
    per_member: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for need in needs:
        totals[need.item_id] += need.quantity
        if organisation is not None and need.member.organisation_id == organisation.pk:
            own[need.item_id] = need.quantity
        if coordinator:
            per_member[need.item_id][need.member_id] = need.quantity
    rows = [
        ItemRow(
            item=item,
            total=totals.get(item.pk, Decimal(0)),
            own=own.get(item.pk),
            by_member=per_member.get(item.pk, {}),
        )
        for item in Item.objects.filter(lot__survey=survey).select_related("lot")
    ]
    members = list(members_of(survey.groupement)) if coordinator else []
    return rows, members


def get_lot(survey: Survey, pk) -> Lot:
    try:
        return survey.lots.get(pk=pk)
    except (Lot.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("Lot introuvable.") from None


@dataclass
class Share:
    lot: Lot
    awarded_amount: Decimal
    holder: Organisation
    amounts: list[tuple[Member, Decimal]]  # the asking member's only, unless coordinator
    # « procédure seule »: each member's own marché (member id → contract), as filtered above.
    member_contracts: dict[int, MemberContract] = field(default_factory=dict)
    # Otherwise: the coordinator's marché signed and notified for all, once notified.
    contract: Contract | None = None


def allocations(user: User, organisation: Organisation | None, survey: Survey) -> list[Share]:
    """The allocated lots: every member's amount for the coordinator, one's own otherwise,
    with the marché(s) that carry them."""
    from .services import member_amounts

    coordinator = is_coordinator(user, organisation, survey.groupement)
    members = {m.pk: m for m in survey.participants.select_related("organisation")}
    shares = []
    lots = survey.lots.filter(allocation__isnull=False).select_related(
        "allocation__decision__winner__company"
    )
    for lot in lots:
        allocation = lot.allocation
        prices = {p.item_id: p.unit_price for p in allocation.prices.all()}
        amounts = member_amounts(lot, prices)
        visible = {
            pk
            for pk in amounts
            if coordinator or (organisation and members[pk].organisation_id == organisation.pk)
        }
        rows = [
            (members[pk], amounts[pk])
            for pk in sorted(visible, key=lambda pk: members[pk].organisation.name)
        ]
        contracts = {
            c.member_id: c
            for c in allocation.member_contracts.select_related("member")
            if c.member_id in visible
        }
        shares.append(
            Share(
                lot=lot,
                awarded_amount=allocation.awarded_amount,
                holder=allocation.decision.winner.company,
                amounts=rows,
                member_contracts=contracts,
                contract=Contract.objects.filter(decision_id=allocation.decision_id).first(),
            )
        )
    return shares


def get_member_contract(user: User, organisation: Organisation | None, pk) -> MemberContract:
    """A member's marché: for that member's managers and the coordinator's."""
    if organisation is None or not may_manage(user, organisation):
        raise Http404("Marché introuvable.")
    try:
        contract = MemberContract.objects.select_related(
            "member__organisation",
            "allocation__lot__survey__groupement__coordinator",
            "allocation__decision__consultation",
            "allocation__decision__lot",
            "allocation__decision__winner__company",
            "signed_by",
        ).get(pk=pk)
    except (MemberContract.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("Marché introuvable.") from None
    groupement = contract.allocation.lot.survey.groupement
    if organisation.pk not in (contract.member.organisation_id, groupement.coordinator_id):
        raise Http404("Marché introuvable.")
    return contract


def costs_of(user: User, organisation: Organisation | None, groupement: Groupement) -> list[dict]:
    """The procedure's costs with every member's part (coordinator) or one's own."""
    coordinator = is_coordinator(user, organisation, groupement)
    names = dict(groupement.members.values_list("organisation_id", "organisation__name"))
    rows = []
    for cost in groupement.costs.all():
        parts = [
            (names.get(int(org_id), "?"), Decimal(amount))
            for org_id, amount in cost.shares.items()
            if coordinator or (organisation and int(org_id) == organisation.pk)
        ]
        rows.append({"cost": cost, "parts": sorted(parts)})
    return rows


@usage.register("groupements", title="Groupements de commandes")
def groupements_usage(organisation: Organisation, year: int) -> dict[str, int]:
    return {
        "Groupements coordonnés": Groupement.objects.filter(coordinator=organisation).count(),
        "Groupements dont membre": Groupement.objects.filter(members__organisation=organisation)
        .distinct()
        .count(),
        "Recensements ouverts dans l'année": Survey.objects.filter(
            groupement__members__organisation=organisation, opened_at__year=year
        )
        .distinct()
        .count(),
    }
