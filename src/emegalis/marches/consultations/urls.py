"""Routes of the consultations stage: search and notices, DCE, questions, the buyer's pages,
companies' sign-up and alerts, the test consultation."""

from django.urls import path

from emegalis.marches.consultations import views

_buyer = "acheteur/<int:pk>/"

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
    path("test/", views.workstation_test, name="marches_test"),
    path("cpv/", views.cpv_search, name="marches_cpv_search"),
    # Buyers
    path("acheteur/", views.buyer_home, name="marches_buyer_home"),
    path("acheteur/nouvelle/", views.buyer_create, name="marches_buyer_create"),
    path(_buyer, views.buyer_detail, name="marches_buyer_detail"),
    path(f"{_buyer}modifier/", views.buyer_edit, name="marches_buyer_edit"),
    path(f"{_buyer}equipe/", views.team_workspace, name="marches_team_workspace"),
    path(f"{_buyer}lots/", views.lot_add, name="marches_lot_add"),
    path(f"{_buyer}lots/<int:lot_pk>/supprimer/", views.lot_delete, name="marches_lot_delete"),
    path(f"{_buyer}dce/", views.dce_upload, name="marches_dce_upload"),
    path(f"{_buyer}dce/<int:file_pk>/retirer/", views.dce_remove, name="marches_dce_remove"),
    path(f"{_buyer}dce/<int:file_pk>/", views.dce_buyer_file, name="marches_dce_buyer_file"),
    path(f"{_buyer}publier/", views.publish, name="marches_publish"),
    path(f"{_buyer}rectificatif/", views.rectificatif, name="marches_rectificatif"),
    path(f"{_buyer}etat/", views.change_state, name="marches_change_state"),
    path(f"{_buyer}questions/<int:question_pk>/reponse/", views.answer, name="marches_answer"),
    path(f"{_buyer}commission/", views.commission_create, name="marches_commission_create"),
    path(
        f"{_buyer}commission/dissoudre/",
        views.commission_dissolve,
        name="marches_commission_dissolve",
    ),
    path(f"{_buyer}registre/", views.registre, name="marches_registre"),
    path(f"{_buyer}registre.csv", views.registre_csv, name="marches_registre_csv"),
    path(f"{_buyer}registre.pdf", views.registre_pdf, name="marches_registre_pdf"),
    # Companies
    path("entreprises/inscription/", views.company_signup, name="marches_company_signup"),
    path("entreprise/", views.company_home, name="marches_company"),
    path("entreprise/profil/", views.company_profile, name="marches_company_profile"),
    path("alertes/", views.alert_create, name="marches_alert_create"),
    path("alertes/<int:alert_pk>/supprimer/", views.alert_delete, name="marches_alert_delete"),
]
