"""Parse @CTES messages and envelopes.

Tolerant where real prefectures are. Elements are matched on their local name, attributes
qualified or not, unknown elements ignored, anomaly codes kept verbatim, dates read from their
first ten characters. Reading does not validate against the XSD (an unknown anomaly code would
fail the envelope's enumeration); call :func:`validate` for that.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from lxml import etree

from . import messages
from .classification import Classification, Matiere, NatureActe, TypePJ
from .classification import (
    nature_code_from_abbreviation as _nature_from_abbr,
)
from .constants import (
    ACTES_NS,
    INSEE_NS,
    MESSAGE_TYPES_BY_ROOT,
    XSI_NS,
)
from .errors import MessageParseError
from .validation import parse_xml


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el.iterchildren(tag=etree.Element) if _local(c) == name]


def _child(el: etree._Element, name: str) -> etree._Element | None:
    found = _children(el, name)
    return found[0] if found else None


def _need(el: etree._Element, name: str) -> etree._Element:
    found = _child(el, name)
    if found is None:
        raise MessageParseError(f"Élément « {name} » manquant dans « {_local(el)} ».")
    return found


def _attr(el: etree._Element, name: str, ns: str = ACTES_NS) -> str | None:
    for key in (f"{{{ns}}}{name}", name):
        value = el.get(key)
        if value is not None:
            return value.strip()
    return None


def _need_attr(el: etree._Element, name: str, ns: str = ACTES_NS) -> str:
    value = _attr(el, name, ns)
    if value is None:
        raise MessageParseError(f"Attribut « {name} » manquant sur « {_local(el)} ».")
    return value


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    if el.get(f"{{{XSI_NS}}}nil") in ("true", "1"):
        return None
    return (el.text or "").strip()


def _need_text(el: etree._Element, name: str) -> str:
    return _text(_need(el, name)) or ""


def _date(value: str | None, what: str) -> date:
    try:
        return date.fromisoformat((value or "").strip()[:10])
    except ValueError:
        raise MessageParseError(f"Date illisible pour « {what} » : « {value} ».") from None


def _int(value: str | None, what: str) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise MessageParseError(f"Nombre illisible pour « {what} » : « {value} ».") from None


def _read_fichier(el: etree._Element) -> messages.FichierSigne:
    sig = _child(el, "Signature")
    signature = None
    if sig is not None:
        inner = [etree.tostring(c, encoding="unicode") for c in sig.iterchildren()]
        signature = (sig.text or "") + "".join(inner) if inner else (sig.text or "")
    return messages.FichierSigne(nom_fichier=_need_text(el, "NomFichier"), signature=signature)


def _read_donnees_acte(el: etree._Element) -> dict[str, Any]:
    matieres = []
    for level in range(1, 6):
        m = _child(el, f"CodeMatiere{level}")
        if m is None:
            break
        matieres.append(_int(_need_attr(m, "CodeMatiere"), f"CodeMatiere{level}"))
    annexes_el = _child(el, "Annexes")
    annexes = (
        tuple(_read_fichier(a) for a in _children(annexes_el, "Annexe"))
        if (annexes_el is not None)
        else ()
    )
    nombre = _attr(annexes_el, "Nombre") if annexes_el is not None else None
    precedent = _child(el, "PrecedentIdentifiantActe")
    papier = _child(el, "DocumentPapier")
    return {
        "date_decision": _date(_need_attr(el, "Date"), "Date"),
        "numero_interne": _need_attr(el, "NumeroInterne"),
        "code_nature": _int(_need_attr(el, "CodeNatureActe"), "CodeNatureActe"),
        "matieres": tuple(matieres),
        "objet": _need_text(el, "Objet"),
        "precedent_id_acte": _attr(precedent, "IDActe") if precedent is not None else None,
        "classification_date": _date(
            _need_text(el, "ClassificationDateVersion"), "ClassificationDateVersion"
        ),
        "document": _read_fichier(_need(el, "Document")),
        "annexes": annexes,
        "annexes_declarees": _int(nombre, "Annexes/@Nombre") if nombre is not None else None,
        "document_papier": _text(papier) if papier is not None else None,
    }


def _parse_acte(el: etree._Element) -> messages.Acte:
    return messages.Acte(**_read_donnees_acte(el))


def _parse_ar_acte(el: etree._Element) -> messages.ARActe:
    return messages.ARActe(
        id_acte=_need_attr(el, "IDActe"),
        date_reception=_date(_need_attr(el, "DateReception"), "DateReception"),
        acte_recu=messages.DonneesActe(**_read_donnees_acte(_need(el, "ActeRecu"))),
        classification_date_en_cours=_date(
            _need_text(el, "ClassificationDateVersionEnCours"), "ClassificationDateVersionEnCours"
        ),
    )


def _parse_anomalie_acte(el: etree._Element) -> messages.AnomalieActe:
    return messages.AnomalieActe(
        date=_date(_need_text(el, "Date"), "Date"),
        nature=_need_text(el, "Nature"),
        detail=_text(_child(el, "Detail")),
        acte_recu=messages.DonneesActe(**_read_donnees_acte(_need(el, "ActeRecu"))),
        classification_date_en_cours=_date(
            _need_text(el, "ClassificationDateVersionEnCours"), "ClassificationDateVersionEnCours"
        ),
    )


def _courrier_keys(el: etree._Element) -> dict[str, Any]:
    return {
        "id_acte": _need_attr(el, "IDActe"),
        "date_courrier_pref": _date(_need_attr(el, "DateCourrierPref"), "DateCourrierPref"),
    }


def _courrier_document_parser[T](cls: type[T]) -> Callable[[etree._Element], T]:
    def parse(el: etree._Element) -> T:
        return cls(**_courrier_keys(el), document=_read_fichier(_need(el, "Document")))

    return parse


def _courrier_only_parser[T](cls: type[T]) -> Callable[[etree._Element], T]:
    def parse(el: etree._Element) -> T:
        return cls(**_courrier_keys(el))

    return parse


def _ar_reponse_parser[T](cls: type[T]) -> Callable[[etree._Element], T]:
    def parse(el: etree._Element) -> T:
        return cls(
            **_courrier_keys(_need(el, "InfosCourrierPref")),
            date_reception=_date(_need_attr(el, "DateReception"), "DateReception"),
        )

    return parse


def _parse_demande_pieces(el: etree._Element) -> messages.DemandePieceComplementaire:
    return messages.DemandePieceComplementaire(
        **_courrier_keys(el),
        description_pieces=_need_text(el, "DescriptionPieces"),
        document=_read_fichier(_need(el, "Document")),
    )


def _parse_pieces(el: etree._Element) -> messages.PieceComplementaire:
    docs = _need(el, "Documents")
    return messages.PieceComplementaire(
        **_courrier_keys(el),
        documents=tuple(_read_fichier(d) for d in _children(docs, "Document")),
    )


def _parse_lettre_observations(el: etree._Element) -> messages.LettreObservations:
    return messages.LettreObservations(
        **_courrier_keys(el),
        motif=_need_text(el, "Motif"),
        document=_read_fichier(_need(el, "Document")),
    )


def _parse_defere(el: etree._Element) -> messages.DefereTA:
    pieces = _child(el, "PiecesJointes")
    return messages.DefereTA(
        id_acte=_need_attr(el, "IDActe"),
        date_depot=_date(_need_text(el, "DateDepot"), "DateDepot"),
        nature_illegalite=_need_text(el, "NatureIllegalite"),
        pieces_jointes=tuple(_read_fichier(p) for p in _children(pieces, "PieceJointe"))
        if pieces is not None
        else (),
    )


def _parse_annulation(el: etree._Element) -> messages.Annulation:
    return messages.Annulation(id_acte=_need_attr(el, "IDActe"))


def _parse_ar_annulation(el: etree._Element) -> messages.ARAnnulation:
    return messages.ARAnnulation(
        id_acte=_need_attr(el, "IDActe"),
        date_reception=_date(_need_attr(el, "DateReception"), "DateReception"),
    )


def _parse_demande_classification(el: etree._Element) -> messages.DemandeClassification:
    d = _child(el, "DateClassification")
    return messages.DemandeClassification(
        date_classification=_date(_text(d), "DateClassification") if d is not None else None
    )


def _read_matiere(el: etree._Element, level: int) -> Matiere:
    children = _children(el, f"Matiere{level + 1}") if level < 5 else []
    return Matiere(
        code=_int(_need_attr(el, "CodeMatiere"), f"Matiere{level}/@CodeMatiere"),
        libelle=_attr(el, "Libelle") or "",
        niveau=level,
        enfants=tuple(_read_matiere(c, level + 1) for c in children),
    )


def _read_classification(el: etree._Element) -> Classification:
    natures = []
    natures_el = _child(el, "NaturesActes")
    for n in _children(natures_el, "NatureActe") if natures_el is not None else []:
        abbr = _attr(n, "TypeAbrege") or ""
        code = _attr(n, "CodeNatureActe")
        natures.append(
            NatureActe(
                code=_int(code, "CodeNatureActe") if code else _nature_from_abbr(abbr),
                libelle=_attr(n, "Libelle") or "",
                type_abrege=abbr,
                typologies=tuple(
                    TypePJ(code=_need_attr(t, "CodeTypePJ"), libelle=_attr(t, "Libelle") or "")
                    for t in _children(n, "TypePJNatureActe")
                ),
            )
        )
    matieres_el = _child(el, "Matieres")
    matieres = [
        _read_matiere(m, 1)
        for m in (_children(matieres_el, "Matiere1") if matieres_el is not None else [])
    ]
    return Classification(
        date_classification=_date(_need_text(el, "DateClassification"), "DateClassification"),
        natures=tuple(natures),
        matieres=tuple(matieres),
    )


def _parse_retour_classification(el: etree._Element) -> messages.RetourClassification:
    return messages.RetourClassification(classification=_read_classification(el))


def _parse_sans_changement(el: etree._Element) -> messages.ReponseClassificationSansChangement:
    return messages.ReponseClassificationSansChangement(
        date_classification=_date(_need_text(el, "DateClassification"), "DateClassification")
    )


def _read_referent(el: etree._Element) -> messages.Referent | None:
    ref = _child(el, "Referent")
    if ref is None:
        return None
    return messages.Referent(
        nom=_text(_child(ref, "Nom")),
        telephone=_text(_child(ref, "Telephone")),
        email=_text(_child(ref, "Email")),
    )


def _read_formulaires(el: etree._Element) -> tuple[str, ...]:
    forms = _need(el, "FormulairesEnvoyes")
    return tuple(_need_text(f, "NomFichier") for f in _children(forms, "Formulaire"))


def _read_donnees_enveloppe(el: etree._Element) -> messages.EnveloppeCLMISILL:
    emetteur = _need(el, "Emetteur")
    idcl = _need(emetteur, "IDCL")
    adresses = _child(el, "AdressesRetour")
    return messages.EnveloppeCLMISILL(
        emetteur=messages.IDCL(
            siren=_need_attr(idcl, "SIREN", INSEE_NS),
            departement=_need_attr(idcl, "Departement"),
            arrondissement=_need_attr(idcl, "Arrondissement"),
            nature=_need_attr(idcl, "Nature"),
        ),
        referent=_read_referent(emetteur),
        adresses_retour=tuple(
            _text(e) or "" for e in (_children(adresses, "Email") if adresses is not None else [])
        ),
        formulaires=_read_formulaires(el),
    )


def _parse_enveloppe_misill(el: etree._Element) -> messages.EnveloppeMISILLCL:
    emetteur = _need(el, "Emetteur")
    for tag, kind in (("IDSGAR", "SGAR"), ("IDPref", "PREF"), ("IDSousPref", "SOUSPREF")):
        svc = _child(emetteur, tag)
        if svc is not None:
            service = messages.ServicePrefecture(
                kind=kind,
                departement=_need_attr(svc, "Departement"),
                arrondissement=_attr(svc, "Arrondissement"),
            )
            break
    else:
        raise MessageParseError("Émetteur de l'enveloppe (IDSGAR, IDPref, IDSousPref) absent.")
    return messages.EnveloppeMISILLCL(
        emetteur=service,
        referent=_read_referent(emetteur),
        formulaires=_read_formulaires(el),
        destinataire_siren=_need_attr(_need(el, "Destinataire"), "SIREN", INSEE_NS),
    )


def _parse_anomalie_enveloppe(el: etree._Element) -> messages.AnomalieEnveloppe:
    return messages.AnomalieEnveloppe(
        date=_date(_need_text(el, "Date"), "Date"),
        nature=_need_text(el, "Nature"),
        detail=_text(_child(el, "Detail")),
        enveloppe_recue=_read_donnees_enveloppe(_need(el, "EnveloppeRecue")),
    )


_PARSERS: dict[str, Callable[[etree._Element], Any]] = {
    "Acte": _parse_acte,
    "ARActe": _parse_ar_acte,
    "AnomalieActe": _parse_anomalie_acte,
    "CourrierSimple": _courrier_document_parser(messages.CourrierSimple),
    "ReponseCourrierSimple": _courrier_document_parser(messages.ReponseCourrierSimple),
    "DemandePieceComplementaire": _parse_demande_pieces,
    "ARDemandePieceComplementaire": _courrier_only_parser(messages.ARDemandePieceComplementaire),
    "RefusPieceComplementaire": _courrier_document_parser(messages.RefusPieceComplementaire),
    "PieceComplementaire": _parse_pieces,
    "ARPieceComplementaire": _ar_reponse_parser(messages.ARPieceComplementaire),
    "LettreObservations": _parse_lettre_observations,
    "ARLettreObservations": _courrier_only_parser(messages.ARLettreObservations),
    "RejetLettreObservations": _courrier_document_parser(messages.RejetLettreObservations),
    "ReponseLettreObservations": _courrier_document_parser(messages.ReponseLettreObservations),
    "ARReponseRejetLettreObservations": _ar_reponse_parser(
        messages.ARReponseRejetLettreObservations
    ),
    "DefereTA": _parse_defere,
    "Annulation": _parse_annulation,
    "ARAnnulation": _parse_ar_annulation,
    "DemandeClassification": _parse_demande_classification,
    "RetourClassification": _parse_retour_classification,
    "ReponseClassificationSansChangement": _parse_sans_changement,
    "EnveloppeCLMISILL": _read_donnees_enveloppe,
    "EnveloppeMISILLCL": _parse_enveloppe_misill,
    "AnomalieEnveloppe": _parse_anomalie_enveloppe,
}

assert set(_PARSERS) == set(MESSAGE_TYPES_BY_ROOT) | {
    "EnveloppeCLMISILL",
    "EnveloppeMISILLCL",
    "AnomalieEnveloppe",
}


def root_name(data: bytes) -> str:
    """The local name of a document's root element (parsed safely)."""
    return _local(parse_xml(data))


