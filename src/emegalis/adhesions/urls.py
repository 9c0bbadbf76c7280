from django.urls import path

from . import views

# Mounted under /organisations/.
urlpatterns = [
    path("<int:pk>/conventions/", views.organisation_conventions, name="organisation_conventions"),
    path(
        "<int:pk>/contributions/",
        views.organisation_contributions,
        name="organisation_contributions",
    ),
    path("conventions/<int:pk>/document/", views.convention_document, name="convention_document"),
    path(
        "contributions/appels/<int:pk>/pdf/",
        views.contribution_call_pdf,
        name="contribution_call_pdf",
    ),
]

# Mounted under /operateur/ (platform staff only).
operator_urlpatterns = [
    path("membres/", views.operator_members, name="operator_members"),
    path("membres/<int:pk>/", views.operator_member_detail, name="operator_member_detail"),
    path(
        "membres/<int:pk>/conventions/nouvelle/",
        views.operator_convention_create,
        name="operator_convention_create",
    ),
    path(
        "membres/<int:pk>/contributions/nouvelle/",
        views.operator_contribution_create,
        name="operator_contribution_create",
    ),
    path(
        "conventions/<int:pk>/services/",
        views.operator_convention_services,
        name="operator_convention_services",
    ),
    path(
        "conventions/<int:pk>/statut/",
        views.operator_convention_status,
        name="operator_convention_status",
    ),
    path(
        "conventions/<int:pk>/document/",
        views.operator_convention_document,
        name="operator_convention_document",
    ),
    path("contributions/", views.operator_contributions, name="operator_contributions"),
    path(
        "contributions/generer/",
        views.operator_generate_calls,
        name="operator_generate_calls",
    ),
    path(
        "appels/<int:pk>/paiement/",
        views.operator_mark_call_paid,
        name="operator_mark_call_paid",
    ),
]
