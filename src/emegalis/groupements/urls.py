from django.urls import path

from . import views

urlpatterns = [
    path("", views.groupement_list, name="groupements_home"),
    path("nouveau/", views.groupement_create, name="groupement_create"),
    path("<int:pk>/", views.groupement_detail, name="groupement_detail"),
    path("<int:pk>/modifier/", views.groupement_edit, name="groupement_edit"),
    path("<int:pk>/membres/", views.member_add, name="groupement_member_add"),
    path(
        "<int:pk>/membres/<int:org_pk>/retirer/",
        views.member_remove,
        name="groupement_member_remove",
    ),
    path("<int:pk>/signature/", views.submit_for_signature, name="groupement_submit"),
    path("<int:pk>/signer/", views.sign, name="groupement_sign"),
    path("<int:pk>/dissoudre/", views.dissolve, name="groupement_dissolve"),
    path("<int:pk>/frais/", views.costs, name="groupement_costs"),
    path("convention/<int:pk>.pdf", views.convention_pdf, name="groupement_convention_pdf"),
    path("<int:pk>/recensements/nouveau/", views.survey_create, name="groupement_survey_create"),
    path("recensements/<int:pk>/", views.survey_detail, name="groupement_survey"),
    path("recensements/<int:pk>/besoins.xlsx", views.survey_sheet, name="groupement_survey_sheet"),
    path("recensements/<int:pk>/import/", views.survey_upload, name="groupement_survey_upload"),
    path("recensements/<int:pk>/clore/", views.survey_close, name="groupement_survey_close"),
    path(
        "recensements/<int:pk>/consultation/",
        views.consultation_create,
        name="groupement_consultation_create",
    ),
    path(
        "recensements/<int:pk>/lots/<int:lot_pk>/repartition/",
        views.lot_allocate,
        name="groupement_lot_allocate",
    ),
    path("marches/<int:pk>/", views.member_contract, name="groupement_member_contract"),
    path(
        "marches/<int:pk>/signer/",
        views.member_contract_sign,
        name="groupement_member_contract_sign",
    ),
    path(
        "marches/<int:pk>/notifier/",
        views.member_contract_notify,
        name="groupement_member_contract_notify",
    ),
    path(
        "marches/<int:pk>/notification.pdf",
        views.member_contract_letter,
        name="groupement_member_contract_letter",
    ),
]
