"""Routes of the deposit stage: the deposit page and its upload protocol, receipts, abandon,
the buyer's registre des dépôts."""

from django.urls import path

from emegalis.marches.deposit import registre_exports, views

urlpatterns = [
    path("consultations/<int:pk>/depot/", views.deposit, name="marches_deposit"),
    path("plis/<int:pli_pk>/fichiers/<int:file_pk>/", views.pli_file, name="marches_pli_file"),
    path("plis/<int:pli_pk>/confirmer/", views.pli_confirm, name="marches_pli_confirm"),
    path("plis/<int:pli_pk>/accuse.pdf", views.pli_receipt, name="marches_pli_receipt"),
    path("plis/<int:pli_pk>/abandonner/", views.pli_abandon, name="marches_pli_abandon"),
    path("acheteur/<int:pk>/depots/", views.registre_depots, name="marches_registre_depots"),
    path(
        "acheteur/<int:pk>/depots.csv",
        registre_exports.registre_depots_csv,
        name="marches_registre_depots_csv",
    ),
    path(
        "acheteur/<int:pk>/depots.pdf",
        registre_exports.registre_depots_pdf,
        name="marches_registre_depots_pdf",
    ),
]
