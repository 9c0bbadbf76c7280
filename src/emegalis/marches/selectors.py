"""Reads of the procurement room, scoped to what the asking user may see.

Rules:
- the public (anyone, even without an account) sees consultations once published — every
  state but « brouillon » — with their lots, DCE file list and answered questions;
- a buyer (role acheteur, active membership) sees every consultation of the organisations
  where they are a buyer, drafts included, and only those can be managed;
- nothing else: a draft of another organisation is a 404, as if it did not exist.
"""

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from emegalis.adhesions.access import may_use
from emegalis.core import clock, usage
from emegalis.core.services_catalog import Service
from emegalis.organisations.models import Organisation, OrganisationKind, User
from emegalis.organisations.roles import Role

from . import conf, cpv, search_backend
from .models import (
    CommissionMember,
    Consultation,
    DceFile,
    DceVersion,
    LateOpening,
    OpeningSession,
    Pli,
    PliStatus,
    Question,
    Retrait,
    SavedSearch,
    State,
)

# --- Who is who ----------------------------------------------------------------------------------


def buyer_organisations(user: User) -> QuerySet[Organisation]:
    """Organisations where the user holds the buyer role (active membership)."""
    if not user.is_authenticated:
        return Organisation.objects.none()
    return Organisation.objects.filter(
        memberships__user=user,
        memberships__is_active=True,
        memberships__roles__role=Role.ACHETEUR,
    ).distinct()


def is_buyer(user: User, organisation: Organisation | None) -> bool:
    if organisation is None or not user.is_authenticated:
        return False
    return buyer_organisations(user).filter(pk=organisation.pk).exists()


def may_publish(user: User, organisation: Organisation | None, on: date | None = None) -> bool:
    """A buyer of an organisation whose convention opens the service on that day."""
    return is_buyer(user, organisation) and may_use(organisation, Service.MARCHES, on)


def company_of(user: User, organisation: Organisation | None = None) -> Organisation | None:
    """The company the user acts for: the given (active) organisation if it is a company the
    user is an active member of, else the first company they are an active member of."""
    if not user.is_authenticated:
        return None
    companies = Organisation.objects.filter(
        kind=OrganisationKind.ENTREPRISE,
        memberships__user=user,
        memberships__is_active=True,
    )
    if (
        organisation is not None
        and organisation.kind == OrganisationKind.ENTREPRISE
        and companies.filter(pk=organisation.pk).exists()
    ):
        return organisation
    return companies.order_by("memberships__pk").first()


def pending_company_memberships(user: User):
    """Companies the user asked to join and whose representatives have not approved yet."""
    if not user.is_authenticated:
        return []
    return list(
        user.memberships.filter(is_active=False, organisation__kind=OrganisationKind.ENTREPRISE)
        .select_related("organisation")
        .order_by("pk")
    )


# --- Consultations -------------------------------------------------------------------------------


def public_consultations() -> QuerySet[Consultation]:
    return Consultation.objects.exclude(state=State.BROUILLON).select_related("organisation")


def buyer_consultations(user: User) -> QuerySet[Consultation]:
    return Consultation.objects.filter(organisation__in=buyer_organisations(user)).select_related(
        "organisation"
    )


def get_buyer_consultation(user: User, pk: int) -> Consultation:
    """A consultation the user may manage (buyer of its organisation), else 404."""
    try:
        return buyer_consultations(user).get(pk=pk)
    except Consultation.DoesNotExist:
        raise Http404("Consultation introuvable.") from None


def get_visible_consultation(user: User, pk: int) -> Consultation:
    """A published consultation, or a draft of the user's own organisation; else 404."""
    consultation = Consultation.objects.select_related("organisation").filter(pk=pk).first()
    if consultation is None:
        raise Http404("Consultation introuvable.")
    if consultation.is_public or is_buyer(user, consultation.organisation):
        return consultation
    raise Http404("Consultation introuvable.")


def get_public_consultation(pk: int) -> Consultation:
    try:
        return public_consultations().get(pk=pk)
    except Consultation.DoesNotExist:
        raise Http404("Consultation introuvable.") from None


def questions_open(consultation: Consultation) -> bool:
    """Questions are accepted while published and before the question deadline; the test
    consultation is always open."""
    if consultation.state != State.PUBLIEE:
        return False
    return consultation.is_test or clock.now() < consultation.questions_deadline


