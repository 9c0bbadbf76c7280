"""Sealing of plis: opening keys, k-of-n shares, per-file key wrap and chunked encryption.

Pure functions over bytes and file-like objects; nothing here needs Django. The format
written and read here is specified in ``docs/plis-format.md`` (format version 1) so that an
opened pli can be decrypted by an independent tool; the choices are argued in ADR 0004.

- **Opening key pair**: one X25519 key pair per consultation. The platform keeps only the
  public key; the private key exists in memory during the key ceremony (split into shares,
  then forgotten) and during an opening session (rebuilt from k shares, then forgotten).
- **Shares**: the 32-byte private key is split k-of-n with SLIP-39 (``shamir-mnemonic``,
  Trezor's reference implementation): each share is a list of 33 words with a checksum, so a
  member can print it or type it back. The platform keeps a commitment (SHA-256 with domain
  separation) per share to recognise a valid share later without being able to rebuild any.
- **File key**: each file has its own random 256-bit data key, wrapped to the opening public
  key with an ephemeral X25519 exchange, HKDF-SHA256 and AES-256-GCM.
- **Content**: AES-256-GCM in the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár
  2015): fixed plaintext chunks (1 MiB), nonce = 7-byte random prefix || 32-bit big-endian
  chunk counter || 1-byte last-chunk flag, every chunk authenticated with the file header as
  associated data. Reordering, dropping, duplicating or truncating chunks, or altering the
  header, makes decryption fail at the affected chunk.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import shamir_mnemonic
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"EMGPLI\r\n"
VERSION = 1
CHUNK_SIZE = 1024 * 1024
TAG_SIZE = 16
KEY_SIZE = 32
NONCE_PREFIX_SIZE = 7
WRAP_NONCE_SIZE = 12
WRAPPED_KEY_SIZE = KEY_SIZE + TAG_SIZE
MAX_CHUNKS = 2**32

# magic (8) | version (1) | chunk size (4, BE) | ephemeral public key (32)
_FIXED = struct.Struct(">8sBI32s")
HEADER_SIZE = _FIXED.size + WRAP_NONCE_SIZE + WRAPPED_KEY_SIZE + NONCE_PREFIX_SIZE  # 112

HKDF_INFO = b"e-megalis pli v1 key wrap"
SHARE_COMMITMENT_TAG = b"e-megalis opening share v1\x00"


class SealingError(Exception):
    """Base class of every refusal of this module."""


class FormatError(SealingError):
    """The bytes are not a version-1 sealed file (bad magic, version, size or header)."""


class IntegrityError(SealingError):
    """A chunk or the wrapped key failed authentication: the file was altered or truncated."""

    def __init__(self, message: str, chunk: int | None = None):
        super().__init__(message)
        self.chunk = chunk


class ShareError(SealingError):
    """Shares that do not rebuild the opening key (too few, invalid, foreign or mismatched)."""


# --- opening key pair --------------------------------------------------------------------


@dataclass(frozen=True)
class OpeningKeyPair:
    """An opening key pair as raw 32-byte X25519 keys."""

    private_key: bytes
    public_key: bytes


def generate_opening_key_pair() -> OpeningKeyPair:
    """A fresh X25519 key pair for one consultation."""
    private = X25519PrivateKey.generate()
    return OpeningKeyPair(
        private_key=private.private_bytes_raw(),
        public_key=private.public_key().public_bytes_raw(),
    )


def public_key_of(private_key: bytes) -> bytes:
    """The raw X25519 public key of a raw private key."""
    return X25519PrivateKey.from_private_bytes(private_key).public_key().public_bytes_raw()


def public_key_fingerprint(public_key: bytes) -> str:
    """Hex SHA-256 of the raw public key, printed on shares and PVs to name the key."""
    return hashlib.sha256(public_key).hexdigest()


# --- k-of-n shares -----------------------------------------------------------------------


def split_private_key(private_key: bytes, threshold: int, count: int) -> list[str]:
    """Split a 32-byte private key into ``count`` SLIP-39 shares, any ``threshold`` rebuild it.

    Each share is a string of 33 English words. 1 ≤ threshold ≤ count ≤ 16; a threshold of 1
    with several shares is refused (every share would be the key itself).
    """
    if len(private_key) != KEY_SIZE:
        raise ValueError("La clé privée d'ouverture doit faire 32 octets.")
    if not 1 <= threshold <= count <= 16:
        raise ValueError("Il faut 1 ≤ k ≤ n ≤ 16 membres pour le partage de la clé.")
    if threshold == 1 and count > 1:
        raise ValueError("Un seuil de 1 sur plusieurs membres donnerait la clé à chacun.")
    groups = shamir_mnemonic.generate_mnemonics(
        group_threshold=1, groups=[(threshold, count)], master_secret=private_key
    )
    return list(groups[0])


def normalize_share(share: str) -> str:
    """A share as typed or pasted (any case, spaces, line breaks, numbering) → canonical words."""
    words = [w for w in share.lower().replace(",", " ").split() if not w.rstrip(".").isdigit()]
    return " ".join(words)


def share_commitment(share: str, public_key: bytes) -> str:
    """Hex commitment to a share, bound to the consultation's public key.

    A SLIP-39 share carries as much randomness as the key it protects (256 bits), so a plain
    hash cannot be inverted or guessed; the key binding stops a share of one consultation
    from matching a commitment of another.
    """
    data = SHARE_COMMITMENT_TAG + public_key + normalize_share(share).encode("ascii")
    return hashlib.sha256(data).hexdigest()


def verify_share(share: str, commitment: str, public_key: bytes) -> bool:
    """Whether ``share`` is the one committed to (constant-time comparison)."""
    try:
        computed = share_commitment(share, public_key)
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(computed, commitment)


def combine_shares(shares: Iterable[str], threshold: int, public_key: bytes) -> bytes:
    """Rebuild the private key from at least ``threshold`` shares and check it against the key.

    Raises :class:`ShareError` with a French message when the shares are too few, malformed,
    from different splits, or rebuild a key that is not the consultation's.
    """
    canonical: list[str] = []
    for share in shares:
        words = normalize_share(share)
        if words and words not in canonical:
            canonical.append(words)
    if len(canonical) < threshold:
        raise ShareError(
            f"{len(canonical)} part(s) distincte(s) fournie(s), il en faut {threshold}."
        )
    try:
        private_key = shamir_mnemonic.combine_mnemonics(canonical[:threshold])
    except (shamir_mnemonic.MnemonicError, ValueError, KeyError) as exc:
        raise ShareError(f"Parts invalides : {exc}") from exc
    if len(private_key) != KEY_SIZE or not hmac.compare_digest(
        public_key_of(private_key), public_key
    ):
        raise ShareError("Les parts ne reconstituent pas la clé de cette consultation.")
    return private_key


# --- file header and key wrap ------------------------------------------------------------


@dataclass(frozen=True)
class FileHeader:
    """The 112-byte header of a sealed file."""

    chunk_size: int
    ephemeral_public_key: bytes
    wrap_nonce: bytes
    wrapped_key: bytes
    nonce_prefix: bytes

    def to_bytes(self) -> bytes:
        return (
            _FIXED.pack(MAGIC, VERSION, self.chunk_size, self.ephemeral_public_key)
            + self.wrap_nonce
            + self.wrapped_key
            + self.nonce_prefix
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> FileHeader:
        if len(data) < HEADER_SIZE:
            raise FormatError("En-tête de pli tronqué.")
        magic, version, chunk_size, eph = _FIXED.unpack_from(data)
        if magic != MAGIC:
            raise FormatError("Ce fichier n'est pas un pli scellé e-mégalis.")
        if version != VERSION:
            raise FormatError(f"Version de format {version} inconnue.")
        if not 16 <= chunk_size <= 64 * 1024 * 1024:
            raise FormatError("Taille de bloc invalide.")
        offset = _FIXED.size
        wrap_nonce = data[offset : offset + WRAP_NONCE_SIZE]
        offset += WRAP_NONCE_SIZE
        wrapped = data[offset : offset + WRAPPED_KEY_SIZE]
        offset += WRAPPED_KEY_SIZE
        prefix = data[offset : offset + NONCE_PREFIX_SIZE]
        return cls(chunk_size, eph, wrap_nonce, wrapped, prefix)

    def wrap_aad(self) -> bytes:
        """Associated data of the key wrap: magic, version, chunk size, ephemeral key."""
        return _FIXED.pack(MAGIC, VERSION, self.chunk_size, self.ephemeral_public_key)


def _kek(shared_secret: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_SIZE,
        salt=ephemeral_public + recipient_public,
        info=HKDF_INFO,
    ).derive(shared_secret)


def new_file_header(
    recipient_public_key: bytes, chunk_size: int = CHUNK_SIZE
) -> tuple[FileHeader, bytes]:
    """A header for a new file and its data key (which the caller must not store in clear)."""
    data_key = AESGCM.generate_key(bit_length=256)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    recipient = X25519PublicKey.from_public_bytes(recipient_public_key)
    kek = _kek(ephemeral.exchange(recipient), ephemeral_public, recipient_public_key)
    draft = FileHeader(chunk_size, ephemeral_public, os.urandom(WRAP_NONCE_SIZE), b"", b"")
    wrapped = AESGCM(kek).encrypt(draft.wrap_nonce, data_key, draft.wrap_aad())
    header = FileHeader(
        chunk_size, ephemeral_public, draft.wrap_nonce, wrapped, os.urandom(NONCE_PREFIX_SIZE)
    )
    return header, data_key


def unwrap_data_key(header: FileHeader, private_key: bytes) -> bytes:
    """The file's data key, with the opening private key."""
    private = X25519PrivateKey.from_private_bytes(private_key)
    recipient_public = private.public_key().public_bytes_raw()
    ephemeral = X25519PublicKey.from_public_bytes(header.ephemeral_public_key)
    kek = _kek(private.exchange(ephemeral), header.ephemeral_public_key, recipient_public)
    try:
        return AESGCM(kek).decrypt(header.wrap_nonce, header.wrapped_key, header.wrap_aad())
    except InvalidTag as exc:
        message = "La clé du fichier ne s'ouvre pas avec cette clé d'ouverture."
        raise IntegrityError(message) from exc


