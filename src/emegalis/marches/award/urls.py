"""URLs of the award pages (included by marches/urls.py under /marches/). Lot 0 names the
single contract of a consultation without lots."""

from django.urls import path

from emegalis.marches.award import views

_lot = "acheteur/<int:pk>/attribution/lot/<int:lot>/"


urlpatterns = [
    path("acheteur/<int:pk>/attribution/", views.home, name="marches_award_home"),
    path(f"{_lot}criteres/", views.criteria, name="marches_award_criteria"),
    path(f"{_lot}analyse/", views.analysis, name="marches_award_analysis"),
    path(f"{_lot}decision/", views.decision, name="marches_award_decision"),
    path(f"{_lot}lettres/", views.letters, name="marches_award_letters"),
    path(f"{_lot}notification/", views.notification, name="marches_award_notification"),
    path(
        "acheteur/<int:pk>/attribution/lettres/<int:letter_pk>.pdf",
        views.letter_pdf,
        name="marches_award_letter_pdf",
    ),
    path("acheteur/<int:pk>/attribution/marches/", views.contracts, name="marches_award_contracts"),
]
