"""Dataclasses for every @CTES message (1-1 … 7-3) and the three envelopes.

Names follow the XSD (``Acte``, ``ARActe``, ``DemandePieceComplementaire``…) so that a reader of
the schema finds them; fields are the XSD names in snake_case. Dates are ``datetime.date``.
Building checks the values (see :mod:`.codec`); constructing a dataclass does not, so that
parsing stays tolerant of what real prefectures send.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, ClassVar

from .classification import Classification
from .constants import KNOWN_ANOMALY_LABELS, MESSAGE_TYPES_BY_CODE, MessageType
from .errors import ProtocolError


class _Record:
    """Lists given for tuple fields are frozen into tuples."""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))


# --- shared parts --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FichierSigne(_Record):
    """A file named in a message (``NomFichier``) with its optional detached signature."""

    nom_fichier: str
    signature: str | None = None


@dataclass(frozen=True, kw_only=True)
class IDCL(_Record):
    """An authority: SIREN, département, arrondissement and authority type (``Nature``)."""

    siren: str
    departement: str
    arrondissement: str
    nature: str


@dataclass(frozen=True, kw_only=True)
class Referent(_Record):
    nom: str | None = None
    telephone: str | None = None
    email: str | None = None


@dataclass(frozen=True, kw_only=True)
class ServicePrefecture(_Record):
    """The sender of a return envelope: a SGAR, a préfecture or a sous-préfecture."""

    kind: str  # "SGAR", "PREF" or "SOUSPREF" (IDSGAR, IDPref, IDSousPref)
    departement: str
    arrondissement: str | None = None


# --- messages ------------------------------------------------------------------------------


class Message(_Record):
    """Base of the 21 business messages."""

    CODE: ClassVar[str]

    @classmethod
    def message_type(cls) -> MessageType:
        return MESSAGE_TYPES_BY_CODE[cls.CODE]

    @property
    def code(self) -> str:
        return self.CODE

    @property
    def root(self) -> str:
        return self.message_type().root


@dataclass(frozen=True, kw_only=True)
class DonneesActe(_Record):
    """The content of an act (XSD type ``DonneesActe``), shared by 1-1 and its echoes."""

    date_decision: date
    numero_interne: str
    code_nature: int
    matieres: tuple[int, ...]  # CodeMatiere1 … CodeMatiere5, levels 1 and 2 mandatory
    objet: str
    classification_date: date  # ClassificationDateVersion
    document: FichierSigne
    annexes: tuple[FichierSigne, ...] = ()
    precedent_id_acte: str | None = None
    document_papier: str | None = "N"
    # Annexes/@Nombre as read (None when building: the builder writes len(annexes)).
    annexes_declarees: int | None = field(default=None, compare=False)

    @property
    def annexes_incoherentes(self) -> bool:
        """True when a received act declares another number of annexes than it lists."""
        return self.annexes_declarees is not None and self.annexes_declarees != len(self.annexes)


@dataclass(frozen=True, kw_only=True)
class Acte(DonneesActe, Message):
    CODE: ClassVar[str] = "1-1"


@dataclass(frozen=True, kw_only=True)
class ARActe(Message):
    CODE: ClassVar[str] = "1-2"
    id_acte: str
    date_reception: date
    acte_recu: DonneesActe
    classification_date_en_cours: date


@dataclass(frozen=True, kw_only=True)
class AnomalieActe(Message):
    CODE: ClassVar[str] = "1-3"
    date: date
    nature: str  # 3-digit code, kept verbatim
    acte_recu: DonneesActe
    classification_date_en_cours: date
    detail: str | None = None

    @property
    def nature_libelle(self) -> str:
        return anomaly_label(self.nature)


@dataclass(frozen=True, kw_only=True)
class CourrierPref(Message):
    """Base of the messages keyed on a prefecture letter (XSD ``DonneesCourrierPref``)."""

    id_acte: str
    date_courrier_pref: date


@dataclass(frozen=True, kw_only=True)
class CourrierSimple(CourrierPref):
    CODE: ClassVar[str] = "2-1"
    document: FichierSigne


@dataclass(frozen=True, kw_only=True)
class ReponseCourrierSimple(CourrierPref):
    CODE: ClassVar[str] = "2-2"
    document: FichierSigne


@dataclass(frozen=True, kw_only=True)
class DemandePieceComplementaire(CourrierPref):
    CODE: ClassVar[str] = "3-1"
    description_pieces: str
    document: FichierSigne


@dataclass(frozen=True, kw_only=True)
class ARDemandePieceComplementaire(CourrierPref):
    CODE: ClassVar[str] = "3-2"


@dataclass(frozen=True, kw_only=True)
class RefusPieceComplementaire(CourrierPref):
    CODE: ClassVar[str] = "3-3"
    document: FichierSigne


@dataclass(frozen=True, kw_only=True)
class PieceComplementaire(CourrierPref):
    CODE: ClassVar[str] = "3-4"
    documents: tuple[FichierSigne, ...]


@dataclass(frozen=True, kw_only=True)
class ARPieceComplementaire(CourrierPref):
    """AR of a 3-3 or 3-4 reply; ``id_acte``/``date_courrier_pref`` are ``InfosCourrierPref``."""

    CODE: ClassVar[str] = "3-5"
    date_reception: date


@dataclass(frozen=True, kw_only=True)
class LettreObservations(CourrierPref):
    CODE: ClassVar[str] = "4-1"
    motif: str
    document: FichierSigne


@dataclass(frozen=True, kw_only=True)
class ARLettreObservations(CourrierPref):
    CODE: ClassVar[str] = "4-2"


@dataclass(frozen=True, kw_only=True)
class RejetLettreObservations(CourrierPref):
    CODE: ClassVar[str] = "4-3"
    document: FichierSigne


@dataclass(frozen=True, kw_only=True)
class ReponseLettreObservations(CourrierPref):
    CODE: ClassVar[str] = "4-4"
    document: FichierSigne


@dataclass(frozen=True, kw_only=True)
class ARReponseRejetLettreObservations(CourrierPref):
    """AR of a 4-3 or 4-4 reply; ``id_acte``/``date_courrier_pref`` are ``InfosCourrierPref``."""

    CODE: ClassVar[str] = "4-5"
    date_reception: date


@dataclass(frozen=True, kw_only=True)
class DefereTA(Message):
    CODE: ClassVar[str] = "5-1"
    id_acte: str
    date_depot: date
    nature_illegalite: str
    pieces_jointes: tuple[FichierSigne, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Annulation(Message):
    CODE: ClassVar[str] = "6-1"
    id_acte: str


@dataclass(frozen=True, kw_only=True)
class ARAnnulation(Message):
    CODE: ClassVar[str] = "6-2"
    id_acte: str
    date_reception: date


@dataclass(frozen=True, kw_only=True)
class DemandeClassification(Message):
    CODE: ClassVar[str] = "7-1"
    date_classification: date | None = None


@dataclass(frozen=True, kw_only=True)
class RetourClassification(Message):
    CODE: ClassVar[str] = "7-2"
    classification: Classification

    @property
    def date_classification(self) -> date:
        return self.classification.date_classification


@dataclass(frozen=True, kw_only=True)
class ReponseClassificationSansChangement(Message):
    CODE: ClassVar[str] = "7-3"
    date_classification: date


MESSAGE_CLASSES: dict[str, type[Message]] = {
    cls.CODE: cls
    for cls in (
        Acte,
        ARActe,
        AnomalieActe,
        CourrierSimple,
        ReponseCourrierSimple,
        DemandePieceComplementaire,
        ARDemandePieceComplementaire,
        RefusPieceComplementaire,
        PieceComplementaire,
        ARPieceComplementaire,
        LettreObservations,
        ARLettreObservations,
        RejetLettreObservations,
        ReponseLettreObservations,
        ARReponseRejetLettreObservations,
        DefereTA,
        Annulation,
        ARAnnulation,
        DemandeClassification,
        RetourClassification,
        ReponseClassificationSansChangement,
    )
}


# --- envelopes -----------------------------------------------------------------------------


class Envelope(_Record):
    ROOT: ClassVar[str]

    @property
    def root(self) -> str:
        return self.ROOT


@dataclass(frozen=True, kw_only=True)
class EnveloppeCLMISILL(Envelope):
    """Outgoing envelope (authority → ministry): who sends, where to answer, which messages."""

    ROOT: ClassVar[str] = "EnveloppeCLMISILL"
    emetteur: IDCL
    adresses_retour: tuple[str, ...]
    formulaires: tuple[str, ...]  # names of the business XML files (Formulaire/NomFichier)
    referent: Referent | None = None


@dataclass(frozen=True, kw_only=True)
class EnveloppeMISILLCL(Envelope):
    """Return envelope (ministry → authority)."""

    ROOT: ClassVar[str] = "EnveloppeMISILLCL"
    emetteur: ServicePrefecture
    formulaires: tuple[str, ...]
    destinataire_siren: str
    referent: Referent | None = None


@dataclass(frozen=True, kw_only=True)
class AnomalieEnveloppe(Envelope):
    """Rejection of a whole envelope by the ministry; ``nature`` is kept verbatim."""

    ROOT: ClassVar[str] = "AnomalieEnveloppe"
    date: date
    nature: str
    enveloppe_recue: EnveloppeCLMISILL
    detail: str | None = None

    @property
    def nature_libelle(self) -> str:
        return anomaly_label(self.nature)


def anomaly_label(code: str) -> str:
    """A French label for an anomaly code; unknown codes are named, never hidden."""
    known = KNOWN_ANOMALY_LABELS.get(code)
    if known:
        return known
    return f"Anomalie de code {code} (signification non documentée)"


Document = Message | Envelope


def expect[T](value: Any, cls: type[T]) -> T:
    """``value`` if it is a ``cls``, else a ProtocolError naming both."""
    if not isinstance(value, cls):
        raise ProtocolError(f"{cls.__name__} attendu, reçu {type(value).__name__}.")
    return value
