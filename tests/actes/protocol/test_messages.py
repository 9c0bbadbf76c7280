"""Every message type and envelope: built XML is valid, qualified as the XSD wants, round-trips."""

from datetime import date

import pytest
from lxml import etree

from emegalis.actes import protocol as p

from .conftest import ID_ACTE, STEM, all_envelopes, all_messages, donnees, make_acte

MESSAGES = all_messages()
ENVELOPES = all_envelopes()


def test_one_sample_per_message_type():
    assert set(MESSAGES) == {m.code for m in p.MESSAGE_TYPES}
    assert set(MESSAGES) == set(p.MESSAGE_CLASSES)
    for code, message in MESSAGES.items():
        assert message.code == code
        assert type(message) is p.MESSAGE_CLASSES[code]


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_message_builds_valid_xml_and_round_trips(code):
    message = MESSAGES[code]
    xml = p.build_message(message)
    assert xml.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>\n')
    p.validate(xml)  # build validated already; check again explicitly
    root = etree.fromstring(xml)
    assert root.tag == f"{{{p.ACTES_NS}}}{message.root}"
    assert root.prefix == "actes"
    assert p.parse_message(xml) == message
    assert p.root_name(xml) == message.root


@pytest.mark.parametrize("root", sorted(ENVELOPES))
def test_envelope_builds_valid_xml_and_round_trips(root):
    envelope = ENVELOPES[root]
    xml = p.build_envelope(envelope)
    p.validate(xml)
    assert etree.fromstring(xml).tag == f"{{{p.ACTES_NS}}}{root}"
    assert p.parse_envelope(xml) == envelope


def test_named_builders_and_parsers_match_the_generic_ones():
    pairs = [
        (p.build_acte, "1-1"),
        (p.build_ar_acte, "1-2"),
        (p.build_anomalie_acte, "1-3"),
        (p.build_courrier_simple, "2-1"),
        (p.build_reponse_courrier_simple, "2-2"),
        (p.build_demande_piece_complementaire, "3-1"),
        (p.build_ar_demande_piece_complementaire, "3-2"),
        (p.build_refus_piece_complementaire, "3-3"),
        (p.build_piece_complementaire, "3-4"),
        (p.build_ar_piece_complementaire, "3-5"),
        (p.build_lettre_observations, "4-1"),
        (p.build_ar_lettre_observations, "4-2"),
        (p.build_rejet_lettre_observations, "4-3"),
        (p.build_reponse_lettre_observations, "4-4"),
        (p.build_ar_reponse_rejet_lettre_observations, "4-5"),
        (p.build_defere_ta, "5-1"),
        (p.build_annulation, "6-1"),
        (p.build_ar_annulation, "6-2"),
        (p.build_demande_classification, "7-1"),
        (p.build_retour_classification, "7-2"),
        (p.build_reponse_classification_sans_changement, "7-3"),
    ]
    for builder, code in pairs:
        assert builder(MESSAGES[code]) == p.build_message(MESSAGES[code])
    with pytest.raises(p.ProtocolError, match="Acte attendu"):
        p.build_acte(MESSAGES["6-1"])
    xml = p.build_message(MESSAGES["1-2"])
    assert p.parse_ar_acte(xml) == MESSAGES["1-2"]
    with pytest.raises(p.MessageParseError, match="« Acte » attendu"):
        p.parse_acte(xml)


def test_attributes_are_qualified_and_siren_is_in_the_insee_namespace():
    acte_root = etree.fromstring(p.build_acte(make_acte()))
    assert set(acte_root.attrib) >= {
        f"{{{p.ACTES_NS}}}Date",
        f"{{{p.ACTES_NS}}}NumeroInterne",
        f"{{{p.ACTES_NS}}}CodeNatureActe",
    }
    env_root = etree.fromstring(p.build_envelope(ENVELOPES["EnveloppeCLMISILL"]))
    idcl = env_root.find(".//{*}IDCL")
    assert idcl.get(f"{{{p.INSEE_NS}}}SIREN") == "000000000"
    assert idcl.get(f"{{{p.ACTES_NS}}}Nature") == "31"
    text = p.build_envelope(ENVELOPES["EnveloppeCLMISILL"]).decode("iso-8859-1")
    assert 'insee:SIREN="000000000"' in text
    assert 'actes:Departement="034"' in text


