"""Witnesses of the journal's head (ADR 0005): signed documents carry it, a log outside the
database records every committed head, the head is anchored every minute when it moved and
right after legally significant events; the chain is keyed and older entries still verify."""

import io
import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from emegalis.core import anchoring, clock, journal, journal_key, periodic, signing, witnesses
from emegalis.core.models import JournalAnchor, JournalEntry, JournalWitness
from emegalis.core.pdf import DocumentBuilder, extract_text
from emegalis.marches.opening import services as opening_services
from tests.core.test_signing import validate
from tests.marches.helpers import deposit

pytestmark = pytest.mark.django_db


def record(i: int, action: str = "test.event") -> JournalEntry:
    return journal.record(action=action, object_type="thing", object_id=i, payload={"i": i})


def a_pdf() -> bytes:
    doc = DocumentBuilder(title="Essai")
    doc.paragraph("Un document signé par la plateforme.")
    return doc.build()


def log_lines() -> list[dict]:
    path = witnesses.witness_dir() / witnesses.LOG_NAME
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def one_line(text: str) -> str:
    return " ".join(text.split())


# --- Signed documents carry the head -------------------------------------------------------------


def test_a_signed_pdf_carries_the_head_printed_in_its_metadata_and_as_a_witness(
    django_capture_on_commit_callbacks,
):
    record(1)
    head = record(2)
    with django_capture_on_commit_callbacks(execute=True):
        signed = signing.sign_pdf(
            a_pdf(), reason="Essai", kind="essai", object_type="thing", object_id=7
        )
    status = validate(signed)
    assert status.intact and status.valid and status.trusted
    # Printed on the page…
    assert f"entrée n° {head.pk}, empreinte {head.entry_hash}" in one_line(extract_text(signed))
    # …and in the document information, covered by the signature.
    assert witnesses.head_of_pdf(signed) == witnesses.Head(head.pk, head.entry_hash)
    witness = JournalWitness.objects.get()
    assert (witness.kind, witness.object_type, witness.object_id) == ("essai", "thing", "7")
    assert (witness.entry_id, witness.entry_hash) == (head.pk, head.entry_hash)
    documents = [line for line in log_lines() if line["kind"] == "document"]
    assert documents and documents[0]["entry"] == head.pk
    assert documents[0]["sha256"] == witness.document_sha256


def test_the_deposit_receipt_carries_the_head_and_verifies_against_the_journal(
    company_user,  # noqa: F811
    opened,  # noqa: F811
    tmp_path,
    capsys,
):
    consultation, _ = opened
    pli = deposit(company_user, consultation, b"offre")
    receipt = pli.receipt.read()
    # Signed just before the deposit's own entry (the journal's lock is taken last).
    received = JournalEntry.objects.get(action="marches.pli.received", object_id=str(pli.pk))
    before = JournalEntry.objects.filter(id__lt=received.pk).order_by("-id").first()
    assert witnesses.head_of_pdf(receipt) == witnesses.Head(before.pk, before.entry_hash)
    assert f"entrée n° {before.pk}" in one_line(extract_text(receipt))
    witness = JournalWitness.objects.get(kind="accuse_reception")
    assert (witness.object_type, witness.object_id) == ("pli", str(pli.pk))
    path = tmp_path / "accuse.pdf"
    path.write_bytes(receipt)
    call_command("verify_journal", "--document", str(path))
    out = capsys.readouterr().out
    assert "témoin du journal retrouvé" in out and "Journal intègre" in out


def test_the_opening_pv_carries_the_head(company_user, opened, monkeypatch):  # noqa: F811
    consultation, shares = opened
    deposit(company_user, consultation, b"offre")
    moment = consultation.bids_deadline + timedelta(hours=1)
    monkeypatch.setattr(clock, "now", lambda: moment)
    member = consultation.opening_commission.members.order_by("position").first().user
    session = opening_services.open_plis(
        actor=member, consultation_pk=consultation.pk, shares={1: shares[0], 2: shares[1]}
    )
    pv = session.pv.read()
    head = witnesses.head_of_pdf(pv)
    assert JournalEntry.objects.get(pk=head.entry_id).entry_hash == head.entry_hash
    assert f"entrée n° {head.entry_id}, empreinte {head.entry_hash}" in one_line(extract_text(pv))
    assert JournalWitness.objects.filter(description__startswith="Procès-verbal").exists()


