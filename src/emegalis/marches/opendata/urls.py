"""URLs of the opendata pages (included by marches/urls.py)."""

from django.urls import path

from emegalis.marches.opendata import views as views_opendata

urlpatterns: list = [
    path("donnees-essentielles/", views_opendata.opendata, name="marches_opendata"),
    path("donnees-essentielles/decp.json", views_opendata.decp_json, name="marches_decp_json"),
    path("consultations/<int:pk>/ocds.json", views_opendata.ocds_json, name="marches_ocds"),
    path(
        "acheteur/donnees-essentielles/",
        views_opendata.buyer_opendata,
        name="marches_buyer_opendata",
    ),
    path(
        "acheteur/donnees-essentielles/decp.json",
        views_opendata.buyer_decp_json,
        name="marches_buyer_decp_json",
    ),
]
