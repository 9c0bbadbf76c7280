"""Reads of conventions, contributions and calls, scoped to what the asking user may see.

Rules:
- an organisation's conventions are for its members and platform staff;
- a contribution is seen by the payer's members, the beneficiaries' members and staff;
- a call (and its PDF) is for the payer's members and staff only;
- the operator's views (every member, filters, usage) are for platform staff only.
Objects outside a user's scope raise Http404 (their existence is not revealed); operator
reads raise PermissionDenied (403) for anyone else.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404

from emegalis.core import clock, usage
from emegalis.organisations.models import PUBLIC_BUYER_KINDS, Membership, Organisation, User
from emegalis.organisations.selectors import get_organisation, require_platform_staff

from . import access
from .models import (
    Charge,
    Contribution,
    ContributionCall,
    Convention,
    ConventionStatus,
    ConventionStatusChange,
)


def _member_organisation_ids(user: User) -> QuerySet:
    return Membership.objects.filter(user=user, is_active=True).values("organisation_id")


# --- Conventions --------------------------------------------------------------------------------


def _with_details(conventions: QuerySet[Convention]) -> QuerySet[Convention]:
    return conventions.select_related("organisation").prefetch_related(
        "enabled_services",
        Prefetch(
            "status_changes",
            queryset=ConventionStatusChange.objects.select_related("recorded_by").order_by(
                "effective_on", "id"
            ),
        ),
    )


def conventions_visible_to(user: User) -> QuerySet[Convention]:
    if not user.is_authenticated:
        return Convention.objects.none()
    if user.is_platform_staff:
        return Convention.objects.all()
    return Convention.objects.filter(organisation__in=_member_organisation_ids(user))


def conventions_of(user: User, organisation_pk: int) -> tuple[Organisation, QuerySet[Convention]]:
    """An organisation (404 if not visible) and its conventions, newest first."""
    organisation = get_organisation(user, organisation_pk)
    conventions = _with_details(
        Convention.objects.filter(organisation=organisation).order_by("-start_date", "-pk")
    )
    return organisation, conventions


def get_convention(user: User, pk: int) -> Convention:
    try:
        return _with_details(conventions_visible_to(user)).get(pk=pk)
    except Convention.DoesNotExist:
        raise Http404("Convention introuvable.") from None


# --- Contributions and calls --------------------------------------------------------------------


def contributions_visible_to(user: User) -> QuerySet[Contribution]:
    if not user.is_authenticated:
        return Contribution.objects.none()
    if user.is_platform_staff:
        return Contribution.objects.all()
    mine = _member_organisation_ids(user)
    ids = Contribution.objects.filter(Q(payer__in=mine) | Q(beneficiaries__in=mine)).values("pk")
    return Contribution.objects.filter(pk__in=ids)


def calls_visible_to(user: User) -> QuerySet[ContributionCall]:
    """Calls for the payer's members and platform staff (beneficiaries do not see them)."""
    if not user.is_authenticated:
        return ContributionCall.objects.none()
    calls = ContributionCall.objects.select_related("contribution__payer")
    if user.is_platform_staff:
        return calls
    return calls.filter(contribution__payer__in=_member_organisation_ids(user))


def get_call(user: User, pk: int) -> ContributionCall:
    try:
        return calls_visible_to(user).get(pk=pk)
    except ContributionCall.DoesNotExist:
        raise Http404("Appel de contribution introuvable.") from None


def unpaid_calls(user: User) -> QuerySet[ContributionCall]:
    return calls_visible_to(user).filter(paid_on__isnull=True).order_by("issued_on", "number")


@dataclass
class ContributionRow:
    contribution: Contribution
    call: ContributionCall | None  # None when there is none or the user may not see it
    has_call: bool
    is_payer: bool


def contributions_of(
    user: User, organisation_pk: int
) -> tuple[Organisation, list[ContributionRow]]:
    """Contributions paid by or covering an organisation (404 if it is not visible)."""
    organisation = get_organisation(user, organisation_pk)
    ids = Contribution.objects.filter(Q(payer=organisation) | Q(beneficiaries=organisation)).values(
        "pk"
    )
    contributions = (
        contributions_visible_to(user)
        .filter(pk__in=ids)
        .select_related("payer", "call")
        .prefetch_related("beneficiaries")
        .order_by("-year", "payer__name")
    )
    visible_calls = set(
        calls_visible_to(user)
        .filter(contribution__in=[c.pk for c in contributions])
        .values_list("pk", flat=True)
    )
    rows = []
    for contribution in contributions:
        call = getattr(contribution, "call", None)
        rows.append(
            ContributionRow(
                contribution=contribution,
                call=call if call is not None and call.pk in visible_calls else None,
                has_call=call is not None,
                is_payer=contribution.payer_id == organisation.pk,
            )
        )
    return organisation, rows


# --- Operator -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberFilters:
    kind: str = ""
    parent: int | None = None
    status: str = ""
    service: str = ""


