"""Transaction statuses and the state machine, as plain data (brief §7).

The numbers are S²LOW's (``db/init_data.sql``): client software such as Pastell reads them, so
they are kept as they are. The Django side applies :data:`TRANSITIONS` in its services; this
module only says what is allowed. Entries marked ``derived=True`` are not in the brief's table
but follow from its text (statuses listed without their transitions) — [unconfirmed].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType

from .errors import TransitionError


class ActStatus(IntEnum):
    ERREUR = -1
    ANNULE = 0
    POSTE = 1
    EN_ATTENTE_TRANSMISSION = 2
    TRANSMIS = 3
    ACQUITTEMENT_RECU = 4
    VALIDE = 5
    REFUSE = 6
    DOCUMENT_RECU = 7
    ACQUITTEMENT_ENVOYE = 8
    DOCUMENT_ENVOYE = 9
    REFUS_ENVOI = 10
    ACQUITTEMENT_DOCUMENT_RECU = 11
    ENVOYE_SAE = 12
    ARCHIVE_SAE = 13
    ERREUR_ARCHIVAGE = 14
    RECU_SAE = 15
    DETRUITE = 16
    EN_ATTENTE_POSTEE = 17
    EN_ATTENTE_SIGNATURE = 18
    EN_ATTENTE_TRANSMISSION_SAE = 19
    ERREUR_ENVOI_SAE = 20
    DOCUMENT_RECU_SANS_AR = 21
    DOCUMENTS_INDISPONIBLES_SAE = 22

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


S = ActStatus

STATUS_LABELS: Mapping[ActStatus, str] = MappingProxyType(
    {
        S.ERREUR: "Erreur",
        S.ANNULE: "Annulé",
        S.POSTE: "Posté",
        S.EN_ATTENTE_TRANSMISSION: "En attente de transmission",
        S.TRANSMIS: "Transmis",
        S.ACQUITTEMENT_RECU: "Acquittement reçu",
        S.VALIDE: "Validé",
        S.REFUSE: "Refusé",
        S.DOCUMENT_RECU: "Document reçu",
        S.ACQUITTEMENT_ENVOYE: "Acquittement envoyé",
        S.DOCUMENT_ENVOYE: "Document envoyé",
        S.REFUS_ENVOI: "Refus d'envoi",
        S.ACQUITTEMENT_DOCUMENT_RECU: "Acquittement de document reçu",
        S.ENVOYE_SAE: "Envoyé au SAE",
        S.ARCHIVE_SAE: "Archivé par le SAE",
        S.ERREUR_ARCHIVAGE: "Erreur lors de l'archivage",
        S.RECU_SAE: "Reçu par le SAE",
        S.DETRUITE: "Détruite",
        S.EN_ATTENTE_POSTEE: "En attente d'être postée",
        S.EN_ATTENTE_SIGNATURE: "En attente d'être signée",
        S.EN_ATTENTE_TRANSMISSION_SAE: "En attente de transmission au SAE",
        S.ERREUR_ENVOI_SAE: "Erreur lors de l'envoi au SAE",
        S.DOCUMENT_RECU_SANS_AR: "Document reçu (pas d'AR)",
        S.DOCUMENTS_INDISPONIBLES_SAE: "Impossible d'envoyer au SAE (documents indisponibles)",
    }
)

# Statuses 9, 10, 11 are legacy; their current use is [unconfirmed] (brief §7).
LEGACY_STATUSES = frozenset({S.DOCUMENT_ENVOYE, S.REFUS_ENVOI, S.ACQUITTEMENT_DOCUMENT_RECU})


class TransactionType(IntEnum):
    TRANSMISSION_ACTE = 1
    COURRIER_SIMPLE = 2
    DEMANDE_PIECES_COMPLEMENTAIRES = 3
    LETTRE_OBSERVATIONS = 4
    DEFERE_TA = 5
    ANNULATION = 6
    DEMANDE_CLASSIFICATION = 7

    @property
    def label(self) -> str:
        return TRANSACTION_TYPE_LABELS[self]


TRANSACTION_TYPE_LABELS: Mapping[TransactionType, str] = MappingProxyType(
    {
        TransactionType.TRANSMISSION_ACTE: "Transmission d'acte",
        TransactionType.COURRIER_SIMPLE: "Courrier simple",
        TransactionType.DEMANDE_PIECES_COMPLEMENTAIRES: "Demande de pièces complémentaires",
        TransactionType.LETTRE_OBSERVATIONS: "Lettre d'observations",
        TransactionType.DEFERE_TA: "Déféré au tribunal administratif",
        TransactionType.ANNULATION: "Annulation",
        TransactionType.DEMANDE_CLASSIFICATION: "Demande de classification",
    }
)


@dataclass(frozen=True)
class Transition:
    source: ActStatus
    target: ActStatus
    trigger: str  # French: what causes it
    derived: bool = False  # not in the brief's table, inferred from its text [unconfirmed]


# Statuses a transaction may be created in.
INITIAL_STATUSES = frozenset(
    {
        S.EN_ATTENTE_SIGNATURE,  # created with signature pending (API must_signed)
        S.EN_ATTENTE_POSTEE,  # created through the API, awaiting an agent's confirmation
        S.POSTE,  # created and confirmed at once
        S.DOCUMENT_RECU,  # incoming 3-1 / 4-1
        S.DOCUMENT_RECU_SANS_AR,  # incoming 2-1 / 5-1
    }
)

TRANSITION_LIST: tuple[Transition, ...] = (
    Transition(S.EN_ATTENTE_SIGNATURE, S.EN_ATTENTE_POSTEE, "signature apposée"),
    Transition(S.EN_ATTENTE_SIGNATURE, S.POSTE, "signature apposée, envoi confirmé", True),
    Transition(S.EN_ATTENTE_POSTEE, S.POSTE, "confirmation par un agent (certificat RGS)"),
    Transition(S.POSTE, S.EN_ATTENTE_TRANSMISSION, "archive construite et validée"),
    Transition(S.EN_ATTENTE_TRANSMISSION, S.TRANSMIS, "archive remise au ministère"),
    Transition(
        S.TRANSMIS,
        S.ACQUITTEMENT_RECU,
        "accusé de réception (ARActe, ARAnnulation, 3-5, 4-5, 7-2 ou 7-3)",
    ),
    Transition(S.TRANSMIS, S.ERREUR, "AnomalieActe ou AnomalieEnveloppe"),
    Transition(S.POSTE, S.ERREUR, "échec de la vérification locale après dépôt"),
    Transition(S.EN_ATTENTE_TRANSMISSION, S.ERREUR, "échec de la vérification avant envoi"),
    Transition(S.EN_ATTENTE_TRANSMISSION, S.POSTE, "remise en file par un opérateur", True),
    Transition(S.ACQUITTEMENT_RECU, S.ANNULE, "ARAnnulation de la transaction d'annulation"),
    Transition(S.ACQUITTEMENT_RECU, S.VALIDE, "clôture par la collectivité : non contesté"),
    Transition(S.ACQUITTEMENT_RECU, S.REFUSE, "clôture par la collectivité : contesté"),
    Transition(S.ACQUITTEMENT_RECU, S.EN_ATTENTE_TRANSMISSION_SAE, "versement au SAE"),
    Transition(S.VALIDE, S.EN_ATTENTE_TRANSMISSION_SAE, "versement au SAE"),
    Transition(S.REFUSE, S.EN_ATTENTE_TRANSMISSION_SAE, "versement au SAE"),
    Transition(S.EN_ATTENTE_TRANSMISSION_SAE, S.ENVOYE_SAE, "envoyé au SAE"),
    Transition(S.ENVOYE_SAE, S.ARCHIVE_SAE, "archivé par le SAE"),
    Transition(S.ENVOYE_SAE, S.RECU_SAE, "reçu par le SAE", True),
    Transition(S.RECU_SAE, S.ARCHIVE_SAE, "archivé par le SAE", True),
    Transition(S.ENVOYE_SAE, S.ERREUR_ARCHIVAGE, "erreur d'archivage", True),
    Transition(S.EN_ATTENTE_TRANSMISSION_SAE, S.ERREUR_ENVOI_SAE, "erreur d'envoi au SAE", True),
    Transition(
        S.EN_ATTENTE_TRANSMISSION_SAE,
        S.DOCUMENTS_INDISPONIBLES_SAE,
        "documents indisponibles pour le SAE",
        True,
    ),
    Transition(S.ERREUR_ENVOI_SAE, S.EN_ATTENTE_TRANSMISSION_SAE, "nouvel essai", True),
    Transition(S.ERREUR_ARCHIVAGE, S.EN_ATTENTE_TRANSMISSION_SAE, "nouvel essai", True),
    Transition(S.ARCHIVE_SAE, S.DETRUITE, "purge après archivage", True),
    Transition(S.DOCUMENT_RECU, S.ACQUITTEMENT_ENVOYE, "AR automatique (3-2 ou 4-2) envoyé"),
)

TRANSITIONS: Mapping[ActStatus, frozenset[ActStatus]] = MappingProxyType(
    {
        status: frozenset(t.target for t in TRANSITION_LIST if t.source == status)
        for status in ActStatus
    }
)


def can_transition(source: int, target: int) -> bool:
    try:
        return ActStatus(target) in TRANSITIONS[ActStatus(source)]
    except ValueError:
        return False


def check_transition(source: int, target: int) -> ActStatus:
    """Return the target status, or raise :class:`TransitionError` with a French message."""
    try:
        src, dst = ActStatus(source), ActStatus(target)
    except ValueError:
        raise TransitionError(f"Statut inconnu : {source} → {target}.") from None
    if dst not in TRANSITIONS[src]:
        raise TransitionError(
            f"Changement de statut interdit : « {src.label} » ({int(src)}) → "
            f"« {dst.label} » ({int(dst)})."
        )
    return dst


def is_closed(transaction_type: int, status: int) -> bool:
    """S²LOW's rule: status ≤ 0, or type 7 past 2, or any other type past 4."""
    if status <= 0:
        return True
    if transaction_type == TransactionType.DEMANDE_CLASSIFICATION:
        return status > 2
    return status > 4


