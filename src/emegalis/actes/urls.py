"""The contrôle de légalité's routes: the pages under /actes/ and the ministry's return
endpoint; the S²LOW-style client paths, mounted at the site root."""

from django.urls import path

from emegalis.actes.acts import urls as acts_urls
from emegalis.actes.returns import views as returns_views
from emegalis.actes.s2low import urls as s2low_urls

urlpatterns = [
    *acts_urls.urlpatterns,
    path("retour/", returns_views.return_endpoint, name="actes_return"),
]

# Paths dictated by existing client software (S²LOW-style), mounted at the site root.
legacy_urlpatterns = s2low_urls.urlpatterns
