"""The attestation de présence, before the platform seals it."""

from django.conf import settings
from django.urls import reverse

from emegalis.core.pdf import DocumentBuilder, format_date

from ..models import Certificate


def check_url(code: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("formations_certificate_check", args=[code])


def render(certificate: Certificate, *, attended: int, slots: int) -> bytes:
    registration = certificate.registration
    session = registration.session
    trainee = registration.trainee
    days = sorted({slot.date for slot in session.slots.all()})
    doc = DocumentBuilder(
        title=f"Attestation de présence — {session.course.title}", subject=certificate.code
    )
    doc.title_line("Attestation de présence")
    doc.paragraph(
        f"Le syndicat atteste que {trainee.get_full_name() or trainee.email} "
        f"({registration.organisation.name}) a suivi la formation « {session.course.title} »"
        f" du {format_date(days[0])} au {format_date(days[-1])}, pour {certificate.hours} "
        f"heures ({attended} demi-journée{'s' if attended > 1 else ''} sur {slots})."
    )
    doc.paragraph(session.course.objectives, bold_label="Objectifs :")
    doc.paragraph(certificate.code, bold_label="Code de vérification :")
    doc.paragraph(check_url(certificate.code), bold_label="Vérifier en ligne :")
    doc.paragraph(
        "Document signé électroniquement par la plateforme e-mégalis (PAdES, horodaté).",
        style="small",
    )
    return doc.build()
