"""URLs of the deposit pages kept outside views.py (included by marches/urls.py)."""

from django.urls import path

from . import views_deposit

urlpatterns = [
    path("plis/<int:pli_pk>/abandonner/", views_deposit.pli_abandon, name="marches_pli_abandon"),
]
