"""The receipt's SHA-256 of a deposited file: from the running hash kept by the process that
received the file in order, else recomputed from the stored chunks (ADR 0004). Whatever the
path (one go, resumed in another worker, retried, cut, interleaved, evicted), the hash on the
receipt is the SHA-256 of what the company sent, and a missing chunk is never receipted."""

import hashlib
import io
import json
import os
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from emegalis.core import sealing
from emegalis.marches import opening, pli_storage, plis
from emegalis.marches.models import OpenedFile, PliFile, PliStatus
from tests.marches.test_opening import after_deadline
from tests.marches.test_plis import offer_bytes, open_file, opened  # noqa: F401

CHUNK = sealing.CHUNK_SIZE


@pytest.fixture
def room(request):
    """test_plis's published consultation with a complete commission, and its shares."""
    return request.getfixturevalue("opened")


@pytest.fixture(autouse=True)
def _fresh_hashes():
    plis.running_hashes.clear()
    yield
    plis.running_hashes.clear()


@pytest.fixture
def decryptions(monkeypatch):
    """Counts the chunks the platform decrypts (the real function runs)."""
    calls: list[int] = []
    real = sealing.open_chunk

    def counting(header, data_key, counter, ciphertext, last):
        calls.append(counter)
        return real(header, data_key, counter, ciphertext, last)

    monkeypatch.setattr(sealing, "open_chunk", counting)
    return calls


def start(user, consultation, *sizes: int) -> tuple[int, list[PliFile]]:
    pli = plis.start_deposit(
        actor=user,
        consultation=consultation,
        files=[
            plis.DeclaredFile(kind="offre", name=f"o{i}.pdf", size=s) for i, s in enumerate(sizes)
        ],
    )
    return pli.pk, list(pli.files.order_by("pk"))


def send(user, pli_pk: int, f: PliFile, content: bytes, offset: int, length: int) -> int:
    return plis.receive(
        actor=user,
        pli_pk=pli_pk,
        file_pk=f.pk,
        offset=offset,
        stream=io.BytesIO(content[offset : offset + length]),
        length=length,
    )


class CutStream(io.BytesIO):
    """A request body whose worker dies once ``cut`` bytes were read."""

    def __init__(self, data: bytes, cut: int):
        super().__init__(data)
        self.cut = cut

    def read(self, size=-1):
        if self.tell() >= self.cut:
            raise RuntimeError("worker killed")
        return super().read(min(size, self.cut - self.tell()) if size >= 0 else -1)


def send_cut(user, pli_pk: int, f: PliFile, content: bytes, cut: int) -> None:
    """Send the whole file from 0 in a request whose worker dies after ``cut`` bytes (no
    answer, no commit)."""
    with pytest.raises(RuntimeError):
        plis.receive(
            actor=user,
            pli_pk=pli_pk,
            file_pk=f.pk,
            offset=0,
            stream=CutStream(content, cut),
            length=len(content),
        )


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def test_upload_in_one_process_is_hashed_on_the_way_and_not_decrypted_again(
    company_user, room, decryptions
):
    consultation, shares = room
    content = os.urandom(3 * CHUNK + 777)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    offset = 0
    while offset < len(content):  # requests of 2 MiB, as depot.js sends several
        offset = send(company_user, pli_pk, f, content, offset, 2 * CHUNK)
    assert offset == len(content) and decryptions == []
    pli = plis.complete_deposit(actor=company_user, pli_pk=pli_pk)
    assert decryptions == []  # no chunk decrypted at completion
    assert pli.files.get().sha256 == sha(content)
    assert open_file(pli.files.get(), shares) == content
    assert len(plis.running_hashes) == 0  # the state is gone with the upload


def test_upload_over_http_in_several_puts_uses_the_running_hash(
    client_for, company_user, room, decryptions
):
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
    assert decryptions == []
    assert PliFile.objects.get(pli_id=created["pli"]).sha256 == sha(content)


def test_upload_resumed_in_another_worker_falls_back_to_the_stored_chunks(
    company_user, room, decryptions
):
    consultation, shares = room
    content = offer_bytes(3 * CHUNK + 10)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    offset = send(company_user, pli_pk, f, content, 0, 2 * CHUNK)
    plis.running_hashes.clear()  # the next request lands in another process
    offset = send(company_user, pli_pk, f, content, offset, len(content))
    assert offset == len(content)
    assert len(plis.running_hashes) == 0  # a state not starting at 0 cannot be rebuilt
    pli = plis.complete_deposit(actor=company_user, pli_pk=pli_pk)
    assert decryptions == [0, 1, 2, 3]  # every stored chunk decrypted once, in order
    assert pli.files.get().sha256 == sha(content)
    assert open_file(pli.files.get(), shares) == content


