"""Build @CTES messages and envelopes (reading them is parsing.py).

Writing: ISO-8859-1 with an XML declaration, prefix ``actes`` on the @CTES namespace and
``insee`` on INSEE's, every attribute qualified as the XSD requires
(``attributeFormDefault="qualified"``), values checked with French errors, then (by default)
the bytes validated against the XSD — the codec never hands out a document the schema refuses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import date
from pathlib import Path
from typing import Any

from lxml import etree

from . import messages, naming
from .classification import Matiere
from .constants import (
    ACTES_NS,
    ENVELOPE_ANOMALY_CODES,
    INSEE_NS,
    NATURES,
    NSMAP,
    OBJET_MAX_LENGTH,
    SCHEMA_LOCATION,
    XML_DECLARATION,
    XML_ENCODING,
    XSI_NS,
    Direction,
)
from .errors import ProtocolError
from .text import check_latin1
from .validation import validate as _validate

SchemaArg = etree.XMLSchema | str | Path | None


# What we send to the ministry must hold only ISO-8859-1 characters (brief §12): a text that
# does not fit is refused, for the caller to map it (text.latin1_safe) and tell the agent. What
# our prefecture counterpart writes may carry other characters as character references
# (&#339;), as the real classification does with « œ ».
_STRICT_LATIN1: ContextVar[bool] = ContextVar("strict_latin1", default=True)


_NON_LATIN1 = re.compile(r"[^\x00-\xff]")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # XML 1.0 forbids them


def _a(name: str) -> str:
    return f"{{{ACTES_NS}}}{name}"


def _s(value: Any, field: str) -> str:
    """A text or attribute value: a string that ISO-8859-1 and XML 1.0 can carry."""
    text = value if isinstance(value, str) else str(value)
    if _STRICT_LATIN1.get() and _NON_LATIN1.search(text):
        check_latin1(text, field=field)  # raises, naming the characters
    if _CONTROL.search(text):
        raise ProtocolError(
            f"Le champ « {field} » contient des caractères de contrôle interdits en XML.",
            field=field,
        )
    return text


def _d(value: date, field: str) -> str:
    if not isinstance(value, date):
        raise ProtocolError(f"Le champ « {field} » doit être une date.", field=field)
    return value.isoformat()[:10]


def _root(name: str) -> etree._Element:
    root = etree.Element(_a(name), nsmap=NSMAP)
    root.set(f"{{{XSI_NS}}}schemaLocation", SCHEMA_LOCATION)
    return root


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, _a(name))
    if text is not None:
        el.text = text
    return el


def _set(el: etree._Element, name: str, value: str, ns: str = ACTES_NS) -> None:
    el.set(f"{{{ns}}}{name}", value)


def _serialize(root: etree._Element) -> bytes:
    body = etree.tostring(root, encoding=XML_ENCODING, xml_declaration=False, pretty_print=True)
    return XML_DECLARATION + body


def _fichier(parent: etree._Element, name: str, f: messages.FichierSigne, field: str) -> None:
    if not isinstance(f, messages.FichierSigne) or not f.nom_fichier:
        raise ProtocolError(f"Le nom du fichier « {field} » est obligatoire.", field=field)
    el = _sub(parent, name)
    _sub(el, "NomFichier", _s(f.nom_fichier, field))
    if f.signature is not None:
        _sub(el, "Signature", _s(f.signature, f"{field}.signature"))


def _write_donnees_acte(
    el: etree._Element, acte: messages.DonneesActe, *, echo: bool = False
) -> None:
    """Write an act's content. ``echo``: the ``ActeRecu`` of an AR or anomaly, which repeats
    what the authority sent — only the XSD's own limits apply there, so that an act breaking
    our stricter rules can still be answered with an ``AnomalieActe``."""
    if echo:
        if not acte.numero_interne or len(acte.numero_interne) > 15:
            raise ProtocolError(
                "Le numéro interne de l'acte reçu doit compter de 1 à 15 caractères.",
                field="numero_interne",
            )
    else:
        naming.check_numero_interne(acte.numero_interne)
    _set(el, "Date", _d(acte.date_decision, "date_decision"))
    _set(el, "NumeroInterne", _s(acte.numero_interne, "numero_interne"))
    if (
        isinstance(acte.code_nature, bool)
        or not isinstance(acte.code_nature, int)
        or (not echo and acte.code_nature not in NATURES)
    ):
        raise ProtocolError(
            f"Code nature d'acte inconnu : « {acte.code_nature} » (1 à 6 attendu).",
            field="code_nature",
        )
    _set(el, "CodeNatureActe", str(int(acte.code_nature)))
    matieres = list(acte.matieres)
    if not 2 <= len(matieres) <= 5:
        raise ProtocolError(
            "La classification de l'acte doit compter de 2 à 5 niveaux de matière.",
            field="matieres",
        )
    for level, code in enumerate(matieres, start=1):
        if isinstance(code, bool) or not isinstance(code, int) or code < 0:
            raise ProtocolError(
                f"Code matière de niveau {level} invalide : « {code} ».", field="matieres"
            )
        _set(_sub(el, f"CodeMatiere{level}"), "CodeMatiere", str(code))
    objet = (acte.objet or "").strip()
    if not objet and not echo:
        raise ProtocolError("L'objet de l'acte est obligatoire.", field="objet")
    if len(objet) > OBJET_MAX_LENGTH:
        raise ProtocolError(
            f"L'objet de l'acte dépasse {OBJET_MAX_LENGTH} caractères ({len(objet)}).",
            field="objet",
        )
    _sub(el, "Objet", _s(objet, "objet"))
    if acte.precedent_id_acte is not None:
        naming.check_id_acte(acte.precedent_id_acte, field="precedent_id_acte")
        _set(_sub(el, "PrecedentIdentifiantActe"), "IDActe", acte.precedent_id_acte)
    _sub(el, "ClassificationDateVersion", _d(acte.classification_date, "classification_date"))
    _fichier(el, "Document", acte.document, "document")
    annexes = _sub(el, "Annexes")
    _set(annexes, "Nombre", str(len(acte.annexes)))
    for i, annexe in enumerate(acte.annexes, start=1):
        _fichier(annexes, "Annexe", annexe, f"annexe {i}")
    papier = _sub(el, "DocumentPapier")
    if acte.document_papier is None:
        papier.set(f"{{{XSI_NS}}}nil", "true")
    else:
        if acte.document_papier not in ("O", "N"):
            raise ProtocolError("DocumentPapier vaut « O » ou « N ».", field="document_papier")
        papier.text = acte.document_papier


def _build_acte(m: messages.Acte) -> etree._Element:
    root = _root("Acte")
    _write_donnees_acte(root, m)
    return root


def _build_ar_acte(m: messages.ARActe) -> etree._Element:
    root = _root("ARActe")
    _set(root, "IDActe", naming.check_id_acte(m.id_acte))
    _set(root, "DateReception", _d(m.date_reception, "date_reception"))
    _write_donnees_acte(_sub(root, "ActeRecu"), m.acte_recu, echo=True)
    _sub(root, "ClassificationDateVersionEnCours", _d(m.classification_date_en_cours, "date"))
    return root


def _anomaly_code(code: str, allowed: Iterable[str] | None = None) -> str:
    if not isinstance(code, str) or len(code) != 3 or not code.isdigit():
        raise ProtocolError(
            f"Code d'anomalie invalide : « {code} » (3 chiffres attendus).", field="nature"
        )
    if allowed is not None and code not in allowed:
        raise ProtocolError(
            f"Code d'anomalie d'enveloppe hors schéma : « {code} ».", field="nature"
        )
    return code


def _build_anomalie_acte(m: messages.AnomalieActe) -> etree._Element:
    root = _root("AnomalieActe")
    _sub(root, "Date", _d(m.date, "date"))
    _sub(root, "Nature", _anomaly_code(m.nature))
    if m.detail is not None:
        _sub(root, "Detail", _s(m.detail, "detail"))
    _write_donnees_acte(_sub(root, "ActeRecu"), m.acte_recu, echo=True)
    _sub(root, "ClassificationDateVersionEnCours", _d(m.classification_date_en_cours, "date"))
    return root


def _courrier_root(m: messages.CourrierPref) -> etree._Element:
    root = _root(m.root)
    _set(root, "IDActe", naming.check_id_acte(m.id_acte))
    _set(root, "DateCourrierPref", _d(m.date_courrier_pref, "date_courrier_pref"))
    return root


def _build_courrier_document(m: Any) -> etree._Element:
    """2-1, 2-2, 3-3, 4-3, 4-4: the letter's keys and one document."""
    root = _courrier_root(m)
    _fichier(root, "Document", m.document, "document")
    return root