# Actions a user may take on a transaction in a given status (brief §7, "Allowed actions").
ACTIONS_BY_STATUS: Mapping[ActStatus, frozenset[str]] = MappingProxyType(
    {
        S.EN_ATTENTE_SIGNATURE: frozenset({"edit", "sign", "delete"}),
        S.EN_ATTENTE_POSTEE: frozenset({"edit", "confirm", "delete"}),
        S.POSTE: frozenset(),
        S.EN_ATTENTE_TRANSMISSION: frozenset(),
        S.TRANSMIS: frozenset(),
        S.ACQUITTEMENT_RECU: frozenset(
            {"download_ar", "download_stamped", "cancel", "answer", "close", "archive"}
        ),
        S.ERREUR: frozenset({"read_error", "resubmit"}),
        S.DOCUMENT_RECU: frozenset({"answer"}),
        S.ACQUITTEMENT_ENVOYE: frozenset({"answer"}),
    }
)


@dataclass(frozen=True)
class IncomingEffect:
    """What an incoming message does (brief §3, "Platform behaviour")."""

    transaction_type: TransactionType
    new_status: ActStatus | None  # status of the transaction it creates or updates
    expected_status: ActStatus | None  # status the updated transaction must be in
    creates_transaction: bool
    automatic_reply: str | None = None  # code of the AR the platform sends by itself
    note: str = ""