def test_a_retried_put_at_an_earlier_offset_keeps_the_hash_right(company_user, room, decryptions):
    consultation, _ = room
    content = os.urandom(3 * CHUNK)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    assert send(company_user, pli_pk, f, content, 0, CHUNK) == CHUNK
    assert send(company_user, pli_pk, f, content, CHUNK, CHUNK) == 2 * CHUNK
    # The second answer was lost after its chunk was stored: the database went back to 1 MiB
    # (the end of the first request's segment) and the client sends again from there (the
    # running state covers 2 MiB: it must not be used).
    PliFile.objects.filter(pk=f.pk).update(received=CHUNK)
    assert send(company_user, pli_pk, f, content, CHUNK, 2 * CHUNK) == 3 * CHUNK
    pli = plis.complete_deposit(actor=company_user, pli_pk=pli_pk)
    assert pli.files.get().sha256 == sha(content)
    assert decryptions.count(1) == 2  # the identical check of the retry, then the fallback
    assert decryptions[-3:] == [0, 1, 2]


def test_a_retry_from_the_start_rebuilds_the_running_hash(company_user, room, decryptions):
    consultation, _ = room
    content = os.urandom(2 * CHUNK + 1)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    send(company_user, pli_pk, f, content, 0, 2 * CHUNK)
    PliFile.objects.filter(pk=f.pk).update(received=0)
    assert send(company_user, pli_pk, f, content, 0, len(content)) == len(content)
    assert decryptions == [0, 1]  # the stored chunks checked identical, nothing re-sealed
    pli = plis.complete_deposit(actor=company_user, pli_pk=pli_pk)
    assert decryptions == [0, 1]  # the hash restarted at 0 covers the whole file
    assert pli.files.get().sha256 == sha(content)


def test_a_request_failing_after_storing_chunks_drops_the_state(company_user, room, decryptions):
    consultation, _ = room
    content = os.urandom(3 * CHUNK)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    send_cut(company_user, pli_pk, f, content, 2 * CHUNK)
    f.refresh_from_db()
    assert f.received == 0 and default_storage.exists(pli_storage.segment_name(f, 0))  # not acked
    assert len(plis.running_hashes) == 0
    send(company_user, pli_pk, f, content, 0, len(content))
    pli = plis.complete_deposit(actor=company_user, pli_pk=pli_pk)
    assert pli.files.get().sha256 == sha(content)


def test_a_cut_in_the_middle_of_a_chunk_keeps_the_hash_right(company_user, room, decryptions):
    consultation, shares = room
    content = os.urandom(3 * CHUNK + 3)

    class Broken(io.BytesIO):
        def read(self, size=-1):
            if self.tell() >= 2 * CHUNK + 100:
                raise OSError("connection reset")
            return super().read(min(size, 64 * 1024))

    pli_pk, (f,) = start(company_user, consultation, len(content))
    offset = plis.receive(
        actor=company_user,
        pli_pk=pli_pk,
        file_pk=f.pk,
        offset=0,
        stream=Broken(content),
        length=len(content),
    )
    assert offset == 2 * CHUNK  # the 100 bytes read past it were neither stored nor hashed
    send(company_user, pli_pk, f, content, offset, len(content))
    pli = plis.complete_deposit(actor=company_user, pli_pk=pli_pk)
    assert decryptions == []
    assert pli.files.get().sha256 == sha(content)
    assert open_file(pli.files.get(), shares) == content


def test_two_files_uploaded_interleaved_keep_their_own_hashes(company_user, room, decryptions):
    consultation, shares = room
    first, second = os.urandom(2 * CHUNK + 9), offer_bytes(3 * CHUNK)
    pli_pk, (a, b) = start(company_user, consultation, len(first), len(second))
    offsets = {a.pk: 0, b.pk: 0}
    while offsets[a.pk] < len(first) or offsets[b.pk] < len(second):
        for f, content in ((a, first), (b, second)):
            if offsets[f.pk] < len(content):
                offsets[f.pk] = send(company_user, pli_pk, f, content, offsets[f.pk], CHUNK)
    pli = plis.complete_deposit(actor=company_user, pli_pk=pli_pk)
    assert decryptions == []
    got = {f.pk: f.sha256 for f in pli.files.all()}
    assert got == {a.pk: sha(first), b.pk: sha(second)}
    assert open_file(pli.files.get(pk=b.pk), shares) == second


def test_two_requests_for_one_file_never_share_a_state(company_user, room, decryptions):
    consultation, _ = room
    content = os.urandom(3 * CHUNK)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    send(company_user, pli_pk, f, content, 0, CHUNK)
    # A first request at 1 MiB holds the state (taken out of the table) while a second one,
    # at the same offset, runs to the end without it.
    held = plis.running_hashes.take(f, CHUNK)
    assert held is not None
    send(company_user, pli_pk, f, content, CHUNK, len(content))
    assert len(plis.running_hashes) == 0
    # The first request then ends and keeps what it covered (its chunks were identical).
    held.update(content[CHUNK : 2 * CHUNK])
    plis.running_hashes.keep(f, 2 * CHUNK, held)
    pli = plis.complete_deposit(actor=company_user, pli_pk=pli_pk)
    assert pli.files.get().sha256 == sha(content)
    assert decryptions[-3:] == [0, 1, 2]  # that state did not cover the file: fallback


