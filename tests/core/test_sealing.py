"""Sealing of plis (core/sealing.py): shares, their hand-over to members' keys, per-segment
key wrap, STREAM chunks, tampering, and the documented format (version 2, and version 1 still
read) checked by independent decryptors written from docs/plis-format.md."""

import hashlib
import io
import os
import struct

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from emegalis.core import sealing
from tests.core.sealing_v1 import SMALL, seal_version_1

PER_SEGMENT = 3  # and small segments make several of them


SEG = sealing.SEGMENT_HEADER_SIZE


HEAD = sealing.FILE_HEADER_SIZE


@pytest.fixture(scope="module")
def keys():
    return sealing.generate_opening_key_pair()


def seal(data: bytes, public_key: bytes, chunk_size: int = SMALL, per_segment=PER_SEGMENT):
    out = io.BytesIO()
    result = sealing.seal_stream(io.BytesIO(data), out, public_key, chunk_size, per_segment)
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.sealed_size == len(out.getvalue())
    assert result.sealed_size == sealing.sealed_size(len(data), chunk_size, per_segment)
    return out.getvalue()


def split(sealed: bytes, chunk_size: int = SMALL) -> tuple[bytes, list[tuple[bytes, list[bytes]]]]:
    """(file header, [(segment header, [chunks])]) of a version-2 file."""
    header, at, segments = sealed[:HEAD], HEAD, []
    while at < len(sealed):
        segment_header = sealed[at : at + SEG]
        (count,) = struct.unpack(">I", segment_header[:4])
        at += SEG
        chunks = []
        for _ in range(count):
            chunks.append(sealed[at : at + chunk_size + 16])
            at += len(chunks[-1])
        segments.append((segment_header, chunks))
    return header, segments


def join(header: bytes, segments) -> bytes:
    return header + b"".join(h + b"".join(c) for h, c in segments)


def opens(sealed: bytes, private_key: bytes) -> sealing.OpenResult:
    return sealing.check_stream(io.BytesIO(sealed), private_key)


def test_key_pair_is_x25519_raw(keys):
    assert len(keys.private_key) == len(keys.public_key) == 32
    assert sealing.public_key_of(keys.private_key) == keys.public_key
    assert "BEGIN PUBLIC KEY" in sealing.public_key_pem(keys.public_key)
    assert len(sealing.public_key_fingerprint(keys.public_key)) == 64


@pytest.mark.parametrize(
    "size", [0, 1, SMALL - 1, SMALL, SMALL + 1, 3 * SMALL, 3 * SMALL + 1, 7 * SMALL + 7]
)
def test_round_trip_at_every_chunk_and_segment_boundary(keys, size):
    data = os.urandom(size)
    sealed = seal(data, keys.public_key)
    assert size < 16 or data not in sealed
    assert b"".join(sealing.open_stream(io.BytesIO(sealed), keys.private_key)) == data
    result = opens(sealed, keys.private_key)
    assert result.ok and result.size == size
    assert result.sha256 == hashlib.sha256(data).hexdigest()


def test_default_sizes_and_layout(keys):
    data = os.urandom(sealing.CHUNK_SIZE + 10)
    sealed = seal(data, keys.public_key, sealing.CHUNK_SIZE, sealing.SEGMENT_CHUNKS)
    header = sealing.parse_header(sealed)
    assert header.version == 2 and header.chunk_size == 1024 * 1024 and len(header.file_id) == 16
    assert (HEAD, SEG) == (29, 107)
    assert len(sealed) == HEAD + SEG + len(data) + 2 * sealing.TAG_SIZE
    _, segments = split(sealed, sealing.CHUNK_SIZE)
    assert len(segments) == 1 and len(segments[0][1]) == 2


def test_same_plaintext_seals_differently(keys):
    data = b"offre identique" * 10
    assert seal(data, keys.public_key) != seal(data, keys.public_key)


def test_each_segment_has_its_own_data_key(keys):
    sealed = seal(os.urandom(7 * SMALL), keys.public_key)
    header, segments = split(sealed)
    assert len(segments) == 3
    file_header = sealing.parse_header(header)
    data_keys = {
        sealing.segment_key(file_header, sealing.SegmentHeader.from_bytes(h), keys.private_key)
        for h, _ in segments
    }
    assert len(data_keys) == 3
    assert not any(key in sealed for key in data_keys)


def test_wrong_private_key_cannot_open(keys):
    sealed = seal(b"prix : 1 234 567 EUR HT", keys.public_key)
    other = sealing.generate_opening_key_pair()
    result = opens(sealed, other.private_key)
    assert not result.ok and result.sha256 is None
    assert "clé" in result.error


