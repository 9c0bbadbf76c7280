"""The consultations stage's tables: consultations, lots, DCE versions and files, retraits,
questions, saved searches."""

import uuid

from django.conf import settings
from django.db import models

from emegalis.organisations.models import Organisation


class Procedure(models.TextChoices):
    MAPA = "mapa", "Procédure adaptée (MAPA)"
    AO_OUVERT = "ao_ouvert", "Appel d'offres ouvert"
    AO_RESTREINT = "ao_restreint", "Appel d'offres restreint"
    NEGOCIATION = "negociation", "Procédure avec négociation"
    DIALOGUE = "dialogue", "Dialogue compétitif"
    SANS_PUBLICITE = "sans_publicite", "Marché sans publicité ni mise en concurrence préalable"


class Nature(models.TextChoices):
    TRAVAUX = "travaux", "Travaux"
    FOURNITURES = "fournitures", "Fournitures"
    SERVICES = "services", "Services"


class State(models.TextChoices):
    BROUILLON = "brouillon", "Brouillon"
    PUBLIEE = "publiee", "Publiée"
    CLOTUREE = "cloturee", "Clôturée"
    ATTRIBUEE = "attribuee", "Attribuée"
    INFRUCTUEUSE = "infructueuse", "Infructueuse"
    ANNULEE = "annulee", "Annulée"


class Consultation(models.Model):
    organisation = models.ForeignKey(
        Organisation,
        verbose_name="acheteur",
        on_delete=models.PROTECT,
        related_name="consultations",
    )
    reference = models.CharField("référence", max_length=50)
    title = models.CharField("intitulé", max_length=255)
    object = models.TextField("objet")
    procedure = models.CharField("procédure", max_length=20, choices=Procedure.choices)
    nature = models.CharField("nature", max_length=20, choices=Nature.choices)
    cpv_main = models.CharField("code CPV principal", max_length=10)
    cpv_extra = models.JSONField("codes CPV complémentaires", default=list, blank=True)
    # " 45000000-7 45210000-2": every code, space-prefixed, for the CPV filter.
    cpv_search = models.CharField(max_length=500, blank=True, default="", editable=False)
    place_of_execution = models.CharField("lieu d'exécution", max_length=255, blank=True)
    departement = models.CharField("département d'exécution", max_length=3, blank=True)
    estimated_value = models.DecimalField(
        "valeur estimée (€ HT)", max_digits=14, decimal_places=2, null=True, blank=True
    )
    variants_allowed = models.BooleanField("variantes autorisées", default=False)
    signature_required = models.BooleanField(
        "signature électronique de l'offre exigée", default=False
    )
    electronic_submission = models.BooleanField(
        "remise des plis par voie électronique", default=True
    )
    prior_information = models.BooleanField("avis de préinformation publié", default=False)
    urgency = models.BooleanField("urgence dûment justifiée", default=False)
    contact_name = models.CharField("contact", max_length=150, blank=True)
    contact_email = models.EmailField("adresse électronique du contact", blank=True)
    contact_phone = models.CharField("téléphone du contact", max_length=30, blank=True)
    questions_deadline = models.DateTimeField("date limite des questions")
    bids_deadline = models.DateTimeField("date limite de remise des plis")
    state = models.CharField(
        "état", max_length=20, choices=State.choices, default=State.BROUILLON, db_index=True
    )
    published_at = models.DateTimeField("publiée le", null=True, blank=True)
    state_changed_at = models.DateTimeField("état changé le", null=True, blank=True)
    is_test = models.BooleanField("consultation de test (toujours ouverte)", default=False)
    # Normalised text (lower case, no accents) of reference, title, object, buyer and place;
    # indexed by the full-text search of each database backend (see search_backend.py).
    search_document = models.TextField(blank=True, default="", editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "consultation"
        ordering = ["bids_deadline", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "reference"],
                name="consultation_unique_reference",
                violation_error_message="Votre organisation a déjà une consultation de cette "
                "référence.",
            )
        ]
        indexes = [
            models.Index(fields=["state", "bids_deadline"], name="consult_state_deadline"),
            models.Index(fields=["state", "published_at"], name="consult_state_published"),
            models.Index(fields=["cpv_main"], name="consult_cpv"),
            models.Index(fields=["departement", "bids_deadline"], name="consult_dept"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"

    @property
    def cpv_codes(self) -> list[str]:
        return [self.cpv_main, *self.cpv_extra]

    @property
    def is_public(self) -> bool:
        return self.state != State.BROUILLON


class Lot(models.Model):
    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="lots")
    number = models.PositiveSmallIntegerField("numéro")
    title = models.CharField("intitulé", max_length=255)
    cpv = models.CharField("code CPV", max_length=10, blank=True)
    estimated_value = models.DecimalField(
        "valeur estimée (€ HT)", max_digits=14, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = "lot"
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "number"],
                name="lot_unique_number",
                violation_error_message="Un lot porte déjà ce numéro.",
            )
        ]

    def __str__(self) -> str:
        return f"Lot {self.number} — {self.title}"


