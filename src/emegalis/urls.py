from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from emegalis.actes import urls as actes_urls
from emegalis.adhesions import urls as adhesions_urls
from emegalis.collaboratif import urls as collaboratif_urls
from emegalis.core import pages
from emegalis.core import views as core_views
from emegalis.formations import urls as formations_urls
from emegalis.groupements import urls as groupements_urls
from emegalis.marches import urls as marches_urls
from emegalis.organisations import urls as organisations_urls
from emegalis.organisations import views as organisation_views
from emegalis.prefecture import urls as prefecture_urls

from .api import api

urlpatterns = [
    path("", core_views.home, name="home"),
    path("tableau-de-bord/", organisation_views.dashboard, name="dashboard"),
    path("services/<str:service>/", core_views.service_home, name="service_home"),
    path("mentions-legales/", pages.legal_notice, name="legal_notice"),
    path("accessibilite/", pages.accessibility, name="accessibility"),
    path("donnees-personnelles/", pages.personal_data, name="personal_data"),
    path("cgu/", pages.terms, name="terms"),
    path("plan-du-site/", pages.sitemap, name="sitemap"),
    path("aide/", pages.help_index, name="help_index"),
    path("aide/<slug:slug>/", pages.help_topic, name="help_topic"),
    path("compte/", include(organisations_urls.account_urlpatterns)),
    path("organisations/", include(organisations_urls.urlpatterns)),
    path("organisations/", include(adhesions_urls.urlpatterns)),
    path("operateur/", include(adhesions_urls.operator_urlpatterns)),
    path("operateur/", include(organisations_urls.operator_urlpatterns)),
    path("marches/", include(marches_urls.urlpatterns)),
    path("actes/", include(actes_urls.urlpatterns)),
    path("groupements/", include(groupements_urls.urlpatterns)),
    path("prefecture/", include(prefecture_urls.urlpatterns)),
    path("collaboratif/", include(collaboratif_urls.urlpatterns)),
    path("dav/", include(collaboratif_urls.dav_urlpatterns)),
    path("formations/", include(formations_urls.urlpatterns)),
    path("api/v1/", api.urls),
    path("sante/", core_views.health, name="health"),
    path("horodatage/", core_views.timestamp_authority, name="timestamp_authority"),
    path("", include(actes_urls.legacy_urlpatterns)),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
