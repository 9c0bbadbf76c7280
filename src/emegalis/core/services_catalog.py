"""The services a convention can enable. Shared by adhésions, roles and every service app."""

from django.db import models


class Service(models.TextChoices):
    MARCHES = "marches", "Salle des marchés"
    ACTES = "actes", "Contrôle de légalité"
    GROUPEMENTS = "groupements", "Groupements de commandes"
    COLLABORATIF = "collaboratif", "Outils collaboratifs"
    FORMATIONS = "formations", "Formations"


SERVICE_DESCRIPTIONS: dict[str, str] = {
    Service.MARCHES: (
        "Publiez vos consultations et leurs DCE ; les entreprises les retirent, posent leurs "
        "questions et déposent des plis chiffrés jusqu'à la date limite ; la commission les "
        "ouvre, vous attribuez, et les données essentielles sont publiées."
    ),
    Service.ACTES: (
        "Transmettez vos délibérations, arrêtés, contrats et budgets à la préfecture par "
        "@CTES, suivez l'accusé de réception, répondez aux courriers et récupérez l'acte "
        "tamponné."
    ),
    Service.GROUPEMENTS: (
        "Mutualisez vos besoins : un coordonnateur recense ceux des membres, mène une seule "
        "procédure pour tous et le marché est réparti entre eux."
    ),
    Service.COLLABORATIF: (
        "Espaces de travail partagés entre organisations : documents et versions, discussions "
        "et calendriers."
    ),
    Service.FORMATIONS: (
        "Sessions de formation pour les agents et les entreprises : inscriptions, liste "
        "d'attente, émargement et attestations."
    ),
}

# The four services of the platform shown on the home page (training stands beside them).
MAIN_SERVICES = (Service.MARCHES, Service.ACTES, Service.GROUPEMENTS, Service.COLLABORATIF)

# Where each service's pages start (URL names), once the service has its own screens; the
# generic /services/<code>/ page redirects there.
SERVICE_ENTRY_URL_NAMES: dict[str, str] = {
    Service.MARCHES: "marches_buyer_home",
    Service.ACTES: "actes_home",
    Service.GROUPEMENTS: "groupements_home",
    Service.COLLABORATIF: "collaboratif_home",
    Service.FORMATIONS: "formations_catalogue",
}


def service_cards(enabled: frozenset[str] | None = None, codes=tuple(Service)) -> list[dict]:
    """The services as cards for a page; `enabled` None shows them all as open."""
    return [
        {
            "code": code,
            "label": Service(code).label,
            "description": SERVICE_DESCRIPTIONS[code],
            "enabled": enabled is None or code in enabled,
        }
        for code in codes
    ]
