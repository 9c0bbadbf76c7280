"""Storage of a pli file's sealed chunks in segments (one object per run of up to 8 chunks,
each with its own header and data key): the file header followed by the segments is the
documented sealed file; a segment left by a request that failed before its acknowledgement
is discarded and written again (fresh key: no nonce reuse); the layout works on a storage
other than the local disk."""

import io
import os
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from emegalis.core import sealing
from emegalis.marches.deposit import services as deposit_services
from emegalis.marches.deposit import storage
from emegalis.marches.opening import services as opening_services
from emegalis.marches.opening.models import OpenedFile
from tests.core.test_sealing import independent_decrypt
from tests.marches.helpers import after_deadline, open_file, send, send_cut, sha, start

CHUNK = sealing.CHUNK_SIZE


def stored_names(pli_file) -> list[str]:
    _, names = default_storage.listdir(pli_file.storage_prefix)
    return sorted(names)


def complete_and_check(user, pli_pk: int, content: bytes, shares) -> None:
    """Confirm the deposit: the receipt's SHA-256 and the opened file are the content's."""
    pli = deposit_services.complete_deposit(actor=user, pli_pk=pli_pk)
    assert pli.files.get().sha256 == sha(content)
    assert open_file(pli.files.get(), shares) == content


def test_one_object_per_run_of_eight_chunks_and_it_is_the_sealed_file(
    company_user,
    opened,  # noqa: F811
):
    consultation, shares = opened
    content = os.urandom(19 * CHUNK + 5)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    assert send(company_user, pli_pk, f, content, 0, len(content)) == len(content)
    assert stored_names(f) == ["00000000", "00000008", "00000016"]
    sizes = [default_storage.size(f"{f.storage_prefix}/{n}") for n in stored_names(f)]
    head = sealing.SEGMENT_HEADER_SIZE
    assert sizes == [
        head + 8 * (CHUNK + 16),
        head + 8 * (CHUNK + 16),
        head + 3 * (CHUNK + 16) + 5 + 16,
    ]
    # The header then the segments, byte for byte, is the file of docs/plis-format.md.
    sealed = bytes(f.header)
    for name in stored_names(f):
        with default_storage.open(f"{f.storage_prefix}/{name}", "rb") as segment:
            sealed += segment.read()
    key = sealing.combine_shares(shares[:2], 2, consultation.opening_commission.public_key_bytes)
    assert independent_decrypt(sealed, key) == content  # the decryptor written from the doc
    assert storage.locate_chunk(f, 9) == (
        f"{f.storage_prefix}/00000008",
        sealing.SEGMENT_HEADER_SIZE + CHUNK + 16,
    )


def test_requests_of_a_few_chunks_make_segments_of_that_size(
    company_user,
    opened,  # noqa: F811
):
    consultation, shares = opened
    content = os.urandom(5 * CHUNK)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    for offset in (0, 2 * CHUNK, 4 * CHUNK):
        send(company_user, pli_pk, f, content, offset, 2 * CHUNK)
    assert stored_names(f) == ["00000000", "00000002", "00000004"]
    complete_and_check(company_user, pli_pk, content, shares)


def test_a_segment_left_by_a_failed_request_is_written_again_with_a_fresh_key(
    company_user,
    opened,  # noqa: F811
):
    consultation, shares = opened
    content = os.urandom(6 * CHUNK)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    send_cut(company_user, pli_pk, f, content, 3 * CHUNK + 10)
    f.refresh_from_db()
    assert f.received == 0  # the transaction failed: nothing acknowledged
    name = storage.segment_name(f, 0)
    with default_storage.open(name, "rb") as segment:
        left = sealing.SegmentHeader.from_bytes(segment.read())
    assert left.chunk_count == 3
    # The client resends one chunk with other bytes (a changed file): accepted, resealed.
    changed = os.urandom(CHUNK) + content[CHUNK:]
    assert send(company_user, pli_pk, f, changed, 0, CHUNK) == CHUNK
    with default_storage.open(name, "rb") as segment:
        rewritten = sealing.SegmentHeader.from_bytes(segment.read())
    assert rewritten.chunk_count == 1
    assert rewritten.ephemeral_public_key != left.ephemeral_public_key  # another data key
    assert send(company_user, pli_pk, f, changed, CHUNK, 5 * CHUNK) == 6 * CHUNK
    assert stored_names(f) == ["00000000", "00000001"]
    complete_and_check(company_user, pli_pk, changed, shares)


