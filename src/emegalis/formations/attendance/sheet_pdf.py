"""The signed feuille d'émargement of a half-day, as a PDF."""

from emegalis.core.pdf import DocumentBuilder, format_date, local_second

from ..models import Sheet


def render(sheet: Sheet, rows) -> bytes:
    slot = sheet.slot
    session = slot.session
    doc = DocumentBuilder(title=f"Feuille d'émargement — {session.course.title}", subject=str(slot))
    doc.title_line("Feuille d'émargement")
    doc.paragraph(session.course.title, bold_label="Formation :")
    doc.paragraph(
        f"{format_date(slot.date)}, {slot.get_half_display().lower()}", bold_label="Demi-journée :"
    )
    doc.paragraph(session.venue or session.video_url or "—", bold_label="Lieu :")
    doc.table(
        [
            [
                r.registration.trainee.get_full_name() or r.registration.trainee.email,
                r.registration.organisation.name,
                r.get_status_display(),
                local_second(r.signed_at) if r.signed_at else "—",
                {"code": "code en salle", "tablette": "signature"}.get(r.method, "formateur"),
            ]
            for r in rows
        ],
        header=["Stagiaire", "Organisation", "Présence", "Émargé le", "Par"],
        col_widths_mm=[42, 42, 26, 36, 24],
    )
    for r in rows:
        if r.signature:
            doc.paragraph(
                r.registration.trainee.get_full_name() or r.registration.trainee.email,
                bold_label="Signature de",
            )
            doc.image(bytes(r.signature), width_mm=60, height_mm=20)
    who = sheet.countersigned_by
    doc.paragraph(
        f"Contresignée par {who.get_full_name() or who.email} le "
        f"{local_second(sheet.countersigned_at)}.",
        bold_label="Formateur :",
    )
    return doc.build()
