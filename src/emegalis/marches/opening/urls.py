"""Routes of the opening stage: the commission members' pages (key, share, opening session,
late plis) and the buyer's PVs and opened files."""

from django.urls import path

from emegalis.marches.opening import views

urlpatterns = [
    path("commission/", views.commission_home, name="marches_commission_home"),
    path("commission/cle/", views.commission_key, name="marches_commission_key"),
    path("commission/<int:pk>/part/", views.commission_share, name="marches_commission_share"),
    path(
        "commission/<int:pk>/ouverture/",
        views.commission_opening,
        name="marches_commission_opening",
    ),
    path(
        "commission/<int:pk>/ouverture/hors-delai/<int:pli_pk>/",
        views.open_late_pli,
        name="marches_open_late_pli",
    ),
    path("acheteur/<int:pk>/pv-ouverture.pdf", views.opening_pv, name="marches_opening_pv"),
    path("acheteur/<int:pk>/pv-hors-delai/<int:pli_pk>.pdf", views.late_pv, name="marches_late_pv"),
    path(
        "acheteur/<int:pk>/ouverts/<int:opened_pk>/",
        views.opened_file,
        name="marches_opened_file",
    ),
]
