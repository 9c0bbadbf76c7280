"""Ten ways to tamper with the journal (issue 9, section 2), each caught by verify_journal,
which names the first bad entry.

The attacker is played with direct SQL. On PostgreSQL they first switch the append-only
trigger off as a superuser would (session_replication_role = replica). « DB-only » attackers
know the hashing algorithm but not the journal key and cannot touch the files outside the
database; « full server » attackers have the key too and wipe the head-witness log, the
anchors and the witness rows: what is left against them is what others hold — the signed
documents and the RFC 3161 tokens.
"""

import hashlib
import json
import shutil

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from emegalis.core import anchoring, journal, signing
from emegalis.core.models import JournalEntry
from emegalis.core.pdf import DocumentBuilder

pytestmark = pytest.mark.django_db

TABLE = JournalEntry._meta.db_table
FIELDS = (
    "recorded_at",
    "actor_id",
    "actor_label",
    "organisation_id",
    "organisation_label",
    "action",
    "object_type",
    "object_id",
    "payload",
    "payload_digest",
    "previous_hash",
    "entry_hash",
)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Write entries as the platform does: each committed, so its head reaches the log."""

    def write(n: int, start: int = 0) -> list[JournalEntry]:
        entries = []
        for i in range(start, start + n):
            with django_capture_on_commit_callbacks(execute=True):
                entries.append(
                    journal.record(
                        action="test.event",
                        object_type="thing",
                        object_id=i,
                        payload={"i": i},
                    )
                )
        return entries

    return write


@pytest.fixture
def anchor(django_capture_on_commit_callbacks):
    def make():
        with django_capture_on_commit_callbacks(execute=True):
            return anchoring.anchor_head()

    return make


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(statement, params)
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = origin")


def verify_fails(match: str, *args) -> str:
    with pytest.raises(CommandError, match=match) as failure:
        call_command("verify_journal", *args)
    return str(failure.value)


def plain_hash(row: dict) -> str:
    """The unkeyed SHA-256 of an entry, as anyone reading the source can compute it."""
    fields = {name: row[name] for name in FIELDS[:-1] if name != "payload"}
    fields["recorded_at"] = row["recorded_at"].isoformat()
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def has_column(name: str) -> bool:
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, TABLE)
    return any(column.name == name for column in description)


def rows_from(entry_id: int) -> list[JournalEntry]:
    return list(JournalEntry.objects.filter(id__gte=entry_id).order_by("id"))


def save_row(entry: JournalEntry, *, hash_version: int | None = None) -> None:
    """UPDATE the row with the entry's fields (and hash_version when the schema has it)."""
    assignments = ", ".join(f"{name} = %s" for name in FIELDS)
    values = [getattr(entry, name) for name in FIELDS]
    values[FIELDS.index("payload")] = journal.canonical_json(entry.payload)
    if hash_version is not None:
        assignments += ", hash_version = %s"
        values.append(hash_version)
    sql(f"UPDATE {TABLE} SET {assignments} WHERE id = %s", [*values, entry.pk])


def rewrite_without_key(target: JournalEntry) -> None:
    """DB-only attacker: change the entry, re-hash it and every later one with plain SHA-256
    (the only hash they can compute), so the chain links up again."""
    previous = JournalEntry.objects.filter(id__lt=target.pk).order_by("-id").first()
    previous_hash = previous.entry_hash if previous else journal.GENESIS_HASH
    for entry in rows_from(target.pk):
        if entry.pk == target.pk:
            entry.payload = {"i": 999, "forged": True}
            entry.payload_digest = journal.digest(journal.canonical_json(entry.payload))
        entry.previous_hash = previous_hash
        entry.entry_hash = plain_hash(vars(entry))
        save_row(entry, hash_version=1 if has_column("hash_version") else None)
        previous_hash = entry.entry_hash


