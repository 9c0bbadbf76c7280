"""Sealing of plis: opening keys, k-of-n shares handed to the members' own keys, per-segment
key wrap and chunked encryption.

Pure functions over bytes and file-like objects; nothing here needs Django. The format
written and read here is specified in ``docs/plis-format.md`` (format version 2; version 1
is still read) so that an opened pli can be decrypted by an independent tool; the choices are
argued in ADR 0004.

- **Opening key pair**: one X25519 key pair per consultation. The platform keeps only the
  public key; the private key exists in memory during the key ceremony (split into shares,
  then forgotten) and during an opening session (rebuilt from k shares, then forgotten).
- **Shares**: the 32-byte private key is split k-of-n with SLIP-39 (``shamir-mnemonic``,
  Trezor's reference implementation): each share is a list of 33 words with a checksum, so a
  member can print it or type it back. The platform keeps a commitment (SHA-256 with domain
  separation) per share, and each share encrypted to its member's own P-256 key (made in the
  member's browser) until the member collects it.
- **Segment keys**: the chunks of a file are sealed in segments, each under its own random
  256-bit data key wrapped to the opening public key (ephemeral X25519, HKDF-SHA256,
  AES-256-GCM) in the segment's header; the key is forgotten once the segment is sealed.
- **Content**: AES-256-GCM in the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár
  2015): fixed plaintext chunks (1 MiB), nonce = 7-byte random prefix || 32-bit big-endian
  chunk index in the file || 1-byte last-chunk flag, every chunk authenticated with the file
  and segment headers as associated data. Reordering, dropping, duplicating or truncating
  chunks or segments, moving a segment from another file, or altering a header, makes
  decryption fail at the affected chunk.
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
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"EMGPLI\r\n"
VERSION = 2  # written since 2026-12: a data key per segment (issue 9)
LEGACY_VERSION = 1  # one data key per file, read only
CHUNK_SIZE = 1024 * 1024
SEGMENT_CHUNKS = 8  # chunks per segment written by the platform (at most 8 MiB in memory)
TAG_SIZE = 16
KEY_SIZE = 32
FILE_ID_SIZE = 16
NONCE_PREFIX_SIZE = 7
WRAP_NONCE_SIZE = 12
WRAPPED_KEY_SIZE = KEY_SIZE + TAG_SIZE
MAX_CHUNKS = 2**32

# magic (8) | version (1) | chunk size (4, BE) | file id (16)
_FILE_HEADER = struct.Struct(">8sBI16s")
FILE_HEADER_SIZE = _FILE_HEADER.size  # 29
# segment: chunk count (4, framing) | first chunk index (4) | ephemeral public key (32) | …
_COUNT = struct.Struct(">I")
_SEGMENT_FIXED = struct.Struct(">I32s")
SEGMENT_HEADER_SIZE = (
    _COUNT.size + _SEGMENT_FIXED.size + WRAP_NONCE_SIZE + WRAPPED_KEY_SIZE + NONCE_PREFIX_SIZE
)  # 107
# version 1: magic (8) | version (1) | chunk size (4, BE) | ephemeral public key (32) | …
_LEGACY_FIXED = struct.Struct(">8sBI32s")
LEGACY_HEADER_SIZE = (
    _LEGACY_FIXED.size + WRAP_NONCE_SIZE + WRAPPED_KEY_SIZE + NONCE_PREFIX_SIZE
)  # 112

HKDF_INFO = b"e-megalis pli v2 segment key wrap"
LEGACY_HKDF_INFO = b"e-megalis pli v1 key wrap"
SHARE_COMMITMENT_TAG = b"e-megalis opening share v1\x00"
MEMBER_SHARE_INFO = b"e-megalis share to member v1\x00"


class SealingError(Exception):
    """Base class of every refusal of this module."""


class FormatError(SealingError):
    """The bytes are not a sealed file (bad magic, version, size or header)."""


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


# --- shares handed to the members ------------------------------------------------------------
#
# Each commission member has a P-256 key pair made in their own browser (WebCrypto); the
# platform keeps only its public key. At the key ceremony each share is encrypted to its
# member's public key (ECIES: an ephemeral ECDH P-256 exchange, HKDF-SHA256, AES-256-GCM), so
# a share waiting to be collected opens only with its member's private key, never with
# anything the server holds (issue 9, ADR 0004).

MEMBER_PUBLIC_KEY_SIZE = 65  # SEC 1 uncompressed point: 04 || x || y


def check_member_public_key(raw: bytes) -> bytes:
    """``raw`` if it is an uncompressed P-256 public key on the curve, else FormatError."""
    if len(raw) != MEMBER_PUBLIC_KEY_SIZE or raw[0] != 4:
        raise FormatError("Clé publique de membre invalide : point P-256 non compressé attendu.")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:
        raise FormatError(
            "Clé publique de membre invalide : point hors de la courbe P-256."
        ) from exc
    return raw


def share_context(opening_public_key: bytes, position: int) -> bytes:
    """What an encrypted share is bound to: the consultation's opening key and its number."""
    return f"e-megalis share {opening_public_key.hex()} {position}".encode("ascii")


