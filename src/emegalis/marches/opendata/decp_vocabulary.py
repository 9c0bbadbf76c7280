"""The closed vocabularies of DECP v2 (schema_decp_v2.0.3.json, arrêté du 22 décembre 2022,
annexe 15), as exact French strings: the contract form offers them, the Contract model
stores them, decp.py writes them. A value outside these lists fails the official schema."""

from emegalis.marches.consultations.models import Nature, Procedure

NATURES = ("Marché", "Marché de partenariat", "Marché de défense ou de sécurité")


CCAG = (
    "Travaux",
    "Maitrise d'œuvre",
    "Fournitures courantes et services",
    "Marchés industriels",
    "Prestations intellectuelles",
    "Techniques de l'information et de la communication",
    "Pas de CCAG",
)


TYPES_GROUPEMENT = ("Conjoint", "Solidaire", "Pas de groupement")


LIEU_TYPES_CODE = (
    "Code postal",
    "Code commune",
    "Code arrondissement",
    "Code canton",
    "Code département",
    "Code région",
    "Code pays",
)


FORMES_PRIX = ("Unitaire", "Forfaitaire", "Mixte")


TECHNIQUES = (
    "Accord-cadre",
    "Concours",
    "Système de qualification",
    "Système d'acquisition dynamique",
    "Catalogue électronique",
    "Enchère électronique",
    "Sans objet",
)


MODALITES_EXECUTION = ("Tranches", "Bons de commande", "Marchés subséquents", "Sans objet")


TYPES_PRIX = ("Définitif ferme", "Définitif actualisable", "Définitif révisable", "Provisoire")


CONSIDERATIONS_SOCIALES = (
    "Clause sociale",
    "Critère social",
    "Marché réservé",
    "Pas de considération sociale",
)


CONSIDERATIONS_ENVIRONNEMENTALES = (
    "Clause environnementale",
    "Critère environnemental",
    "Pas de considération environnementale",
)


TYPES_IDENTIFIANT = ("SIRET", "TVA", "TAHITI", "RIDET", "FRWF", "IREP", "HORS-UE")


# Our procedures → DECP `procedure`.
PROCEDURES = {
    Procedure.MAPA: "Procédure adaptée",
    Procedure.AO_OUVERT: "Appel d'offres ouvert",
    Procedure.AO_RESTREINT: "Appel d'offres restreint",
    Procedure.NEGOCIATION: "Procédure avec négociation",
    Procedure.DIALOGUE: "Dialogue compétitif",
    Procedure.SANS_PUBLICITE: "Marché passé sans publicité ni mise en concurrence préalable",
}


# A sensible CCAG by nature, offered as the form's default.
DEFAULT_CCAG = {
    Nature.TRAVAUX: "Travaux",
    Nature.FOURNITURES: "Fournitures courantes et services",
    Nature.SERVICES: "Fournitures courantes et services",
}
