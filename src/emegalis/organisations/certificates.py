"""TLS client certificates as the platform sees them: a public certificate file read once when
an agent registers it (its SHA-256 fingerprint and names), then only the fingerprint that the
TLS proxy forwards in a header it sets itself after verifying the certificate.

The proxy's headers are trusted only when the deployment says so (``CLIENT_CERT_HEADERS_TRUSTED``,
set where a proxy strips any client-sent copy), as S²LOW deployments behind Apache do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from django.conf import settings

_HEX_RE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class CertificateInfo:
    fingerprint: str
    subject: str
    issuer: str
    not_after: datetime


class CertificateError(ValueError):
    """The file is not an X.509 certificate (message in French)."""


def read_certificate(data: bytes) -> CertificateInfo:
    """Fingerprint and names of a PEM or DER certificate; a private key or anything else is
    refused (only the public certificate is ever asked for)."""
    if b"PRIVATE KEY" in data:
        raise CertificateError(
            "Ce fichier contient une clé privée : ne la transmettez jamais. Déposez seulement le "
            "certificat public (.pem, .crt ou .cer)."
        )
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            cert = x509.load_pem_x509_certificate(data)
        else:
            cert = x509.load_der_x509_certificate(data)
    except ValueError:
        raise CertificateError(
            "Ce fichier n'est pas un certificat X.509 lisible (PEM ou DER attendu)."
        ) from None
    return CertificateInfo(
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        subject=cert.subject.rfc4514_string()[:500],
        issuer=cert.issuer.rfc4514_string()[:500],
        not_after=cert.not_valid_after_utc,
    )


def normalise_fingerprint(value: str) -> str:
    """``AB:CD:…``, ``abcd…`` or ``sha256//abcd…`` to 64 lowercase hex digits, or ``""``."""
    value = value.strip().lower().removeprefix("sha256//").replace(":", "")
    return value if _HEX_RE.fullmatch(value) else ""


def verified_fingerprint(request) -> str:
    """The fingerprint of the client certificate the TLS proxy verified for this request, or
    ``""`` (no proxy trusted, no certificate, or verification not successful)."""
    if not getattr(settings, "CLIENT_CERT_HEADERS_TRUSTED", False):
        return ""
    verify = request.headers.get(settings.CLIENT_CERT_VERIFY_HEADER, "")
    if verify.strip().upper() != "SUCCESS":
        return ""
    return normalise_fingerprint(request.headers.get(settings.CLIENT_CERT_FINGERPRINT_HEADER, ""))
