"""The receipt's SHA-256 of a deposited file: a SHA-256 state saved with the acknowledged
offset in the same transaction, so any worker goes on with the next request (ADR 0004); the
platform never decrypts what it stored (it cannot: no key is kept). Whatever the path (one
go, several workers, retried, cut, killed mid-request, interleaved), the hash on the receipt
is the SHA-256 of what the company sent, and a missing chunk is never receipted."""

import io
import json
import os
from pathlib import Path

import pytest
import rehashes
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from emegalis.core import sealing
from emegalis.marches.deposit import services as deposit_services
from emegalis.marches.deposit import storage
from emegalis.marches.deposit.models import PliFile, PliStatus
from emegalis.marches.deposit.services import OffsetMismatch
from emegalis.marches.opening import services as opening_services
from emegalis.marches.opening.models import OpenedFile
from tests.marches.helpers import after_deadline, offer_bytes, open_file, send, send_cut, sha, start

CHUNK = sealing.CHUNK_SIZE


@pytest.fixture
def room(request):
    """test_plis's published consultation with a complete commission, and its shares."""
    return request.getfixturevalue("opened")


def saved_state_covers(f: PliFile, content: bytes) -> bool:
    """The state saved with the file's offset is the SHA-256 state of its first bytes."""
    f.refresh_from_db()
    state = rehashes.PySha256.deserialize(bytes(f.hash_state))
    return state.finalize() == sha(content[: f.received])


def test_upload_in_several_requests_saves_the_state_with_each_offset(company_user, room):
    consultation, shares = room
    content = os.urandom(3 * CHUNK + 777)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    offset = 0
    while offset < len(content):  # requests of 2 MiB, as depot.js sends several
        offset = send(company_user, pli_pk, f, content, offset, 2 * CHUNK)
        assert saved_state_covers(f, content)
    pli = deposit_services.complete_deposit(actor=company_user, pli_pk=pli_pk)
    stored = pli.files.get()
    assert stored.sha256 == sha(content)
    assert stored.hash_state is None  # the state is gone with the upload
    assert open_file(stored, shares) == content


def test_upload_over_http_in_several_puts(client_for, company_user, room):
    consultation, _ = room
    client = client_for(company_user)
    content = os.urandom(2 * CHUNK + 5)
    created = client.post(
        f"/marches/consultations/{consultation.pk}/depot/",
        data=json.dumps({"files": [{"kind": "offre", "name": "offre.pdf", "size": len(content)}]}),
        content_type="application/json",
    ).json()
    url = created["files"][0]["url"]
    for offset in (0, CHUNK, 2 * CHUNK):
        answer = client.put(
            url,
            data=content[offset : offset + CHUNK],
            content_type="application/octet-stream",
            headers={"Upload-Offset": str(offset)},
        )
        assert answer.status_code == 200, answer.content
    confirmed = client.post(created["confirm_url"], data=b"{}", content_type="application/json")
    assert confirmed.status_code == 200, confirmed.content
    assert PliFile.objects.get(pli_id=created["pli"]).sha256 == sha(content)


def test_each_segment_has_its_own_data_key(company_user, room):
    """No data key outlives the request that sealed its segment: two segments of one file,
    written by two requests, wrap two different keys with two ephemeral exchanges."""
    consultation, shares = room
    content = os.urandom(2 * CHUNK + 3)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    send(company_user, pli_pk, f, content, 0, CHUNK)
    send(company_user, pli_pk, f, content, CHUNK, len(content))
    headers = []
    for index in (0, 1):
        with default_storage.open(storage.segment_name(f, index), "rb") as segment:
            headers.append(sealing.SegmentHeader.from_bytes(segment.read()))
    assert [h.first_index for h in headers] == [0, 1]
    assert headers[0].ephemeral_public_key != headers[1].ephemeral_public_key
    private_key = sealing.combine_shares(
        shares[:2], 2, consultation.opening_commission.public_key_bytes
    )
    header = storage.file_header(f)
    keys = {sealing.segment_key(header, h, private_key) for h in headers}
    assert len(keys) == 2


def test_a_put_at_an_earlier_offset_is_told_the_offset(company_user, room):
    consultation, _ = room
    content = os.urandom(3 * CHUNK)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    assert send(company_user, pli_pk, f, content, 0, CHUNK) == CHUNK
    assert send(company_user, pli_pk, f, content, CHUNK, CHUNK) == 2 * CHUNK
    # The second answer was lost: the client sends again from 1 MiB and is told 2 MiB.
    with pytest.raises(OffsetMismatch) as mismatch:
        send(company_user, pli_pk, f, content, CHUNK, 2 * CHUNK)
    assert mismatch.value.offset == 2 * CHUNK
    assert send(company_user, pli_pk, f, content, 2 * CHUNK, CHUNK) == 3 * CHUNK
    pli = deposit_services.complete_deposit(actor=company_user, pli_pk=pli_pk)
    assert pli.files.get().sha256 == sha(content)


def test_a_request_failing_after_storing_chunks_is_discarded_and_rewritten(company_user, room):
    """A worker killed after storing segments, before its transaction committed: nothing is
    acknowledged, the state stays at the old offset, and the next request rewrites what was
    left (with other bytes if need be: fresh keys, so no nonce is ever reused)."""
    consultation, shares = room
    content = os.urandom(3 * CHUNK)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    send_cut(company_user, pli_pk, f, os.urandom(len(content)), 2 * CHUNK)
    f.refresh_from_db()
    assert f.received == 0 and default_storage.exists(storage.segment_name(f, 0))  # not acked
    assert saved_state_covers(f, content)
    send(company_user, pli_pk, f, content, 0, len(content))
    pli = deposit_services.complete_deposit(actor=company_user, pli_pk=pli_pk)
    assert pli.files.get().sha256 == sha(content)
    assert open_file(pli.files.get(), shares) == content


