"""URLs of the messaging pages (included by marches/urls.py)."""

from django.urls import path

from emegalis.marches.messaging import views

urlpatterns: list = [
    # Buyers
    path("acheteur/<int:pk>/messages/", views.buyer_messages, name="marches_buyer_messages"),
    path(
        "acheteur/<int:pk>/messages/<int:company_pk>/",
        views.buyer_thread,
        name="marches_buyer_thread",
    ),
    path(
        "acheteur/<int:pk>/messages/pieces-jointes/<int:message_pk>/",
        views.buyer_attachment,
        name="marches_buyer_message_attachment",
    ),
    # Companies
    path("entreprise/messages/", views.company_messages, name="marches_company_messages"),
    path(
        "entreprise/messages/<int:message_pk>/",
        views.company_message,
        name="marches_company_message",
    ),
    path(
        "entreprise/messages/<int:message_pk>/piece-jointe/",
        views.company_attachment,
        name="marches_company_message_attachment",
    ),
]
