from django.urls import path
from django.views.generic import RedirectView

from . import urls_award, urls_deposit, urls_messaging, urls_opendata, views, views_commission

urlpatterns = [
    path("", views.search, name="marches_search"),
    path("consultations/<int:pk>/", views.notice, name="marches_notice"),
    path("consultations/<int:pk>/dce/", views.dce, name="marches_dce"),
    path("consultations/<int:pk>/dce.zip", views.dce_zip, name="marches_dce_zip"),
    path(
        "consultations/<int:pk>/dce/fichiers/<int:file_pk>/",
        views.dce_file,
        name="marches_dce_file",
    ),
    path("consultations/<int:pk>/questions/", views.ask, name="marches_ask"),
    path("consultations/<int:pk>/depot/", views.deposit, name="marches_deposit"),
    path("plis/<int:pli_pk>/fichiers/<int:file_pk>/", views.pli_file, name="marches_pli_file"),
    path("plis/<int:pli_pk>/confirmer/", views.pli_confirm, name="marches_pli_confirm"),
    path("plis/<int:pli_pk>/accuse.pdf", views.pli_receipt, name="marches_pli_receipt"),
    path("test/", views.workstation_test, name="marches_test"),
    # Buyers
    path("acheteur/", views.buyer_home, name="marches_buyer_home"),
    path("acheteur/nouvelle/", views.buyer_create, name="marches_buyer_create"),
    path("acheteur/<int:pk>/", views.buyer_detail, name="marches_buyer_detail"),
    path("acheteur/<int:pk>/modifier/", views.buyer_edit, name="marches_buyer_edit"),
    path("acheteur/<int:pk>/lots/", views.lot_add, name="marches_lot_add"),
    path(
        "acheteur/<int:pk>/lots/<int:lot_pk>/supprimer/",
        views.lot_delete,
        name="marches_lot_delete",
    ),
    path("acheteur/<int:pk>/dce/", views.dce_upload, name="marches_dce_upload"),
    path(
        "acheteur/<int:pk>/dce/<int:file_pk>/retirer/",
        views.dce_remove,
        name="marches_dce_remove",
    ),
    path(
        "acheteur/<int:pk>/dce/<int:file_pk>/",
        views.dce_buyer_file,
        name="marches_dce_buyer_file",
    ),
    path("acheteur/<int:pk>/publier/", views.publish, name="marches_publish"),
    path("acheteur/<int:pk>/rectificatif/", views.rectificatif, name="marches_rectificatif"),
    path("acheteur/<int:pk>/etat/", views.change_state, name="marches_change_state"),
    path(
        "acheteur/<int:pk>/questions/<int:question_pk>/reponse/",
        views.answer,
        name="marches_answer",
    ),
    path(
        "acheteur/<int:pk>/commission/", views.commission_create, name="marches_commission_create"
    ),
    path(
        "acheteur/<int:pk>/commission/dissoudre/",
        views.commission_dissolve,
        name="marches_commission_dissolve",
    ),
    path("acheteur/<int:pk>/pv-ouverture.pdf", views.opening_pv, name="marches_opening_pv"),
    path(
        "acheteur/<int:pk>/ouverts/<int:opened_pk>/", views.opened_file, name="marches_opened_file"
    ),
    path("acheteur/<int:pk>/depots/", views.registre_depots, name="marches_registre_depots"),
    path("acheteur/<int:pk>/registre/", views.registre, name="marches_registre"),
    path("acheteur/<int:pk>/registre.csv", views.registre_csv, name="marches_registre_csv"),
    path("acheteur/<int:pk>/registre.pdf", views.registre_pdf, name="marches_registre_pdf"),
    # Opening commission members
    path("commission/", views_commission.commission_home, name="marches_commission_home"),
    path("commission/cle/", views_commission.commission_key, name="marches_commission_key"),
    path(
        "commission/<int:pk>/part/",
        views_commission.commission_share,
        name="marches_commission_share",
    ),
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
    path(
        "acheteur/<int:pk>/pv-hors-delai/<int:pli_pk>.pdf",
        views.late_pv,
        name="marches_late_pv",
    ),
    # Companies
    path("entreprises/inscription/", views.company_signup, name="marches_company_signup"),
    path("entreprise/", views.company_home, name="marches_company"),
    path("entreprise/profil/", views.company_profile, name="marches_company_profile"),
    path("alertes/", views.alert_create, name="marches_alert_create"),
    path("alertes/<int:alert_pk>/supprimer/", views.alert_delete, name="marches_alert_delete"),
    # The former API token page: API keys are now the account's (/compte/cles-api/).
    path("jetons-api/", RedirectView.as_view(pattern_name="api_keys"), name="marches_tokens"),
]
urlpatterns += urls_messaging.urlpatterns + urls_award.urlpatterns + urls_opendata.urlpatterns
urlpatterns += urls_deposit.urlpatterns
