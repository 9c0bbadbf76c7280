"""The deposit stage's tables: plis and their files (sealed segments)."""

from django.conf import settings
from django.db import models

from emegalis.marches.consultations.models import Consultation, Lot
from emegalis.organisations.models import Organisation


class PliStatus(models.TextChoices):
    EN_COURS = "en_cours", "Dépôt en cours (incomplet)"
    RECU = "recu", "Reçu dans les délais"
    HORS_DELAI = "hors_delai", "Reçu hors délai"
    REMPLACE = "remplace", "Remplacé par un dépôt ultérieur"


class Pli(models.Model):
    """One deposit of a company for a consultation: files sealed to the opening public key.

    Counted only once complete (every file received and confirmed by the company): the
    server time at completion decides whether it is in time. A later complete deposit in
    time replaces the earlier ones, which are kept and marked « remplacé ».
    """

    consultation = models.ForeignKey(Consultation, on_delete=models.PROTECT, related_name="plis")
    company = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    depositor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    depositor_label = models.CharField("déposant", max_length=255)
    company_label = models.CharField("entreprise", max_length=255)
    company_siret = models.CharField("SIRET", max_length=14, blank=True)
    status = models.CharField(
        "statut", max_length=20, choices=PliStatus.choices, default=PliStatus.EN_COURS
    )
    started_at = models.DateTimeField("commencé le")
    completed_at = models.DateTimeField("reçu le", null=True, blank=True)
    total_size = models.BigIntegerField("taille totale (octets)", default=0)
    file_count = models.PositiveIntegerField("nombre de fichiers", default=0)
    backup_copy_declared = models.BooleanField("copie de sauvegarde annoncée", default=False)
    receipt = models.FileField("accusé de réception", upload_to="marches/recus/", blank=True)

    class Meta:
        verbose_name = "pli"
        ordering = ["completed_at", "pk"]
        indexes = [
            models.Index(fields=["consultation", "status"], name="pli_consult_status"),
            models.Index(fields=["consultation", "company"], name="pli_consult_company"),
        ]

    def __str__(self) -> str:
        return f"Pli {self.pk} — {self.company_label}"

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None


class PliFileKind(models.TextChoices):
    CANDIDATURE = "candidature", "Candidature"
    OFFRE = "offre", "Offre"


class CandidatureDocument(models.TextChoices):
    """What a candidature file is (arrêté du 22 mars 2019: DUME or DC1/DC2, or free files)."""

    DUME = "dume", "DUME (document unique de marché européen)"
    DC1 = "dc1", "DC1 — lettre de candidature"
    DC2 = "dc2", "DC2 — déclaration du candidat"
    AUTRE = "autre", "Autre pièce de candidature"


class PliFile(models.Model):
    """One file of a pli, stored only sealed: its header and one storage object per segment
    of chunks, each segment under a data key of its own wrapped to the opening public key
    (docs/plis-format.md). No key is kept between requests (ADR 0004)."""

    pli = models.ForeignKey(Pli, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField("pièce", max_length=20, choices=PliFileKind.choices)
    document = models.CharField(
        "document de candidature",
        max_length=10,
        choices=CandidatureDocument.choices,
        blank=True,
        default="",
    )
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    name = models.CharField("nom", max_length=255)
    size = models.BigIntegerField("taille (octets)")
    received = models.BigIntegerField("octets reçus", default=0)
    header = models.BinaryField("en-tête scellé", editable=False)
    # SHA-256 state of the plaintext received so far (rehashes), so that any worker can go
    # on with the next request; emptied at completion. It opens nothing (ADR 0004).
    hash_state = models.BinaryField(null=True, blank=True, editable=False)
    sha256 = models.CharField("empreinte SHA-256", max_length=64, blank=True)

    class Meta:
        verbose_name = "fichier de pli"
        ordering = ["kind", "lot__number", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def piece_label(self) -> str:
        """« Candidature (DC1 — lettre de candidature) », « Offre, lot 2 »."""
        if self.document:
            return f"{self.get_kind_display()} ({self.get_document_display()})"
        return self.get_kind_display() + (f", lot {self.lot.number}" if self.lot_id else "")

    @property
    def is_received(self) -> bool:
        return self.received == self.size

    @property
    def storage_prefix(self) -> str:
        return f"marches/plis/{self.pli.consultation_id}/{self.pli_id}/{self.pk}"
