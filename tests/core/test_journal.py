import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from emegalis.core import journal
from emegalis.core.models import JournalEntry
from tests.factories import OrganisationFactory


def _as_database_owner(cursor) -> None:
    """Tampering needs someone who can switch the PostgreSQL guard off first."""
    if connection.vendor == "postgresql":
        cursor.execute(f"ALTER TABLE {JournalEntry._meta.db_table} DISABLE TRIGGER USER")


def _fill(n=5):
    return [
        journal.record(action="test.event", object_type="thing", object_id=i, payload={"i": i})
        for i in range(n)
    ]


@pytest.mark.django_db
def test_entries_are_chained():
    entries = _fill(3)
    assert entries[0].previous_hash == journal.GENESIS_HASH
    assert entries[1].previous_hash == entries[0].entry_hash
    assert entries[2].previous_hash == entries[1].entry_hash
    assert journal.first_break() is None


@pytest.mark.django_db
def test_verify_journal_passes_on_clean_journal(capsys):
    _fill(4)
    call_command("verify_journal")
    assert "4 entrées vérifiées" in capsys.readouterr().out


@pytest.mark.django_db
def test_verify_journal_names_entry_changed_in_database():
    entries = _fill(5)
    target = entries[2]
    with connection.cursor() as cursor:
        _as_database_owner(cursor)
        cursor.execute(
            f"UPDATE {JournalEntry._meta.db_table} SET action = %s WHERE id = %s",
            ["test.forged", target.pk],
        )
    with pytest.raises(CommandError, match=rf"entrée n° {target.pk} "):
        call_command("verify_journal")


@pytest.mark.django_db
def test_verify_journal_detects_payload_tampering():
    entries = _fill(3)
    target = entries[1]
    with connection.cursor() as cursor:
        _as_database_owner(cursor)
        cursor.execute(
            f"UPDATE {JournalEntry._meta.db_table} SET payload = %s WHERE id = %s",
            ['{"i": 99}', target.pk],
        )
    broken = journal.first_break()
    assert broken is not None and broken.entry_id == target.pk
    assert "contenu" in broken.reason


@pytest.mark.django_db
def test_verify_journal_detects_deleted_entry():
    entries = _fill(4)
    with connection.cursor() as cursor:
        _as_database_owner(cursor)
        cursor.execute(f"DELETE FROM {JournalEntry._meta.db_table} WHERE id = %s", [entries[1].pk])
    broken = journal.first_break()
    assert broken is not None and broken.entry_id == entries[2].pk


@pytest.mark.django_db
def test_journal_refuses_update_and_delete_through_the_orm():
    entry = _fill(1)[0]
    entry.action = "changed"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        JournalEntry.objects.all().delete()
    with pytest.raises(PermissionError):
        JournalEntry.objects.update(action="x")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET action = 'test.forged' WHERE id = %s",
        "DELETE FROM {table} WHERE id = %s",
    ],
)
def test_postgresql_itself_refuses_update_and_delete(statement):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only (see migration core 0003)")
    entry = _fill(2)[0]
    with (
        pytest.raises(DatabaseError, match="ajout seul"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement.format(table=JournalEntry._meta.db_table), [entry.pk])
    assert JournalEntry.objects.get(pk=entry.pk).action == "test.event"


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_chain():
    """Writers in parallel transactions must not chain onto the same previous entry."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers are exercised on PostgreSQL (SQLite serialises them)")
    import threading

    from django.db import connections, transaction

    errors = []

    def writer(n: int):
        try:
            for i in range(10):
                with transaction.atomic():
                    journal.record(action="test.concurrent", object_id=f"{n}-{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert JournalEntry.objects.filter(action="test.concurrent").count() == 40
    assert journal.first_break() is None
    hashes = list(JournalEntry.objects.values_list("previous_hash", flat=True))
    assert len(hashes) == len(set(hashes))


@pytest.mark.django_db
def test_target_names_the_object_by_model_name_and_key():
    organisation = OrganisationFactory()
    entry = journal.record(action="test.event", target=organisation)
    assert (entry.object_type, entry.object_id) == ("organisation", str(organisation.pk))
    assert journal.first_break() is None


@pytest.mark.django_db
def test_target_excludes_object_type_and_object_id():
    organisation = OrganisationFactory()
    with pytest.raises(TypeError):
        journal.record(action="test.event", target=organisation, object_type="thing")
    with pytest.raises(TypeError):
        journal.record(action="test.event", target=organisation, object_id=1)
    assert not JournalEntry.objects.exists()
