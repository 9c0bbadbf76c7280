"""The salle des marchés' routes under /marches/: each stage's own, assembled here."""

from django.urls import path
from django.views.generic import RedirectView

from emegalis.marches.award import urls as award_urls
from emegalis.marches.consultations import urls as consultations_urls
from emegalis.marches.deposit import urls as deposit_urls
from emegalis.marches.messaging import urls as messaging_urls
from emegalis.marches.opendata import urls as opendata_urls
from emegalis.marches.opening import urls as opening_urls

urlpatterns = [
    *consultations_urls.urlpatterns,
    *deposit_urls.urlpatterns,
    *opening_urls.urlpatterns,
    *messaging_urls.urlpatterns,
    *award_urls.urlpatterns,
    *opendata_urls.urlpatterns,
    # The former API token page: API keys are now the account's (/compte/cles-api/).
    path("jetons-api/", RedirectView.as_view(pattern_name="api_keys"), name="marches_tokens"),
]
