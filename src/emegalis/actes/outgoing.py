"""The protocol messages the authority sends, built from its rows: an act, a reply to a letter, a
cancel, a classification request, and their names on the wire."""

from __future__ import annotations

from emegalis.actes import protocol as p
from emegalis.actes.models import (
    Direction,
    Document,
    Transaction,
)
from emegalis.actes.protocol import TransactionType

# The acknowledgements the platform sends by itself when a letter arrives (brief §8).
AUTOMATIC_AR = {"3-1": "3-2", "4-1": "4-2"}


def transaction_stem(tx: Transaction) -> p.TransactionStem:
    org = tx.organisation
    return p.TransactionStem(
        org.departement, org.siren, tx.decision_date, tx.numero_interne, tx.nature
    )


def acte_message(tx: Transaction) -> p.Acte:
    docs = list(tx.documents.all())
    main = next(d for d in docs if d.kind == Document.Kind.MAIN)
    annexes = [d for d in docs if d.kind in (Document.Kind.ANNEX, Document.Kind.SIGNATURE)]
    return p.Acte(
        date_decision=tx.decision_date,
        numero_interne=tx.numero_interne,
        code_nature=tx.nature,
        matieres=tuple(tx.matieres),
        objet=tx.objet,
        classification_date=tx.classification_date,
        document=p.FichierSigne(nom_fichier=main.wire_name),
        annexes=tuple(p.FichierSigne(nom_fichier=d.wire_name) for d in annexes),
    )


def courrier_keys(tx: Transaction) -> dict:
    letter = tx.reply_to or tx
    return {
        "id_acte": tx.acte.id_acte,
        "date_courrier_pref": letter.date_courrier_pref,
    }


def outgoing_message(tx: Transaction, code: str | None = None) -> p.Message:
    code = code or tx.message_code
    ranked = sorted(tx.documents.all(), key=lambda d: (d.rank, d.pk))  # prefetched or not
    docs = [p.FichierSigne(nom_fichier=d.wire_name) for d in ranked]
    if code == "1-1":
        return acte_message(tx)
    if code == "6-1":
        return p.Annulation(id_acte=tx.acte.id_acte)
    if code == "7-1":
        return p.DemandeClassification(date_classification=tx.classification_date)
    if code == "3-2":
        return p.ARDemandePieceComplementaire(**courrier_keys(tx))
    if code == "4-2":
        return p.ARLettreObservations(**courrier_keys(tx))
    if code == "3-4":
        return p.PieceComplementaire(**courrier_keys(tx), documents=tuple(docs))
    cls = {
        "2-2": p.ReponseCourrierSimple,
        "3-3": p.RefusPieceComplementaire,
        "4-3": p.RejetLettreObservations,
        "4-4": p.ReponseLettreObservations,
    }.get(code)
    if cls is None or not docs:
        raise p.ProtocolError(f"Message sortant non pris en charge : {code}.")
    return cls(**courrier_keys(tx), document=docs[0])


def message_name(tx: Transaction, code: str) -> str:
    if tx.type == TransactionType.DEMANDE_CLASSIFICATION:
        org = tx.organisation
        return p.TransactionStem(org.departement, org.siren).message_name(code)
    if tx.type == TransactionType.TRANSMISSION_ACTE:
        return transaction_stem(tx).message_name(code)
    return p.TransactionStem.for_acte(tx.acte.id_acte).message_name(code)


def outgoing_code(tx: Transaction) -> str:
    """The message a transaction sends: its own, or the automatic AR of a received letter."""
    if tx.direction == Direction.IN:
        return AUTOMATIC_AR[tx.message_code]
    return tx.message_code


def travelled_message(tx: Transaction) -> tuple[str, bytes] | None:
    """The business XML message of a transaction, as it travelled: built from the rows for
    what the authority sent, kept as received for what came from the prefecture."""
    if tx.direction == "in":
        incoming = tx.incoming.order_by("pk").first()
        return (incoming.name, bytes(incoming.xml)) if incoming else None
    try:
        code = tx.message_code
        return message_name(tx, code), p.build(outgoing_message(tx, code))
    except (p.ProtocolError, StopIteration):
        return None
