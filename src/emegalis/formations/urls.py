from django.urls import path

from . import views
from .attendance import views as attendance_views
from .certificates import views as certificate_views
from .reports import views as report_views

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
    path("sessions/nouvelle/", views.session_create, name="formations_session_create"),
    path("catalogue/nouvelle/", views.course_create, name="formations_course_create"),
    path("sessions/<int:pk>/", views.session_detail, name="formations_session"),
    path("sessions/<int:pk>/inscription/", views.register, name="formations_register"),
    path("catalogue/<slug:slug>/", views.course, name="formations_course"),
    path("demi-journees/<int:pk>/", attendance_views.sheet, name="formations_sheet"),
    path(
        "demi-journees/<int:pk>/feuille.pdf",
        attendance_views.sheet_pdf,
        name="formations_sheet_pdf",
    ),
    path("emargement/", attendance_views.check_in, name="formations_check_in"),
    path(
        "inscriptions/<int:pk>/attestation.pdf",
        certificate_views.download,
        name="formations_certificate",
    ),
    path(
        "attestations/<str:code>/",
        certificate_views.check,
        name="formations_certificate_check",
    ),
    path("inscriptions/<int:pk>/avis/", report_views.evaluate, name="formations_evaluate"),
    path("rapports/", report_views.per_course, name="formations_report_courses"),
    path(
        "rapports/formations.csv",
        report_views.per_course,
        {"export": True},
        name="formations_report_courses_csv",
    ),
    path(
        "rapports/organisation/",
        report_views.per_organisation,
        name="formations_report_organisation",
    ),
    path(
        "rapports/organisation.csv",
        report_views.per_organisation,
        {"export": True},
        name="formations_report_organisation_csv",
    ),
]