# --- STREAM chunks -----------------------------------------------------------------------


def chunk_nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    """prefix (7) || counter (4, big-endian) || last flag (1)."""
    if not 0 <= counter < MAX_CHUNKS:
        raise ValueError("Trop de blocs pour un fichier.")
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


def seal_chunk(
    header: FileHeader, data_key: bytes, counter: int, plaintext: bytes, last: bool
) -> bytes:
    """Encrypt one chunk. Every chunk but the last holds exactly ``header.chunk_size`` bytes."""
    if len(plaintext) > header.chunk_size or (not last and len(plaintext) != header.chunk_size):
        raise ValueError("Seul le dernier bloc peut être plus court que la taille de bloc.")
    nonce = chunk_nonce(header.nonce_prefix, counter, last)
    return AESGCM(data_key).encrypt(nonce, plaintext, header.to_bytes())


def open_chunk(
    header: FileHeader, data_key: bytes, counter: int, ciphertext: bytes, last: bool
) -> bytes:
    """Decrypt and authenticate one chunk, or raise :class:`IntegrityError`."""
    nonce = chunk_nonce(header.nonce_prefix, counter, last)
    try:
        return AESGCM(data_key).decrypt(nonce, ciphertext, header.to_bytes())
    except InvalidTag as exc:
        raise IntegrityError(f"Bloc {counter} altéré, déplacé ou tronqué.", chunk=counter) from exc