def _member_kek(shared: bytes, ephemeral_public: bytes, member_public: bytes, context: bytes):
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_SIZE,
        salt=ephemeral_public + member_public,
        info=MEMBER_SHARE_INFO + context,
    ).derive(shared)


def encrypt_share_to_member(share: str, member_public_key: bytes, context: bytes) -> bytes:
    """ephemeral public key (65) || nonce (12) || AES-256-GCM(share words, aad = context)."""
    member = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), check_member_public_key(member_public_key)
    )
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    ephemeral_public = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    kek = _member_kek(
        ephemeral.exchange(ec.ECDH(), member), ephemeral_public, member_public_key, context
    )
    nonce = os.urandom(WRAP_NONCE_SIZE)
    words = normalize_share(share).encode("ascii")
    return ephemeral_public + nonce + AESGCM(kek).encrypt(nonce, words, context)


def decrypt_share_as_member(
    blob: bytes, member_private_key: ec.EllipticCurvePrivateKey, context: bytes
) -> str:
    """What the member's browser does (marches/static/marches/commission-key.js), for tests
    and tools."""
    ephemeral_public = blob[:MEMBER_PUBLIC_KEY_SIZE]
    nonce = blob[MEMBER_PUBLIC_KEY_SIZE : MEMBER_PUBLIC_KEY_SIZE + WRAP_NONCE_SIZE]
    body = blob[MEMBER_PUBLIC_KEY_SIZE + WRAP_NONCE_SIZE :]
    member_public = member_private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), check_member_public_key(ephemeral_public)
    )
    kek = _member_kek(
        member_private_key.exchange(ec.ECDH(), ephemeral), ephemeral_public, member_public, context
    )
    try:
        return AESGCM(kek).decrypt(nonce, body, context).decode("ascii")
    except InvalidTag as exc:
        raise IntegrityError("Cette part ne s'ouvre pas avec cette clé de membre.") from exc


# --- key wrap ----------------------------------------------------------------------------


def _kek(shared_secret: bytes, ephemeral_public: bytes, recipient_public: bytes, info: bytes):
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_SIZE,
        salt=ephemeral_public + recipient_public,
        info=info,
    ).derive(shared_secret)


