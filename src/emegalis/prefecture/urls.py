from django.urls import path

from . import views

urlpatterns = [
    path("depot/", views.depot, name="prefecture_depot"),
    path("", views.home, name="prefecture_home"),
    path("actes/<int:pk>/", views.act_detail, name="prefecture_act"),
    path("actes/<int:pk>/fichiers/<int:file_pk>/", views.received_file, name="prefecture_file"),
    path("reponses/<int:pk>/acquitter/", views.acknowledge_reply, name="prefecture_ack_reply"),
    path(
        "annulations/<int:pk>/acquitter/",
        views.acknowledge_cancellation,
        name="prefecture_ack_cancellation",
    ),
]