def test_consultation() -> Consultation | None:
    return public_consultations().filter(is_test=True, state=State.PUBLIEE).first()


# --- Search --------------------------------------------------------------------------------------

SORTS = {
    "echeance": ("bids_deadline", "pk"),
    "-echeance": ("-bids_deadline", "-pk"),
    "-publication": ("-published_at", "-pk"),
}
SORT_LABELS = {
    "echeance": "Date limite la plus proche",
    "-echeance": "Date limite la plus lointaine",
    "-publication": "Publication la plus récente",
}


@dataclass
class SearchParams:
    q: str = ""
    cpv: str = ""
    procedure: str = ""
    nature: str = ""
    departement: str = ""
    deadline_from: date | None = None
    deadline_to: date | None = None
    include_closed: bool = False
    sort: str = "echeance"
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The criteria as stored in an alert (dates as ISO strings, empty values dropped)."""
        data = {
            "q": self.q,
            "cpv": self.cpv,
            "procedure": self.procedure,
            "nature": self.nature,
            "departement": self.departement,
            "deadline_from": self.deadline_from.isoformat() if self.deadline_from else "",
            "deadline_to": self.deadline_to.isoformat() if self.deadline_to else "",
            "include_closed": self.include_closed,
        }
        return {k: v for k, v in data.items() if v}

    @classmethod
    def from_json(cls, data: dict) -> "SearchParams":
        def as_date(value):
            return date.fromisoformat(value) if value else None

        return cls(
            q=data.get("q", ""),
            cpv=data.get("cpv", ""),
            procedure=data.get("procedure", ""),
            nature=data.get("nature", ""),
            departement=data.get("departement", ""),
            deadline_from=as_date(data.get("deadline_from")),
            deadline_to=as_date(data.get("deadline_to")),
            include_closed=bool(data.get("include_closed", False)),
        )


def _start_of(day: date) -> datetime:
    """Midnight in Paris, as UTC (OverflowError when that falls outside years 1 to 9999)."""
    return timezone.make_aware(datetime.combine(day, time.min)).astimezone(UTC)


def search_consultations(
    params: SearchParams, *, base: QuerySet[Consultation] | None = None
) -> QuerySet[Consultation]:
    """Published consultations matching the criteria (same search for pages, API, alerts).

    By default only open ones (published, deadline not passed); `include_closed` adds every
    public state.
    """
    queryset = public_consultations() if base is None else base
    if not params.include_closed:
        queryset = queryset.filter(state=State.PUBLIEE, bids_deadline__gt=clock.now())
    queryset = search_backend.filter_text(queryset, params.q)
    if params.cpv:
        prefix = cpv.significant_prefix(params.cpv)
        queryset = queryset.filter(
            Q(cpv_main__startswith=prefix) | Q(cpv_search__contains=f" {prefix}")
        )
    if params.procedure:
        queryset = queryset.filter(procedure=params.procedure)
    if params.nature:
        queryset = queryset.filter(nature=params.nature)
    if params.departement:
        queryset = queryset.filter(departement=params.departement)
    # The search form keeps dates within SEARCH_YEARS; an alert saved before that rule may
    # still hold year 1 or 9999, which has no Paris datetime: no bound on that side then.
    if params.deadline_from:
        with contextlib.suppress(OverflowError):
            queryset = queryset.filter(bids_deadline__gte=_start_of(params.deadline_from))
    if params.deadline_to:
        try:
            end = _start_of(params.deadline_to) + timezone.timedelta(days=1)
        except OverflowError:
            pass
        else:
            queryset = queryset.filter(bids_deadline__lt=end)
    return queryset.order_by(*SORTS.get(params.sort, SORTS["echeance"]))


def paginate(queryset: QuerySet, page: int | str | None, per_page: int | None = None) -> Page:
    paginator = Paginator(queryset, per_page or conf.page_size())
    return paginator.get_page(page)


# --- DCE -----------------------------------------------------------------------------------------


def latest_version(consultation: Consultation) -> DceVersion | None:
    return consultation.dce_versions.order_by("-number").first()


def current_dce_files(consultation: Consultation) -> QuerySet[DceFile]:
    """The files of the published DCE (latest version)."""
    return consultation.dce_files.filter(added_in__isnull=False, removed_in__isnull=True)


def staged_dce_files(consultation: Consultation) -> QuerySet[DceFile]:
    """Files uploaded by the buyer, not yet published (next publication or rectificatif)."""
    return consultation.dce_files.filter(added_in__isnull=True)


def get_current_dce_file(consultation: Consultation, file_pk: int) -> DceFile:
    try:
        return current_dce_files(consultation).get(pk=file_pk)
    except DceFile.DoesNotExist:
        raise Http404("Fichier introuvable.") from None


# --- Registre des retraits, questions ------------------------------------------------------------


@dataclass(frozen=True)
class Registre:
    consultation: Consultation
    identified: list[Retrait]
    anonymous_count: int
    anonymous_by_version: dict[int, int]
    identified_companies: int


def registre(user: User, consultation_pk: int) -> Registre:
    """The register of downloads, for the consultation's buyers only."""
    consultation = get_buyer_consultation(user, consultation_pk)
    retraits = consultation.retraits.select_related("version", "file")
    identified = [r for r in retraits if not r.is_anonymous]
    anonymous = (
        consultation.retraits.filter(user__isnull=True, user_label="")
        .values("version__number")
        .annotate(n=Count("pk"))
        .order_by("version__number")
    )
    by_version = {row["version__number"]: row["n"] for row in anonymous}
    companies = {r.organisation_siret or r.organisation_label or r.user_label for r in identified}
    return Registre(
        consultation=consultation,
        identified=identified,
        anonymous_count=sum(by_version.values()),
        anonymous_by_version=by_version,
        identified_companies=len(companies),
    )