def _wrap(recipient_public_key: bytes, data_key: bytes, aad_prefix: bytes, info: bytes):
    """(ephemeral public key, wrap nonce, wrapped key): ``data_key`` wrapped to the opening
    public key; the associated data is ``aad_prefix`` followed by the ephemeral key."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    recipient = X25519PublicKey.from_public_bytes(recipient_public_key)
    kek = _kek(ephemeral.exchange(recipient), ephemeral_public, recipient_public_key, info)
    nonce = os.urandom(WRAP_NONCE_SIZE)
    wrapped = AESGCM(kek).encrypt(nonce, data_key, aad_prefix + ephemeral_public)
    return ephemeral_public, nonce, wrapped


def _unwrap(
    private_key: bytes, ephemeral_public: bytes, nonce: bytes, wrapped: bytes, aad: bytes, info
) -> bytes:
    private = X25519PrivateKey.from_private_bytes(private_key)
    recipient_public = private.public_key().public_bytes_raw()
    ephemeral = X25519PublicKey.from_public_bytes(ephemeral_public)
    message = "La clé du fichier ne s'ouvre pas avec cette clé d'ouverture."
    try:
        shared = private.exchange(ephemeral)
    except ValueError as exc:  # a low-order point (all-zero secret): the header was altered
        raise IntegrityError(message) from exc
    kek = _kek(shared, ephemeral_public, recipient_public, info)
    try:
        return AESGCM(kek).decrypt(nonce, wrapped, aad)
    except InvalidTag as exc:
        raise IntegrityError(message) from exc


# --- file header (version 2) -------------------------------------------------------------


@dataclass(frozen=True)
class FileHeader:
    """The 29-byte header of a sealed file (version 2): no key in it, only the chunk size and
    a random file identifier that every segment of the file is bound to."""

    chunk_size: int
    file_id: bytes
    version: int = VERSION

    def to_bytes(self) -> bytes:
        return _FILE_HEADER.pack(MAGIC, VERSION, self.chunk_size, self.file_id)


def new_file_header(chunk_size: int = CHUNK_SIZE) -> FileHeader:
    """The header of a new file. It holds no key: each segment brings its own."""
    return FileHeader(chunk_size=chunk_size, file_id=os.urandom(FILE_ID_SIZE))


def parse_header(data: bytes) -> FileHeader | LegacyFileHeader:
    """The header at the start of ``data``, of either format version."""
    if len(data) < 9 or data[:8] != MAGIC:
        raise FormatError("Ce fichier n'est pas un pli scellé e-mégalis.")
    version = data[8]
    if version == LEGACY_VERSION:
        return LegacyFileHeader.from_bytes(data)
    if version != VERSION:
        raise FormatError(f"Version de format {version} inconnue.")
    if len(data) < FILE_HEADER_SIZE:
        raise FormatError("En-tête de pli tronqué.")
    _, _, chunk_size, file_id = _FILE_HEADER.unpack_from(data)
    _check_chunk_size(chunk_size)
    return FileHeader(chunk_size=chunk_size, file_id=file_id)


def header_size(data: bytes) -> int:
    """How many bytes the header at the start of ``data`` takes."""
    return FILE_HEADER_SIZE if parse_header(data).version == VERSION else LEGACY_HEADER_SIZE


def _check_chunk_size(chunk_size: int) -> None:
    if not 16 <= chunk_size <= 64 * 1024 * 1024:
        raise FormatError("Taille de bloc invalide.")


# --- segments (version 2) ----------------------------------------------------------------


@dataclass(frozen=True)
class SegmentHeader:
    """The 107-byte header of a segment: a run of consecutive chunks under a data key of its
    own, wrapped to the opening public key. ``chunk_count`` only frames the segment (it is
    written once the segment is complete); everything after it is authenticated."""

    first_index: int
    ephemeral_public_key: bytes
    wrap_nonce: bytes
    wrapped_key: bytes
    nonce_prefix: bytes
    chunk_count: int = 0

    def authenticated(self) -> bytes:
        return (
            _SEGMENT_FIXED.pack(self.first_index, self.ephemeral_public_key)
            + self.wrap_nonce
            + self.wrapped_key
            + self.nonce_prefix
        )

    def to_bytes(self) -> bytes:
        return _COUNT.pack(self.chunk_count) + self.authenticated()

    @classmethod
    def from_bytes(cls, data: bytes) -> SegmentHeader:
        if len(data) < SEGMENT_HEADER_SIZE:
            raise FormatError("En-tête de segment tronqué.")
        (count,) = _COUNT.unpack_from(data)
        first, eph = _SEGMENT_FIXED.unpack_from(data, _COUNT.size)
        at = _COUNT.size + _SEGMENT_FIXED.size
        nonce = data[at : at + WRAP_NONCE_SIZE]
        at += WRAP_NONCE_SIZE
        wrapped = data[at : at + WRAPPED_KEY_SIZE]
        at += WRAPPED_KEY_SIZE
        prefix = data[at : at + NONCE_PREFIX_SIZE]
        return cls(first, eph, nonce, wrapped, prefix, count)


class SegmentSealer:
    """Seals consecutive chunks of one file from ``first_index`` under a fresh data key that
    exists only in this object: once the segment is stored and the object dropped, nothing
    the platform keeps opens it but the opening private key."""

    def __init__(self, header: FileHeader, recipient_public_key: bytes, first_index: int):
        self._file = header
        data_key = AESGCM.generate_key(bit_length=256)
        eph, nonce, wrapped = _wrap(
            recipient_public_key,
            data_key,
            header.to_bytes() + struct.pack(">I", first_index),
            HKDF_INFO,
        )
        self._aead: AESGCM | None = AESGCM(data_key)
        del data_key  # Python cannot wipe memory; the key is at least not kept referenced
        self.header = SegmentHeader(first_index, eph, nonce, wrapped, os.urandom(NONCE_PREFIX_SIZE))
        self._aad = header.to_bytes() + self.header.authenticated()
        self.count = 0

    def seal(self, plaintext: bytes, last: bool) -> bytes:
        """The next chunk, sealed. Every chunk but the file's last holds exactly chunk size."""
        size = self._file.chunk_size
        if len(plaintext) > size or (not last and len(plaintext) != size):
            raise ValueError("Seul le dernier bloc peut être plus court que la taille de bloc.")
        index = self.header.first_index + self.count
        nonce = chunk_nonce(self.header.nonce_prefix, index, last)
        self.count += 1
        return self._aead.encrypt(nonce, plaintext, self._aad)

    def framed_header(self) -> bytes:
        """The segment's header with its chunk count, to store in front of its chunks."""
        return _COUNT.pack(self.count) + self.header.authenticated()

    def forget(self) -> None:
        self._aead = None


