"""Fixed vocabulary of the @CTES protocol: namespaces, message codes, natures, limits.

Sources: the XSD ``actesv1_1.xsd`` and the domain brief (``docs/domain/actes.md`` of the shared
folder, sections 1, 3, 4 and 6). Values marked [unconfirmed] there are marked here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ACTES_NS = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216"
INSEE_NS = "http://xml.insee.fr/schema"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"actes": ACTES_NS, "insee": INSEE_NS, "xsi": XSI_NS}
SCHEMA_LOCATION = f"{ACTES_NS} actesv1_1.xsd"

XML_ENCODING = "ISO-8859-1"
XML_DECLARATION = b'<?xml version="1.0" encoding="ISO-8859-1"?>\n'

OBJET_MAX_LENGTH = 500
NUMERO_INTERNE_MAX_LENGTH = 15
DAILY_SERIAL_MAX = 9999


class Direction(StrEnum):
    CL_TO_PREF = "CL→PREF"
    PREF_TO_CL = "PREF→CL"
    MINISTRY_TO_CL = "MISILL→CL"


@dataclass(frozen=True)
class MessageType:
    """One business message of the protocol: its code, root element and direction."""

    code: str  # "1-1" … "7-3"
    root: str  # root element name in the actes namespace
    direction: Direction
    label: str  # French label

    @property
    def family(self) -> int:
        """The transaction type (1 acte … 7 classification) the message belongs to."""
        return int(self.code.split("-")[0])


_CL, _PREF = Direction.CL_TO_PREF, Direction.PREF_TO_CL

MESSAGE_TYPES: tuple[MessageType, ...] = (
    MessageType("1-1", "Acte", _CL, "Transmission d'un acte"),
    MessageType("1-2", "ARActe", _PREF, "Accusé de réception d'un acte"),
    MessageType("1-3", "AnomalieActe", _PREF, "Anomalie dans la transmission d'un acte"),
    MessageType("2-1", "CourrierSimple", _PREF, "Courrier simple"),
    MessageType("2-2", "ReponseCourrierSimple", _CL, "Réponse à un courrier simple"),
    MessageType("3-1", "DemandePieceComplementaire", _PREF, "Demande de pièces complémentaires"),
    MessageType(
        "3-2",
        "ARDemandePieceComplementaire",
        _CL,
        "Accusé de réception d'une demande de pièces complémentaires",
    ),
    MessageType("3-3", "RefusPieceComplementaire", _CL, "Refus d'envoi de pièces complémentaires"),
    MessageType("3-4", "PieceComplementaire", _CL, "Envoi de pièces complémentaires"),
    MessageType(
        "3-5",
        "ARPieceComplementaire",
        _PREF,
        "Accusé de réception de la réponse à une demande de pièces",
    ),
    MessageType("4-1", "LettreObservations", _PREF, "Lettre d'observations"),
    MessageType(
        "4-2", "ARLettreObservations", _CL, "Accusé de réception d'une lettre d'observations"
    ),
    MessageType(
        "4-3", "RejetLettreObservations", _CL, "Refus de répondre à une lettre d'observations"
    ),
    MessageType("4-4", "ReponseLettreObservations", _CL, "Réponse à une lettre d'observations"),
    MessageType(
        "4-5",
        "ARReponseRejetLettreObservations",
        _PREF,
        "Accusé de réception de la réponse à une lettre d'observations",
    ),
    MessageType("5-1", "DefereTA", _PREF, "Déféré au tribunal administratif"),
    MessageType("6-1", "Annulation", _CL, "Annulation de la transmission d'un acte"),
    MessageType("6-2", "ARAnnulation", _PREF, "Accusé de réception d'une annulation"),
    MessageType("7-1", "DemandeClassification", _CL, "Demande de classification"),
    MessageType("7-2", "RetourClassification", _PREF, "Classification"),
    MessageType(
        "7-3",
        "ReponseClassificationSansChangement",
        _PREF,
        "Classification inchangée",
    ),
)
MESSAGE_TYPES_BY_CODE = {m.code: m for m in MESSAGE_TYPES}
MESSAGE_TYPES_BY_ROOT = {m.root: m for m in MESSAGE_TYPES}

ENVELOPE_ROOTS = ("EnveloppeCLMISILL", "EnveloppeMISILLCL", "AnomalieEnveloppe")


@dataclass(frozen=True)
class NatureInfo:
    code: int
    abbreviation: str
    label: str
    default_typology: str


# Brief §6. No nature 7 was observed anywhere.
NATURES: dict[int, NatureInfo] = {
    1: NatureInfo(1, "DE", "Délibérations", "99_DE"),
    2: NatureInfo(2, "AR", "Actes réglementaires", "99_AR"),
    3: NatureInfo(3, "AI", "Actes individuels", "99_AI"),
    4: NatureInfo(4, "CC", "Contrats, conventions et avenants", "99_DC"),
    5: NatureInfo(5, "BF", "Documents budgétaires et financiers", "99_BU"),
    6: NatureInfo(6, "AU", "Autres", "99_AU"),
}
NATURES_BY_ABBREVIATION = {n.abbreviation: n for n in NATURES.values()}

# Typology of an electronic signature file: valid for every nature (brief §4).
SIGNATURE_TYPOLOGY = "99_SE"

# Brief §1, from S²LOW's db/init_data.sql [unconfirmed completeness].
AUTHORITY_NATURES: dict[str, str] = {
    "11": "Conseil régional",
    "12": "EPLE",
    "14": "SEM locale",
    "21": "Conseil départemental",
    "22": "Établissement public de santé",
    "23": "EPLE",
    "24": "Autre établissement public",
    "25": "SEM locale",
    "31": "Commune",
    "32": "Établissement public de santé",
    "33": "Autre établissement public",
    "34": "SEM locale",
    "41": "Syndicat de communes / syndicat mixte fermé",
    "42": "Syndicat mixte ouvert",
    "43": "Syndicat d'agglomération nouvelle",
    "44": "Communauté de communes",
    "45": "Communauté urbaine",
    "46": "Communauté d'agglomération",
    "47": "SEM locale",
    "51": "SDIS",
    "52": "Entente interdépartementale",
    "53": "Entente interrégionale",
    "54": "SEM locale",
    "55": "Autre",
    "61": "Association syndicale",
    "62": "Association syndicale",
    "63": "Association foncière",
    "71": "Autre",
    "72": "SPL / SPLA",
    "73": "SEM locale",
    "74": "Commission syndicale (biens indivis)",
}

# Brief §3: only one anomaly meaning is documented; every other code is shown verbatim.
ENVELOPE_ANOMALY_CODES = ("001", "002", "003", "004", "005", "100")
KNOWN_ANOMALY_LABELS: dict[str, str] = {
    "005": "SIREN non encore enregistré en préfecture (PREF-VERIF-02)",
}

# Brief §4 (S²LOW): formats accepted for each kind of file.
MAIN_DOCUMENT_EXTENSIONS = frozenset({"pdf"})
BUDGET_MAIN_DOCUMENT_EXTENSIONS = frozenset({"pdf", "xml"})
ANNEX_EXTENSIONS = frozenset({"pdf", "xml", "jpg", "png"})
REPLY_EXTENSIONS = frozenset({"pdf", "xml", "jpg", "png"})
