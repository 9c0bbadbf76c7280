"""What our prefecture counterpart keeps: the archives it received, the acts it acknowledged,
the letters it sent, the replies and cancellations it received, and the returns it pushes.

It knows the authorities only by what the protocol carries (SIREN, département…): no link to
the platform's ``actes`` tables, as a real prefecture would only know the protocol.
"""

from django.conf import settings
from django.db import models


class ReceivedArchive(models.Model):
    name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, unique=True)
    size = models.PositiveBigIntegerField(default=0)
    received_at = models.DateTimeField()
    archive = models.FileField(upload_to="prefecture/recus/%Y/%m/", max_length=255)
    outcome = models.CharField(max_length=40, blank=True, default="")
    detail = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = "archive reçue"
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return self.name


class ReceivedAct(models.Model):
    """An act acknowledged (ARActe) or refused (AnomalieActe) by the counterpart."""

    archive = models.ForeignKey(ReceivedArchive, on_delete=models.CASCADE, related_name="acts")
    siren = models.CharField(max_length=9)
    departement = models.CharField(max_length=3)
    arrondissement = models.CharField(max_length=1, blank=True, default="")
    authority_nature = models.CharField(max_length=2, blank=True, default="")
    numero_interne = models.CharField(max_length=15)
    code_nature = models.PositiveSmallIntegerField()
    objet = models.TextField()
    date_decision = models.DateField()
    matieres = models.JSONField(default=list)
    classification_date = models.DateField(null=True)
    id_acte = models.CharField(max_length=64, blank=True, default="")
    date_reception = models.DateField(null=True, blank=True)
    anomaly = models.TextField(blank=True, default="")
    acte_xml = models.BinaryField()
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "acte reçu"
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.id_acte or f"{self.siren} {self.numero_interne}"


class ReceivedFile(models.Model):
    act = models.ForeignKey(
        ReceivedAct, null=True, blank=True, on_delete=models.CASCADE, related_name="files"
    )
    reply = models.ForeignKey(
        "Reply", null=True, blank=True, on_delete=models.CASCADE, related_name="files"
    )
    name = models.CharField(max_length=255)
    file = models.FileField(upload_to="prefecture/pieces/%Y/%m/", max_length=255)
    size = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class Letter(models.Model):
    """A letter sent by the prefecture about an act: 2-1, 3-1, 4-1 or 5-1."""

    act = models.ForeignKey(ReceivedAct, on_delete=models.CASCADE, related_name="letters")
    code = models.CharField(max_length=3)
    date_courrier = models.DateField()
    details = models.TextField(blank=True, default="")
    document = models.FileField(upload_to="prefecture/courriers/%Y/%m/", max_length=255)
    document_name = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    ar_received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "courrier envoyé"
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.code} du {self.date_courrier}"


class Reply(models.Model):
    """A reply of the authority to a letter (2-2, 3-3, 3-4, 4-3, 4-4)."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="replies")
    code = models.CharField(max_length=3)
    received_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "réponse reçue"
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"Réponse {self.code}"


class Cancellation(models.Model):
    act = models.ForeignKey(ReceivedAct, on_delete=models.CASCADE, related_name="cancellations")
    received_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "demande d'annulation reçue"
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"Annulation de {self.act}"


class ReturnCounter(models.Model):
    service = models.CharField(max_length=10)
    siren = models.CharField(max_length=9)
    day = models.DateField()
    value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "siren", "day"], name="prefecture_counter_unique_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.siren} {self.day}: {self.value}"


class OutgoingReturn(models.Model):
    """A return archive (AR, anomaly, letter, classification) waiting to be pushed."""

    name = models.CharField(max_length=255)
    code = models.CharField(max_length=20)
    siren = models.CharField(max_length=9)
    archive = models.FileField(upload_to="prefecture/retours/%Y/%m/", max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = "retour à émettre"
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.name
