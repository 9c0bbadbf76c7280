"""Safe XML parsing and validation against the @CTES XSD.

Every document goes through one parser configuration: no entity resolution, no DTD loading, no
network, no huge trees. A document holding a DOCTYPE or an entity declaration is refused before
and after parsing — it is never resolved (XXE, billion laughs).

The XSD set ships in ``xsd/`` beside this module (official schemas, v1.1 of 2004). Another set
can be given per call (``schema=``), so an environment can switch to a newer DGCL revision.
"""

from __future__ import annotations

import functools
from pathlib import Path

from lxml import etree

from .errors import MessageParseError, SchemaValidationError, XmlSecurityError

XSD_DIR = Path(__file__).resolve().parent / "xsd"
DEFAULT_SCHEMA_PATH = XSD_DIR / "actesv1_1.xsd"

_FORBIDDEN_MARKUP = (b"<!DOCTYPE", b"<!ENTITY")
_WIDE_ENCODING_MARKS = (b"\xfe\xff", b"\xff\xfe", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")


def _parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers must not be shared between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def parse_xml(data: bytes) -> etree._Element:
    """Parse ``data`` safely and return its root element.

    Raises :class:`XmlSecurityError` for a DOCTYPE/entity declaration, :class:`MessageParseError`
    for anything that is not well-formed XML.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MessageParseError("Le document XML doit être fourni en octets.")
    data = bytes(data)
    if not data.strip():
        raise MessageParseError("Le document XML est vide.")
    head = data[:4]
    if any(head.startswith(mark) for mark in _WIDE_ENCODING_MARKS) or b"\x00" in head:
        # UTF-16/32 would hide markup from the byte scan below; @CTES uses ISO-8859-1/UTF-8.
        raise MessageParseError(
            "Encodage du document XML non pris en charge : seuls ISO-8859-1 et UTF-8 sont admis."
        )
    if any(marker in data for marker in _FORBIDDEN_MARKUP):
        raise XmlSecurityError(
            "Le document XML contient une déclaration DOCTYPE ou ENTITY : il est refusé par "
            "sécurité (les entités externes ne sont jamais résolues)."
        )
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise MessageParseError(f"Le document n'est pas un XML bien formé : {exc}.") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise XmlSecurityError(
            "Le document XML contient une déclaration DOCTYPE : il est refusé par sécurité."
        )
    return root


@functools.lru_cache(maxsize=8)
def load_schema(path: str | Path | None = None) -> etree.XMLSchema:
    """Load (once) the XSD at ``path``, by default the packaged ``actesv1_1.xsd``.

    Imports are resolved relative to the schema file, on the local disk only.
    """
    schema_path = Path(path) if path is not None else DEFAULT_SCHEMA_PATH
    if not schema_path.is_file():
        raise FileNotFoundError(f"Schéma XSD introuvable : {schema_path}")
    doc = etree.parse(str(schema_path), parser=_parser())
    return etree.XMLSchema(doc)


def _schema(schema: etree.XMLSchema | str | Path | None) -> etree.XMLSchema:
    if isinstance(schema, etree.XMLSchema):
        return schema
    return load_schema(str(schema) if schema is not None else None)


def validate(xml: bytes, *, schema: etree.XMLSchema | str | Path | None = None) -> etree._Element:
    """Validate ``xml`` against the @CTES XSD; return its parsed root element.

    Raises :class:`SchemaValidationError` (with every libxml2 error in ``.errors``),
    :class:`XmlSecurityError` or :class:`MessageParseError`.
    """
    root = parse_xml(xml)
    xsd = _schema(schema)
    if not xsd.validate(root):
        errors = [f"ligne {e.line} : {e.message}" for e in xsd.error_log]
        first = errors[0] if errors else "erreur inconnue"
        raise SchemaValidationError(
            f"Le document XML n'est pas conforme au schéma @CTES (actesv1_1.xsd) — {first}",
            errors=errors,
        )
    return root


def is_valid(xml: bytes, *, schema: etree.XMLSchema | str | Path | None = None) -> bool:
    try:
        validate(xml, schema=schema)
    except (SchemaValidationError, XmlSecurityError, MessageParseError):
        return False
    return True
