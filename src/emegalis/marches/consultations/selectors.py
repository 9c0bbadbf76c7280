"""Reads of the procurement room, scoped to what the asking user may see.

Rules:
- the public (anyone, even without an account) sees consultations once published — every
  state but « brouillon » — with their lots, DCE file list and answered questions;
- a buyer (role acheteur, active membership) sees every consultation of the organisations
  where they are a buyer, drafts included, and only those can be managed;
- nothing else: a draft of another organisation is a 404, as if it did not exist."""

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from emegalis.core import clock, usage
from emegalis.marches import conf
from emegalis.marches.access import buyer_organisations, is_buyer
from emegalis.marches.consultations import cpv, search_backend
from emegalis.marches.consultations.models import (
    Consultation,
    DceFile,
    DceVersion,
    Question,
    Retrait,
    SavedSearch,
    State,
)
from emegalis.organisations.models import User


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


def questions_of(user: User) -> QuerySet[Question]:
    """The questions the user asked, across consultations, newest first."""
    if not user.is_authenticated:
        return Question.objects.none()
    return (
        Question.objects.filter(asked_by=user).select_related("consultation").order_by("-asked_at")
    )


def get_buyer_question(user: User, consultation_pk: int, question_pk: int) -> Question:
    consultation = get_buyer_consultation(user, consultation_pk)
    try:
        return consultation.questions.get(pk=question_pk)
    except Question.DoesNotExist:
        raise Http404("Question introuvable.") from None


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
