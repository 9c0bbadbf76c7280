"""Posting an archive to the ministry (or to our prefecture counterpart): HTTPS with the
platform's client certificate, optional pinning of the server certificate, streamed body.

Settings (all optional but the URL):
- ``ACTES_TRANSPORT_URL``: where archives go (``https://…`` in production; in DEBUG the local
  counterpart ``{SITE_URL}/prefecture/depot/``);
- ``ACTES_TRANSPORT_CLIENT_CERT`` / ``ACTES_TRANSPORT_CLIENT_KEY``: PEM files of the TdT's
  client certificate and key (the key may sit in the certificate file);
- ``ACTES_TRANSPORT_CA_FILE``: CA bundle to check the server (system store otherwise);
- ``ACTES_TRANSPORT_PIN_SHA256``: SHA-256 of the server certificate (DER, hex, colons allowed);
  the connection is refused if the certificate differs;
- ``ACTES_TRANSPORT_USERNAME`` / ``ACTES_TRANSPORT_PASSWORD``: HTTP Basic of the legacy protocol;
- ``ACTES_TRANSPORT_TIMEOUT`` (seconds), ``ACTES_TRANSPORT_FIELD`` (multipart field name).
Success is HTTP 200 (legacy) or 201 (DGCL servers of 2025), brief §10."""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import secrets
import ssl
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

from django.conf import settings

from emegalis.core.downloads import ascii_filename, clean_filename

SUCCESS_CODES = (200, 201)


class TransportError(Exception):
    """The archive could not be delivered; the message (French) says why."""

    def __init__(self, message: str, *, status: int | None = None, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.status = status
        self.permanent = permanent


@dataclass(frozen=True)
class TransportConfig:
    url: str
    client_cert: str = ""
    client_key: str = ""
    ca_file: str = ""
    pin_sha256: str = ""
    username: str = ""
    password: str = ""
    timeout: float = 60.0
    field: str = "enveloppe"

    @classmethod
    def from_settings(cls) -> TransportConfig:
        g = lambda name, default="": getattr(settings, name, default) or default  # noqa: E731
        return cls(
            url=g("ACTES_TRANSPORT_URL"),
            client_cert=g("ACTES_TRANSPORT_CLIENT_CERT"),
            client_key=g("ACTES_TRANSPORT_CLIENT_KEY"),
            ca_file=g("ACTES_TRANSPORT_CA_FILE"),
            pin_sha256=g("ACTES_TRANSPORT_PIN_SHA256"),
            username=g("ACTES_TRANSPORT_USERNAME"),
            password=g("ACTES_TRANSPORT_PASSWORD"),
            timeout=float(g("ACTES_TRANSPORT_TIMEOUT", 60)),
            field=g("ACTES_TRANSPORT_FIELD", "enveloppe"),
        )


class _MultipartBody(io.RawIOBase):
    """head + the archive's bytes (read in chunks from its file) + tail, as one stream."""

    def __init__(self, head: bytes, file: BinaryIO, tail: bytes) -> None:
        self._parts = [io.BytesIO(head), file, io.BytesIO(tail)]

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while self._parts:
            data = self._parts[0].read(size if size and size > 0 else 65536)
            if data:
                return data
            self._parts.pop(0)
        return b""


def _ssl_context(config: TransportConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=config.ca_file or None)
    if config.client_cert:
        context.load_cert_chain(config.client_cert, config.client_key or None)
    return context


def _check_pin(conn: http.client.HTTPConnection, pin: str) -> None:
    sock = getattr(conn, "sock", None)
    if not isinstance(sock, ssl.SSLSocket):
        raise TransportError("Épinglage demandé mais la connexion n'est pas chiffrée (https).")
    der = sock.getpeercert(binary_form=True) or b""
    got = hashlib.sha256(der).hexdigest()
    if got != pin.replace(":", "").strip().lower():
        raise TransportError(
            "Le certificat du serveur ne correspond pas à l'empreinte épinglée : envoi refusé.",
            permanent=False,
        )


def post_archive(
    *, name: str, file: BinaryIO, size: int, config: TransportConfig | None = None
) -> int:
    """POST one archive (multipart, one file) and return the HTTP status on success."""
    config = config or TransportConfig.from_settings()
    if not config.url:
        raise TransportError(
            "Aucune adresse de transmission n'est configurée (ACTES_TRANSPORT_URL)."
        )
    parts = urlsplit(config.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError(f"Adresse de transmission invalide : {config.url}", permanent=True)
    boundary = "emegalis-" + secrets.token_hex(12)
    # Archive names are built by the codec (ARCHIVE_NAME_RE), but this is a header: keep it
    # to one line of plain ASCII whatever the settings (trigramme) hold.
    safe_name = ascii_filename(clean_filename(name))
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{config.field}"; filename="{safe_name}"\r\n'
        "Content-Type: application/x-gzip\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + size + len(tail)),
        "User-Agent": "e-megalis-tdt/1",
    }
    if config.username:
        token = base64.b64encode(f"{config.username}:{config.password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port or 443, timeout=config.timeout, context=_ssl_context(config)
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=config.timeout)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        conn.connect()
        if config.pin_sha256:
            _check_pin(conn, config.pin_sha256)
        file.seek(0)
        conn.request("POST", path, body=_MultipartBody(head, file, tail), headers=headers)
        response = conn.getresponse()
        body = response.read(4096).decode("utf-8", "replace").strip()
    except TransportError:
        raise
    except ssl.SSLError as exc:
        raise TransportError(f"Échec de la négociation TLS : {exc}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise TransportError(f"Serveur injoignable ({config.url}) : {exc}") from None
    finally:
        conn.close()
    if response.status not in SUCCESS_CODES:
        detail = f" — {body[:300]}" if body else ""
        raise TransportError(
            f"Le serveur a refusé l'archive (HTTP {response.status}){detail}",
            status=response.status,
            permanent=400 <= response.status < 500 and response.status not in (408, 429),
        )
    return response.status
