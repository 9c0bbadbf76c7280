from django.urls import path

from . import dav

dav_urlpatterns = [
    path("", dav.dav_view, name="collaboratif_dav_root"),
    path("<path:path>", dav.dav_view, name="collaboratif_dav"),
]

urlpatterns: list = []