def parse(data: bytes) -> messages.Document:
    """Read any @CTES message or envelope into its dataclass, dispatching on the root element."""
    root = parse_xml(data)
    qname = etree.QName(root)
    if qname.namespace not in (ACTES_NS, None):
        raise MessageParseError(
            f"Espace de noms inattendu : « {qname.namespace} » (attendu : {ACTES_NS})."
        )
    parser = _PARSERS.get(qname.localname)
    if parser is None:
        raise MessageParseError(f"Type de message @CTES inconnu : « {qname.localname} ».")
    return parser(root)


def parse_message(data: bytes) -> messages.Document:
    """Alias of :func:`parse`: a business message or an envelope, whichever ``data`` holds."""
    return parse(data)


def _parse_as[T](data: bytes, cls: type[T]) -> T:
    result = parse(data)
    if not isinstance(result, cls):
        raise MessageParseError(
            f"Message « {cls.__name__} » attendu, reçu « {type(result).__name__} »."
        )
    return result


def parse_acte(data: bytes) -> messages.Acte:
    return _parse_as(data, messages.Acte)


def parse_ar_acte(data: bytes) -> messages.ARActe:
    return _parse_as(data, messages.ARActe)


def parse_anomalie_acte(data: bytes) -> messages.AnomalieActe:
    return _parse_as(data, messages.AnomalieActe)


def parse_courrier_simple(data: bytes) -> messages.CourrierSimple:
    return _parse_as(data, messages.CourrierSimple)


def parse_demande_piece_complementaire(data: bytes) -> messages.DemandePieceComplementaire:
    return _parse_as(data, messages.DemandePieceComplementaire)


def parse_lettre_observations(data: bytes) -> messages.LettreObservations:
    return _parse_as(data, messages.LettreObservations)


def parse_defere_ta(data: bytes) -> messages.DefereTA:
    return _parse_as(data, messages.DefereTA)


def parse_ar_annulation(data: bytes) -> messages.ARAnnulation:
    return _parse_as(data, messages.ARAnnulation)


def parse_envelope(data: bytes) -> messages.Envelope:
    return _parse_as(data, messages.Envelope)  # type: ignore[type-abstract]


def parse_anomalie_enveloppe(data: bytes) -> messages.AnomalieEnveloppe:
    return _parse_as(data, messages.AnomalieEnveloppe)


def parse_classification(data: bytes) -> Classification:
    """Read a ``RetourClassification`` (7-2) into a :class:`Classification`."""
    return _parse_as(data, messages.RetourClassification).classification