def test_a_state_is_bound_to_its_file_not_only_to_its_number(company_user, room, decryptions):
    consultation, _ = room
    content = os.urandom(CHUNK + 1)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    send(company_user, pli_pk, f, content, 0, len(content))
    # The same pk with another header (a database where numbers were reused) finds nothing.
    stranger = PliFile(pk=f.pk, header=sealing.new_file_header(os.urandom(32))[0].to_bytes())
    assert plis.running_hashes.take(stranger, len(content)) is None
    pli = plis.complete_deposit(actor=company_user, pli_pk=pli_pk)
    assert decryptions == [] and pli.files.get().sha256 == sha(content)


def test_evicted_states_fall_back(company_user, room, decryptions, monkeypatch):
    consultation, _ = room
    monkeypatch.setattr(plis.running_hashes, "capacity", 1)
    first, second = os.urandom(2 * CHUNK), os.urandom(2 * CHUNK + 1)
    pli_pk, (a, b) = start(company_user, consultation, len(first), len(second))
    send(company_user, pli_pk, a, first, 0, CHUNK)
    send(company_user, pli_pk, b, second, 0, CHUNK)  # evicts a's state
    assert len(plis.running_hashes) == 1
    send(company_user, pli_pk, a, first, CHUNK, CHUNK)  # without a state: none kept
    send(company_user, pli_pk, b, second, CHUNK, 2 * CHUNK)
    pli = plis.complete_deposit(actor=company_user, pli_pk=pli_pk)
    got = {f.pk: f.sha256 for f in pli.files.all()}
    assert got == {a.pk: sha(first), b.pk: sha(second)}
    assert decryptions == [0, 1]  # a recomputed from storage, b from its running hash


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_missing_or_short_chunk_is_never_receipted(company_user, room, decryptions, damage):
    consultation, _ = room
    content = os.urandom(2 * CHUNK + 50)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    send(company_user, pli_pk, f, content, 0, len(content))
    name, at = pli_storage.locate_chunk(f, 1)
    with default_storage.open(name, "rb") as segment:
        stored = segment.read()
    # Chunk 1 and after gone, or the segment one byte short.
    kept = stored[:at] if damage == "missing" else stored[:-1]
    default_storage.delete(name)
    default_storage.save(name, io.BytesIO(kept))
    with pytest.raises(ValidationError, match="intact"):
        plis.complete_deposit(actor=company_user, pli_pk=pli_pk)
    f.refresh_from_db()
    assert f.pli.status == PliStatus.EN_COURS and f.sha256 == "" and f.pending_key


def test_the_table_is_bounded():
    table = plis.RunningHashes(capacity=2)
    files = [PliFile(pk=i, header=bytes([i]) * sealing.HEADER_SIZE) for i in (1, 2, 3)]
    for f in files:
        table.keep(f, 5, hashlib.sha256(b"12345"))
    assert len(table) == 2
    assert table.take(files[0], 5) is None  # the oldest went first
    assert table.take(files[2], 5).hexdigest() == sha(b"12345")
    assert table.take(files[2], 5) is None  # taken out while in use


def test_a_chunk_altered_before_a_fast_confirmation_is_caught_at_the_opening(
    company_user, room, monkeypatch
):
    """The running hash path checks presence and sizes, not content: a chunk altered in
    storage between its upload and the confirmation is receipted with the hash of what was
    sent, and the opening (which authenticates every chunk) reports that file (ADR 0004)."""
    consultation, shares = room
    content = os.urandom(2 * CHUNK)
    pli_pk, (f,) = start(company_user, consultation, len(content))
    send(company_user, pli_pk, f, content, 0, len(content))
    name, at = pli_storage.locate_chunk(f, 1)
    path = Path(default_storage.path(name))
    altered = bytearray(path.read_bytes())
    altered[at + 7] ^= 0x01
    path.write_bytes(bytes(altered))
    pli = plis.complete_deposit(actor=company_user, pli_pk=pli_pk)
    assert pli.files.get().sha256 == sha(content)
    after_deadline(monkeypatch, consultation)
    members = [m.user for m in consultation.opening_commission.members.order_by("position")]
    opening.open_plis(
        actor=members[0], consultation_pk=consultation.pk, shares={1: shares[0], 2: shares[1]}
    )
    opened_file = OpenedFile.objects.get(pli_file=f)
    assert not opened_file.intact and "Bloc 1" in opened_file.error