def rewrite_with_key(target: JournalEntry) -> None:
    """Full-server attacker: the same, with the platform's own hash function and key."""
    previous = JournalEntry.objects.filter(id__lt=target.pk).order_by("-id").first()
    previous_hash = previous.entry_hash if previous else journal.GENESIS_HASH
    for entry in rows_from(target.pk):
        if entry.pk == target.pk:
            entry.payload = {"i": 999, "forged": True}
            entry.payload_digest = journal.digest(journal.canonical_json(entry.payload))
        entry.previous_hash = previous_hash
        entry.entry_hash = journal.compute_entry_hash(entry)
        save_row(entry)
        previous_hash = entry.entry_hash


def wipe_everything_but_the_journal() -> None:
    """Full-server attacker: the witness log, the anchors' rows and the witness rows go."""
    shutil.rmtree(settings.JOURNAL_WITNESS_DIR, ignore_errors=True)
    sql("DELETE FROM core_journalanchor")
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    if "core_journalwitness" in tables:
        sql("DELETE FROM core_journalwitness")


def signed_document(tmp_path, django_capture_on_commit_callbacks):
    doc = DocumentBuilder(title="Accusé de réception")
    doc.paragraph("Pli n° 1 reçu.")
    with django_capture_on_commit_callbacks(execute=True):
        signed = signing.sign_pdf(doc.build(), reason="Accusé de réception du pli n° 1")
    path = tmp_path / "accuse.pdf"
    path.write_bytes(signed)
    return path


# --- 1 to 3: cutting the tail ------------------------------------------------------------------


def test_1_deleting_the_last_entry_is_detected(committed):
    entries = committed(5)
    sql(f"DELETE FROM {TABLE} WHERE id = %s", [entries[-1].pk])
    verify_fails(rf"entrées manquantes après le n° {entries[-2].pk} — .* n° {entries[-1].pk}")


def test_2_deleting_the_last_three_entries_is_detected(committed, anchor):
    entries = committed(3)
    anchor()
    entries += committed(3, start=3)
    sql(f"DELETE FROM {TABLE} WHERE id >= %s", [entries[3].pk])
    verify_fails(rf"entrées manquantes après le n° {entries[2].pk} — ")


def test_3_deleting_everything_after_the_last_anchor_is_detected(committed, anchor):
    entries = committed(4)
    last_anchor = anchor()
    assert last_anchor.entry_id == entries[-1].pk
    entries += committed(4, start=4)
    sql(f"DELETE FROM {TABLE} WHERE id > %s", [last_anchor.entry_id])
    verify_fails(rf"entrées manquantes après le n° {last_anchor.entry_id} — .* n° {entries[-1].pk}")


# --- 4 and 5: rewriting and re-hashing ----------------------------------------------------------


def test_4_rewriting_after_the_last_anchor_and_rehashing_without_the_key_is_detected(
    committed, anchor
):
    committed(3)
    anchor()
    entries = committed(4, start=3)
    # Even with the head-witness log gone, the keyed chain refuses the forgery.
    shutil.rmtree(settings.JOURNAL_WITNESS_DIR)
    rewrite_without_key(entries[1])
    verify_fails(rf"entrée n° {entries[1].pk} — ")


def test_5_rewriting_before_the_last_anchor_and_rehashing_with_the_key_is_detected(
    committed, anchor
):
    entries = committed(5)
    anchor()
    committed(2, start=5)
    rewrite_with_key(entries[2])  # the chain verifies again: the witnesses see it
    assert journal.first_break() is None
    message = verify_fails(rf"entrée n° {entries[2].pk} — n'a plus l'empreinte attestée")
    assert "journal réécrit" in message


# --- 6 to 8: reordering, inserting, editing in place --------------------------------------------


