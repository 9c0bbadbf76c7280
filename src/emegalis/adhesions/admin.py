"""Read-only admin views of the adhésions.

Every write goes through services.py (state machine, checks, journal): the admin only shows.
The operator's pages under /operateur/ are where conventions and contributions are managed.
"""

from django.contrib import admin

from emegalis.core.admin import ReadOnlyAdminMixin

from .models import Contribution, ContributionCall, Convention, ConventionStatusChange


class StatusChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ConventionStatusChange
    fields = ["effective_on", "status", "note", "recorded_by", "recorded_at"]
    readonly_fields = fields
    extra = 0


@admin.register(Convention)
class ConventionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["reference", "organisation", "kind", "start_date", "end_date", "current_status"]
    list_filter = ["kind", "current_status"]
    search_fields = ["reference", "organisation__name", "organisation__siren"]
    list_select_related = ["organisation"]
    inlines = [StatusChangeInline]


@admin.register(Contribution)
class ContributionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["year", "payer", "amount_ht", "label"]
    list_filter = ["year"]
    search_fields = ["payer__name", "payer__siren"]
    list_select_related = ["payer"]


@admin.register(ContributionCall)
class ContributionCallAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "contribution", "issued_on", "amount_ttc", "paid_on"]
    list_filter = ["issued_on", "paid_on"]
    search_fields = ["number", "contribution__payer__name", "payment_reference"]
    list_select_related = ["contribution__payer"]
