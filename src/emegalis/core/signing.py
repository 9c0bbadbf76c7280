"""The platform's PAdES signature with an RFC 3161 timestamp (pyHanko), and a local TSA.

Production sets ``SIGNING_CERT_FILE`` / ``SIGNING_KEY_FILE`` (PEM, the platform's signing
certificate and key, with ``SIGNING_CHAIN_FILE`` for intermediates) and ``SIGNING_TSA_URL``
(a qualified timestamping authority). Without them — development and tests — a local PKI is
generated with ``cryptography`` on first use into ``VAR_DIR/pki``: a root « e-mégalis
autorité locale de test », a signing certificate (EC P-256) and a TSA certificate (RSA, extended key
usage timeStamping, critical). Its timestamps come from pyHanko's ``DummyTimeStamper``, in process,
and the same TSA answers RFC 3161 requests over HTTP at ``/horodatage/`` for other tools.
Documents signed with the local PKI are for testing only.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import os
import threading
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from . import witnesses

_LOCK = threading.Lock()


@dataclass(frozen=True)
class LocalPki:
    root: asn1_x509.Certificate
    signer_cert: asn1_x509.Certificate
    signer_key: asn1_keys.PrivateKeyInfo
    tsa_cert: asn1_x509.Certificate
    tsa_key: asn1_keys.PrivateKeyInfo


def pki_dir() -> Path:
    return Path(getattr(settings, "SIGNING_LOCAL_PKI_DIR", None) or settings.VAR_DIR / "pki")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "e-mégalis (test)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(subject, issuer, public_key, issuer_key, *, ca: bool, eku=None):
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _create_local_pki(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("e-mégalis autorité locale de test")
    root = _certificate(root_name, root_name, root_key.public_key(), root_key, ca=True)
    files = {"root.pem": root.public_bytes(serialization.Encoding.PEM)}
    for stem, common_name, eku in (
        ("signer", "e-mégalis plateforme (signature de test)", None),
        ("tsa", "e-mégalis horodatage de test", [ExtendedKeyUsageOID.TIME_STAMPING]),
    ):
        # pyHanko's DummyTimeStamper signs with RSA only.
        key = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if stem == "tsa"
            else ec.generate_private_key(ec.SECP256R1())
        )
        cert = _certificate(
            _name(common_name), root_name, key.public_key(), root_key, ca=False, eku=eku
        )
        files[f"{stem}.pem"] = cert.public_bytes(serialization.Encoding.PEM)
        files[f"{stem}-key.pem"] = _pem_key(key)
    for name, data in files.items():
        temporary = folder / f".{name}.{os.getpid()}"
        temporary.write_bytes(data)
        os.chmod(temporary, 0o600)
        os.replace(temporary, folder / name)


def load_certificate(path: Path) -> asn1_x509.Certificate:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _load_key(path: Path) -> asn1_keys.PrivateKeyInfo:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return asn1_keys.PrivateKeyInfo.load(der)


_cache: dict[Path, LocalPki] = {}


def local_pki() -> LocalPki:
    """The local test PKI of this installation, created on first use."""
    folder = pki_dir()
    with _LOCK:
        if folder in _cache:
            return _cache[folder]
        if not (folder / "tsa-key.pem").exists():
            _create_local_pki(folder)
        pki = LocalPki(
            root=load_certificate(folder / "root.pem"),
            signer_cert=load_certificate(folder / "signer.pem"),
            signer_key=_load_key(folder / "signer-key.pem"),
            tsa_cert=load_certificate(folder / "tsa.pem"),
            tsa_key=_load_key(folder / "tsa-key.pem"),
        )
        _cache[folder] = pki
        return pki


def local_timestamper() -> DummyTimeStamper:
    pki = local_pki()
    return DummyTimeStamper(
        tsa_cert=pki.tsa_cert, tsa_key=pki.tsa_key, certs_to_embed=[pki.root, pki.tsa_cert]
    )


class UrlTimeStamper(TimeStamper):
    """RFC 3161 over HTTP with the standard library (no extra HTTP client needed)."""

    def __init__(self, url: str, timeout: float = 20):
        super().__init__()
        self.url = url
        self.timeout = timeout

    def _post(self, body: bytes) -> bytes:
        request = urllib.request.Request(  # noqa: S310 - the URL comes from settings
            self.url,
            data=body,
            headers={"Content-Type": "application/timestamp-query"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            return response.read()

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        raw = await asyncio.to_thread(self._post, req.dump())
        return tsp.TimeStampResp.load(raw)


def timestamper() -> TimeStamper:
    url = getattr(settings, "SIGNING_TSA_URL", "")
    return UrlTimeStamper(url) if url else local_timestamper()


def _signer() -> signers.SimpleSigner:
    cert_file = getattr(settings, "SIGNING_CERT_FILE", "")
    key_file = getattr(settings, "SIGNING_KEY_FILE", "")
    if cert_file and key_file:
        chain = getattr(settings, "SIGNING_CHAIN_FILE", "")
        return signers.SimpleSigner.load(
            key_file, cert_file, ca_chain_files=(chain,) if chain else None
        )
    pki = local_pki()
    return signers.SimpleSigner(
        signing_cert=pki.signer_cert,
        signing_key=pki.signer_key,
        cert_registry=SimpleCertificateStore.from_certs([pki.root]),
    )


# Room for the signature container, per signing identity, learnt from this process's first
# signature. Without it pyHanko sizes the room before every signature by building a draft
# container, with a first timestamp: one more request to the TSA per document (a paid token
# with a qualified TSA; ~50 ms with the local one).
_RESERVED: dict[tuple[str, str], int] = {}


def _identity() -> tuple[str, str]:
    cert = getattr(settings, "SIGNING_CERT_FILE", "") or str(pki_dir())
    return cert, getattr(settings, "SIGNING_TSA_URL", "") or "local"


def _reserved_in(signed: bytes) -> int:
    """The room pyHanko left for the container of the document's last signature: the gap
    of its /ByteRange, less the two angle brackets (hex digits, as pyHanko counts it)."""
    signature = PdfFileReader(io.BytesIO(signed)).embedded_signatures[-1]
    byte_range = signature.sig_object["/ByteRange"]
    return int(byte_range[2]) - int(byte_range[1]) - 2


def sign_pdf(
    pdf: bytes,
    *,
    reason: str,
    location: str = "e-mégalis",
    kind: str = "document",
    object_type: str = "",
    object_id: object = "",
) -> bytes:
    """PAdES baseline signature (B-T: with an RFC 3161 signature timestamp) of the PDF.

    Every signed document witnesses the journal's head (core/witnesses.py): the head is printed
    on its pages and written in its information before signing, and the document is recorded
    as a witness (`kind`, `object_type`, `object_id` name it). Needs the database."""
    head = witnesses.current_head()
    signed = _sign(witnesses.mark_pdf(pdf, head), reason=reason, location=location)
    witnesses.record_document(
        head=head,
        signed_pdf=signed,
        kind=kind,
        object_type=object_type,
        object_id=object_id,
        description=reason,
    )
    return signed


def _sign(pdf: bytes, *, reason: str, location: str) -> bytes:
    metadata = signers.PdfSignatureMetadata(
        field_name="SignaturePlateforme",
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
    )
    identity = _identity()
    reserved = _RESERVED.get(identity)

    def sign(room):
        signer = signers.PdfSigner(metadata, signer=_signer(), timestamper=timestamper())
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        return run_async(lambda: signer.async_sign_pdf(writer, bytes_reserved=room)).getvalue()

    if reserved is not None:
        try:
            return sign(reserved)
        except SigningError:  # a longer chain or token than before: size it again
            _RESERVED.pop(identity, None)
    signed = sign(None)
    _RESERVED[identity] = _reserved_in(signed)
    return signed


def run_async(make_coroutine):
    """Run pyHanko's async API from sync code, also where an event loop already runs in this
    thread (pyHanko's own sync wrappers call asyncio.run, which refuses that)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coroutine())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(lambda: asyncio.run(make_coroutine())).result()


def answer_timestamp_request(body: bytes) -> bytes:
    """The local TSA's DER answer to a DER TimeStampReq."""
    request = tsp.TimeStampReq.load(body)
    return local_timestamper().request_tsa_response(request).dump()