def _build_courrier_only(m: messages.CourrierPref) -> etree._Element:
    """3-2, 4-2: the letter's keys only."""
    return _courrier_root(m)


def _build_demande_pieces(m: messages.DemandePieceComplementaire) -> etree._Element:
    root = _courrier_root(m)
    _sub(root, "DescriptionPieces", _s(m.description_pieces, "description_pieces"))
    _fichier(root, "Document", m.document, "document")
    return root


def _build_pieces(m: messages.PieceComplementaire) -> etree._Element:
    if not m.documents:
        raise ProtocolError("Joignez au moins une pièce complémentaire.", field="documents")
    root = _courrier_root(m)
    docs = _sub(root, "Documents")
    for i, doc in enumerate(m.documents, start=1):
        _fichier(docs, "Document", doc, f"pièce {i}")
    return root


def _build_lettre_observations(m: messages.LettreObservations) -> etree._Element:
    root = _courrier_root(m)
    _sub(root, "Motif", _s(m.motif, "motif"))
    _fichier(root, "Document", m.document, "document")
    return root


def _build_ar_reponse(
    m: messages.ARPieceComplementaire | messages.ARReponseRejetLettreObservations,
):
    root = _root(m.root)
    _set(root, "DateReception", _d(m.date_reception, "date_reception"))
    infos = _sub(root, "InfosCourrierPref")
    _set(infos, "IDActe", naming.check_id_acte(m.id_acte))
    _set(infos, "DateCourrierPref", _d(m.date_courrier_pref, "date_courrier_pref"))
    return root