def test_acte_is_encoded_in_latin1_bytes():
    xml = p.build_acte(make_acte(objet="Délibération n° 3"))
    assert "Délibération n° 3".encode("iso-8859-1") in xml
    assert "Délibération".encode() not in xml  # not UTF-8


def test_annexes_count_is_written_from_the_list():
    xml = p.build_acte(make_acte())
    nombre = etree.fromstring(xml).find("{*}Annexes").get(f"{{{p.ACTES_NS}}}Nombre")
    assert nombre == "2"


def test_acte_without_annexes_and_with_previous_act_and_signature():
    acte = make_acte(
        annexes=(),
        precedent_id_acte="034-000000000-20240101-D1-DE",
        document=p.FichierSigne(
            nom_fichier=STEM.document_name("1-1", 1, "pdf", "99_DE"),
            signature="MIAGCSqGSIb3DQEHAqCAMIACAQEx",
        ),
    )
    xml = p.build_acte(acte)
    assert p.parse_acte(xml) == acte


def test_demande_classification_without_date_is_valid():
    xml = p.build_message(p.DemandeClassification())
    assert p.parse_message(xml) == p.DemandeClassification()


# --- values refused when building, with French messages ---


def test_outgoing_text_outside_latin1_is_refused_with_the_characters_named():
    with pytest.raises(p.EncodingError) as exc:
        p.build_acte(make_acte(objet="Le maire l’a signé — œuvre"))
    assert exc.value.field == "objet"
    assert "« ’ »" in exc.value.message and "ISO-8859-1" in exc.value.message
    safe = p.latin1_safe("Le maire l’a signé — œuvre … 5 €")
    assert safe == "Le maire l'a signé - oeuvre ... 5 EUR"
    p.build_acte(make_acte(objet=safe))


def test_incoming_message_built_by_our_prefecture_may_carry_character_references():
    courrier = p.CourrierSimple(
        id_acte=ID_ACTE,
        date_courrier_pref=date(2025, 1, 6),
        document=p.FichierSigne(nom_fichier=STEM.document_name("2-1", 1, "pdf")),
    )
    lettre = p.LettreObservations(
        id_acte=ID_ACTE,
        date_courrier_pref=date(2025, 1, 6),
        motif="Manœuvre",
        document=courrier.document,
    )
    xml = p.build_message(lettre)
    assert b"&#339;" in xml
    assert p.parse_message(xml).motif == "Manœuvre"
    assert p.build_message(courrier)


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"objet": "x" * 501}, "objet", "dépasse 500 caractères"),
        ({"objet": "   "}, "objet", "obligatoire"),
        ({"matieres": (1,)}, "matieres", "de 2 à 5 niveaux"),
        ({"matieres": (1, 2, 3, 4, 5, 6)}, "matieres", "de 2 à 5 niveaux"),
        ({"code_nature": 7}, "code_nature", "inconnu"),
        ({"numero_interne": "d-2024"}, "numero_interne", "caractères interdits"),
        ({"precedent_id_acte": "pas-un-id"}, "precedent_id_acte", "Identifiant d'acte invalide"),
        ({"document_papier": "X"}, "document_papier", "« O » ou « N »"),
        ({"objet": "Bip \x07 final"}, "objet", "caractères de contrôle"),
    ],
)
def test_bad_acte_values_are_refused(overrides, field, fragment):
    with pytest.raises(p.ProtocolError) as exc:
        p.build_acte(make_acte(**overrides))
    assert exc.value.field == field
    assert fragment in str(exc.value)


def test_an_act_breaking_our_rules_can_still_be_echoed_in_an_anomaly():
    bad = donnees(make_acte(numero_interne="d-12", objet="", code_nature=9))
    with pytest.raises(p.NamingError):
        p.build_acte(make_acte(numero_interne="d-12"))
    anomalie = p.AnomalieActe(
        date=date(2025, 1, 2),
        nature="001",
        detail="Numéro interne invalide",
        acte_recu=bad,
        classification_date_en_cours=date(2017, 12, 8),
    )
    xml = p.build_message(anomalie)
    assert p.parse_anomalie_acte(xml) == anomalie


def test_envelope_email_outside_the_xsd_type_is_refused():
    env = ENVELOPES["EnveloppeCLMISILL"]
    bad = p.EnveloppeCLMISILL(
        emetteur=env.emetteur,
        adresses_retour=("jean+actes@mairie.fr",),
        formulaires=env.formulaires,
    )
    with pytest.raises(p.NamingError, match="Adresse électronique refusée"):
        p.build_envelope(bad)


