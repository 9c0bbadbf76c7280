"""Routes of the acts pages under /actes/: the list, the act and its letters, classification,
the registre, unexpected returns."""

from django.urls import path
from django.views.generic import RedirectView

from emegalis.actes.acts import views

urlpatterns = [
    path("", views.home, name="actes_home"),
    path("nouveau/", views.create, name="actes_create"),
    path("<int:pk>/", views.detail, name="actes_detail"),
    path("<int:pk>/tampon.pdf", views.stamped, name="actes_stamped"),
    path("<int:pk>/ARActe.xml", views.ar_xml, name="actes_ar_xml"),
    path("<int:pk>/annuler/", views.cancel, name="actes_cancel"),
    path("<int:pk>/confirmer/", views.confirm, name="actes_confirm"),
    path("<int:pk>/publier/", views.publish, name="actes_publish"),
    path("<int:pk>/courriers/<int:letter_pk>/repondre/", views.reply, name="actes_reply"),
    path("transactions/<int:pk>/lu/", views.mark_read, name="actes_mark_read"),
    path("documents/<int:pk>/", views.document, name="actes_document"),
    path("classification/", views.classification, name="actes_classification"),
    # The former API key page: API keys are now the account's (/compte/cles-api/).
    path("cles-api/", RedirectView.as_view(pattern_name="api_keys"), name="actes_credentials"),
    path("retours-inattendus/", views.unexpected, name="actes_unexpected"),
    path("registres/", views.public_registers, name="actes_public_registers"),
    path("registre/<int:org_pk>/", views.register, name="actes_register"),
    path("registre/<int:org_pk>/<int:pk>.pdf", views.register_pdf, name="actes_register_pdf"),
]