def identified_downloaders(consultation: Consultation) -> QuerySet[User]:
    """Active users who downloaded any version of the DCE while logged in."""
    return User.objects.filter(
        pk__in=consultation.retraits.filter(user__isnull=False).values("user"),
        is_active=True,
    ).order_by("pk")


def has_downloaded(user: User, consultation: Consultation) -> bool:
    return user.is_authenticated and consultation.retraits.filter(user=user).exists()


def public_answers(consultation: Consultation) -> QuerySet[Question]:
    """Answered questions, shown on the notice without the asker's identity."""
    return consultation.questions.filter(answered_at__isnull=False).order_by("answered_at", "pk")


def questions_for_buyer(user: User, consultation: Consultation) -> QuerySet[Question]:
    get_buyer_consultation(user, consultation.pk)
    return consultation.questions.select_related("asked_by", "organisation").order_by("asked_at")


def my_questions(user: User, consultation: Consultation) -> QuerySet[Question]:
    if not user.is_authenticated:
        return Question.objects.none()
    return consultation.questions.filter(asked_by=user).order_by("asked_at")


def get_buyer_question(user: User, consultation_pk: int, question_pk: int) -> Question:
    consultation = get_buyer_consultation(user, consultation_pk)
    try:
        return consultation.questions.get(pk=question_pk)
    except Question.DoesNotExist:
        raise Http404("Question introuvable.") from None


# --- Alerts and downloads of a user ---------------------------------------------------------


def alerts_of(user: User) -> QuerySet[SavedSearch]:
    return SavedSearch.objects.filter(user=user)


def get_alert(user: User, pk: int) -> SavedSearch:
    try:
        return alerts_of(user).get(pk=pk)
    except SavedSearch.DoesNotExist:
        raise Http404("Alerte introuvable.") from None


def downloads_of(user: User) -> QuerySet[Consultation]:
    """Consultations the user downloaded (their company space)."""
    if not user.is_authenticated:
        return Consultation.objects.none()
    return (
        public_consultations()
        .filter(pk__in=Retrait.objects.filter(user=user).values("consultation"))
        .order_by("bids_deadline")
    )


# --- Usage figures (operator dashboard) ----------------------------------------------------------


@usage.register("marches", title="Salle des marchés")
def marches_usage(organisation, year: int) -> dict[str, int]:
    published = Consultation.objects.filter(
        organisation=organisation, published_at__year=year
    ).exclude(state=State.BROUILLON)
    return {
        "Consultations publiées": published.count(),
        "Retraits du DCE": Retrait.objects.filter(
            consultation__organisation=organisation, downloaded_at__year=year
        ).count(),
        "Questions reçues": Question.objects.filter(
            consultation__organisation=organisation, asked_at__year=year
        ).count(),
    }


# --- Opening commission --------------------------------------------------------------------------


