"""The secure messaging between a consultation's buyer and each bidder."""

from django.conf import settings
from django.db import models

from emegalis.marches.consultations.models import Consultation
from emegalis.organisations.models import Organisation


class MessageDirection(models.TextChoices):
    TO_COMPANY = "to_company", "De l'acheteur à l'entreprise"
    TO_BUYER = "to_buyer", "De l'entreprise à l'acheteur"


class Message(models.Model):
    """A message of the secure messaging between a consultation's buyer and one company.

    Its content is read on the platform only (the e-mail only says a message is waiting);
    the first opening by a user of the receiving side is the read receipt (accusé de lecture).
    """

    consultation = models.ForeignKey(
        Consultation, on_delete=models.PROTECT, related_name="messages"
    )
    company = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="entreprise"
    )
    direction = models.CharField("sens", max_length=20, choices=MessageDirection.choices)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    sender_label = models.CharField("expéditeur", max_length=255)
    subject = models.CharField("objet", max_length=255)
    body = models.TextField("message")
    attachment = models.FileField(
        "pièce jointe", upload_to="marches/messages/", blank=True, max_length=255
    )
    attachment_name = models.CharField("nom de la pièce jointe", max_length=255, blank=True)
    attachment_sha256 = models.CharField(max_length=64, blank=True)
    in_reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    sent_at = models.DateTimeField("envoyé le")
    read_at = models.DateTimeField("lu le", null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    read_by_label = models.CharField("lu par", max_length=255, blank=True)

    class Meta:
        verbose_name = "message sécurisé"
        verbose_name_plural = "messages sécurisés"
        ordering = ["-sent_at", "-pk"]
        indexes = [
            models.Index(fields=["consultation", "company"], name="msg_consult_company"),
            models.Index(fields=["company", "direction", "read_at"], name="msg_company_unread"),
        ]

    def __str__(self) -> str:
        return self.subject
