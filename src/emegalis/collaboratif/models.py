"""Shared workspaces: members with a role, folders and documents whose every upload is a kept
version, and the locks that the pages and WebDAV share (docs/collaboratif.md)."""

from django.conf import settings
from django.db import models

from emegalis.organisations.models import Organisation


class Role(models.TextChoices):
    ADMINISTRATEUR = "administrateur", "Administrateur"
    CONTRIBUTEUR = "contributeur", "Contributeur"
    LECTEUR = "lecteur", "Lecteur"


class Workspace(models.Model):
    name = models.CharField("nom", max_length=120)
    # The workspace's folder name in WebDAV (/dav/<slug>/), unique and never reused.
    slug = models.SlugField("nom dans WebDAV", max_length=140, unique=True)
    description = models.TextField("description", blank=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="workspaces"
    )
    quota_bytes = models.BigIntegerField("quota (octets)")
    # Set when another service opened it (« groupement:12 »); collaboratif only keeps it.
    source = models.CharField(max_length=60, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField("archivé le", null=True, blank=True)

    class Meta:
        verbose_name = "espace de travail"
        verbose_name_plural = "espaces de travail"
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Notify(models.TextChoices):
    IMMEDIATE = "immediat", "À chaque message"
    DIGEST = "resume", "Un résumé quotidien"
    NONE = "aucun", "Aucun courriel (sauf mention)"


class Member(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workspace_memberships"
    )
    # The organisation the agent acts for in this workspace.
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    role = models.CharField("rôle", max_length=20, choices=Role.choices)
    joined_at = models.DateTimeField(auto_now_add=True)
    # How the member hears of the discussions; a mention always sends an e-mail.
    notify = models.CharField(
        "courriels des discussions", max_length=10, choices=Notify.choices, default=Notify.IMMEDIATE
    )
    digest_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "membre"
        ordering = ["workspace", "user__last_name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="collaboratif_member_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class Invitation(models.Model):
    """An e-mail invitation; the link carries a secret of which only the SHA-256 is kept."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField("adresse électronique")
    role = models.CharField("rôle", max_length=20, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.email} → {self.workspace}"


class Folder(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="folders")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    name = models.CharField("nom", max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    trashed_at = models.DateTimeField("mis à la corbeille le", null=True, blank=True)

    class Meta:
        verbose_name = "dossier"
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Document(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="documents")
    folder = models.ForeignKey(
        Folder, on_delete=models.CASCADE, null=True, blank=True, related_name="documents"
    )
    name = models.CharField("nom", max_length=200)
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    trashed_at = models.DateTimeField("mis à la corbeille le", null=True, blank=True)

    class Meta:
        verbose_name = "document"
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def current(self) -> "Version | None":
        return self.versions.order_by("-number").first()


def version_upload_to(version: "Version", filename: str) -> str:
    # Content addressed under the workspace: the name a user gives never reaches the disk.
    return f"collaboratif/{version.document.workspace_id}/{version.sha256}"


class Version(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField("version")
    file = models.FileField(upload_to=version_upload_to, max_length=255)
    size = models.BigIntegerField("taille (octets)")
    sha256 = models.CharField("empreinte SHA-256", max_length=64)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    comment = models.CharField("commentaire", max_length=300, blank=True)
    restored_from = models.PositiveIntegerField("restaurée depuis la version", null=True)

    class Meta:
        verbose_name = "version"
        ordering = ["document", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="collaboratif_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.document} v{self.number}"


class Lock(models.Model):
    """A write lock, the same for the pages and WebDAV (the lock storage of WsgiDAV). `root` is
    the locked path under /dav/ (« /<slug>/dossier/doc.odt »); `data` WsgiDAV's lock record."""

    token = models.CharField(max_length=100, primary_key=True)
    root = models.CharField(max_length=1000, db_index=True)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="locks")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+"
    )
    data = models.JSONField()
    created_at = models.DateTimeField()
    expires_at = models.FloatField()  # seconds since the epoch, as WsgiDAV counts; -1: never

    class Meta:
        ordering = ["root", "created_at"]

    def __str__(self) -> str:
        return f"{self.root} ({self.user})"


class Thread(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="threads")
    title = models.CharField("sujet", max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    last_post_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "discussion"
        ordering = ["-last_post_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class Post(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField("message")
    created_at = models.DateTimeField(db_index=True)
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    documents = models.ManyToManyField(Document, blank=True, related_name="+")

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.thread} — {self.created_at:%d/%m/%Y %H:%M}"


class ReadMarker(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="read_markers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "user"], name="collaboratif_read_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.thread}"


class Recurrence(models.TextChoices):
    NONE = "", "Aucune"
    DAILY = "DAILY", "Chaque jour"
    WEEKLY = "WEEKLY", "Chaque semaine"
    MONTHLY = "MONTHLY", "Chaque mois"


class Event(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="events")
    # Stable for the event's whole life: calendar applications match updates on it.
    uid = models.CharField(max_length=100, unique=True)
    sequence = models.PositiveIntegerField(default=0)
    title = models.CharField("intitulé", max_length=200)
    starts_at = models.DateTimeField("début")
    ends_at = models.DateTimeField("fin")
    place = models.CharField("lieu", max_length=200, blank=True)
    video_url = models.URLField("lien de visioconférence", blank=True)
    description = models.TextField("description", blank=True)
    recurrence = models.CharField(
        "répétition", max_length=10, choices=Recurrence.choices, blank=True
    )
    occurrences = models.PositiveSmallIntegerField("nombre d'occurrences", null=True, blank=True)
    attendees = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    organiser = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    cancelled_at = models.DateTimeField("annulé le", null=True, blank=True)

    class Meta:
        verbose_name = "événement"
        ordering = ["starts_at", "pk"]

    def __str__(self) -> str:
        return self.title


class CalendarFeed(models.Model):
    """A subscription link: the user's events of one workspace, or of all their workspaces
    (workspace empty). The URL carries a secret of which only the SHA-256 is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user} — {self.workspace or 'tous les espaces'}"