def test_a_document_changed_after_signing_or_unsigned_is_refused(tmp_path):
    record(1)
    signed = signing.sign_pdf(a_pdf(), reason="Essai")
    changed = tmp_path / "modifie.pdf"
    changed.write_bytes(signed + b"\n% ajout apres signature\n")
    with pytest.raises(CommandError, match="modifié après sa signature|ne se vérifie pas"):
        call_command("verify_journal", "--document", str(changed))
    plain = tmp_path / "simple.pdf"
    plain.write_bytes(a_pdf())
    with pytest.raises(CommandError, match="ne porte pas de témoin du journal"):
        call_command("verify_journal", "--document", str(plain))
    garbage = tmp_path / "pas-un-pdf.pdf"
    garbage.write_bytes(b"bonjour")
    with pytest.raises(CommandError, match="pas un PDF lisible"):
        call_command("verify_journal", "--document", str(garbage))
    with pytest.raises(CommandError, match="fichier illisible"):
        call_command("verify_journal", "--document", str(tmp_path / "absent.pdf"))


# --- The head-witness log ------------------------------------------------------------------------


def test_every_committed_entry_reaches_the_log_and_a_rolled_back_one_does_not(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        first = record(1)
    with (
        pytest.raises(RuntimeError),
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        record(2)
        raise RuntimeError("rolled back")
    with django_capture_on_commit_callbacks(execute=True):
        third = record(3)
    heads = [(line["entry"], line["hash"]) for line in log_lines() if line["kind"] == "head"]
    assert heads == [(first.pk, first.entry_hash), (third.pk, third.entry_hash)]
    call_command("verify_journal")


def test_a_log_that_cannot_be_written_does_not_block_the_event(
    settings, tmp_path, django_capture_on_commit_callbacks, caplog
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings.JOURNAL_WITNESS_DIR = blocker / "journal"
    with django_capture_on_commit_callbacks(execute=True):
        entry = record(1)
    assert JournalEntry.objects.filter(pk=entry.pk).exists()
    assert "head-witness log not written" in caplog.text


def test_a_garbled_log_line_is_reported_not_fatal(django_capture_on_commit_callbacks, capsys):
    with django_capture_on_commit_callbacks(execute=True):
        record(1)
    with open(witnesses.witness_dir() / witnesses.LOG_NAME, "a") as log:
        log.write('{"kind": "head", "entr')
    call_command("verify_journal")
    captured = capsys.readouterr()
    assert "ligne(s) illisible(s) dans le registre des témoins : 2" in captured.err
    assert "Journal intègre" in captured.out


def test_verify_reports_the_last_witnessed_entry(django_capture_on_commit_callbacks, capsys):
    record(1)
    witnessed = record(2)
    with django_capture_on_commit_callbacks(execute=True):
        anchoring.anchor_head()
    record(3)  # not committed in this test: no log line, no anchor yet
    call_command("verify_journal")
    out = capsys.readouterr().out
    assert "3 entrées vérifiées" in out
    assert f"dernière entrée attestée : n° {witnessed.pk} (l'ancrage horodaté n° " in out
    assert "des entrées plus récentes ne sont pas encore attestées" in out


# --- Anchoring every minute, and after the events that matter ------------------------------------


@pytest.fixture
def tsa_requests(monkeypatch):
    """Count the requests made to the timestamping authority."""
    calls = []
    real = signing.timestamper

    def counting():
        stamper = real()
        ask = stamper.async_timestamp

        async def timestamp(*args, **kwargs):
            calls.append(1)
            return await ask(*args, **kwargs)

        stamper.async_timestamp = timestamp
        return stamper

    monkeypatch.setattr(signing, "timestamper", counting)
    return calls


def test_the_minute_anchoring_runs_only_when_there_are_new_entries(
    settings, tsa_requests, django_capture_on_commit_callbacks
):
    settings.ACTES_IMAP_HOST = ""
    job = "core.anchor_journal"
    start = datetime(2026, 12, 1, 9, 0, 5, tzinfo=UTC)
    first = record(1)
    with django_capture_on_commit_callbacks(execute=True):
        assert job in periodic.run_due(now=start)
    assert JournalAnchor.objects.get().entry_id == first.pk and len(tsa_requests) == 1
    # Next minute, nothing new: the job runs, the authority is not asked.
    with django_capture_on_commit_callbacks(execute=True):
        assert job in periodic.run_due(now=start + timedelta(minutes=1))
    assert JournalAnchor.objects.count() == 1 and len(tsa_requests) == 1
    second = record(2)
    with django_capture_on_commit_callbacks(execute=True):
        assert job not in periodic.run_due(now=start + timedelta(minutes=1, seconds=30))
        assert job in periodic.run_due(now=start + timedelta(minutes=2))
    assert JournalAnchor.objects.order_by("-id").first().entry_id == second.pk
    assert len(tsa_requests) == 2


def test_a_legally_significant_event_is_anchored_at_once(
    settings, tsa_requests, django_capture_on_commit_callbacks
):
    assert "marches.pli.received" in settings.JOURNAL_ANCHOR_AFTER_ACTIONS
    with django_capture_on_commit_callbacks(execute=True):
        record(1)  # an ordinary event: waits for the minute job
    assert not JournalAnchor.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        received = record(2, action="marches.pli.received")
    anchor = JournalAnchor.objects.get()
    assert (anchor.entry_id, anchor.entry_hash) == (received.pk, received.entry_hash)
    assert any(line["kind"] == "anchor" and line["token"] for line in log_lines())


def test_a_silent_timestamping_authority_never_blocks_the_event(
    monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def silent():
        raise TimeoutError("TSA timed out")

    monkeypatch.setattr(signing, "timestamper", silent)
    with django_capture_on_commit_callbacks(execute=True):
        received = record(1, action="marches.pli.received")
    assert JournalEntry.objects.filter(pk=received.pk).exists()
    assert not JournalAnchor.objects.exists()
    assert "Journal not anchored after an event" in caplog.text


# --- The keyed chain -----------------------------------------------------------------------------


def insert_unkeyed_entries(n: int) -> None:
    """Entries as the platform wrote them before ADR 0005: plain SHA-256, hash_version 1."""
    previous = journal.GENESIS_HASH
    for i in range(n):
        entry = JournalEntry(
            recorded_at=clock.now(),
            action="test.old",
            object_type="thing",
            object_id=str(i),
            payload={"i": i},
            payload_digest=journal.digest(journal.canonical_json({"i": i})),
            previous_hash=previous,
            hash_version=journal.PLAIN,
        )
        entry.entry_hash = journal.compute_entry_hash(entry)
        entry.save()
        previous = entry.entry_hash


def test_entries_written_before_keying_still_verify_and_new_ones_are_keyed(capsys):
    insert_unkeyed_entries(3)
    new = record(3)
    assert new.hash_version == journal.KEYED and new.key_id == journal_key.current()[0]
    call_command("verify_journal")
    assert "4 entrées vérifiées" in capsys.readouterr().out


def test_rotating_the_key_keeps_older_entries_verifiable(settings):
    file_key_id, _ = journal_key.current()  # no JOURNAL_KEY: the key file
    record(1)
    settings.JOURNAL_KEY = "cle-du-journal-2027"
    second = record(2)
    assert second.key_id != file_key_id
    assert journal.first_break() is None  # the key file is still read for older entries
    settings.JOURNAL_KEY, settings.JOURNAL_KEY_FALLBACKS = (
        "cle-du-journal-2028",
        ["cle-du-journal-2027"],
    )
    record(3)
    assert journal.first_break() is None
    # The 2027 key dropped from the fallbacks: its entry can no longer be verified.
    settings.JOURNAL_KEY_FALLBACKS = []
    with pytest.raises(CommandError, match=rf"entrée n° {second.pk} — .*clé du journal inconnue"):
        call_command("verify_journal")


def test_the_key_file_is_created_once_readable_by_its_owner_only(settings, tmp_path):
    settings.JOURNAL_KEY = ""
    settings.JOURNAL_KEY_FILE = tmp_path / "journal" / "journal.key"
    key_id, key = journal_key.current()
    assert len(key) == 32 and os.stat(settings.JOURNAL_KEY_FILE).st_mode & 0o777 == 0o600
    journal_key._file_keys.clear()
    assert journal_key.current() == (key_id, key)  # read back, not created again


def test_a_keyed_entry_forged_with_another_key_is_detected():
    entries = [record(i) for i in range(3)]
    target = entries[1]
    forged = JournalEntry.objects.get(pk=target.pk)
    forged.key_id = journal_key.key_id_of(b"guessed")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            f"UPDATE {JournalEntry._meta.db_table} SET key_id = %s WHERE id = %s",
            [forged.key_id, target.pk],
        )
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = origin")
    with pytest.raises(CommandError, match=rf"entrée n° {target.pk} — .*clé du journal inconnue"):
        call_command("verify_journal")


def test_witness_text_in_a_pdf_is_plain_readable_text():
    """The line printed on each page reads back with pypdf (a tool can find it)."""
    head = record(1)
    marked = witnesses.mark_pdf(a_pdf(), witnesses.Head(head.pk, head.entry_hash))
    assert head.entry_hash in extract_text(marked)
    assert witnesses.head_of_pdf(io.BytesIO(marked).getvalue()).entry_id == head.pk


def test_a_document_checks_against_the_production_signing_certificate(settings, tmp_path, capsys):
    """With SIGNING_CERT_FILE set, the document's signature is checked against that
    certificate (no public root needed to read back the head)."""
    record(1)
    path = tmp_path / "pv.pdf"
    path.write_bytes(signing.sign_pdf(a_pdf(), reason="Essai"))
    settings.SIGNING_CERT_FILE = str(signing.pki_dir() / "signer.pem")
    call_command("verify_journal", "--document", str(path))
    assert "témoin du journal retrouvé" in capsys.readouterr().out