def organisations_enabling(service: str, on: date | None = None) -> set[int]:
    """Ids of organisations that may use `service` on a date (the access rule, in bulk)."""
    on = on or clock.today()
    candidates = (
        Convention.objects.filter(start_date__lte=on, enabled_services__service=service)
        .exclude(end_date__lt=on)
        .prefetch_related(
            Prefetch(
                "status_changes",
                queryset=ConventionStatusChange.objects.order_by("effective_on", "id"),
            )
        )
    )
    return {
        c.organisation_id
        for c in candidates
        if access.status_on(c, on) == ConventionStatus.ADHERENT
    }


def operator_members(user: User, filters: MemberFilters) -> QuerySet[Organisation]:
    """Organisations that may sign a convention (not companies nor prefectures), for the
    operator, with the status of their latest convention."""
    require_platform_staff(user)
    latest = Convention.objects.filter(organisation=OuterRef("pk")).order_by("-start_date", "-pk")
    organisations = (
        Organisation.objects.filter(kind__in=PUBLIC_BUYER_KINDS)
        .select_related("parent")
        .annotate(
            latest_status=Subquery(latest.values("current_status")[:1]),
            latest_reference=Subquery(latest.values("reference")[:1]),
        )
        .order_by("name")
    )
    if filters.kind:
        organisations = organisations.filter(kind=filters.kind)
    if filters.parent:
        organisations = organisations.filter(parent_id=filters.parent)
    if filters.status:
        organisations = organisations.filter(latest_status=filters.status)
    if filters.service:
        organisations = organisations.filter(pk__in=organisations_enabling(filters.service))
    return organisations


def epcis(user: User) -> QuerySet[Organisation]:
    """EPCIs that have attached organisations, for the operator's filter."""
    require_platform_staff(user)
    return Organisation.objects.filter(children__isnull=False).distinct().order_by("name")


@dataclass
class MemberDetail:
    organisation: Organisation
    conventions: QuerySet[Convention]
    contributions: list[ContributionRow]
    memberships: QuerySet[Membership]
    enabled_services: frozenset[str]
    usage: list[usage.UsageSection]
    year: int


def operator_member_detail(user: User, pk: int, year: int | None = None) -> MemberDetail:
    require_platform_staff(user)
    organisation, conventions = conventions_of(user, pk)
    _, contributions = contributions_of(user, pk)
    year = year or clock.today().year
    memberships = (
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .prefetch_related("roles")
        .order_by("user__last_name", "user__first_name", "user__email")
    )
    return MemberDetail(
        organisation=organisation,
        conventions=conventions,
        contributions=contributions,
        memberships=memberships,
        enabled_services=access.enabled_services(organisation),
        usage=usage.collect(organisation, year),
        year=year,
    )


def beneficiary_candidates(user: User, payer: Organisation) -> QuerySet[Organisation]:
    """Who a payer's contribution may cover: itself and the organisations attached to it."""
    require_platform_staff(user)
    return Organisation.objects.filter(Q(pk=payer.pk) | Q(parent=payer)).order_by("name")


def get_organisation_for_operator(user: User, pk: int) -> Organisation:
    require_platform_staff(user)
    return get_organisation(user, pk)


def get_convention_for_operator(user: User, pk: int) -> Convention:
    require_platform_staff(user)
    return get_convention(user, pk)


def get_call_for_operator(user: User, pk: int) -> ContributionCall:
    require_platform_staff(user)
    return get_call(user, pk)


def calls_of_year(
    user: User, year: int, *, unpaid_only: bool = False
) -> QuerySet[ContributionCall]:
    require_platform_staff(user)
    calls = (
        ContributionCall.objects.filter(contribution__year=year)
        .select_related("contribution__payer")
        .prefetch_related("contribution__beneficiaries")
        .order_by("number")
    )
    if unpaid_only:
        calls = calls.filter(paid_on__isnull=True)
    return calls


def contributions_without_call(user: User, year: int) -> QuerySet[Contribution]:
    require_platform_staff(user)
    return (
        Contribution.objects.filter(year=year, call__isnull=True)
        .select_related("payer")
        .order_by("payer__name")
    )


# --- Usage figures of this app ------------------------------------------------------------------


@usage.register("adhesions", title="Adhésion")
def adhesions_usage(organisation: Organisation, year: int) -> dict[str, int]:
    """Users, conventions in force and contribution calls of one organisation for a year."""
    today = clock.today()
    # The conventions in force today for the current year, on 31 December for a past year.
    on = today if year >= today.year else date(year, 12, 31)
    calls = ContributionCall.objects.filter(
        contribution__payer=organisation, contribution__year=year
    )
    return {
        "Utilisateurs actifs": Membership.objects.filter(
            organisation=organisation, is_active=True, user__is_active=True
        ).count(),
        "Conventions en vigueur": len(access.conventions_in_force(organisation, on)),
        "Appels de contribution émis": calls.count(),
        "Appels de contribution impayés": calls.filter(paid_on__isnull=True).count(),
    }


def charges_of(user: User, organisation: Organisation) -> QuerySet[Charge]:
    """The amounts charged to the organisation beside its contribution (its members' and
    platform staff's view; the caller has already resolved a visible organisation)."""
    if not user.is_authenticated or not (
        user.is_platform_staff
        or _member_organisation_ids(user).filter(organisation_id=organisation.pk).exists()
    ):
        return Charge.objects.none()
    return Charge.objects.filter(payer=organisation)
