"""Helpers of the S²LOW contract tests: client certificates, Basic headers, letters."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_certificate(common_name: str = "Agent Kerbihan") -> tuple[bytes, str]:
    """A self-signed client certificate (PEM) and its SHA-256 fingerprint, as a proxy reports."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), cert.fingerprint(hashes.SHA256()).hex()


def basic(login: str, secret: str) -> dict:
    token = base64.b64encode(f"{login}:{secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def cert_headers(fingerprint: str) -> dict:
    return {"HTTP_X_SSL_CLIENT_VERIFY": "SUCCESS", "HTTP_X_SSL_CLIENT_SHA256": fingerprint}


@pytest.fixture
def trusted_proxy(settings):
    settings.CLIENT_CERT_HEADERS_TRUSTED = True
    return settings