def segment_key(header: FileHeader, segment: SegmentHeader, private_key: bytes) -> bytes:
    """A segment's data key, with the opening private key."""
    return _unwrap(
        private_key,
        segment.ephemeral_public_key,
        segment.wrap_nonce,
        segment.wrapped_key,
        header.to_bytes() + _SEGMENT_FIXED.pack(segment.first_index, segment.ephemeral_public_key),
        HKDF_INFO,
    )


# --- legacy file header (version 1, read only) ---------------------------------------------


@dataclass(frozen=True)
class LegacyFileHeader:
    """The 112-byte header of a version-1 file (deposits made before 2026-12): one data key
    for the whole file, wrapped in the header. Read only, for the opening of such plis."""

    chunk_size: int
    ephemeral_public_key: bytes
    wrap_nonce: bytes
    wrapped_key: bytes
    nonce_prefix: bytes
    version: int = LEGACY_VERSION

    def to_bytes(self) -> bytes:
        return (
            _LEGACY_FIXED.pack(MAGIC, LEGACY_VERSION, self.chunk_size, self.ephemeral_public_key)
            + self.wrap_nonce
            + self.wrapped_key
            + self.nonce_prefix
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> LegacyFileHeader:
        if len(data) < LEGACY_HEADER_SIZE:
            raise FormatError("En-tête de pli tronqué.")
        magic, version, chunk_size, eph = _LEGACY_FIXED.unpack_from(data)
        if magic != MAGIC or version != LEGACY_VERSION:
            raise FormatError("Ce fichier n'est pas un pli scellé e-mégalis de version 1.")
        _check_chunk_size(chunk_size)
        at = _LEGACY_FIXED.size
        wrap_nonce = data[at : at + WRAP_NONCE_SIZE]
        at += WRAP_NONCE_SIZE
        wrapped = data[at : at + WRAPPED_KEY_SIZE]
        at += WRAPPED_KEY_SIZE
        return cls(chunk_size, eph, wrap_nonce, wrapped, data[at : at + NONCE_PREFIX_SIZE])

    def data_key(self, private_key: bytes) -> bytes:
        aad = _LEGACY_FIXED.pack(MAGIC, LEGACY_VERSION, self.chunk_size, self.ephemeral_public_key)
        return _unwrap(
            private_key,
            self.ephemeral_public_key,
            self.wrap_nonce,
            self.wrapped_key,
            aad,
            LEGACY_HKDF_INFO,
        )


# --- STREAM chunks -----------------------------------------------------------------------


def chunk_nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    """prefix (7) || counter (4, big-endian) || last flag (1)."""
    if not 0 <= counter < MAX_CHUNKS:
        raise ValueError("Trop de blocs pour un fichier.")
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


def _open_chunk(key: bytes, prefix: bytes, counter: int, sealed: bytes, last: bool, aad: bytes):
    try:
        return AESGCM(key).decrypt(chunk_nonce(prefix, counter, last), sealed, aad)
    except InvalidTag as exc:
        raise IntegrityError(f"Bloc {counter} altéré, déplacé ou tronqué.", chunk=counter) from exc


def chunk_count(plaintext_size: int, chunk_size: int = CHUNK_SIZE) -> int:
    return max(1, -(-plaintext_size // chunk_size))


def sealed_size(
    plaintext_size: int, chunk_size: int = CHUNK_SIZE, segment_chunks: int = SEGMENT_CHUNKS
) -> int:
    """Size of the sealed file of ``plaintext_size`` bytes cut into segments of
    ``segment_chunks`` chunks (what seal_stream writes)."""
    chunks = chunk_count(plaintext_size, chunk_size)
    segments = -(-chunks // segment_chunks)
    return FILE_HEADER_SIZE + segments * SEGMENT_HEADER_SIZE + plaintext_size + chunks * TAG_SIZE


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
    source: BinaryIO,
    target: BinaryIO,
    recipient_public_key: bytes,
    chunk_size: int = CHUNK_SIZE,
    segment_chunks: int = SEGMENT_CHUNKS,
) -> SealResult:
    """Encrypt ``source`` into ``target`` (file header, then segments of ``segment_chunks``
    chunks), one chunk in memory at a time."""
    header = new_file_header(chunk_size)
    target.write(header.to_bytes())
    written = FILE_HEADER_SIZE
    digest = hashlib.sha256()
    size = 0
    index = 0
    current = _read_exactly(source, chunk_size)
    sealer = None
    sealed: list[bytes] = []
    while True:
        following = _read_exactly(source, chunk_size) if len(current) == chunk_size else b""
        last = not following
        if sealer is None:
            sealer = SegmentSealer(header, recipient_public_key, index)
        sealed.append(sealer.seal(current, last))
        digest.update(current)
        size += len(current)
        if last or sealer.count == segment_chunks:
            segment = sealer.framed_header() + b"".join(sealed)
            target.write(segment)
            written += len(segment)
            sealer.forget()
            sealer, sealed = None, []
        if last:
            break
        index += 1
        current = following
    return SealResult(size=size, sha256=digest.hexdigest(), sealed_size=written)


def open_stream(source: BinaryIO, private_key: bytes) -> Iterator[bytes]:
    """Yield the plaintext chunks of a sealed file (either version); raise at the first
    altered chunk.

    A chunk is yielded only once authenticated; a caller that must not act on a partial
    plaintext (the opening session) writes chunks aside and discards them on error.
    """
    start = _read_exactly(source, 9)
    legacy = len(start) == 9 and start[8] == LEGACY_VERSION
    size = LEGACY_HEADER_SIZE if legacy else FILE_HEADER_SIZE
    header = parse_header(start + _read_exactly(source, size - len(start)))
    if isinstance(header, LegacyFileHeader):
        yield from _open_legacy(source, header, private_key)
        return
    sealed_chunk = header.chunk_size + TAG_SIZE
    index = 0
    while True:
        raw = _read_exactly(source, SEGMENT_HEADER_SIZE)
        if len(raw) < SEGMENT_HEADER_SIZE:
            raise IntegrityError(f"Pli tronqué avant le bloc {index}.", chunk=index)
        segment = SegmentHeader.from_bytes(raw)
        if segment.first_index != index or segment.chunk_count < 1:
            raise IntegrityError(f"Segment manquant, déplacé ou altéré au bloc {index}.", index)
        try:
            key = segment_key(header, segment, private_key)
        except IntegrityError as exc:
            raise IntegrityError(
                f"La clé du segment du bloc {index} ne s'ouvre pas : clé d'ouverture erronée, ou "
                "segment altéré ou étranger à ce fichier.",
                chunk=index,
            ) from exc
        aad = header.to_bytes() + segment.authenticated()
        for _ in range(segment.chunk_count):
            piece = _read_exactly(source, sealed_chunk)
            if len(piece) < TAG_SIZE:
                raise IntegrityError(f"Bloc {index} tronqué.", chunk=index)
            last = len(piece) < sealed_chunk or not _peek(source)
            yield _open_chunk(key, segment.nonce_prefix, index, piece, last, aad)
            index += 1
            if last:
                if _peek(source):
                    raise IntegrityError(f"Données après le dernier bloc ({index}).", index)
                return


def _peek(source: BinaryIO) -> bool:
    """Whether the stream has more bytes (needs a buffered stream)."""
    peek = getattr(source, "peek", None)
    if peek is not None:
        return bool(peek(1))
    at = source.tell()
    more = bool(source.read(1))
    source.seek(at)
    return more


def _open_legacy(source: BinaryIO, header: LegacyFileHeader, private_key: bytes):
    data_key = header.data_key(private_key)
    aad = header.to_bytes()
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
        yield _open_chunk(data_key, header.nonce_prefix, counter, current, last, aad)
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
