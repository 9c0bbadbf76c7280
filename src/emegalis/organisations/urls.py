from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import journal_views, two_factor, views
from .forms import EmailAuthenticationForm, EmailPasswordResetForm, NewPasswordForm
from .proconnect import views as proconnect_views

account_urlpatterns = [
    path(
        "connexion/",
        proconnect_views.LoginView.as_view(
            authentication_form=EmailAuthenticationForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("deconnexion/", proconnect_views.LogoutView.as_view(), name="logout"),
    path("proconnect/", proconnect_views.start, name="proconnect_start"),
    path("proconnect/retour/", proconnect_views.callback, name="proconnect_callback"),
    path("proconnect/deconnexion/", proconnect_views.logged_out, name="proconnect_logged_out"),
    path("confirmer/nouveau-lien/", views.signup_resend, name="signup_resend"),
    path("confirmer/<str:token>/", views.signup_confirm, name="signup_confirm"),
    path("double-authentification/", two_factor.setup, name="two_factor_setup"),
    path("verification/", two_factor.verify, name="two_factor_verify"),
    path("securite/", views.account_security, name="account_security"),
    path(
        "securite/desactiver-double-authentification/",
        views.account_security_disable,
        name="account_security_disable",
    ),
    path("securite/delier-proconnect/", proconnect_views.unlink, name="proconnect_unlink"),
    path("cles-api/", views.api_keys, name="api_keys"),
    path("mots-de-passe-application/", views.app_passwords, name="app_passwords"),
    path(
        "mots-de-passe-application/<int:pk>/revoquer/",
        views.app_password_revoke,
        name="app_password_revoke",
    ),
    path("cles-api/<int:pk>/revoquer/", views.api_key_revoke, name="api_key_revoke"),
    path("certificats/", views.client_certificates, name="client_certificates"),
    path(
        "certificats/<int:pk>/revoquer/",
        views.client_certificate_revoke,
        name="client_certificate_revoke",
    ),
    path(
        "mot-de-passe/oubli/",
        views.PasswordResetView.as_view(
            form_class=EmailPasswordResetForm,
            extra_email_context={"valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600},
            success_url=reverse_lazy("password_reset_done"),
            subject_template_name="registration/password_reset_subject.txt",
            email_template_name="registration/password_reset_email.txt",
        ),
        name="password_reset",
    ),
    path(
        "mot-de-passe/oubli/envoye/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "mot-de-passe/nouveau/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            form_class=NewPasswordForm, success_url=reverse_lazy("password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path(
        "mot-de-passe/nouveau/termine/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

urlpatterns = [
    path("choisir/", views.switch_organisation, name="switch_organisation"),
    path("<int:pk>/", views.organisation_detail, name="organisation_detail"),
    path("<int:pk>/utilisateurs/", views.organisation_members, name="organisation_members"),
    path("<int:pk>/utilisateurs/ajouter/", views.member_add, name="member_add"),
    path("<int:pk>/utilisateurs/<int:membership_pk>/", views.member_edit, name="member_edit"),
    path(
        "<int:pk>/utilisateurs/<int:membership_pk>/desactiver/",
        views.member_set_active,
        {"active": False},
        name="member_deactivate",
    ),
    path(
        "<int:pk>/utilisateurs/<int:membership_pk>/reactiver/",
        views.member_set_active,
        {"active": True},
        name="member_reactivate",
    ),
]

# Mounted under /operateur/ (next to adhesions' operator pages): the syndicat's staff only.
operator_urlpatterns = [
    path("organisations/nouvelle/", views.organisation_create, name="organisation_create"),
    path("journal/", journal_views.journal_list, name="operator_journal"),
    path("journal/journal.csv", journal_views.journal_csv, name="operator_journal_csv"),
    path("journal/<int:pk>/", journal_views.journal_entry, name="operator_journal_entry"),
    path("journal/verifier/", journal_views.journal_verify, name="operator_journal_verify"),
    path(
        "journal/verifications/<int:pk>/",
        journal_views.journal_verification,
        name="operator_journal_verification",
    ),
]