def test_6_swapping_two_entries_is_detected(committed):
    entries = committed(5)
    first = JournalEntry.objects.get(pk=entries[1].pk)
    second = JournalEntry.objects.get(pk=entries[2].pk)
    # Free the second hash first (it is unique), then exchange the two rows' contents.
    sql(f"UPDATE {TABLE} SET entry_hash = %s WHERE id = %s", ["f" * 64, second.pk])
    first_pk, second_pk = first.pk, second.pk
    second.pk, first.pk = first_pk, second_pk
    save_row(second)
    save_row(first)
    verify_fails(rf"entrée n° {first_pk} — ")


def test_7_inserting_a_forged_entry_in_the_middle_is_detected(committed):
    entries = committed(5)
    # Make room after entry 2 by moving the later entries one id up, then insert a forgery
    # chained to entry 2 with the hash anyone can compute.
    for entry in reversed(entries[2:]):
        sql(f"UPDATE {TABLE} SET id = id + 1 WHERE id = %s", [entry.pk])
    forged = {
        "recorded_at": entries[1].recorded_at,
        "actor_id": None,
        "actor_label": "",
        "organisation_id": None,
        "organisation_label": "",
        "action": "test.forged",
        "object_type": "thing",
        "object_id": "x",
        "payload": {},
        "payload_digest": journal.digest("{}"),
        "previous_hash": entries[1].entry_hash,
    }
    forged["entry_hash"] = plain_hash(forged)
    forged["payload"] = "{}"
    if has_column("hash_version"):
        forged.update(hash_version=1, key_id="")
    columns = ", ".join(["id", *forged])
    marks = ", ".join(["%s"] * (len(forged) + 1))
    sql(f"INSERT INTO {TABLE} ({columns}) VALUES ({marks})", [entries[2].pk, *forged.values()])
    verify_fails(rf"entrée n° {entries[2].pk} — ")


def test_8_changing_a_payload_without_rehashing_is_detected(committed):
    entries = committed(4)
    sql(f"UPDATE {TABLE} SET payload = %s WHERE id = %s", ['{"i": 99}', entries[1].pk])
    verify_fails(rf"entrée n° {entries[1].pk} — le contenu ne correspond plus")


# --- 9 and 10: what signed documents prove -------------------------------------------------------


def test_9_truncating_below_a_signed_receipts_witnessed_index_is_detected(
    committed, tmp_path, django_capture_on_commit_callbacks
):
    entries = committed(4)
    signed_document(tmp_path, django_capture_on_commit_callbacks)  # witnesses entry 4
    committed(2, start=4)
    # A DB-only attacker cuts the journal below the receipt and the anchors' rows with it;
    # the log outside the database and the witness row of the receipt are left.
    sql("DELETE FROM core_journalanchor")
    sql(f"DELETE FROM {TABLE} WHERE id >= %s", [entries[2].pk])
    verify_fails(rf"entrées manquantes après le n° {entries[1].pk} — ")
    # A full-server attacker wipes those too: the receipt the company holds still proves it.
    wipe_everything_but_the_journal()
    document = tmp_path / "accuse.pdf"
    verify_fails(
        rf"entrées manquantes après le n° {entries[1].pk} — le document signé "
        rf"{document} atteste l'entrée n° {entries[3].pk}",
        "--document",
        str(document),
    )


def test_10_a_rehashed_forgery_of_the_head_after_a_witnessed_document_is_detected(
    committed, tmp_path, django_capture_on_commit_callbacks
):
    entries = committed(4)
    document = signed_document(tmp_path, django_capture_on_commit_callbacks)
    # Full-server attacker: replaces the head the receipt witnessed, re-hashed with the key,
    # and wipes every witness they can reach.
    rewrite_with_key(entries[-1])
    wipe_everything_but_the_journal()
    assert journal.first_break() is None
    call_command("verify_journal")  # nothing left on the server to contradict it…
    verify_fails(  # …but the company's receipt does
        rf"entrée n° {entries[-1].pk} — n'a plus l'empreinte attestée par le document signé",
        "--document",
        str(document),
    )
