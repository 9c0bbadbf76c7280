"""E-mails of the contrôle de légalité: a courrier of the prefecture has arrived (lettre
d'observations, demande de pièces, déféré…), and a daily reminder of acts sent but still
without acknowledgement. The content stays on the platform; the e-mail says what and where."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from emegalis.actes import protocol as p
from emegalis.actes.models import Direction, Transaction
from emegalis.actes.protocol import TransactionType
from emegalis.core import clock
from emegalis.organisations.models import Organisation, User
from emegalis.organisations.roles import Role

logger = logging.getLogger(__name__)


# An act still « transmis » this long after its sending is reported (the ministry usually
# acknowledges within minutes; a day means a lost archive or a stuck return path).
STUCK_AFTER = timedelta(hours=24)


def agents_of(organisation: Organisation) -> list[str]:
    """E-mail addresses of the organisation's active agents « actes »."""
    return sorted(
        set(
            User.objects.filter(
                is_active=True,
                memberships__organisation=organisation,
                memberships__is_active=True,
                memberships__roles__role=Role.AGENT_ACTES,
            ).values_list("email", flat=True)
        )
    )


def _url(name: str, *args) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(name, args=args)


def _send(recipients, subject: str, body: str) -> int:
    sent = 0
    for address in recipients:
        try:
            send_mail(subject, body, None, [address])
            sent += 1
        except Exception:
            logger.exception("Actes e-mail to %s failed", address)
    return sent


def notify_incoming_letter(letter: Transaction) -> int:
    """Tell the agents that the prefecture sent a courrier about one of their acts."""
    acte = letter.acte
    label = p.MESSAGE_TYPES_BY_CODE[letter.message_code].label
    body = (
        f"La préfecture a adressé un courrier ({label}) au sujet de l'acte n° "
        f"{acte.numero_interne} « {acte.objet} » ({acte.id_acte}).\n\n"
        + (f"Objet : {letter.details}\n\n" if letter.details else "")
        + f"Consultez-le et répondez si besoin : {_url('actes_detail', acte.pk)}\n"
    )
    return _send(agents_of(letter.organisation), f"Courrier de la préfecture — {label}", body)


def stuck_acts(now=None):
    """Acts sent (« transmis ») without an acknowledgement for more than STUCK_AFTER."""
    now = now or clock.now()
    return (
        Transaction.objects.filter(
            type=TransactionType.TRANSMISSION_ACTE,  # not a reply to a courrier
            acte__isnull=True,
            direction=Direction.OUT,
            status=p.ActStatus.TRANSMIS,
            sent_at__lt=now - STUCK_AFTER,
        )
        .select_related("organisation")
        .order_by("organisation_id", "sent_at")
    )


def remind_stuck_acts(now=None) -> int:
    """One e-mail per organisation listing its acts still waiting for an acknowledgement."""
    by_organisation: dict[Organisation, list[Transaction]] = {}
    for acte in stuck_acts(now):
        by_organisation.setdefault(acte.organisation, []).append(acte)
    sent = 0
    for organisation, actes in by_organisation.items():
        lines = "\n".join(
            f"- n° {a.numero_interne} « {a.objet} », envoyé le "
            f"{a.sent_at:%d/%m/%Y à %H:%M} (UTC) : {_url('actes_detail', a.pk)}"
            for a in actes
        )
        body = (
            f"{len(actes)} acte(s) de {organisation.name} envoyé(s) en préfecture n'ont pas "
            "reçu d'accusé de réception depuis plus de 24 heures :\n\n"
            f"{lines}\n\n"
            "Sans accusé de réception, l'acte n'est pas exécutoire. Vérifiez son statut ; "
            "l'exploitant de la plateforme est prévenu et peut relancer la transmission."
        )
        recipients = agents_of(organisation)
        sent += _send(recipients, "Actes en attente d'accusé de réception", body)
    return sent
