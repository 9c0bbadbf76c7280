"""Reads of the contrôle de légalité, scoped to what the asking user may see.

Rules: an agent actes sees the transactions of the organisations where they hold the role
(active membership), nothing else — another authority's act is a 404, as if it did not exist.
The public sees the publication register: acts marked published, with their stamped PDF.
Platform staff see the unexpected returns."""

from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from emegalis.actes import protocol as p
from emegalis.actes.models import Document, IncomingMessage, Transaction
from emegalis.actes.protocol import TransactionType
from emegalis.core import usage
from emegalis.organisations.models import Organisation, User
from emegalis.organisations.roles import Role

S = p.ActStatus


def agent_organisations(user: User) -> QuerySet[Organisation]:
    if not user.is_authenticated:
        return Organisation.objects.none()
    return Organisation.objects.filter(
        memberships__user=user,
        memberships__is_active=True,
        memberships__roles__role=Role.AGENT_ACTES,
    ).distinct()


def transactions_for(user: User, organisation: Organisation | None) -> QuerySet[Transaction]:
    """Every transaction of the organisation, if the user is one of its agents actes."""
    if organisation is None or not agent_organisations(user).filter(pk=organisation.pk).exists():
        return Transaction.objects.none()
    return Transaction.objects.filter(organisation=organisation)


def actes_for(user: User, organisation: Organisation | None) -> QuerySet[Transaction]:
    return (
        transactions_for(user, organisation)
        .filter(type=TransactionType.TRANSMISSION_ACTE)
        .order_by("-created_at", "-pk")
    )


def get_transaction(user: User, organisation: Organisation | None, pk) -> Transaction:
    try:
        return transactions_for(user, organisation).select_related("acte", "reply_to").get(pk=pk)
    except (Transaction.DoesNotExist, ValueError, TypeError):
        raise Http404("Transaction introuvable.") from None


def get_acte(user: User, organisation: Organisation | None, pk) -> Transaction:
    tx = get_transaction(user, organisation, pk)
    if tx.type != TransactionType.TRANSMISSION_ACTE:
        raise Http404("Acte introuvable.")
    return tx


def get_document(user: User, organisation: Organisation | None, pk) -> Document:
    try:
        return Document.objects.select_related("transaction").get(
            pk=pk, transaction__in=transactions_for(user, organisation)
        )
    except (Document.DoesNotExist, ValueError, TypeError):
        raise Http404("Document introuvable.") from None


def main_document(acte: Transaction) -> Document | None:
    return acte.documents.filter(kind=Document.Kind.MAIN).first()


def prefecture_documents(user: User, organisation: Organisation | None) -> QuerySet[Transaction]:
    """Letters received from the prefecture (2-1, 3-1, 4-1, 5-1), newest first."""
    return (
        transactions_for(user, organisation)
        .filter(direction="in")
        .select_related("acte")
        .order_by("-created_at", "-pk")
    )


def unexpected_messages(user: User) -> QuerySet[IncomingMessage]:
    if not (user.is_authenticated and user.is_platform_staff):
        return IncomingMessage.objects.none()
    return IncomingMessage.objects.filter(
        outcome=IncomingMessage.Outcome.UNEXPECTED
    ).select_related("archive", "organisation", "transaction")


def unexpected_for_acte(acte: Transaction) -> QuerySet[IncomingMessage]:
    return IncomingMessage.objects.filter(
        transaction=acte, outcome=IncomingMessage.Outcome.UNEXPECTED, resolved_at__isnull=True
    )


def published_actes(organisation: Organisation) -> QuerySet[Transaction]:
    return Transaction.objects.filter(
        organisation=organisation,
        type=TransactionType.TRANSMISSION_ACTE,
        published_on__isnull=False,
        id_acte__gt="",
    ).order_by("-published_on", "-pk")


def organisations_publishing_actes() -> QuerySet[Organisation]:
    """The authorities with at least one act in their public registre, by name."""
    return (
        Organisation.objects.filter(
            pk__in=Transaction.objects.filter(
                type=TransactionType.TRANSMISSION_ACTE, published_on__isnull=False, id_acte__gt=""
            ).values("organisation")
        )
        .annotate(
            published=Count(
                "actes_transactions",
                filter=Q(actes_transactions__published_on__isnull=False),
            )
        )
        .order_by("name")
    )


@usage.register("actes", title="Contrôle de légalité")
def actes_usage(organisation, year: int) -> dict[str, int]:
    acts = Transaction.objects.filter(
        organisation=organisation, type=TransactionType.TRANSMISSION_ACTE, created_at__year=year
    )
    return {
        "Actes transmis": acts.exclude(
            status__in=[S.EN_ATTENTE_POSTEE, S.EN_ATTENTE_SIGNATURE]
        ).count(),
        "Actes acquittés": acts.filter(id_acte__gt="").count(),
        "Courriers de la préfecture": Transaction.objects.filter(
            organisation=organisation, direction="in", created_at__year=year
        ).count(),
    }


def acknowledged_acte(organisation: Organisation, reference: str) -> Transaction | None:
    """The organisation's own act named by its unique identifier or its number, if the
    prefecture has acknowledged it (for another service checking a deliberation, e.g. a
    groupement's convention approved by this organisation)."""
    reference = (reference or "").strip()
    if not reference:
        return None
    return (
        Transaction.objects.filter(
            organisation=organisation,
            type=TransactionType.TRANSMISSION_ACTE,
            date_reception__isnull=False,
        )
        .exclude(status__in=(S.ANNULE, S.ERREUR))
        .filter(models.Q(id_acte=reference) | models.Q(numero_interne=reference))
        .order_by("-pk")
        .first()
    )
