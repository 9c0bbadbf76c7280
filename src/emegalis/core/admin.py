from django.contrib import admin

from .models import JournalEntry, JournalWitness


class ReadOnlyAdminMixin:
    """For a ModelAdmin or an inline that only shows: the application writes these rows
    itself (services, journal), never through the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "recorded_at", "action", "actor_label", "organisation_label"]
    list_filter = ["action"]
    search_fields = ["action", "object_id", "actor_label", "organisation_label"]


@admin.register(JournalWitness)
class JournalWitnessAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "kind", "object_id", "entry_id", "description"]
    list_filter = ["kind"]
    search_fields = ["object_id", "document_sha256", "entry_hash"]
