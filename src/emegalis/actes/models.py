"""The contrôle de légalité: classifications, transactions (acts and the exchanges linked to
them), their files, status history, envelopes, incoming returns and API credentials.

One table holds every *transaction*, as S²LOW and its client software see them (brief §7): the
act itself (type 1), the prefecture's letters and the authority's replies (types 2 to 5), the
cancellation (6) and the classification request (7). Linked transactions point to their act.
Statuses are the protocol's numbers (``protocol.ActStatus``); they change only through
``services`` (explicit state machine, ``protocol.TRANSITIONS``).
"""

from functools import lru_cache

from django.conf import settings
from django.db import models

from emegalis.organisations.models import Organisation

from . import protocol as p
from .protocol import TransactionType

STATUS_CHOICES = [(int(s), s.label) for s in p.ActStatus]
TYPE_CHOICES = [
    (1, "Transmission d'acte"),
    (2, "Courrier simple"),
    (3, "Demande de pièces complémentaires"),
    (4, "Lettre d'observations"),
    (5, "Déféré au tribunal administratif"),
    (6, "Annulation"),
    (7, "Demande de classification"),
]
NATURE_CHOICES = [(n.code, n.label) for n in p.NATURES.values()]


class Direction(models.TextChoices):
    OUT = "out", "Envoyé par la collectivité"
    IN = "in", "Reçu de la préfecture"


@lru_cache(maxsize=64)
def _parse_classification(raw: bytes) -> p.Classification:
    return p.parse_classification(raw)


class ClassificationVersion(models.Model):
    """One ``RetourClassification`` received for an authority, kept verbatim.

    Acts keep the version they were coded with; the newest one is « in force ».
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="actes_classifications"
    )
    date_classification = models.DateField("date de la classification")
    raw_xml = models.BinaryField("RetourClassification reçu")
    received_at = models.DateTimeField("reçue le")
    matieres_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "version de classification"
        ordering = ["organisation", "-date_classification"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "date_classification"],
                name="actes_classification_unique_date",
            )
        ]

    def __str__(self) -> str:
        return f"Classification du {self.date_classification:%d/%m/%Y} — {self.organisation}"

    def parsed(self) -> p.Classification:
        """The classification as the codec reads it. A received version never changes, so its
        parse is kept per process, keyed by its content (one parse costs about 4 ms)."""
        if not hasattr(self, "_parsed"):
            self._parsed = _parse_classification(bytes(self.raw_xml))
        return self._parsed


class ActesProfile(models.Model):
    """What the platform knows of an authority's exchanges: the classification date the
    prefecture last announced (``ClassificationDateVersionEnCours``) and the last request."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="actes_profile"
    )
    announced_classification_date = models.DateField(null=True, blank=True)
    last_classification_request_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "profil @CTES"

    def __str__(self) -> str:
        return f"Profil @CTES — {self.organisation}"


