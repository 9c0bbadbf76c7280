from django.urls import path

from . import dav, views
from .calendars import views as calendar_views
from .discussions import views as discussion_views

dav_urlpatterns = [
    path("", dav.dav_view, name="collaboratif_dav_root"),
    path("<path:path>", dav.dav_view, name="collaboratif_dav"),
]

urlpatterns = [
    path("", views.home, name="collaboratif_home"),
    path("<int:pk>/", views.workspace, name="collaboratif_workspace"),
    path("<int:pk>/dossiers/<int:folder_pk>/", views.folder, name="collaboratif_folder"),
    path("<int:pk>/dossiers/nouveau/", views.folder_create, name="collaboratif_folder_create"),
    path(
        "<int:pk>/dossiers/<int:folder_pk>/<str:action>/",
        views.folder_action,
        name="collaboratif_folder_action",
    ),
    path("<int:pk>/deposer/", views.upload, name="collaboratif_upload"),
    path("<int:pk>/corbeille/", views.trash, name="collaboratif_trash"),
    path("<int:pk>/membres/", views.members, name="collaboratif_members"),
    path(
        "<int:pk>/membres/<int:member_pk>/<str:action>/",
        views.member_action,
        name="collaboratif_member_action",
    ),
    path("<int:pk>/archiver/", views.archive, name="collaboratif_archive"),
    path("documents/<int:pk>/", views.document, name="collaboratif_document"),
    path(
        "documents/<int:pk>/<str:action>/",
        views.document_action,
        name="collaboratif_document_action",
    ),
    path("versions/<int:pk>/", views.version_file, name="collaboratif_version"),
    path("invitation/<str:secret>/", views.invitation, name="collaboratif_invitation"),
    path("<int:pk>/discussions/", discussion_views.threads, name="collaboratif_threads"),
    path("<int:pk>/notifications/", discussion_views.notify_choice, name="collaboratif_notify"),
    path("discussions/<int:pk>/", discussion_views.thread, name="collaboratif_thread"),
    path("<int:pk>/agenda/", calendar_views.agenda, name="collaboratif_agenda"),
    path("evenements/<int:pk>/", calendar_views.event, name="collaboratif_event"),
    path(
        "evenements/<int:pk>/invitation.ics",
        calendar_views.event_ics,
        name="collaboratif_event_ics",
    ),
    path("agenda/abonnements/", calendar_views.feeds, name="collaboratif_feeds"),
    path("agenda/<str:secret>", calendar_views.feed, name="collaboratif_feed"),
]
