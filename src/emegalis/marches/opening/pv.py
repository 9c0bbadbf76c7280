"""The opening PVs (procès-verbaux) as PDFs: the session's and a late pli's."""

from emegalis.core.pdf import DocumentBuilder, local_second
from emegalis.marches.conf import human_size
from emegalis.marches.deposit.models import PliStatus


def _pv_start(consultation, title: str, heading: str) -> DocumentBuilder:
    """A PV's title and the consultation it is about: reference, buyer, deadline."""
    doc = DocumentBuilder(title=title, subject=consultation.title)
    doc.title_line(heading)
    doc.paragraph(f"{consultation.reference} — {consultation.title}", bold_label="Consultation :")
    doc.paragraph(consultation.organisation.name, bold_label="Acheteur :")
    doc.paragraph(
        f"{local_second(consultation.bids_deadline)} (heure de Paris)",
        bold_label="Date limite de remise des plis :",
    )
    return doc


def build_pv(session, plis, results) -> bytes:
    """The PV d'ouverture: plis, times, late deposits, integrity of every file."""

    consultation = session.consultation
    doc = _pv_start(
        consultation,
        f"Procès-verbal d'ouverture des plis — {consultation.reference}",
        "Procès-verbal d'ouverture des plis",
    )
    doc.paragraph(f"{local_second(session.opened_at)} (heure de Paris)", bold_label="Ouverture :")
    commission = consultation.opening_commission
    doc.paragraph(
        f"{len(session.share_holders)} part(s) fournie(s), {commission.threshold} "
        f"nécessaires sur {commission.members.count()} : " + " ; ".join(session.share_holders),
        bold_label="Clé d'ouverture reconstituée avec :",
    )
    in_time = [p for p in plis if p.status == PliStatus.RECU]
    doc.heading(f"Plis reçus dans les délais et ouverts ({len(in_time)})")
    if not in_time:
        doc.paragraph("Aucun pli reçu dans les délais.")
    for pli in in_time:
        doc.paragraph(
            f"{pli.company_label}"
            + (f" (SIRET {pli.company_siret})" if pli.company_siret else "")
            + f" — reçu le {local_second(pli.completed_at)} — {pli.file_count} fichier(s), "
            f"{human_size(pli.total_size)}"
            + (" — copie de sauvegarde annoncée" if pli.backup_copy_declared else ""),
            bold_label=f"Pli n° {pli.pk} :",
        )
        _file_verdicts(doc, pli, results)
    late = [p for p in plis if p.status == PliStatus.HORS_DELAI]
    doc.heading(f"Plis hors délai, non ouverts ({len(late)})")
    for pli in late:
        doc.paragraph(
            f"{pli.company_label} — reçu le {local_second(pli.completed_at)}",
            bold_label=f"Pli n° {pli.pk} :",
        )
    if not late:
        doc.paragraph("Aucun.")
    replaced = [p for p in plis if p.status == PliStatus.REMPLACE]
    if replaced:
        doc.heading(f"Plis remplacés par un dépôt ultérieur, non ouverts ({len(replaced)})")
        for pli in replaced:
            doc.paragraph(
                f"{pli.company_label} — reçu le {local_second(pli.completed_at)}",
                bold_label=f"Pli n° {pli.pk} :",
            )
    return doc.build()


def _file_verdicts(doc, pli, results) -> None:
    for pli_file in pli.files.all():
        result = results.get(pli_file.pk)
        verdict = (
            "intègre, SHA-256 conforme à l'accusé de réception"
            if result and result.intact
            else f"ANOMALIE D'INTÉGRITÉ : {result.error if result else 'non ouvert'}"
        )
        doc.paragraph(
            f"{pli_file.piece_label} — {pli_file.name} ({pli_file.size} octets) : {verdict}"
        )
        doc.paragraph(f"SHA-256 de l'accusé : {pli_file.sha256}", style="small")


def build_late_pv(late, results) -> bytes:
    """The complementary PV of a pli received after the deadline and opened on decision."""
    pli = late.pli
    consultation = pli.consultation
    doc = _pv_start(
        consultation,
        f"Procès-verbal d'ouverture d'un pli hors délai — {consultation.reference}",
        "Procès-verbal complémentaire : ouverture d'un pli reçu hors délai",
    )
    doc.paragraph(
        f"{pli.company_label}"
        + (f" (SIRET {pli.company_siret})" if pli.company_siret else "")
        + f" — reçu le {local_second(pli.completed_at)}, après la date limite",
        bold_label=f"Pli n° {pli.pk} :",
    )
    doc.paragraph(late.reason, bold_label="Motivation de l'ouverture :")
    doc.paragraph(f"{local_second(late.opened_at)} (heure de Paris)", bold_label="Ouverture :")
    doc.paragraph(" ; ".join(late.share_holders), bold_label="Clé d'ouverture reconstituée avec :")
    doc.heading("Fichiers")
    _file_verdicts(doc, pli, results)
    return doc.build()
