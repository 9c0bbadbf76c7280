"""The convention constitutive as a PDF, generated from the groupement's record."""

import hashlib

from emegalis.core import clock
from emegalis.core.pdf import DocumentBuilder, format_date

from .models import Cao, CostKey, Groupement, Kind, Missions

MISSION_CLAUSES = {
    Missions.PROCEDURE: (
        "Le coordonnateur organise, dans le respect du code de la commande publique, "
        "l'ensemble de la procédure de passation. Chaque membre signe, notifie et exécute son "
        "marché pour ce qui le concerne (art. L2113-7 du code de la commande publique)."
    ),
    Missions.SIGNATURE: (
        "Le coordonnateur organise la procédure de passation, signe et notifie le marché au "
        "nom et pour le compte de l'ensemble des membres. Chaque membre en assure l'exécution "
        "pour ce qui le concerne (art. L2113-7 du code de la commande publique)."
    ),
    Missions.EXECUTION: (
        "Le coordonnateur organise la procédure de passation, signe, notifie et exécute le "
        "marché au nom et pour le compte de l'ensemble des membres (art. L2113-7 du code de "
        "la commande publique)."
    ),
}

CAO_CLAUSES = {
    Cao.GROUPEMENT: (
        "La commission d'appel d'offres du groupement est composée d'un représentant élu "
        "parmi les membres ayant voix délibérative de la commission d'appel d'offres de chaque "
        "membre qui en dispose (art. L1414-3 I du CGCT)."
    ),
    Cao.COORDINATEUR: (
        "La commission d'appel d'offres compétente est celle du coordonnateur "
        "(art. L1414-3 II du CGCT)."
    ),
}


def _cost_clause(groupement: Groupement) -> str:
    if groupement.cost_key == CostKey.FIXE_VARIABLE:
        return (
            f"Les frais de procédure sont répartis pour {groupement.fixed_part_percent} % à "
            "parts égales entre les membres, et pour le reste au prorata du montant estimé des "
            "besoins de chacun."
        )
    return {
        CostKey.EGAL: "Les frais de procédure sont répartis à parts égales entre les membres.",
        CostKey.BESOINS: (
            "Les frais de procédure sont répartis au prorata du montant estimé des besoins de "
            "chaque membre."
        ),
        CostKey.POPULATION: (
            "Les frais de procédure sont répartis au prorata de la population de chaque membre."
        ),
    }[groupement.cost_key]


def render(groupement: Groupement, *, number: int) -> bytes:
    members = list(
        groupement.members.filter(withdrawn_on__isnull=True).select_related("organisation")
    )
    doc = DocumentBuilder(
        title=f"Convention constitutive — {groupement.object}",
        author=groupement.coordinator.name,
        subject=f"Groupement de commandes, version {number}",
    )
    doc.title_line("Convention constitutive d'un groupement de commandes")
    doc.paragraph(groupement.object, bold_label="Objet :")
    doc.paragraph(f"{number}, établie le {format_date(clock.today())}", bold_label="Version :")
    doc.heading("Article 1 — Constitution et durée")
    kind = (
        "ponctuel : il est constitué pour une procédure"
        if groupement.kind == Kind.PONCTUEL
        else "permanent : il peut conduire plusieurs procédures pendant sa durée"
    )
    doc.paragraph(
        "Il est constitué entre les membres ci-dessous un groupement de commandes régi par les "
        f"articles L2113-6 et L2113-7 du code de la commande publique. Le groupement est {kind}. "
        f"Il court du {format_date(groupement.start_date)} au "
        f"{format_date(groupement.end_date)}."
    )
    doc.heading("Article 2 — Membres")
    doc.table(
        [[m.organisation.name, m.organisation.siren, format_date(m.joined_on)] for m in members],
        header=["Membre", "SIREN", "Membre depuis"],
        col_widths_mm=[100, 35, 35],
    )
    doc.heading("Article 3 — Coordonnateur et missions")
    doc.paragraph(f"{groupement.coordinator.name} est désigné coordonnateur du groupement.")
    doc.paragraph(MISSION_CLAUSES[groupement.missions])
    doc.heading("Article 4 — Commission d'appel d'offres")
    doc.paragraph(CAO_CLAUSES[groupement.cao])
    doc.heading("Article 5 — Frais de procédure")
    doc.paragraph(_cost_clause(groupement))
    doc.heading("Article 6 — Adhésion et retrait")
    doc.paragraph(
        groupement.joining_rules
        or "Une adhésion nouvelle fait l'objet d'un avenant signé par tous les membres ; un "
        "membre qui adhère après le lancement d'une procédure n'y participe pas."
    )
    doc.paragraph(
        groupement.withdrawal_rules
        or "Un membre peut se retirer du groupement ; il ne se retire pas d'une procédure déjà "
        "lancée."
    )
    doc.heading("Article 7 — Approbation et signature")
    doc.paragraph(
        "Chaque membre approuve la présente convention par une délibération de son assemblée "
        "(ou une décision de l'autorité compétente) et la signe sur la plateforme e-mégalis. "
        "Aucune procédure n'est lancée avant la signature de tous les membres."
    )
    return doc.build()


def sha256(pdf: bytes) -> str:
    return hashlib.sha256(pdf).hexdigest()