def _build_defere(m: messages.DefereTA) -> etree._Element:
    root = _root("DefereTA")
    _set(root, "IDActe", naming.check_id_acte(m.id_acte))
    _sub(root, "DateDepot", _d(m.date_depot, "date_depot"))
    _sub(root, "NatureIllegalite", _s(m.nature_illegalite, "nature_illegalite"))
    pieces = _sub(root, "PiecesJointes")
    for i, piece in enumerate(m.pieces_jointes, start=1):
        _fichier(pieces, "PieceJointe", piece, f"pièce jointe {i}")
    return root


def _build_annulation(m: messages.Annulation) -> etree._Element:
    root = _root("Annulation")
    _set(root, "IDActe", naming.check_id_acte(m.id_acte))
    return root


def _build_ar_annulation(m: messages.ARAnnulation) -> etree._Element:
    root = _root("ARAnnulation")
    _set(root, "IDActe", naming.check_id_acte(m.id_acte))
    _set(root, "DateReception", _d(m.date_reception, "date_reception"))
    return root


def _build_demande_classification(m: messages.DemandeClassification) -> etree._Element:
    root = _root("DemandeClassification")
    if m.date_classification is not None:
        _sub(root, "DateClassification", _d(m.date_classification, "date_classification"))
    return root


def _write_matiere(parent: etree._Element, m: Matiere, level: int) -> None:
    if level > 5:
        raise ProtocolError("Une classification compte au plus 5 niveaux de matières.")
    el = _sub(parent, f"Matiere{level}")
    _set(el, "CodeMatiere", str(int(m.code)))
    _set(el, "Libelle", _s(m.libelle, "libelle"))
    for child in m.enfants:
        _write_matiere(el, child, level + 1)


