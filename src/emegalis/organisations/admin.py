"""Django admin for organisations and accounts: a tool for the platform's administrators.

Everyday changes go through the application's pages (and their services, which journal them):
agents are added by their référent, organisations registered from /operateur/. Here users are
not created and passwords are not edited (the reset e-mail does that).
"""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm

from .forms import EmailAuthenticationForm
from .models import Membership, Organisation, ProConnectIdentity, RoleAssignment, User


class EmailAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form, with the same e-mail handling as the site's login form, so
    django-axes throttles /admin/login/ under the account's address too."""

    clean_username = EmailAuthenticationForm.clean_username
    clean = EmailAuthenticationForm.clean


admin.site.login_form = EmailAdminAuthenticationForm
admin.site.site_header = "e-mégalis — administration"
admin.site.site_title = "e-mégalis"


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "siren", "siret", "departement", "parent", "is_demo"]
    list_filter = ["kind", "departement", "is_demo"]
    search_fields = ["name", "siren", "siret", "city"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["created_at"]


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "job_title", "is_active"]
    list_filter = ["is_active", "organisation__kind"]
    search_fields = ["user__email", "user__last_name", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]
    inlines = [RoleAssignmentInline]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["organisation", "job_title", "is_active"]
    autocomplete_fields = ["organisation"]


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff", "is_demo"]
    list_filter = ["is_active", "is_staff", "is_superuser", "is_demo"]
    search_fields = ["email", "first_name", "last_name"]
    ordering = ["email"]
    fieldsets = [
        (None, {"fields": ["email", "first_name", "last_name", "phone"]}),
        ("Statut", {"fields": ["is_active", "is_demo", "last_login", "date_joined"]}),
        (
            "Administration Django",
            {"fields": ["is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
    ]
    readonly_fields = ["last_login", "date_joined"]
    filter_horizontal = ["groups", "user_permissions"]
    inlines = [MembershipInline]

    def has_add_permission(self, request):
        return False


@admin.register(ProConnectIdentity)
class ProConnectIdentityAdmin(admin.ModelAdmin):
    """Read-only: links are made by the sign-in and removed by their owner (« Délier »)."""

    list_display = ["user", "sub", "linked_at", "last_sign_in_at", "last_acr", "last_siret"]
    search_fields = ["user__email", "sub", "last_siret"]
    readonly_fields = [f.name for f in ProConnectIdentity._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