class Transaction(models.Model):
    """An act transmitted to the prefecture, or an exchange linked to one."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="actes_transactions"
    )
    type = models.PositiveSmallIntegerField("type", choices=TYPE_CHOICES, default=1)
    status = models.SmallIntegerField("statut", choices=STATUS_CHOICES)
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.OUT)
    message_code = models.CharField("code du message", max_length=3, default="1-1")
    acte = models.ForeignKey(
        "self",
        verbose_name="acte concerné",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="linked",
    )
    reply_to = models.ForeignKey(
        "self",
        verbose_name="courrier auquel elle répond",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="replies",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # --- the act (type 1) ---
    nature = models.PositiveSmallIntegerField(
        "nature de l'acte", choices=NATURE_CHOICES, null=True, blank=True
    )
    numero_interne = models.CharField("numéro de l'acte", max_length=15, blank=True, default="")
    decision_date = models.DateField("date de la décision", null=True, blank=True)
    objet = models.CharField("objet", max_length=500, blank=True, default="")
    matieres = models.JSONField("codes matière", default=list, blank=True)
    classification = models.ForeignKey(
        ClassificationVersion, null=True, blank=True, on_delete=models.PROTECT
    )
    classification_date = models.DateField("date de la classification utilisée", null=True)
    id_acte = models.CharField("identifiant unique", max_length=64, blank=True, default="")
    sent_at = models.DateTimeField("envoyé en préfecture le", null=True, blank=True)
    date_reception = models.DateField("reçu en préfecture le", null=True, blank=True)
    published_on = models.DateField("publié le", null=True, blank=True)
    ar_xml = models.BinaryField("accusé de réception reçu", null=True, blank=True)

    # --- letters, replies and returns ---
    date_courrier_pref = models.DateField("date du courrier", null=True, blank=True)
    details = models.TextField("détails", blank=True, default="")
    error_message = models.TextField("motif de l'erreur", blank=True, default="")
    read_at = models.DateTimeField("lu le", null=True, blank=True)

    class Meta:
        verbose_name = "transaction"
        ordering = ["-created_at", "-pk"]
        constraints = [
            # S²LOW counts every earlier act, whatever its status (brief §4, §12).
            models.UniqueConstraint(
                fields=["organisation", "numero_interne"],
                condition=models.Q(type=TransactionType.TRANSMISSION_ACTE),
                name="actes_unique_numero_per_organisation",
                violation_error_message="Ce numéro d'acte a déjà été utilisé par votre "
                "collectivité.",
            )
        ]
        indexes = [models.Index(fields=["organisation", "type", "status"])]

    def __str__(self) -> str:
        if self.type == TransactionType.TRANSMISSION_ACTE:
            return f"Acte {self.numero_interne}"
        return f"{self.get_type_display()} n° {self.pk}"

    @property
    def status_enum(self) -> p.ActStatus:
        return p.ActStatus(self.status)

    @property
    def nature_abbreviation(self) -> str:
        return p.NATURES[self.nature].abbreviation if self.nature else ""

    @property
    def matiere_code(self) -> str:
        return ".".join(str(c) for c in self.matieres)

    @property
    def message_label(self) -> str:
        mt = p.MESSAGE_TYPES_BY_CODE.get(self.message_code)
        return mt.label if mt else self.message_code

    @property
    def is_closed(self) -> bool:
        return p.is_closed(self.type, self.status)


class Document(models.Model):
    """A file of a transaction: the act's main document, an annex, a signature, a letter."""

    class Kind(models.TextChoices):
        MAIN = "main", "Document principal"
        ANNEX = "annex", "Annexe"
        SIGNATURE = "signature", "Fichier de signature"
        LETTER = "letter", "Courrier de la préfecture"
        PIECE = "piece", "Pièce"

    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    rank = models.PositiveSmallIntegerField("rang", default=1)
    typologie = models.CharField("typologie", max_length=5, blank=True, default="")
    original_name = models.CharField("nom d'origine", max_length=255)
    wire_name = models.CharField("nom normalisé", max_length=255, blank=True, default="")
    file = models.FileField(upload_to="actes/%Y/%m/", max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    content_type = models.CharField(max_length=100, blank=True, default="")
    signature_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="signatures"
    )

    class Meta:
        verbose_name = "document"
        ordering = ["transaction", "rank", "pk"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def extension(self) -> str:
        return self.original_name.rsplit(".", 1)[-1].lower() if "." in self.original_name else ""


class StatusChange(models.Model):
    """The history of a transaction's status, with the protocol's numeric codes."""

    transaction = models.ForeignKey(
        Transaction, on_delete=models.CASCADE, related_name="status_changes"
    )
    status = models.SmallIntegerField(choices=STATUS_CHOICES)
    at = models.DateTimeField()
    message = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = "changement de statut"
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.status} — {self.get_status_display()}"


class DailyCounter(models.Model):
    """The last envelope serial allocated for one SIREN on one day (1 to 9999)."""

    siren = models.CharField(max_length=9)
    day = models.DateField()
    value = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "compteur journalier d'enveloppes"
        constraints = [
            models.UniqueConstraint(fields=["siren", "day"], name="actes_counter_unique_day")
        ]

    def __str__(self) -> str:
        return f"{self.siren} {self.day}: {self.value}"


class Envelope(models.Model):
    """One archive sent to the ministry: envelope + one business message + its files."""

    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="envelopes")
    message_code = models.CharField(max_length=3)
    siren = models.CharField(max_length=9)
    day = models.DateField()
    serial = models.PositiveIntegerField()
    name = models.CharField("enveloppe", max_length=100)
    archive_name = models.CharField("archive", max_length=120)
    archive = models.FileField(upload_to="actes/archives/%Y/%m/", max_length=255)
    archive_size = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    post_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "enveloppe"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["siren", "day", "serial"], name="actes_envelope_unique_serial"
            )
        ]

    def __str__(self) -> str:
        return self.archive_name


class IncomingArchive(models.Model):
    """A return archive as received (HTTP push or e-mail), kept raw with its reception time."""

    class Channel(models.TextChoices):
        HTTP = "http", "Dépôt HTTP"
        IMAP = "imap", "Messagerie (IMAP)"
        LOCAL = "local", "Dépôt manuel"

    channel = models.CharField(max_length=5, choices=Channel.choices)
    received_at = models.DateTimeField()
    name = models.CharField(max_length=255, blank=True, default="")
    sha256 = models.CharField(max_length=64, unique=True)
    size = models.PositiveBigIntegerField(default=0)
    archive = models.FileField(upload_to="actes/retours/%Y/%m/", max_length=255)
    error = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = "retour reçu"
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return self.name or self.sha256[:12]


class IncomingMessage(models.Model):
    """One business message of a return, and what the platform did with it."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Appliqué"
        DUPLICATE = "duplicate", "Doublon ignoré"
        UNEXPECTED = "unexpected", "Inattendu, mis de côté"
        ERROR = "error", "Illisible"

    archive = models.ForeignKey(IncomingArchive, on_delete=models.CASCADE, related_name="messages")
    name = models.CharField(max_length=255)
    code = models.CharField(max_length=3, blank=True, default="")
    xml = models.BinaryField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    detail = models.TextField(blank=True, default="")
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.SET_NULL)
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="incoming"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = "message reçu"
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        mt = p.MESSAGE_TYPES_BY_CODE.get(self.code)
        return mt.label if mt else (self.code or "Message")