def _build_retour_classification(m: messages.RetourClassification) -> etree._Element:
    c = m.classification
    root = _root("RetourClassification")
    _sub(root, "DateClassification", _d(c.date_classification, "date_classification"))
    natures = _sub(root, "NaturesActes")
    for nature in c.natures:
        el = _sub(natures, "NatureActe")
        if nature.code is not None:
            _set(el, "CodeNatureActe", str(int(nature.code)))
        _set(el, "Libelle", _s(nature.libelle, "libelle"))
        _set(el, "TypeAbrege", _s(nature.type_abrege, "type_abrege"))
        for t in nature.typologies:
            pj = _sub(el, "TypePJNatureActe")
            _set(pj, "CodeTypePJ", _s(t.code, "code_typologie"))
            _set(pj, "Libelle", _s(t.libelle, "libelle"))
    matieres = _sub(root, "Matieres")
    for m1 in c.matieres:
        _write_matiere(matieres, m1, 1)
    return root


def _build_sans_changement(m: messages.ReponseClassificationSansChangement) -> etree._Element:
    root = _root("ReponseClassificationSansChangement")
    _sub(root, "DateClassification", _d(m.date_classification, "date_classification"))
    return root


def _write_referent(parent: etree._Element, referent: messages.Referent | None) -> None:
    if referent is None:
        return
    el = _sub(parent, "Referent")
    if referent.nom:
        _sub(el, "Nom", _s(referent.nom, "referent.nom"))
    if referent.telephone:
        _sub(el, "Telephone", _s(referent.telephone, "referent.telephone"))
    if referent.email:
        _sub(el, "Email", naming.check_email(referent.email, field="referent.email"))


def _write_formulaires(parent: etree._Element, names: Iterable[str]) -> None:
    names = list(names)
    if not names:
        raise ProtocolError("Une enveloppe liste au moins un message métier.", field="formulaires")
    el = _sub(parent, "FormulairesEnvoyes")
    for name in names:
        naming.check_message_name(name)
        _sub(_sub(el, "Formulaire"), "NomFichier", name)


def _write_donnees_enveloppe(root: etree._Element, env: messages.EnveloppeCLMISILL) -> None:
    emetteur = _sub(root, "Emetteur")
    idcl = _sub(emetteur, "IDCL")
    cl = env.emetteur
    _set(idcl, "SIREN", naming.check_siren(cl.siren), ns=INSEE_NS)
    _set(idcl, "Departement", naming.check_departement(cl.departement))
    _set(idcl, "Arrondissement", naming.check_arrondissement(cl.arrondissement))
    _set(idcl, "Nature", naming.check_authority_nature(cl.nature))
    _write_referent(emetteur, env.referent)
    adresses = list(dict.fromkeys(env.adresses_retour))
    if not adresses:
        raise ProtocolError(
            "L'enveloppe doit indiquer au moins une adresse de retour.", field="adresses_retour"
        )
    el = _sub(root, "AdressesRetour")
    for address in adresses:
        _sub(el, "Email", naming.check_email(address, field="adresses_retour"))
    _write_formulaires(root, env.formulaires)


def _build_enveloppe_cl(env: messages.EnveloppeCLMISILL) -> etree._Element:
    root = _root("EnveloppeCLMISILL")
    _write_donnees_enveloppe(root, env)
    return root