def test_a_torn_segment_at_the_acknowledged_offset_never_blocks_the_resume(company_user, room):
    """A process killed while writing a segment leaves it cut at any byte (not a whole number
    of chunks): the next request at the acknowledged offset replaces it."""
    consultation, shares = room
    content = os.urandom(4 * CHUNK + 11)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    offset = send(company_user, pli_pk, f, content, 0, CHUNK)
    name = storage.segment_name(f, 1)
    default_storage.save(name, io.BytesIO(os.urandom(CHUNK + 12345)))  # torn, never acked
    default_storage.save(storage.segment_name(f, 3), io.BytesIO(os.urandom(99)))  # beyond
    offset = send(company_user, pli_pk, f, content, offset, 2 * CHUNK)
    assert offset == 3 * CHUNK
    assert not default_storage.exists(storage.segment_name(f, 3))
    send(company_user, pli_pk, f, content, offset, len(content))
    pli = deposit_services.complete_deposit(actor=company_user, pli_pk=pli_pk)
    assert pli.files.get().sha256 == sha(content)
    assert open_file(pli.files.get(), shares) == content


def test_a_cut_in_the_middle_of_a_chunk_keeps_the_hash_right(company_user, room):
    consultation, shares = room
    content = os.urandom(3 * CHUNK + 3)

    class Broken(io.BytesIO):
        def read(self, size=-1):
            if self.tell() >= 2 * CHUNK + 100:
                raise OSError("connection reset")
            return super().read(min(size, 64 * 1024))

    pli_pk, (f,) = start(company_user, consultation, len(content))
    offset = deposit_services.receive(
        actor=company_user,
        pli_pk=pli_pk,
        file_pk=f.pk,
        offset=0,
        stream=Broken(content),
        length=len(content),
    )
    assert offset == 2 * CHUNK  # the 100 bytes read past it were neither stored nor hashed
    assert saved_state_covers(f, content)
    send(company_user, pli_pk, f, content, offset, len(content))
    pli = deposit_services.complete_deposit(actor=company_user, pli_pk=pli_pk)
    assert pli.files.get().sha256 == sha(content)
    assert open_file(pli.files.get(), shares) == content


def test_two_files_uploaded_interleaved_keep_their_own_hashes(company_user, room):
    consultation, shares = room
    first, second = os.urandom(2 * CHUNK + 9), offer_bytes(3 * CHUNK)
    pli_pk, (a, b) = start(company_user, consultation, len(first), len(second))
    offsets = {a.pk: 0, b.pk: 0}
    while offsets[a.pk] < len(first) or offsets[b.pk] < len(second):
        for f, content in ((a, first), (b, second)):
            if offsets[f.pk] < len(content):
                offsets[f.pk] = send(company_user, pli_pk, f, content, offsets[f.pk], CHUNK)
    pli = deposit_services.complete_deposit(actor=company_user, pli_pk=pli_pk)
    got = {f.pk: f.sha256 for f in pli.files.all()}
    assert got == {a.pk: sha(first), b.pk: sha(second)}
    assert open_file(pli.files.get(pk=b.pk), shares) == second


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_missing_or_short_chunk_is_never_receipted(company_user, room, damage):
    consultation, _ = room
    content = os.urandom(2 * CHUNK + 50)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    send(company_user, pli_pk, f, content, 0, len(content))
    name, at = storage.locate_chunk(f, 1)
    with default_storage.open(name, "rb") as segment:
        stored = segment.read()
    # Chunk 1 and after gone, or the segment one byte short.
    kept = stored[:at] if damage == "missing" else stored[:-1]
    default_storage.delete(name)
    default_storage.save(name, io.BytesIO(kept))
    with pytest.raises(ValidationError, match="intact"):
        deposit_services.complete_deposit(actor=company_user, pli_pk=pli_pk)
    f.refresh_from_db()
    assert f.pli.status == PliStatus.EN_COURS and f.sha256 == "" and f.hash_state


def test_a_chunk_altered_before_the_confirmation_is_caught_at_the_opening(
    company_user, room, monkeypatch
):
    """Completion checks presence and sizes, not content (it cannot decrypt): a chunk altered
    in storage between its upload and the confirmation is receipted with the hash of what was
    sent, and the opening (which authenticates every chunk) reports that file (ADR 0004)."""
    consultation, shares = room
    content = os.urandom(2 * CHUNK)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    send(company_user, pli_pk, f, content, 0, len(content))
    name, at = storage.locate_chunk(f, 1)
    path = Path(default_storage.path(name))
    altered = bytearray(path.read_bytes())
    altered[at + 7] ^= 0x01
    path.write_bytes(bytes(altered))
    pli = deposit_services.complete_deposit(actor=company_user, pli_pk=pli_pk)
    assert pli.files.get().sha256 == sha(content)
    after_deadline(monkeypatch, consultation)
    members = [m.user for m in consultation.opening_commission.members.order_by("position")]
    opening_services.open_plis(
        actor=members[0], consultation_pk=consultation.pk, shares={1: shares[0], 2: shares[1]}
    )
    opened_file = OpenedFile.objects.get(pli_file=f)
    assert not opened_file.intact and "Bloc 1" in opened_file.error
