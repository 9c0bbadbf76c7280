"""The deposit receipt (accusé de réception) of a pli, as a PDF signed by the platform."""

from django.utils import timezone

from emegalis.core.pdf import DocumentBuilder

from .conf import human_size


def local_second(moment) -> str:
    """« 12/03/2027 à 11:59:59 » in Europe/Paris."""
    return timezone.localtime(moment).strftime("%d/%m/%Y à %H:%M:%S")


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
        piece = f.get_kind_display() + (f", lot {f.lot.number}" if f.lot_id else "")
        doc.paragraph(f"{f.name} — {f.size} octets ({human_size(f.size)})", bold_label=f"{piece} :")
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
