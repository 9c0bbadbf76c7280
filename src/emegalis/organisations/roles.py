"""Roles a user may hold in an organisation, and the service each one belongs to."""

from django.db import models

from emegalis.core.services_catalog import Service


class Role(models.TextChoices):
    REFERENT = "referent", "Référent (administrateur local)"
    ACHETEUR = "acheteur", "Acheteur"
    COMMISSION = "commission", "Membre de commission d'ouverture"
    AGENT_ACTES = "agent_actes", "Agent actes"
    COORDINATEUR_GROUPEMENT = "coordinateur_groupement", "Coordinateur de groupement"
    MEMBRE_COLLABORATIF = "membre_collaboratif", "Membre d'espace collaboratif"
    STAGIAIRE = "stagiaire", "Stagiaire (formations)"
    ENTREPRISE = "entreprise", "Représentant d'entreprise"
    AGENT_PREFECTURE = "agent_prefecture", "Agent de préfecture"
    OPERATEUR = "operateur", "Gestionnaire de la plateforme"
    SUPPORT = "support", "Support de la plateforme"


ROLE_SERVICE: dict[str, str | None] = {
    Role.REFERENT: None,
    Role.ACHETEUR: Service.MARCHES,
    Role.COMMISSION: Service.MARCHES,
    Role.AGENT_ACTES: Service.ACTES,
    Role.COORDINATEUR_GROUPEMENT: Service.GROUPEMENTS,
    Role.MEMBRE_COLLABORATIF: Service.COLLABORATIF,
    Role.STAGIAIRE: Service.FORMATIONS,
    Role.ENTREPRISE: None,
    Role.AGENT_PREFECTURE: None,
    Role.OPERATEUR: None,
    Role.SUPPORT: None,
}

PLATFORM_STAFF_ROLES = frozenset({Role.OPERATEUR, Role.SUPPORT})
# Holders of these roles must log in with a second factor.
TWO_FACTOR_ROLES = PLATFORM_STAFF_ROLES | {Role.COMMISSION}
