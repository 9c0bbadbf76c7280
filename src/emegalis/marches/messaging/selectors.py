"""Reads of the secure messaging, scoped to what the asking user may see.

- a buyer of the consultation's organisation sees every message of that consultation, with
  each bidder (a company with a complete pli);
- an active member of a company sees the messages of that company's threads, across
  consultations;
- nobody else sees anything: a message or thread out of scope is a 404."""

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from emegalis.marches import access
from emegalis.marches.consultations import selectors as consultations_selectors
from emegalis.marches.consultations.models import Consultation
from emegalis.marches.deposit.models import Pli, PliStatus
from emegalis.marches.messaging.models import Message, MessageDirection
from emegalis.organisations.models import Organisation, OrganisationKind, User


def member_companies(user: User) -> QuerySet[Organisation]:
    """The companies the user is an active member of."""
    if not user.is_authenticated:
        return Organisation.objects.none()
    return Organisation.objects.filter(
        kind=OrganisationKind.ENTREPRISE,
        memberships__user=user,
        memberships__is_active=True,
    ).distinct()


def is_company_member(user: User, company: Organisation | None) -> bool:
    if company is None:
        return False
    return member_companies(user).filter(pk=company.pk).exists()


def writable_threads(user: User) -> list[tuple[Consultation, Organisation]]:
    """(consultation, company) pairs where one of the user's companies deposited a complete
    pli: the threads in which it may write to the buyer first."""
    plis = (
        Pli.objects.filter(company__in=member_companies(user))
        .exclude(status=PliStatus.EN_COURS)
        .select_related("consultation__organisation", "company")
        .order_by("-completed_at")
    )
    seen, pairs = set(), []
    for pli in plis:
        key = (pli.consultation_id, pli.company_id)
        if key not in seen:
            seen.add(key)
            pairs.append((pli.consultation, pli.company))
    return pairs


def bidders(consultation: Consultation) -> QuerySet[Organisation]:
    """Companies that completed a deposit for the consultation (in time or not)."""
    deposited = (
        Pli.objects.filter(consultation=consultation)
        .exclude(status=PliStatus.EN_COURS)
        .values("company")
    )
    return Organisation.objects.filter(pk__in=deposited).order_by("name", "pk")


@dataclass(frozen=True)
class Thread:
    """One bidder's exchange with the buyer, as listed on the buyer's messaging page."""

    company: Organisation
    message_count: int
    unread_replies: int
    last_message: Message | None


def consultation_messages(consultation: Consultation) -> QuerySet[Message]:
    return Message.objects.filter(consultation=consultation)


def buyer_threads(consultation: Consultation) -> list[Thread]:
    """Every bidder with its message count, unread replies and last message."""
    messages = consultation_messages(consultation)
    last = messages.filter(company=OuterRef("pk")).order_by("-sent_at", "-pk").values("pk")[:1]
    companies = list(bidders(consultation).annotate(last_pk=Subquery(last)))
    counts = {
        row["company"]: row
        for row in messages.values("company")
        .order_by()
        .annotate(
            n=Count("pk"),
            unread=Count("pk", filter=Q(direction=MessageDirection.TO_BUYER, read_at__isnull=True)),
        )
    }
    lasts = Message.objects.in_bulk([c.last_pk for c in companies if c.last_pk])
    return [
        Thread(
            company=company,
            message_count=counts.get(company.pk, {}).get("n", 0),
            unread_replies=counts.get(company.pk, {}).get("unread", 0),
            last_message=lasts.get(company.last_pk),
        )
        for company in companies
    ]


def buyer_sent_messages(consultation: Consultation) -> QuerySet[Message]:
    """Messages the buyer sent in the consultation, newest first, with their read receipt."""
    return (
        consultation_messages(consultation)
        .filter(direction=MessageDirection.TO_COMPANY)
        .select_related("company")
        .order_by("-sent_at", "-pk")
    )


def buyer_unread_count(user: User, consultation: Consultation) -> int:
    """Replies from companies the consultation's buyers have not opened yet (0 if the user is
    not one of its buyers)."""
    if not access.is_buyer(user, consultation.organisation):
        return 0
    return (
        consultation_messages(consultation)
        .filter(direction=MessageDirection.TO_BUYER, read_at__isnull=True)
        .count()
    )


def get_buyer_thread_company(user: User, consultation_pk: int, company_pk: int):
    """(consultation, company) for the buyer's thread page: the user is a buyer of the
    consultation and the company is one of its bidders; else 404."""
    consultation = consultations_selectors.get_buyer_consultation(user, consultation_pk)
    company = bidders(consultation).filter(pk=company_pk).first()
    if company is None:
        raise Http404("Entreprise introuvable pour cette consultation.")
    return consultation, company


def thread(consultation: Consultation, company: Organisation) -> QuerySet[Message]:
    """Both directions of one exchange, oldest first."""
    return (
        consultation_messages(consultation)
        .filter(company=company)
        .select_related("in_reply_to")
        .order_by("sent_at", "pk")
    )


def from_company(consultation: Consultation, company: Organisation) -> QuerySet[Message]:
    """The company's messages to the buyer in one exchange, oldest first."""
    return thread(consultation, company).filter(direction=MessageDirection.TO_BUYER)


def get_buyer_message(user: User, consultation_pk: int, message_pk: int) -> Message:
    consultation = consultations_selectors.get_buyer_consultation(user, consultation_pk)
    message = consultation_messages(consultation).filter(pk=message_pk).first()
    if message is None:
        raise Http404("Message introuvable.")
    return message


def company_messages(user: User) -> QuerySet[Message]:
    """Every message of the user's companies' threads, newest first."""
    return (
        Message.objects.filter(company__in=member_companies(user))
        .select_related("consultation__organisation", "company")
        .order_by("-sent_at", "-pk")
    )


def company_inbox(user: User) -> QuerySet[Message]:
    """Messages received by the user's companies (from buyers), newest first."""
    return company_messages(user).filter(direction=MessageDirection.TO_COMPANY)


def company_unread_count(user: User) -> int:
    return company_inbox(user).filter(read_at__isnull=True).count()


def get_company_message(user: User, message_pk: int) -> Message:
    """A message of one of the user's companies' threads, else 404."""
    message = company_messages(user).filter(pk=message_pk).first()
    if message is None:
        raise Http404("Message introuvable.")
    return message


def receipt_text(message: Message) -> str:
    """« Lu le 03/12/2026 à 10:12 par x@y » (Paris time) or « Non lu »."""
    if message.read_at is None:
        return "Non lu"
    moment = timezone.localtime(message.read_at)
    by = f" par {message.read_by_label}" if message.read_by_label else ""
    return f"Lu le {moment:%d/%m/%Y} à {moment:%H:%M}{by}"