def test_flipped_byte_in_a_chunk_is_reported_for_that_chunk(keys):
    data = os.urandom(5 * SMALL + 3)
    sealed = bytearray(seal(data, keys.public_key))
    # chunk 4 is the second chunk of the second segment
    sealed[HEAD + SEG + 3 * (SMALL + 16) + SEG + (SMALL + 16) + 5] ^= 0x01
    out = io.BytesIO()
    result = sealing.check_stream(io.BytesIO(bytes(sealed)), keys.private_key, out)
    assert not result.ok
    assert result.chunk == 4
    assert "Bloc 4" in result.error
    assert out.getvalue() == data[: 4 * SMALL]  # only authenticated chunks were released


def _swap_chunks_in_segment(h, s):
    (sh, c), *rest = s
    return join(h, [(sh, [c[1], c[0], *c[2:]]), *rest])


def _count(segment_header: bytes, count: int) -> bytes:
    return struct.pack(">I", count) + segment_header[4:]


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda h, s: join(h, s[:-1]), id="last-segment-dropped"),
        pytest.param(lambda h, s: join(h, [s[1], s[0], *s[2:]]), id="segments-swapped"),
        pytest.param(lambda h, s: join(h, [s[0], s[0], *s[1:]]), id="segment-duplicated"),
        pytest.param(lambda h, s: join(h, [s[0], *s[2:]]), id="middle-segment-dropped"),
        pytest.param(lambda h, s: join(h, s) + s[0][1][0], id="chunk-appended"),
        pytest.param(lambda h, s: join(h, s)[:-1], id="one-byte-cut"),
        pytest.param(lambda h, s: h, id="no-segment-at-all"),
        pytest.param(_swap_chunks_in_segment, id="chunks-swapped"),
        pytest.param(lambda h, s: join(h[:-1] + bytes([h[-1] ^ 1]), s), id="file-id-changed"),
        pytest.param(
            lambda h, s: join(h, [(s[0][0][:-1] + bytes([s[0][0][-1] ^ 1]), s[0][1]), *s[1:]]),
            id="nonce-prefix-changed",
        ),
        pytest.param(
            lambda h, s: join(
                h,
                [s[0], (s[1][0][:4] + struct.pack(">I", 4) + s[1][0][8:], s[1][1]), *s[2:]],
            ),
            id="first-index-changed",
        ),
        pytest.param(
            lambda h, s: join(h, [(s[0][0][:8] + bytes(32) + s[0][0][40:], s[0][1]), *s[1:]]),
            id="ephemeral-key-made-low-order",
        ),
        pytest.param(
            lambda h, s: join(h, [(_count(s[0][0], 2), s[0][1][:2]), *s[1:]]),
            id="chunk-dropped-and-count-fixed",
        ),
    ],
)
def test_truncation_reordering_and_header_changes_are_detected(keys, mutate):
    data = os.urandom(7 * SMALL + 9)
    header, segments = split(seal(data, keys.public_key))
    assert [len(c) for _, c in segments] == [3, 3, 2]
    result = opens(mutate(header, segments), keys.private_key)
    assert not result.ok
    assert result.sha256 is None


def test_truncation_exactly_at_a_segment_boundary_is_detected(keys):
    data = os.urandom(6 * SMALL)  # the last chunk is full: only its flag marks it as last
    header, segments = split(seal(data, keys.public_key))
    result = opens(join(header, segments[:1]), keys.private_key)
    assert not result.ok and result.chunk == 2


def test_a_segment_of_another_file_of_the_same_consultation_is_detected(keys):
    """Both files are sealed to the same opening key: the file id tells them apart."""
    data = os.urandom(6 * SMALL)
    header, segments = split(seal(data, keys.public_key))
    _, others = split(seal(os.urandom(6 * SMALL), keys.public_key))
    result = opens(join(header, [segments[0], others[1]]), keys.private_key)
    assert not result.ok and result.chunk == 3


def test_not_a_sealed_file_is_a_format_error(keys):
    result = opens(b"%PDF-1.7 en clair" * 20, keys.private_key)
    assert not result.ok and "pli scellé" in result.error
    with pytest.raises(sealing.FormatError):
        sealing.parse_header(b"EMG")
    with pytest.raises(sealing.FormatError, match="Version de format 3"):
        sealing.parse_header(b"EMGPLI\r\n\x03" + bytes(40))


def test_only_the_last_chunk_may_be_short(keys):
    header = sealing.new_file_header(SMALL)
    sealer = sealing.SegmentSealer(header, keys.public_key, 0)
    with pytest.raises(ValueError):
        sealer.seal(b"court", last=False)
    with pytest.raises(ValueError):
        sealer.seal(b"x" * (SMALL + 1), last=True)


