"""The journal: an append-only, hash-chained record of legally significant events.

Entries hold plain identifiers and labels rather than foreign keys: the journal must outlive
the users and organisations it mentions, and `core` depends on no other app.
"""

from django.db import models


class JournalEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Le journal est en ajout seul : une entrée ne se modifie pas.")

    def delete(self):
        raise PermissionError("Le journal est en ajout seul : une entrée ne se supprime pas.")


class JournalEntry(models.Model):
    recorded_at = models.DateTimeField("horodatage (UTC)")
    actor_id = models.BigIntegerField("identifiant de l'acteur", null=True, blank=True)
    actor_label = models.CharField("acteur", max_length=255, blank=True)
    organisation_id = models.BigIntegerField("identifiant de l'organisation", null=True, blank=True)
    organisation_label = models.CharField("organisation", max_length=255, blank=True)
    action = models.CharField("action", max_length=100, db_index=True)
    object_type = models.CharField("type d'objet", max_length=100, blank=True)
    object_id = models.CharField("identifiant de l'objet", max_length=100, blank=True)
    payload = models.JSONField("contenu", default=dict)
    payload_digest = models.CharField("empreinte du contenu (SHA-256)", max_length=64)
    previous_hash = models.CharField("empreinte de l'entrée précédente", max_length=64)
    entry_hash = models.CharField("empreinte de l'entrée", max_length=64, unique=True)
    # 1: plain SHA-256 of the fields (entries written before keying); 2: HMAC-SHA256 under the
    # journal key named by key_id (core/journal_key.py). A chain never goes back from 2 to 1.
    hash_version = models.PositiveSmallIntegerField("version de l'empreinte", default=1)
    key_id = models.CharField("clé du journal", max_length=16, blank=True)

    objects = JournalEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "entrée du journal"
        verbose_name_plural = "journal"
        ordering = ["id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Le journal est en ajout seul : une entrée ne se modifie pas.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Le journal est en ajout seul : une entrée ne se supprime pas.")


class PeriodicRun(models.Model):
    """The last slot a periodic job was enqueued for (core/periodic.py): shared by every
    scheduler instance, so that each slot runs once."""

    name = models.CharField("tâche", max_length=100, unique=True)
    last_slot = models.DateTimeField("dernier créneau", null=True, blank=True)
    last_enqueued_at = models.DateTimeField("dernière mise en file", null=True, blank=True)

    class Meta:
        verbose_name = "tâche périodique"
        verbose_name_plural = "tâches périodiques"

    def __str__(self) -> str:
        return self.name


class JournalAnchor(models.Model):
    """An RFC 3161 timestamp of the journal's head hash at one moment (core/anchoring.py).

    The hash chain shows an entry changed in place; it cannot show a chain rewritten from
    the start by someone with write access to the database. A token signed by a timestamping
    authority outside the platform can: the anchored entry must still carry that hash."""

    entry_id = models.BigIntegerField("entrée ancrée")
    entry_hash = models.CharField("empreinte ancrée", max_length=64)
    entries = models.BigIntegerField("entrées couvertes")
    timestamped_at = models.DateTimeField("horodaté le (selon l'autorité)")
    token = models.BinaryField("jeton d'horodatage RFC 3161 (DER)")
    authority = models.CharField("autorité d'horodatage", max_length=255)

    class Meta:
        verbose_name = "ancrage du journal"
        verbose_name_plural = "ancrages du journal"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Ancrage de l'entrée n° {self.entry_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Un ancrage du journal ne se modifie pas.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Un ancrage du journal ne se supprime pas.")


class JournalWitness(models.Model):
    """A signed document that carries the journal's head (core/witnesses.py): whoever holds
    the document can prove the journal had reached that entry with that hash.

    This table is a convenience for verify_journal; it lives in the same database as the
    journal, so the witnesses that count against someone with write access to it are the
    documents themselves and the head-witness log outside the database."""

    kind = models.CharField("nature du document", max_length=50)
    object_type = models.CharField("type d'objet", max_length=100, blank=True)
    object_id = models.CharField("identifiant de l'objet", max_length=100, blank=True)
    description = models.CharField("description", max_length=255, blank=True)
    entry_id = models.BigIntegerField("entrée attestée")
    entry_hash = models.CharField("empreinte attestée", max_length=64)
    document_sha256 = models.CharField("empreinte du document signé (SHA-256)", max_length=64)
    created_at = models.DateTimeField("signé le (UTC)")

    class Meta:
        verbose_name = "témoin du journal"
        verbose_name_plural = "témoins du journal"
        ordering = ["id"]
        indexes = [models.Index(fields=["document_sha256"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} : entrée n° {self.entry_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Un témoin du journal ne se modifie pas.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Un témoin du journal ne se supprime pas.")


class RateCounter(models.Model):
    """How many times one action was counted under one key in one fixed window
    (core/throttle.py): password reset e-mails per account and per address, API key failures
    per address. Kept in the database so that every web node sees the same counts."""

    key = models.CharField("clé", max_length=200)
    window_start = models.DateTimeField("début de la fenêtre")
    count = models.PositiveIntegerField("compte", default=0)

    class Meta:
        verbose_name = "compteur de limitation"
        verbose_name_plural = "compteurs de limitation"
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="rate_counter_unique")
        ]
        indexes = [models.Index(fields=["window_start"])]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window_start:%Y-%m-%d %H:%M} : {self.count}"


class JournalVerificationStatus(models.TextChoices):
    PENDING = "pending", "En attente"
    RUNNING = "running", "En cours"
    INTACT = "intact", "Journal intègre"
    ALTERED = "altered", "Journal altéré"
    FAILED = "failed", "Vérification impossible"


class JournalVerification(models.Model):
    """One run of the journal's full check (journal_audit.verify), asked from the operator's
    journal screen and run by a background worker."""

    requested_at = models.DateTimeField("demandée le")
    requested_by_label = models.CharField("demandée par", max_length=255)
    finished_at = models.DateTimeField("terminée le", null=True, blank=True)
    status = models.CharField(
        "état",
        max_length=10,
        choices=JournalVerificationStatus.choices,
        default=JournalVerificationStatus.PENDING,
    )
    entries = models.PositiveIntegerField("entrées vérifiées", default=0)
    message = models.TextField("résultat", blank=True)

    class Meta:
        verbose_name = "vérification du journal"
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"Vérification n° {self.pk} : {self.get_status_display()}"

    @property
    def is_done(self) -> bool:
        return self.status not in (
            JournalVerificationStatus.PENDING,
            JournalVerificationStatus.RUNNING,
        )