def _build_enveloppe_misill(env: messages.EnveloppeMISILLCL) -> etree._Element:
    root = _root("EnveloppeMISILLCL")
    emetteur = _sub(root, "Emetteur")
    svc = env.emetteur
    tags = {"SGAR": "IDSGAR", "PREF": "IDPref", "SOUSPREF": "IDSousPref"}
    if svc.kind not in tags:
        raise ProtocolError(
            f"Émetteur inconnu : « {svc.kind} » (SGAR, PREF ou SOUSPREF).", field="emetteur"
        )
    el = _sub(emetteur, tags[svc.kind])
    _set(el, "Departement", naming.check_departement(svc.departement))
    if svc.kind == "SOUSPREF":
        _set(el, "Arrondissement", naming.check_arrondissement(svc.arrondissement or ""))
    _write_referent(emetteur, env.referent)
    _write_formulaires(root, env.formulaires)
    dest = _sub(root, "Destinataire")
    _set(dest, "SIREN", naming.check_siren(env.destinataire_siren), ns=INSEE_NS)
    return root


def _build_anomalie_enveloppe(env: messages.AnomalieEnveloppe) -> etree._Element:
    root = _root("AnomalieEnveloppe")
    _sub(root, "Date", _d(env.date, "date"))
    _sub(root, "Nature", _anomaly_code(env.nature, ENVELOPE_ANOMALY_CODES))
    if env.detail is not None:
        _sub(root, "Detail", _s(env.detail, "detail"))
    _write_donnees_enveloppe(_sub(root, "EnveloppeRecue"), env.enveloppe_recue)
    return root


_BUILDERS: dict[type, Callable[[Any], etree._Element]] = {
    messages.Acte: _build_acte,
    messages.ARActe: _build_ar_acte,
    messages.AnomalieActe: _build_anomalie_acte,
    messages.CourrierSimple: _build_courrier_document,
    messages.ReponseCourrierSimple: _build_courrier_document,
    messages.DemandePieceComplementaire: _build_demande_pieces,
    messages.ARDemandePieceComplementaire: _build_courrier_only,
    messages.RefusPieceComplementaire: _build_courrier_document,
    messages.PieceComplementaire: _build_pieces,
    messages.ARPieceComplementaire: _build_ar_reponse,
    messages.LettreObservations: _build_lettre_observations,
    messages.ARLettreObservations: _build_courrier_only,
    messages.RejetLettreObservations: _build_courrier_document,
    messages.ReponseLettreObservations: _build_courrier_document,
    messages.ARReponseRejetLettreObservations: _build_ar_reponse,
    messages.DefereTA: _build_defere,
    messages.Annulation: _build_annulation,
    messages.ARAnnulation: _build_ar_annulation,
    messages.DemandeClassification: _build_demande_classification,
    messages.RetourClassification: _build_retour_classification,
    messages.ReponseClassificationSansChangement: _build_sans_changement,
    messages.EnveloppeCLMISILL: _build_enveloppe_cl,
    messages.EnveloppeMISILLCL: _build_enveloppe_misill,
    messages.AnomalieEnveloppe: _build_anomalie_enveloppe,
}


def _is_outgoing(document: messages.Document) -> bool:
    """Authority → ministry documents (1-1, 2-2, 3-x replies, 4-x replies, 6-1, 7-1)."""
    if isinstance(document, messages.Message):
        return document.message_type().direction == Direction.CL_TO_PREF
    return isinstance(document, messages.EnveloppeCLMISILL)


def build(document: messages.Document, *, validate: bool = True, schema: SchemaArg = None) -> bytes:
    """Serialise any message or envelope to ISO-8859-1 bytes, validated against the XSD."""
    builder = _BUILDERS.get(type(document))
    if builder is None:
        raise ProtocolError(f"Type de message non pris en charge : {type(document).__name__}.")
    token = _STRICT_LATIN1.set(_is_outgoing(document))
    try:
        data = _serialize(builder(document))
    except ValueError as exc:
        if isinstance(exc, ProtocolError):
            raise
        raise ProtocolError(f"Valeur impossible à écrire en XML : {exc}.") from None
    finally:
        _STRICT_LATIN1.reset(token)
    if validate:
        _validate(data, schema=schema)
    return data


