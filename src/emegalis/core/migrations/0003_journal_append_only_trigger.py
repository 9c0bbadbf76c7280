"""On PostgreSQL, the database itself refuses UPDATE and DELETE on the journal: a trigger
raises before any row changes. The hash chain still detects what someone with the rights to
drop the trigger does. SQLite (the development default) gets no trigger: Django empties its
tables with DELETE between transactional tests, and the ORM guard plus the chain remain."""

from django.db import migrations

TABLE = "core_journalentry"
CREATE = f"""
CREATE OR REPLACE FUNCTION core_journal_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Le journal est en ajout seul : % refusé.', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_journal_append_only BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION core_journal_append_only();
"""
DROP = f"""
DROP TRIGGER IF EXISTS core_journal_append_only ON {TABLE};
DROP FUNCTION IF EXISTS core_journal_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_periodic_run")]

    operations = [migrations.RunPython(create, drop)]