T = TransactionType
INCOMING_EFFECTS: Mapping[str, IncomingEffect] = MappingProxyType(
    {
        "1-2": IncomingEffect(T.TRANSMISSION_ACTE, S.ACQUITTEMENT_RECU, S.TRANSMIS, False),
        "1-3": IncomingEffect(
            T.TRANSMISSION_ACTE,
            S.ERREUR,
            S.TRANSMIS,
            False,
            note="hors statut 3 : mis de côté pour un opérateur, sans changement de statut",
        ),
        "2-1": IncomingEffect(T.COURRIER_SIMPLE, S.DOCUMENT_RECU_SANS_AR, None, True),
        "3-1": IncomingEffect(
            T.DEMANDE_PIECES_COMPLEMENTAIRES, S.DOCUMENT_RECU, None, True, automatic_reply="3-2"
        ),
        "3-5": IncomingEffect(
            T.DEMANDE_PIECES_COMPLEMENTAIRES, S.ACQUITTEMENT_RECU, S.TRANSMIS, False
        ),
        "4-1": IncomingEffect(
            T.LETTRE_OBSERVATIONS, S.DOCUMENT_RECU, None, True, automatic_reply="4-2"
        ),
        "4-5": IncomingEffect(T.LETTRE_OBSERVATIONS, S.ACQUITTEMENT_RECU, S.TRANSMIS, False),
        "5-1": IncomingEffect(
            T.DEFERE_TA, S.DOCUMENT_RECU_SANS_AR, None, True, note="alerte prioritaire"
        ),
        "6-2": IncomingEffect(
            T.ANNULATION,
            S.ACQUITTEMENT_RECU,
            S.TRANSMIS,
            False,
            note="l'acte annulé passe de 4 à 0",
        ),
        "7-2": IncomingEffect(T.DEMANDE_CLASSIFICATION, S.ACQUITTEMENT_RECU, S.TRANSMIS, False),
        "7-3": IncomingEffect(T.DEMANDE_CLASSIFICATION, S.ACQUITTEMENT_RECU, S.TRANSMIS, False),
    }
)