def test_an_empty_object_left_by_a_crash_is_replaced_and_an_empty_segment_is_damage(
    company_user,
    opened,  # noqa: F811
):
    """A process killed between creating a segment and writing it leaves an empty object: the
    next request writes the segment; at completion an empty segment is never taken for a run
    of chunks."""
    consultation, shares = opened
    content = os.urandom(2 * CHUNK)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    default_storage.save(storage.segment_name(f, 0), io.BytesIO(b""))
    assert send(company_user, pli_pk, f, content, 0, len(content)) == len(content)
    size = sealing.SEGMENT_HEADER_SIZE + 2 * (CHUNK + 16)
    assert default_storage.size(storage.segment_name(f, 0)) == size
    complete_and_check(company_user, pli_pk, content, shares)
    default_storage.delete(storage.segment_name(f, 0))
    default_storage.save(storage.segment_name(f, 0), io.BytesIO(b""))
    with pytest.raises(OSError, match="segment 0"):
        storage.check_stored(f)


def test_segments_on_a_storage_that_reads_the_file_rather_than_its_chunks(
    company_user,
    opened,  # noqa: F811
    settings,
    monkeypatch,
):
    """Object storages (S3) read() what they store: the same deposit and opening work on
    Django's in-memory storage, which reads the file the same way."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }  # Django's setting_changed handler resets default_storage (and again afterwards)
    consultation, shares = opened
    content = os.urandom(9 * CHUNK + 77)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    assert send(company_user, pli_pk, f, content, 0, len(content)) == len(content)
    tail = sealing.SEGMENT_HEADER_SIZE + CHUNK + 16 + 77 + 16
    assert default_storage.size(storage.segment_name(f, 8)) == tail
    assert not (Path(settings.MEDIA_ROOT) / f.storage_prefix).exists()  # not on disk
    pli = deposit_services.complete_deposit(actor=company_user, pli_pk=pli_pk)
    assert open_file(pli.files.get(), shares) == content
    after_deadline(monkeypatch, consultation)
    members = [m.user for m in consultation.opening_commission.members.order_by("position")]
    opening_services.open_plis(
        actor=members[0], consultation_pk=consultation.pk, shares={1: shares[0], 2: shares[1]}
    )
    opened_file = OpenedFile.objects.get(pli_file__pli_id=pli_pk)
    assert opened_file.intact and opened_file.sha256 == sha(content)


def test_a_segment_reads_as_one_file_for_storages_that_read():
    parts = [os.urandom(1000), os.urandom(10), os.urandom(333)]
    segment = storage._Segment(parts)
    assert segment.size == 1343 and list(segment.chunks()) == parts
    assert segment.read(600) + segment.read(600) + segment.read() == b"".join(parts)
    segment.seek(0)
    assert segment.read() == b"".join(parts) and segment.tell() == 1343


def test_a_segment_is_fsynced_before_its_offset_is_answered_and_a_killed_write_is_cleaned(
    company_user,
    opened,  # noqa: F811
    monkeypatch,
):
    """Issue 10: the answered offset is on disk. A process killed inside a segment write
    leaves a temporary beside the segments: the next request at that offset deletes it."""
    from emegalis.core import durable

    consultation, shares = opened
    content = os.urandom(3 * CHUNK)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    folder = Path(default_storage.path(f.storage_prefix))
    folder.mkdir(parents=True, exist_ok=True)
    leftover = folder / f"00000000{durable.TEMPORARY_MARK}killed"
    leftover.write_bytes(b"torn")
    real, synced = os.fsync, []

    def recording_fsync(fd):
        synced.append(Path(os.readlink(f"/proc/self/fd/{fd}")))
        return real(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    assert send(company_user, pli_pk, f, content, 0, 2 * CHUNK) == 2 * CHUNK
    segment = folder / "00000000"
    temporaries = [p for p in synced if p.name.startswith(f"00000000{durable.TEMPORARY_MARK}")]
    assert len(temporaries) == 1  # the segment's bytes, under its temporary name
    assert folder in synced[synced.index(temporaries[0]) + 1 :]  # then its new name
    assert sorted(p.name for p in folder.iterdir()) == ["00000000"]  # leftover gone
    assert segment.stat().st_size == sealing.SEGMENT_HEADER_SIZE + 2 * (CHUNK + 16)
    assert send(company_user, pli_pk, f, content, 2 * CHUNK, CHUNK) == 3 * CHUNK
    complete_and_check(company_user, pli_pk, content, shares)
