"""URLs of the opendata pages (included by marches/urls.py)."""

from django.urls import path

from emegalis.marches.opendata import views

urlpatterns: list = [
    path("donnees-essentielles/", views.opendata, name="marches_opendata"),
    path("donnees-essentielles/decp.json", views.decp_json, name="marches_decp_json"),
    path("consultations/<int:pk>/ocds.json", views.ocds_json, name="marches_ocds"),
    path(
        "acheteur/donnees-essentielles/",
        views.buyer_opendata,
        name="marches_buyer_opendata",
    ),
    path(
        "acheteur/donnees-essentielles/decp.json",
        views.buyer_decp_json,
        name="marches_buyer_decp_json",
    ),
]
