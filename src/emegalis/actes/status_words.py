"""What each @CTES status means to the agent, in words; the number stays with the protocol
(and in a tooltip or a detail line for the agent who needs it)."""

from emegalis.actes.protocol import ActStatus as S

WORDS: dict[int, str] = {
    S.ERREUR: "En erreur",
    S.ANNULE: "Annulé",
    S.POSTE: "Déposé, envoi en préparation",
    S.EN_ATTENTE_TRANSMISSION: "En attente d'envoi à la préfecture",
    S.TRANSMIS: "Transmis, accusé de réception attendu",
    S.ACQUITTEMENT_RECU: "Reçu par la préfecture",
    S.VALIDE: "Validé",
    S.REFUSE: "Refusé par la préfecture",
    S.DOCUMENT_RECU: "Courrier reçu, réponse attendue",
    S.ACQUITTEMENT_ENVOYE: "Courrier reçu, accusé de réception envoyé",
    S.EN_ATTENTE_POSTEE: "À confirmer avant l'envoi",
    S.EN_ATTENTE_SIGNATURE: "En attente de signature",
    S.DOCUMENT_RECU_SANS_AR: "Courrier reçu",
}

EXPLANATIONS: dict[int, str] = {
    S.ERREUR: (
        "L'envoi n'a pas abouti et l'acte n'est pas parvenu à la préfecture. La raison est "
        "indiquée ci-dessous : corrigez l'acte et transmettez-le à nouveau. Si la raison tient à "
        "la plateforme (préfecture injoignable), le support est prévenu et vous pouvez "
        "réessayer plus tard."
    ),
    S.REFUSE: (
        "La préfecture a refusé l'envoi (fichier illisible, classification inconnue…) : l'acte "
        "n'est pas transmis. Corrigez-le selon le motif et transmettez-le à nouveau."
    ),
    S.EN_ATTENTE_POSTEE: (
        "L'acte est enregistré mais pas encore envoyé : confirmez l'envoi pour le transmettre."
    ),
    S.TRANSMIS: (
        "L'acte est parti vers la préfecture ; l'accusé de réception arrive en général en "
        "quelques minutes."
    ),
    S.DOCUMENT_RECU: "La préfecture attend votre réponse à ce courrier.",
}


def words(status: int, fallback: str = "") -> str:
    try:
        return WORDS.get(status) or S(status).label
    except ValueError:
        return fallback or f"Statut {status}"


def explanation(status: int) -> str:
    return EXPLANATIONS.get(status, "")