def sealed_size(plaintext_size: int, chunk_size: int = CHUNK_SIZE) -> int:
    """Size in bytes of the sealed file of a plaintext of ``plaintext_size`` bytes."""
    chunks = max(1, -(-plaintext_size // chunk_size))
    return HEADER_SIZE + plaintext_size + chunks * TAG_SIZE


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining:
        part = stream.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


@dataclass(frozen=True)
class SealResult:
    """What sealing a stream produced: plaintext size and SHA-256, sealed size."""

    size: int
    sha256: str
    sealed_size: int


def seal_stream(
    source: BinaryIO, target: BinaryIO, recipient_public_key: bytes, chunk_size: int = CHUNK_SIZE
) -> SealResult:
    """Encrypt ``source`` into ``target`` (header then chunks), one chunk in memory at a time."""
    header, data_key = new_file_header(recipient_public_key, chunk_size)
    target.write(header.to_bytes())
    digest = hashlib.sha256()
    size = 0
    written = HEADER_SIZE
    counter = 0
    current = _read_exactly(source, chunk_size)
    while True:
        following = _read_exactly(source, chunk_size) if len(current) == chunk_size else b""
        last = not following
        digest.update(current)
        size += len(current)
        sealed = seal_chunk(header, data_key, counter, current, last)
        target.write(sealed)
        written += len(sealed)
        if last:
            break
        counter += 1
        current = following
    return SealResult(size=size, sha256=digest.hexdigest(), sealed_size=written)


def open_stream(source: BinaryIO, private_key: bytes) -> Iterator[bytes]:
    """Yield the plaintext chunks of a sealed file; raise at the first altered chunk.

    A chunk is yielded only once authenticated; a caller that must not act on a partial
    plaintext (the opening session) writes chunks aside and discards them on error.
    """
    header = FileHeader.from_bytes(_read_exactly(source, HEADER_SIZE))
    data_key = unwrap_data_key(header, private_key)
    sealed_chunk = header.chunk_size + TAG_SIZE
    counter = 0
    current = _read_exactly(source, sealed_chunk)
    if len(current) < TAG_SIZE:
        raise IntegrityError("Pli tronqué : aucun bloc complet.", chunk=0)
    while True:
        following = _read_exactly(source, sealed_chunk) if len(current) == sealed_chunk else b""
        last = not following
        if not last and len(following) < TAG_SIZE:
            raise IntegrityError(f"Bloc {counter + 1} tronqué.", chunk=counter + 1)
        yield open_chunk(header, data_key, counter, current, last)
        if last:
            return
        counter += 1
        current = following


@dataclass(frozen=True)
class OpenResult:
    """What checking a sealed file produced."""

    ok: bool
    size: int
    sha256: str | None
    error: str | None = None
    chunk: int | None = None


def check_stream(
    source: BinaryIO, private_key: bytes, target: BinaryIO | None = None
) -> OpenResult:
    """Decrypt ``source`` (into ``target`` if given), hashing the plaintext; never raises on
    altered content: the result says which chunk failed."""
    digest = hashlib.sha256()
    size = 0
    try:
        for plaintext in open_stream(source, private_key):
            digest.update(plaintext)
            size += len(plaintext)
            if target is not None:
                target.write(plaintext)
    except IntegrityError as exc:
        return OpenResult(ok=False, size=size, sha256=None, error=str(exc), chunk=exc.chunk)
    except FormatError as exc:
        return OpenResult(ok=False, size=0, sha256=None, error=str(exc), chunk=None)
    return OpenResult(ok=True, size=size, sha256=digest.hexdigest())


def public_key_pem(public_key: bytes) -> str:
    """The raw public key as SubjectPublicKeyInfo PEM, for export beside the format doc."""
    key = X25519PublicKey.from_public_bytes(public_key)
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


# --- transient sealing with a server secret ------------------------------------------------
#
# For values the platform must hold for a short time and then drop (a member's share until
# they collect it, a file's data key while its upload is in progress). Anyone holding both
# the database and the server secret during that window could read them: ADR 0004 says so.

TRANSIENT_INFO = b"e-megalis transient v1\x00"


def _transient_key(secret: bytes, context: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=TRANSIENT_INFO + context
    ).derive(secret)


def seal_transient(secret: bytes, context: bytes, plaintext: bytes) -> bytes:
    """nonce (12) || AES-256-GCM(HKDF(secret, context), plaintext, aad = context)."""
    nonce = os.urandom(WRAP_NONCE_SIZE)
    return nonce + AESGCM(_transient_key(secret, context)).encrypt(nonce, plaintext, context)


def open_transient(secret: bytes, context: bytes, sealed: bytes) -> bytes:
    """The plaintext of :func:`seal_transient`, or :class:`IntegrityError`."""
    nonce, body = sealed[:WRAP_NONCE_SIZE], sealed[WRAP_NONCE_SIZE:]
    try:
        return AESGCM(_transient_key(secret, context)).decrypt(nonce, body, context)
    except InvalidTag as exc:
        raise IntegrityError("Valeur scellée altérée ou d'un autre contexte.") from exc
