"""Issuing the signed receipt of a pli, and issuing it later when it could not be signed.

The receipt is signed with an RFC 3161 timestamp from the TSA (a remote, qualified service in
production). If that service does not answer when a company confirms its deposit — at 11:59
before a noon deadline — the deposit must still count: the pli is recorded « reçu » (or
« hors délai ») at the server's time and journaled as usual, and its receipt, which states
that time, is signed and e-mailed as soon as the service answers again
(``issue_missing_receipts``, every minute through ``run_periodic``).
"""

import logging

from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction

from emegalis.core import journal, signing

from .models import Pli, PliStatus
from .receipts import build_receipt, local_second

logger = logging.getLogger(__name__)

ISSUED_STATUSES = (PliStatus.RECU, PliStatus.HORS_DELAI, PliStatus.REMPLACE)
GIVE_UP_AFTER = 3  # failed signatures in one run before waiting for the next run


def signed_receipt(pli: Pli, files) -> bytes | None:
    """The receipt PDF, signed and timestamped; None (logged) when signing failed."""
    try:
        return signing.sign_pdf(
            build_receipt(pli, files),
            reason=f"Accusé de réception du pli n° {pli.pk} ({pli.consultation.reference})",
            kind="accuse_reception",
            object_type="pli",
            object_id=pli.pk,
        )
    except Exception:  # TSA unreachable or refusing, signing key unreadable…
        logger.exception("Receipt of pli %s not signed now: it will be issued later", pli.pk)
        return None


def attach(pli: Pli, pdf: bytes) -> None:
    """Store the receipt on the pli (the caller saves the row)."""
    pli.receipt.save(f"accuse-{pli.pk}.pdf", ContentFile(pdf), save=False)


def email_receipt(pli: Pli, pdf: bytes) -> None:
    consultation = pli.consultation
    message = EmailMessage(
        subject=f"Accusé de réception de votre pli — {consultation.reference}",
        body=(
            f"Votre pli pour la consultation {consultation.reference} « {consultation.title} » "
            f"({consultation.organisation.name}) a été reçu le {local_second(pli.completed_at)} "
            f"(heure de Paris), statut : {pli.get_status_display().lower()}.\n\n"
            "L'accusé de réception, signé et horodaté par la plateforme, est joint ; il liste "
            "chaque fichier avec sa taille et son empreinte SHA-256."
        ),
        to=[pli.depositor.email] if pli.depositor else [],
    )
    message.attach(f"accuse-reception-{pli.pk}.pdf", pdf, "application/pdf")
    try:
        message.send()
    except Exception:
        logger.exception("Receipt e-mail of pli %s failed", pli.pk)


def issue_missing_receipts() -> int:
    """Sign, store and e-mail the receipts of complete plis that have none; returns how many
    were issued. Safe with several schedulers: each pli is locked (SKIP LOCKED) while its
    receipt is issued, and checked again under the lock."""
    issued = failures = 0
    pending = (
        Pli.objects.filter(status__in=ISSUED_STATUSES, receipt="", completed_at__isnull=False)
        .order_by("completed_at")
        .values_list("pk", flat=True)
    )
    for pk in list(pending):
        with transaction.atomic():
            pli = (
                Pli.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("consultation__organisation", "depositor")
                .filter(pk=pk, receipt="")
                .first()
            )
            if pli is None:
                continue
            pdf = signed_receipt(pli, list(pli.files.order_by("pk")))
            if pdf is None:
                failures += 1
                if failures >= GIVE_UP_AFTER:
                    break  # the service still fails: the next run tries again
                continue  # this pli only, perhaps: the others are not held back by it
            attach(pli, pdf)
            pli.save(update_fields=["receipt"])
            journal.record(
                action="marches.pli.receipt_issued",
                actor=None,
                organisation=pli.consultation.organisation,
                target=pli,
                payload={"consultation": pli.consultation.reference, "late_issue": True},
            )
            transaction.on_commit(lambda pli=pli, pdf=pdf: email_receipt(pli, pdf))
            issued += 1
    return issued
