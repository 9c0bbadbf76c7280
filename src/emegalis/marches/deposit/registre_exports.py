"""The registre des dépôts as CSV and PDF, like the registre des retraits: complete plis only,
and only what the register shows (company, time, size, files, status) — never the content."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.utils import timezone

from emegalis.core import clock, csv_export
from emegalis.core.downloads import name_download
from emegalis.core.pdf import DocumentBuilder, format_date
from emegalis.marches import conf
from emegalis.marches.deposit import selectors

HEADER = [
    "Pli",
    "Entreprise",
    "SIRET",
    "Reçu le (Paris)",
    "Taille (octets)",
    "Fichiers",
    "Statut",
    "Copie de sauvegarde",
]


def _rows(plis):
    for pli in plis:
        yield [
            pli.pk,
            pli.company_label,
            pli.company_siret,
            timezone.localtime(pli.completed_at).strftime("%d/%m/%Y %H:%M:%S"),
            pli.total_size,
            pli.file_count,
            pli.get_status_display(),
            "annoncée" if pli.backup_copy_declared else "",
        ]


@login_required
def registre_depots_csv(request, pk: int):
    consultation, plis = selectors.registre_depots(request.user, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name_download(response, f"registre-depots-{consultation.reference}.csv")
    response.write("\ufeff")  # BOM: spreadsheet software then reads UTF-8 correctly
    writer = csv_export.writer(response, delimiter=";")
    writer.writerow(HEADER)
    writer.writerows(_rows(plis))
    return response


@login_required
def registre_depots_pdf(request, pk: int):
    consultation, plis = selectors.registre_depots(request.user, pk)
    doc = DocumentBuilder(
        title=f"Registre des dépôts — {consultation.reference}", subject=consultation.title
    )
    doc.title_line("Registre des dépôts")
    doc.paragraph(consultation.organisation.name, bold_label="Acheteur :")
    doc.paragraph(f"{consultation.reference} — {consultation.title}", bold_label="Consultation :")
    deadline = timezone.localtime(consultation.bids_deadline).strftime("%d/%m/%Y à %H:%M:%S")
    doc.paragraph(f"{deadline} (heure de Paris)", bold_label="Date limite :")
    doc.paragraph(format_date(timezone.localdate(clock.now())), bold_label="Édité le :")
    doc.spacer(4)
    rows = list(_rows(plis))
    doc.heading(f"Plis reçus ({len(rows)})")
    if rows:
        doc.table(
            [
                [str(r[0]), f"{r[1]}\n{r[2]}".strip(), r[3], conf.human_size(r[4]), str(r[5]), r[6]]
                for r in rows
            ],
            header=["Pli", "Entreprise", "Reçu le", "Taille", "Fichiers", "Statut"],
            col_widths_mm=[12, 48, 34, 20, 16, 40],
        )
    else:
        doc.paragraph("Aucun pli reçu.")
    doc.paragraph(
        "Le contenu des plis reste chiffré jusqu'à la séance d'ouverture : ce registre n'en "
        "montre que la réception."
    )
    response = HttpResponse(doc.build(), content_type="application/pdf")
    name_download(response, f"registre-depots-{consultation.reference}.pdf")
    return response
