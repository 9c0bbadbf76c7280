"""Training: the catalogue of courses, their sessions (half-day slots) and the registrations
with the employer's approval and a waiting list (docs/formations.md)."""

from django.conf import settings
from django.db import models

from emegalis.organisations.models import Organisation


class Audience(models.TextChoices):
    AGENTS = "agents", "Agents des collectivités"
    ELUS = "elus", "Élus"
    ENTREPRISES = "entreprises", "Entreprises"


class Course(models.Model):
    """A course of the catalogue, with what a training catalogue is expected to publish
    (the Qualiopi indicator 1 list)."""

    title = models.CharField("intitulé", max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    audience = models.CharField("public", max_length=20, choices=Audience.choices)
    objectives = models.TextField("objectifs")
    prerequisites = models.TextField("prérequis", blank=True)
    duration_hours = models.DecimalField("durée (heures)", max_digits=5, decimal_places=1)
    methods = models.TextField("méthodes pédagogiques")
    assessment = models.TextField("modalités d'évaluation des acquis")
    access_conditions = models.TextField("modalités et délais d'accès")
    accessibility = models.TextField("accessibilité aux personnes en situation de handicap")
    price = models.CharField("tarif", max_length=200)
    contact = models.CharField("contact", max_length=200)
    published = models.BooleanField("publiée au catalogue", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "formation"
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.title


class SessionState(models.TextChoices):
    OUVERTE = "ouverte", "Inscriptions ouvertes"
    COMPLETE = "complete", "Complète (liste d'attente)"
    CLOSE = "close", "Inscriptions closes"
    TENUE = "tenue", "Tenue"
    ANNULEE = "annulee", "Annulée"


class Session(models.Model):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    venue = models.CharField("lieu", max_length=200, blank=True)
    video_url = models.URLField("lien de visioconférence", blank=True)
    trainers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    capacity = models.PositiveSmallIntegerField("places")
    minimum = models.PositiveSmallIntegerField("minimum pour tenir la session", default=1)
    quota_per_organisation = models.PositiveSmallIntegerField(
        "places au plus par organisation", null=True, blank=True
    )
    registration_deadline = models.DateField("date limite d'inscription")
    state = models.CharField(
        "état", max_length=10, choices=SessionState.choices, default=SessionState.OUVERTE
    )
    cancelled_reason = models.CharField("motif d'annulation", max_length=300, blank=True)
    # Incremented when the session changes: the convocations' iCalendar SEQUENCE.
    sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "session"
        ordering = ["registration_deadline", "pk"]

    def __str__(self) -> str:
        first = self.slots.first()
        return f"{self.course} — {first.date:%d/%m/%Y}" if first else str(self.course)


class Half(models.TextChoices):
    MATIN = "matin", "Matin"
    APRES_MIDI = "apres_midi", "Après-midi"


class Slot(models.Model):
    """A half-day of a session (the unit of the attendance sheet)."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="slots")
    date = models.DateField("date")
    half = models.CharField("demi-journée", max_length=10, choices=Half.choices)

    class Meta:
        ordering = ["date", "-half"]  # « matin » sorts after « apres_midi »: reversed
        constraints = [
            models.UniqueConstraint(fields=["session", "date", "half"], name="formations_slot_once")
        ]

    def __str__(self) -> str:
        return f"{self.date:%d/%m/%Y} {self.get_half_display().lower()}"


class RegistrationState(models.TextChoices):
    A_VALIDER = "a_valider", "En attente de l'accord du référent"
    REFUSEE = "refusee", "Refusée par le référent"
    INSCRITE = "inscrite", "Inscrit"
    EN_ATTENTE = "en_attente", "Sur liste d'attente"
    PROPOSEE = "proposee", "Place proposée, à confirmer"
    ANNULEE = "annulee", "Annulée"


class Registration(models.Model):
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="registrations")
    trainee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="registrations"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    state = models.CharField("état", max_length=12, choices=RegistrationState.choices)
    created_at = models.DateTimeField()
    # The waiting list's order: when the person joined it.
    waiting_since = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField("motif", max_length=300, blank=True)
    convoked_at = models.DateTimeField("convoqué le", null=True, blank=True)
    reminded_at = models.DateTimeField("rappel envoyé le", null=True, blank=True)

    class Meta:
        verbose_name = "inscription"
        ordering = ["session", "created_at", "pk"]
        constraints = [
            # One live registration per person and session (cancelled ones stay as history).
            models.UniqueConstraint(
                fields=["session", "trainee"],
                condition=~models.Q(state__in=["annulee", "refusee"]),
                name="formations_registration_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.trainee} — {self.session}"


class Presence(models.TextChoices):
    PRESENT = "present", "Présent"
    RETARD = "retard", "En retard"
    ABSENT = "absent", "Absent"
    EXCUSE = "excuse", "Absent excusé"


class Sheet(models.Model):
    """The feuille d'émargement of a half-day: the code shown in the room, the trainer's
    countersignature, and the signed sheet as a PDF (its SHA-256 in the journal)."""

    slot = models.OneToOneField(Slot, on_delete=models.CASCADE, related_name="sheet")
    code = models.CharField("code d'émargement", max_length=6)
    countersigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    countersigned_at = models.DateTimeField(null=True, blank=True)
    pdf = models.BinaryField(null=True)
    sha256 = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"Émargement — {self.slot}"


class Attendance(models.Model):
    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="attendances"
    )
    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="attendances")
    status = models.CharField("présence", max_length=10, choices=Presence.choices)
    signed_at = models.DateTimeField(null=True, blank=True)
    # How it was recorded: the trainee's code in the room, a signature drawn on the trainer's
    # tablet, or the trainer's mark.
    method = models.CharField(max_length=10, blank=True)
    signature = models.BinaryField("signature dessinée (PNG)", null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "slot"], name="formations_attendance_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.registration.trainee} — {self.slot} : {self.get_status_display()}"


class Certificate(models.Model):
    """The attestation de présence: a PDF sealed by the platform (PAdES), checked online with
    its code."""

    registration = models.OneToOneField(
        Registration, on_delete=models.PROTECT, related_name="certificate"
    )
    code = models.CharField(max_length=16, unique=True)
    hours = models.DecimalField(max_digits=5, decimal_places=1)
    pdf = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    issued_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Attestation {self.code}"


QUESTIONS = {
    "objectifs": "Les objectifs annoncés ont été atteints",
    "contenu": "Le contenu répond à mes besoins",
    "formateur": "Le formateur maîtrise le sujet et l'explique clairement",
    "organisation": "L'organisation (lieu, horaires, supports) était satisfaisante",
    "utilite": "Je pourrai appliquer ce que j'ai appris",
}


class Evaluation(models.Model):
    """The satisfaction questionnaire of a trainee after a session: a mark from 1 to 5 per
    question of QUESTIONS, and a free comment."""

    registration = models.OneToOneField(
        Registration, on_delete=models.CASCADE, related_name="evaluation"
    )
    answers = models.JSONField()
    comment = models.TextField("commentaire", blank=True)
    submitted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Évaluation — {self.registration}"