def test_envelope_anomaly_code_outside_the_schema_is_not_built():
    env = ENVELOPES["AnomalieEnveloppe"]
    bad = p.AnomalieEnveloppe(date=env.date, nature="006", enveloppe_recue=env.enveloppe_recue)
    with pytest.raises(p.ProtocolError, match="hors schéma"):
        p.build_envelope(bad)


# --- tolerant parsing ---


def _ano_enveloppe_xml(code: str) -> bytes:
    valid = p.build_envelope(ENVELOPES["AnomalieEnveloppe"])
    return valid.replace(
        b"<actes:Nature>005</actes:Nature>", f"<actes:Nature>{code}</actes:Nature>".encode()
    )


def test_unknown_envelope_anomaly_code_is_kept_and_named_not_a_crash():
    xml = _ano_enveloppe_xml("777")
    assert not p.is_valid(xml)  # outside the XSD enumeration …
    ano = p.parse_message(xml)  # … but still read
    assert ano.nature == "777"
    assert ano.detail == "PREF-VERIF-02"
    assert ano.nature_libelle == "Anomalie de code 777 (signification non documentée)"
    known = p.parse_message(_ano_enveloppe_xml("005"))
    assert "PREF-VERIF-02" in known.nature_libelle


def test_unknown_act_anomaly_code_is_kept_verbatim():
    xml = p.build_message(MESSAGES["1-3"])
    ano = p.parse_anomalie_acte(xml)
    assert ano.nature == "042"
    assert "042" in ano.nature_libelle


def test_unknown_elements_and_unqualified_attributes_are_tolerated():
    xml = b"""<?xml version="1.0" encoding="UTF-8"?>
<actes:ARActe xmlns:actes="http://www.interieur.gouv.fr/ACTES#v1.1-20040216"
    IDActe="034-000000000-20241209-20241209_MR02-DE" actes:DateReception="2024-12-10+01:00">
  <actes:Nouveaute>ignored</actes:Nouveaute>
  <actes:ActeRecu actes:Date="2024-12-09" actes:NumeroInterne="20241209_MR02"
      actes:CodeNatureActe="1">
    <actes:CodeMatiere1 actes:CodeMatiere="1"/>
    <actes:CodeMatiere2 actes:CodeMatiere="3"/>
    <actes:Objet>test de t&#xE9;l&#xE9;transmission</actes:Objet>
    <actes:ClassificationDateVersion>2017-12-08</actes:ClassificationDateVersion>
    <actes:Document><actes:NomFichier>a.pdf</actes:NomFichier><actes:Extra/></actes:Document>
    <actes:Annexes actes:Nombre="3"/>
  </actes:ActeRecu>
  <actes:ClassificationDateVersionEnCours>2018-01-01</actes:ClassificationDateVersionEnCours>
  <autre:Chose xmlns:autre="urn:x"/>
</actes:ARActe>"""
    ar = p.parse_message(xml)
    assert isinstance(ar, p.ARActe)
    assert ar.id_acte == "034-000000000-20241209-20241209_MR02-DE"
    assert ar.date_reception == date(2024, 12, 10)
    assert ar.acte_recu.objet == "test de télétransmission"
    assert ar.acte_recu.matieres == (1, 3)
    assert ar.acte_recu.document_papier is None
    assert ar.acte_recu.annexes_incoherentes  # declared 3, lists 0: kept for the caller to see
    assert ar.classification_date_en_cours == date(2018, 1, 1)


@pytest.mark.parametrize(
    ("xml", "fragment"),
    [
        (
            b"<actes:Inconnu xmlns:actes='http://www.interieur.gouv.fr/ACTES#v1.1-20040216'/>",
            "Type de message @CTES inconnu",
        ),
        (b"<Acte xmlns='urn:autre'/>", "Espace de noms inattendu"),
        (
            b"<actes:Annulation xmlns:actes='http://www.interieur.gouv.fr/ACTES#v1.1-20040216'/>",
            "Attribut « IDActe » manquant",
        ),
        (b"<pas du xml", "pas un XML bien formé"),
        (b"", "vide"),
    ],
)
def test_unreadable_messages_get_a_french_error(xml, fragment):
    with pytest.raises(p.MessageParseError, match=fragment):
        p.parse_message(xml)
