from django.contrib import admin

from .models import JournalEntry


@admin.register(JournalEntry)
class JournalEntryAdmin(admin.ModelAdmin):
    list_display = ["id", "recorded_at", "action", "actor_label", "organisation_label"]
    list_filter = ["action"]
    search_fields = ["action", "object_id", "actor_label", "organisation_label"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