def test_segments_sealed_by_separate_requests_form_a_valid_file(keys):
    """The upload seals each request's chunks as a segment under a key of its own."""
    header = sealing.new_file_header(SMALL)
    data = os.urandom(2 * SMALL + 1)
    parts = [data[:SMALL], data[SMALL : 2 * SMALL], data[2 * SMALL :]]
    sealed = header.to_bytes()
    for index, part in enumerate(parts):  # one request (and one segment) per chunk
        sealer = sealing.SegmentSealer(header, keys.public_key, index)
        chunk = sealer.seal(part, last=index == 2)
        sealed += sealer.framed_header() + chunk
        sealer.forget()
    assert opens(sealed, keys.private_key).sha256 == hashlib.sha256(data).hexdigest()


def member_key():
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return private, public


def test_a_share_opens_with_its_members_key_and_context_only(keys):
    share = sealing.split_private_key(keys.private_key, 2, 3)[0]
    private, public = member_key()
    context = sealing.share_context(keys.public_key, 1)
    blob = sealing.encrypt_share_to_member(share.upper(), public, context)
    assert share.encode() not in blob and len(blob) == 65 + 12 + len(share) + 16
    assert sealing.decrypt_share_as_member(blob, private, context) == sealing.normalize_share(share)
    other, _ = member_key()
    with pytest.raises(sealing.IntegrityError):
        sealing.decrypt_share_as_member(blob, other, context)
    with pytest.raises(sealing.IntegrityError):
        sealing.decrypt_share_as_member(blob, private, sealing.share_context(keys.public_key, 2))
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(sealing.IntegrityError):
        sealing.decrypt_share_as_member(bytes(tampered), private, context)


def test_member_keys_must_be_p256_points():
    _, public = member_key()
    assert sealing.check_member_public_key(public) == public
    for bad in (b"", public[:-1], b"\x02" + public[1:33], b"\x04" + b"\x00" * 64):
        with pytest.raises(sealing.FormatError):
            sealing.check_member_public_key(bad)


def independent_share_decrypt(blob: bytes, member_private, opening_public: bytes, position: int):
    """Written from docs/plis-format.md (hand-over of a share to its member)."""
    eph, nonce, body = blob[:65], blob[65:77], blob[77:]
    member_public = member_private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    context = b"e-megalis share " + opening_public.hex().encode() + b" " + str(position).encode()
    shared = member_private.exchange(
        ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), eph)
    )
    kek = HKDF(
        hashes.SHA256(),
        32,
        salt=eph + member_public,
        info=b"e-megalis share to member v1\x00" + context,
    ).derive(shared)
    return AESGCM(kek).decrypt(nonce, body, context).decode("ascii")


def test_documented_share_hand_over_decrypts_independently(keys):
    share = sealing.split_private_key(keys.private_key, 2, 2)[1]
    private, public = member_key()
    blob = sealing.encrypt_share_to_member(share, public, sealing.share_context(keys.public_key, 2))
    assert independent_share_decrypt(blob, private, keys.public_key, 2) == share


def test_any_k_of_n_shares_rebuild_the_key(keys):
    shares = sealing.split_private_key(keys.private_key, 2, 3)
    assert len(shares) == 3 and len(set(shares)) == 3
    assert all(len(s.split()) == 33 for s in shares)
    for pair in [(0, 1), (1, 2), (2, 0)]:
        chosen = [shares[i] for i in pair]
        assert sealing.combine_shares(chosen, 2, keys.public_key) == keys.private_key


def test_three_of_five(keys):
    shares = sealing.split_private_key(keys.private_key, 3, 5)
    assert sealing.combine_shares(shares[2:], 3, keys.public_key) == keys.private_key
    with pytest.raises(sealing.ShareError, match="il en faut 3"):
        sealing.combine_shares(shares[:2], 3, keys.public_key)


def test_k_minus_one_shares_are_refused(keys):
    shares = sealing.split_private_key(keys.private_key, 2, 3)
    with pytest.raises(sealing.ShareError, match="il en faut 2"):
        sealing.combine_shares([shares[0]], 2, keys.public_key)
    with pytest.raises(sealing.ShareError, match="il en faut 2"):
        sealing.combine_shares([shares[0], shares[0].upper()], 2, keys.public_key)


def test_a_mistyped_share_is_refused(keys):
    shares = sealing.split_private_key(keys.private_key, 2, 3)
    words = shares[1].split()
    words[10] = "academic" if words[10] != "academic" else "acid"
    with pytest.raises(sealing.ShareError, match="Parts invalides"):
        sealing.combine_shares([shares[0], " ".join(words)], 2, keys.public_key)