class DceVersion(models.Model):
    """A published state of the DCE: version 1 at publication, then one per rectificatif."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="dce_versions"
    )
    number = models.PositiveIntegerField("version")
    published_at = models.DateTimeField("publiée le")
    reason = models.TextField("motif du rectificatif", blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = "version du DCE"
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "number"], name="dce_version_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"Version {self.number}"

    @property
    def is_rectificatif(self) -> bool:
        return self.number > 1


def dce_upload_to(instance: "DceFile", filename: str) -> str:
    return f"marches/dce/{instance.consultation_id}/{uuid.uuid4().hex}"


class DceFile(models.Model):
    """One file of the DCE. Staged (added_in None) until the next publication or rectificatif;
    removed_in marks the version from which it is no longer part of the DCE."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="dce_files"
    )
    folder = models.CharField("dossier", max_length=200, blank=True)
    name = models.CharField("nom", max_length=255)
    file = models.FileField("fichier", upload_to=dce_upload_to, max_length=255)
    size = models.BigIntegerField("taille (octets)")
    sha256 = models.CharField("empreinte SHA-256", max_length=64)
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_at = models.DateTimeField("déposé le", auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    added_in = models.ForeignKey(
        DceVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="added_files"
    )
    removed_in = models.ForeignKey(
        DceVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="removed_files"
    )
    pending_removal = models.BooleanField("retrait prévu au prochain rectificatif", default=False)

    class Meta:
        verbose_name = "fichier du DCE"
        ordering = ["folder", "name", "pk"]

    def __str__(self) -> str:
        return self.path

    @property
    def path(self) -> str:
        return f"{self.folder.strip('/')}/{self.name}" if self.folder else self.name


class Retrait(models.Model):
    """One download of the DCE (whole zip or one file), identified or anonymous."""

    class Kind(models.TextChoices):
        ZIP = "zip", "DCE complet (zip)"
        FILE = "file", "Fichier"

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="retraits"
    )
    version = models.ForeignKey(DceVersion, on_delete=models.PROTECT, related_name="retraits")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    file = models.ForeignKey(DceFile, null=True, blank=True, on_delete=models.SET_NULL)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.SET_NULL)
    # Kept even if the user is deleted later: the register must stay readable.
    user_label = models.CharField(max_length=255, blank=True)
    organisation_label = models.CharField(max_length=255, blank=True)
    organisation_siret = models.CharField(max_length=14, blank=True)
    downloaded_at = models.DateTimeField("retiré le")

    class Meta:
        verbose_name = "retrait"
        ordering = ["downloaded_at", "pk"]
        indexes = [models.Index(fields=["consultation", "user"], name="retrait_consult_user")]

    def __str__(self) -> str:
        return f"Retrait {self.pk} — {self.user_label or 'anonyme'}"

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None and not self.user_label


class Question(models.Model):
    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="questions"
    )
    text = models.TextField("question")
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="marches_questions",
    )
    organisation = models.ForeignKey(Organisation, null=True, on_delete=models.SET_NULL)
    asked_at = models.DateTimeField("posée le")
    answer = models.TextField("réponse", blank=True)
    answered_at = models.DateTimeField("répondue le", null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = "question"
        ordering = ["asked_at", "pk"]

    def __str__(self) -> str:
        return f"Question {self.pk}"

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None


class SavedSearch(models.Model):
    """A company user's search kept as an alert: a daily e-mail of new matches."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="marches_alerts"
    )
    name = models.CharField("nom", max_length=100)
    params = models.JSONField("critères", default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    # Consultations published after this moment are "new" for the next e-mail.
    checked_until = models.DateTimeField()

    class Meta:
        verbose_name = "alerte"
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name
