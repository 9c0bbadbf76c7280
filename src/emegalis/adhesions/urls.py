from django.urls import path

from . import views

urlpatterns = [
    path("<int:pk>/conventions/", views.organisation_conventions, name="organisation_conventions"),
    path(
        "<int:pk>/contributions/",
        views.organisation_contributions,
        name="organisation_contributions",
    ),
]
operator_urlpatterns = [
    path("membres/", views.operator_members, name="operator_members"),
]