def test_shares_of_another_consultation_are_refused(keys):
    other = sealing.generate_opening_key_pair()
    foreign = sealing.split_private_key(other.private_key, 2, 3)
    with pytest.raises(sealing.ShareError, match="cette consultation"):
        sealing.combine_shares(foreign[:2], 2, keys.public_key)


def test_share_commitment_recognises_its_share_only(keys):
    shares = sealing.split_private_key(keys.private_key, 2, 3)
    commitments = [sealing.share_commitment(s, keys.public_key) for s in shares]
    assert len(set(commitments)) == 3
    typed = "\n".join(f"{i + 1}. {w.upper()}" for i, w in enumerate(shares[0].split()))
    assert sealing.verify_share(typed, commitments[0], keys.public_key)
    assert not sealing.verify_share(shares[1], commitments[0], keys.public_key)
    other = sealing.generate_opening_key_pair()
    assert not sealing.verify_share(shares[0], commitments[0], other.public_key)
    assert not sealing.verify_share("clé ça", commitments[0], keys.public_key)
    for share, commitment in zip(shares, commitments, strict=True):
        assert share.encode() not in commitment.encode()


@pytest.mark.parametrize("k,n", [(0, 3), (4, 3), (1, 3), (2, 17)])
def test_bad_thresholds_are_refused(keys, k, n):
    with pytest.raises(ValueError):
        sealing.split_private_key(keys.private_key, k, n)


def independent_decrypt(sealed: bytes, private_key: bytes) -> bytes:
    """Version 2, written from docs/plis-format.md only, with the `cryptography` primitives."""
    assert sealed[:8] == b"EMGPLI\r\n" and sealed[8] == 2
    (chunk_size,) = struct.unpack(">I", sealed[9:13])
    file_header = sealed[:29]
    priv = X25519PrivateKey.from_private_bytes(private_key)
    recipient = priv.public_key().public_bytes_raw()
    out, at, index = [], 29, 0
    while at < len(sealed):
        segment = sealed[at : at + 107]
        count, first = struct.unpack(">II", segment[:8])
        assert first == index
        eph = segment[8:40]
        shared = priv.exchange(X25519PublicKey.from_public_bytes(eph))
        kek = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=eph + recipient,
            info=b"e-megalis pli v2 segment key wrap",
        ).derive(shared)
        data_key = AESGCM(kek).decrypt(segment[40:52], segment[52:100], file_header + segment[4:40])
        at += 107
        for _ in range(count):
            piece = sealed[at : at + chunk_size + 16]
            at += len(piece)
            last = at >= len(sealed)
            nonce = segment[100:107] + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")
            out.append(AESGCM(data_key).decrypt(nonce, piece, file_header + segment[4:]))
            index += 1
    return b"".join(out)


@pytest.mark.parametrize("size", [0, 10, 2 * 1024 * 1024, 9 * 1024 * 1024 + 1])
def test_documented_format_decrypts_independently(keys, size):
    data = os.urandom(size)
    sealed = seal(data, keys.public_key, sealing.CHUNK_SIZE, sealing.SEGMENT_CHUNKS)
    assert independent_decrypt(sealed, keys.private_key) == data


def test_the_decryptor_printed_in_the_format_doc_works(keys):
    """The Python block of docs/plis-format.md, run as printed."""
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "plis-format.md").read_text(encoding="utf-8")
    code = doc.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "plis-format.md", "exec"), namespace)  # noqa: S102
    data = os.urandom(9 * sealing.CHUNK_SIZE + 3)
    sealed = seal(data, keys.public_key, sealing.CHUNK_SIZE, sealing.SEGMENT_CHUNKS)
    assert namespace["decrypt"](sealed, keys.private_key) == data


@pytest.mark.parametrize("size", [0, 1, SMALL, 4 * SMALL + 5])
def test_version_1_files_still_open(keys, size):
    data = os.urandom(size)
    sealed = seal_version_1(data, keys.public_key)
    assert isinstance(sealing.parse_header(sealed), sealing.LegacyFileHeader)
    result = opens(sealed, keys.private_key)
    assert result.ok and result.sha256 == hashlib.sha256(data).hexdigest()
    low_order = sealed[:13] + bytes(32) + sealed[45:]  # an altered ephemeral key
    assert not opens(low_order, keys.private_key).ok
    if size > SMALL:
        cut = opens(sealed[: -(SMALL + 16)], keys.private_key)  # last chunk dropped
        assert not cut.ok
