"""The deposit receipt (accusé de réception) of a pli, as a PDF signed by the platform."""

import logging

from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction

from emegalis.core import journal, signing
from emegalis.core.pdf import DocumentBuilder, local_second
from emegalis.marches.conf import exact_size
from emegalis.marches.deposit.models import Pli, PliStatus


def build_receipt(pli, files) -> bytes:
    consultation = pli.consultation
    doc = DocumentBuilder(
        title=f"Accusé de réception du pli n° {pli.pk}",
        subject=f"Dépôt pour la consultation {consultation.reference}",
    )
    doc.title_line("Accusé de réception d'un pli électronique")
    doc.paragraph(f"n° {pli.pk}", bold_label="Pli")
    doc.paragraph(
        f"{pli.company_label}" + (f" (SIRET {pli.company_siret})" if pli.company_siret else ""),
        bold_label="Entreprise :",
    )
    doc.paragraph(pli.depositor_label, bold_label="Déposé par :")
    doc.paragraph(consultation.organisation.name, bold_label="Acheteur :")
    doc.paragraph(f"{consultation.reference} — {consultation.title}", bold_label="Consultation :")
    doc.paragraph(consultation.object, bold_label="Objet :")
    doc.paragraph(
        f"{local_second(consultation.bids_deadline)} (heure de Paris)",
        bold_label="Date limite de remise des plis :",
    )
    doc.paragraph(
        f"{local_second(pli.completed_at)} (heure de Paris, horloge du serveur)",
        bold_label="Reçu le :",
    )
    doc.paragraph(pli.get_status_display(), bold_label="Statut :")
    doc.paragraph(
        "annoncée" if pli.backup_copy_declared else "non annoncée",
        bold_label="Copie de sauvegarde :",
    )
    doc.heading("Fichiers reçus")
    for f in files:
        doc.paragraph(f"{f.name} — {exact_size(f.size)}", bold_label=f"{f.piece_label} :")
        doc.paragraph(f"SHA-256 : {f.sha256}", style="small")
    doc.spacer()
    doc.paragraph(
        "Les fichiers sont chiffrés dès leur réception avec la clé d'ouverture de la "
        "consultation ; ils ne pourront être ouverts qu'après la date limite, par la commission "
        "d'ouverture réunie. Les empreintes SHA-256 ci-dessus seront comparées à celles des "
        "fichiers ouverts.",
        style="small",
    )
    return doc.build()


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
