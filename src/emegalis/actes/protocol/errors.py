"""Errors raised by the @CTES codec.

Every error carries a message in French, fit to be shown to an agent as is, and optionally the
name of the field at fault so that a form can attach the message to the right input.
"""

from __future__ import annotations


class ProtocolError(ValueError):
    """Base class: a value or a document breaks a rule of the @CTES protocol."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class NamingError(ProtocolError):
    """An identifier or a file name does not follow the protocol's naming rules."""


class EncodingError(ProtocolError):
    """A text cannot be represented in ISO-8859-1, the encoding of every @CTES message."""


class XmlSecurityError(ProtocolError):
    """A document holds a DOCTYPE or an entity declaration, refused without being resolved."""


class SchemaValidationError(ProtocolError):
    """A document does not validate against the @CTES XSD."""

    def __init__(self, message: str, *, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.errors = list(errors or [])


class MessageParseError(ProtocolError):
    """A document cannot be read as an @CTES message."""


class ArchiveError(ProtocolError):
    """An archive is unsafe, malformed or too large."""


class ClassificationError(ProtocolError):
    """A nature, matière or typology code does not exist in the classification in force."""


class TransitionError(ProtocolError):
    """A status change that the transaction state machine does not allow."""