def commission_candidates(organisation: Organisation) -> QuerySet[User]:
    """Active users holding the role « membre de commission d'ouverture » in the organisation
    (a role that requires a second factor at login)."""
    return (
        User.objects.filter(
            is_active=True,
            memberships__organisation=organisation,
            memberships__is_active=True,
            memberships__roles__role=Role.COMMISSION,
        )
        .distinct()
        .order_by("last_name", "first_name", "email")
    )


def holds_commission_role(user: User) -> bool:
    """Whether the user is a member of an opening commission in any organisation."""
    return (
        user.is_authenticated
        and User.objects.filter(
            pk=user.pk,
            is_active=True,
            memberships__is_active=True,
            memberships__roles__role=Role.COMMISSION,
        ).exists()
    )


def is_commission_member(user: User, organisation: Organisation) -> bool:
    return user.is_authenticated and commission_candidates(organisation).filter(pk=user.pk).exists()


def commission_seats(user: User) -> QuerySet[CommissionMember]:
    """The user's seats in opening commissions, newest consultation first."""
    if not user.is_authenticated:
        return CommissionMember.objects.none()
    return (
        CommissionMember.objects.filter(user=user)
        .select_related("commission__consultation__organisation")
        .order_by("-commission__consultation__bids_deadline", "-pk")
    )


def get_commission_seat(user: User, consultation_pk: int) -> CommissionMember:
    """The user's seat in that consultation's commission, else 404."""
    seat = commission_seats(user).filter(commission__consultation_id=consultation_pk).first()
    if seat is None:
        raise Http404("Vous n'êtes pas membre de la commission d'ouverture de cette consultation.")
    return seat


# --- Plis ----------------------------------------------------------------------------------------


def registre_depots(user: User, consultation_pk: int) -> tuple[Consultation, QuerySet[Pli]]:
    """The buyer's register of deposits: complete plis only (never the incomplete ones), and
    only what the register shows (company, time, size, file count, status)."""
    consultation = get_buyer_consultation(user, consultation_pk)
    plis = (
        Pli.objects.filter(consultation=consultation)
        .exclude(status=PliStatus.EN_COURS)
        .only(
            "pk",
            "company_label",
            "company_siret",
            "depositor_label",
            "completed_at",
            "total_size",
            "file_count",
            "status",
            "backup_copy_declared",
        )
        .order_by("completed_at", "pk")
    )
    return consultation, plis


def company_plis(user: User, consultation: Consultation) -> QuerySet[Pli]:
    """The deposits of the user's company for a consultation (complete or not)."""
    company = company_of(user)
    if company is None:
        return Pli.objects.none()
    return (
        Pli.objects.filter(consultation=consultation, company=company)
        .prefetch_related("files__lot")
        .order_by("-started_at", "-pk")
    )


def get_company_pli(user: User, pli_pk: int) -> Pli:
    company = company_of(user)
    pli = (
        Pli.objects.select_related("consultation__organisation")
        .filter(pk=pli_pk, company=company)
        .first()
        if company
        else None
    )
    if pli is None:
        raise Http404("Pli introuvable.")
    return pli


def get_opening_session(user: User, consultation_pk: int) -> OpeningSession:
    """The opening session of a consultation, for its buyers and its commission; else 404."""
    session = (
        OpeningSession.objects.select_related("consultation__organisation")
        .filter(consultation_id=consultation_pk)
        .first()
    )
    if session is not None and user.is_authenticated:
        if is_buyer(user, session.consultation.organisation):
            return session
        if commission_seats(user).filter(commission__consultation_id=consultation_pk).exists():
            return session
    raise Http404("Séance d'ouverture introuvable.")


def late_plis(consultation: Consultation) -> QuerySet[Pli]:
    """The plis of a consultation received after its deadline (for its commission's page)."""
    return (
        consultation.plis.filter(status=PliStatus.HORS_DELAI)
        .select_related("late_opening")
        .order_by("completed_at", "pk")
    )


def get_late_opening(user: User, consultation_pk: int, pli_pk: int) -> LateOpening:
    """A late pli's opening, for the consultation's buyers and commission; else 404."""
    get_opening_session(user, consultation_pk)  # same audience as the main PV
    late = (
        LateOpening.objects.select_related("pli__consultation")
        .filter(pli_id=pli_pk, pli__consultation_id=consultation_pk)
        .first()
    )
    if late is None:
        raise Http404("Ouverture introuvable.")
    return late
