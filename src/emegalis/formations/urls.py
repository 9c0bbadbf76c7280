from django.urls import path

from . import views

urlpatterns = [
    path("", views.catalogue, name="formations_catalogue"),
    path("mes-inscriptions/", views.mine, name="formations_mine"),
    path("validations/", views.approvals, name="formations_approvals"),
    path(
        "inscriptions/<int:pk>/<str:action>/",
        views.registration_action,
        name="formations_registration_action",
    ),
    path("sessions/", views.sessions, name="formations_sessions"),
    path("sessions/<int:pk>/", views.session_detail, name="formations_session"),
    path("sessions/<int:pk>/inscription/", views.register, name="formations_register"),
    path("catalogue/<slug:slug>/", views.course, name="formations_course"),
]