def build_message(
    message: messages.Message, *, validate: bool = True, schema: SchemaArg = None
) -> bytes:
    if not isinstance(message, messages.Message):
        raise ProtocolError(f"Ce n'est pas un message métier : {type(message).__name__}.")
    return build(message, validate=validate, schema=schema)


def build_envelope(
    envelope: messages.Envelope, *, validate: bool = True, schema: SchemaArg = None
) -> bytes:
    if not isinstance(envelope, messages.Envelope):
        raise ProtocolError(f"Ce n'est pas une enveloppe : {type(envelope).__name__}.")
    return build(envelope, validate=validate, schema=schema)


# Named builders, one per root element (all share :func:`build`).
def build_acte(m: messages.Acte, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.Acte), **kw)


def build_ar_acte(m: messages.ARActe, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.ARActe), **kw)


def build_anomalie_acte(m: messages.AnomalieActe, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.AnomalieActe), **kw)


def build_courrier_simple(m: messages.CourrierSimple, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.CourrierSimple), **kw)


def build_reponse_courrier_simple(m: messages.ReponseCourrierSimple, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.ReponseCourrierSimple), **kw)


def build_demande_piece_complementaire(m: messages.DemandePieceComplementaire, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.DemandePieceComplementaire), **kw)


def build_ar_demande_piece_complementaire(
    m: messages.ARDemandePieceComplementaire, **kw: Any
) -> bytes:
    return build(messages.expect(m, messages.ARDemandePieceComplementaire), **kw)


def build_refus_piece_complementaire(m: messages.RefusPieceComplementaire, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.RefusPieceComplementaire), **kw)


def build_piece_complementaire(m: messages.PieceComplementaire, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.PieceComplementaire), **kw)


def build_ar_piece_complementaire(m: messages.ARPieceComplementaire, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.ARPieceComplementaire), **kw)


def build_lettre_observations(m: messages.LettreObservations, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.LettreObservations), **kw)


def build_ar_lettre_observations(m: messages.ARLettreObservations, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.ARLettreObservations), **kw)


def build_rejet_lettre_observations(m: messages.RejetLettreObservations, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.RejetLettreObservations), **kw)


def build_reponse_lettre_observations(m: messages.ReponseLettreObservations, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.ReponseLettreObservations), **kw)


def build_ar_reponse_rejet_lettre_observations(
    m: messages.ARReponseRejetLettreObservations, **kw: Any
) -> bytes:
    return build(messages.expect(m, messages.ARReponseRejetLettreObservations), **kw)


def build_defere_ta(m: messages.DefereTA, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.DefereTA), **kw)


def build_annulation(m: messages.Annulation, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.Annulation), **kw)


def build_ar_annulation(m: messages.ARAnnulation, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.ARAnnulation), **kw)


def build_demande_classification(m: messages.DemandeClassification, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.DemandeClassification), **kw)


def build_retour_classification(m: messages.RetourClassification, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.RetourClassification), **kw)


def build_reponse_classification_sans_changement(
    m: messages.ReponseClassificationSansChangement, **kw: Any
) -> bytes:
    return build(messages.expect(m, messages.ReponseClassificationSansChangement), **kw)


def build_enveloppe_cl_misill(m: messages.EnveloppeCLMISILL, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.EnveloppeCLMISILL), **kw)


def build_enveloppe_misill_cl(m: messages.EnveloppeMISILLCL, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.EnveloppeMISILLCL), **kw)


def build_anomalie_enveloppe(m: messages.AnomalieEnveloppe, **kw: Any) -> bytes:
    return build(messages.expect(m, messages.AnomalieEnveloppe), **kw)
