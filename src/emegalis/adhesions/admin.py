"""Read-only admin views of the adhésions.

Every write goes through services.py (state machine, checks, journal): the admin only shows.
The operator's pages under /operateur/ are where conventions and contributions are managed.
"""

from django.contrib import admin

from .models import Contribution, ContributionCall, Convention, ConventionStatusChange


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StatusChangeInline(admin.TabularInline):
    model = ConventionStatusChange
    fields = ["effective_on", "status", "note", "recorded_by", "recorded_at"]
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Convention)
class ConventionAdmin(ReadOnlyAdmin):
    list_display = ["reference", "organisation", "kind", "start_date", "end_date", "current_status"]
    list_filter = ["kind", "current_status"]
    search_fields = ["reference", "organisation__name", "organisation__siren"]
    list_select_related = ["organisation"]
    inlines = [StatusChangeInline]


@admin.register(Contribution)
class ContributionAdmin(ReadOnlyAdmin):
    list_display = ["year", "payer", "amount_ht", "label"]
    list_filter = ["year"]
    search_fields = ["payer__name", "payer__siren"]
    list_select_related = ["payer"]


@admin.register(ContributionCall)
class ContributionCallAdmin(ReadOnlyAdmin):
    list_display = ["number", "contribution", "issued_on", "amount_ttc", "paid_on"]
    list_filter = ["issued_on", "paid_on"]
    search_fields = ["number", "contribution__payer__name", "payment_reference"]
    list_select_related = ["contribution__payer"]
