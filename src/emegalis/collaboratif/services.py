"""Writes of the collaboratif service (docs/collaboratif.md). Each function checks who acts,
runs in one transaction and journals. Contents are spooled to a temporary file while their
size and SHA-256 are counted, so nothing is stored before every check has passed."""

import hashlib
import secrets
import tempfile
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils.text import slugify

from emegalis.core import clock, journal
from emegalis.core.services_catalog import Service
from emegalis.organisations.models import Organisation, User

from . import access, paths
from .models import Document, Folder, Invitation, Lock, Member, Role, Version, Workspace
from .names import clean_name

CHUNK = 1024 * 1024
INVITATION_DAYS = 14
PAGE_LOCK_MINUTES = 30


def max_file_bytes() -> int:
    return settings.COLLABORATIF_MAX_FILE_BYTES


def journal_entry(
    action: str, *, actor: User | None, workspace: Workspace, target, **payload
) -> None:
    journal.record(
        action=f"collaboratif.{action}",
        actor=actor,
        organisation=workspace.organisation,
        target=target,
        payload={"workspace": workspace.pk, **payload},
    )


def _locked(workspace: Workspace) -> Workspace:
    return Workspace.objects.select_for_update().get(pk=workspace.pk)


# --- workspaces and members ---------------------------------------------------------------


def _unique_slug(name: str) -> str:
    base = slugify(name)[:100] or "espace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _clean_workspace_name(name: str) -> str:
    name = " ".join(str(name or "").split())
    if not name or len(name) > 120:
        raise ValidationError({"name": "Le nom de l'espace a de 1 à 120 caractères."})
    return name


@transaction.atomic
def create_workspace(
    *,
    actor: User,
    organisation: Organisation,
    name: str,
    description: str = "",
    source: str = "",
) -> Workspace:
    """A new workspace of the organisation; its creator is its first administrator."""
    access.require_creator(actor, organisation)
    workspace = Workspace.objects.create(
        name=_clean_workspace_name(name),
        slug=_unique_slug(name),
        description=str(description or "").strip()[:2000],
        organisation=organisation,
        quota_bytes=settings.COLLABORATIF_DEFAULT_QUOTA_BYTES,
        source=source,
        created_by=actor,
    )
    Member.objects.create(
        workspace=workspace, user=actor, organisation=organisation, role=Role.ADMINISTRATEUR
    )
    journal_entry(
        "workspace_created", actor=actor, workspace=workspace, target=workspace, name=name
    )
    return workspace


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def invite(*, actor: User, workspace: Workspace, email: str, role: str) -> tuple[Invitation, str]:
    """Invite someone by e-mail; the link (returned, and sent) is valid 14 days."""
    workspace = _locked(workspace)
    access.require_admin(actor, workspace)
    if workspace.archived_at is not None:
        raise ValidationError("Cet espace est archivé : restaurez-le pour inviter.")
    if role not in Role.values:
        raise ValidationError({"role": "Rôle inconnu."})
    email = str(email or "").strip().lower()
    if "@" not in email or len(email) > 254:
        raise ValidationError({"email": "Indiquez une adresse électronique valide."})
    if workspace.members.filter(user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} est déjà membre de l'espace."})
    secret = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        token_hash=_hash(secret),
        invited_by=actor,
        expires_at=clock.now() + timedelta(days=INVITATION_DAYS),
    )
    link = settings.SITE_URL.rstrip("/") + reverse("collaboratif_invitation", args=[secret])
    who = actor.get_full_name() or actor.email
    body = (
        f"{who} vous invite à rejoindre l'espace de travail « {workspace.name} » sur e-mégalis, "
        f"comme {Role(role).label.lower()}.\n\nPour accepter, connectez-vous puis ouvrez ce lien "
        f"(valable {INVITATION_DAYS} jours) :\n{link}\n"
    )
    transaction.on_commit(lambda: send_mail(f"Invitation — {workspace.name}", body, None, [email]))
    journal_entry(
        "invited", actor=actor, workspace=workspace, target=invitation, email=email, role=role
    )
    return invitation, secret


def find_invitation(secret: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("workspace")
        .filter(token_hash=_hash(str(secret or "")))
        .first()
    )


@transaction.atomic
def accept_invitation(*, actor: User, organisation: Organisation, secret: str) -> Member:
    """The invited agent joins, acting for one of its organisations that has the service."""
    invitation = find_invitation(secret)
    if invitation is None:
        raise ValidationError("Cette invitation n'existe pas.", code="unknown")
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.cancelled_at:
        raise ValidationError("Cette invitation a déjà servi ou a été annulée.", code="used")
    if invitation.expires_at < clock.now():
        raise ValidationError("Cette invitation a expiré : demandez-en une nouvelle.")
    if actor.email.lower() != invitation.email:
        raise PermissionDenied(
            f"Cette invitation est adressée à {invitation.email} : connectez-vous avec ce compte."
        )
    if not access.is_agent(actor, organisation):
        raise PermissionDenied("Vous n'êtes pas rattaché à cette organisation.")
    access.require_service_open(organisation)
    workspace = _locked(invitation.workspace)
    member, _ = Member.objects.get_or_create(
        workspace=workspace,
        user=actor,
        defaults={"organisation": organisation, "role": invitation.role},
    )
    invitation.accepted_at = clock.now()
    invitation.save(update_fields=["accepted_at"])
    journal_entry("joined", actor=actor, workspace=workspace, target=member, role=member.role)
    return member


def _admins_left(workspace: Workspace, without: Member) -> int:
    return workspace.members.filter(role=Role.ADMINISTRATEUR).exclude(pk=without.pk).count()


@transaction.atomic
def set_role(*, actor: User, member: Member, role: str) -> Member:
    workspace = _locked(member.workspace)
    access.require_admin(actor, workspace)
    if role not in Role.values:
        raise ValidationError({"role": "Rôle inconnu."})
    demoted = member.role == Role.ADMINISTRATEUR and role != Role.ADMINISTRATEUR
    if demoted and not _admins_left(workspace, member):
        raise ValidationError("L'espace doit garder au moins un administrateur.")
    member.role = role
    member.save(update_fields=["role"])
    journal_entry("role_changed", actor=actor, workspace=workspace, target=member, role=role)
    return member


@transaction.atomic
def remove_member(*, actor: User, member: Member) -> None:
    """An administrator removes a member, or a member leaves; the last administrator stays."""
    workspace = _locked(member.workspace)
    if member.user_id != actor.pk:
        access.require_admin(actor, workspace)
    if member.role == Role.ADMINISTRATEUR and not _admins_left(workspace, member):
        raise ValidationError(
            "Vous êtes le dernier administrateur : nommez-en un autre avant de partir."
        )
    Lock.objects.filter(workspace=workspace, user_id=member.user_id).delete()
    journal_entry(
        "left" if member.user_id == actor.pk else "member_removed",
        actor=actor,
        workspace=workspace,
        target=member,
        user=member.user.email,
    )
    member.delete()


@transaction.atomic
def set_archived(*, actor: User, workspace: Workspace, archived: bool) -> Workspace:
    """Archive (read-only for all) or restore a workspace."""
    workspace = _locked(workspace)
    access.require_admin(actor, workspace)
    workspace.archived_at = clock.now() if archived else None
    workspace.save(update_fields=["archived_at"])
    journal_entry(
        "archived" if archived else "restored", actor=actor, workspace=workspace, target=workspace
    )
    return workspace


# --- folders and documents ----------------------------------------------------------------


def _name_taken(workspace: Workspace, folder: Folder | None, name: str, *, but=None) -> bool:
    docs = Document.objects.filter(
        workspace=workspace, folder=folder, name=name, trashed_at__isnull=True
    )
    folders = Folder.objects.filter(
        workspace=workspace, parent=folder, name=name, trashed_at__isnull=True
    )
    if isinstance(but, Document):
        docs = docs.exclude(pk=but.pk)
    if isinstance(but, Folder):
        folders = folders.exclude(pk=but.pk)
    return docs.exists() or folders.exists()


def _check_parent(workspace: Workspace, folder: Folder | None) -> None:
    if folder is not None and (folder.workspace_id != workspace.pk or folder.trashed_at):
        raise ValidationError("Ce dossier n'existe pas dans l'espace.")


@transaction.atomic
def create_folder(*, actor: User, workspace: Workspace, parent: Folder | None, name: str) -> Folder:
    workspace = _locked(workspace)
    access.require_writer(actor, workspace)
    _check_parent(workspace, parent)
    name = clean_name(name, what="Le nom du dossier")
    if _name_taken(workspace, parent, name):
        raise ValidationError({"name": f"« {name} » existe déjà ici."})
    folder = Folder.objects.create(workspace=workspace, parent=parent, name=name)
    journal_entry(
        "folder_created",
        actor=actor,
        workspace=workspace,
        target=folder,
        path=paths.folder_path(workspace.slug, folder),
    )
    return folder


def spool(content, *, limit: int) -> tuple[tempfile.SpooledTemporaryFile, int, str]:
    """Copy a stream to a temporary file, counting its size and SHA-256; refuse past `limit`."""
    spooled = tempfile.SpooledTemporaryFile(max_size=CHUNK * 8)  # noqa: SIM115 (the caller's)
    digest, size = hashlib.sha256(), 0
    chunks = (
        content.chunks(CHUNK)
        if hasattr(content, "chunks")
        else iter(lambda: content.read(CHUNK), b"")
    )
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            spooled.close()
            raise ValidationError(
                f"Le fichier dépasse la taille maximale de {limit // (1024 * 1024)} Mio.",
                code="too_big",
            )
        digest.update(chunk)
        spooled.write(chunk)
    spooled.seek(0)
    return spooled, size, digest.hexdigest()


def used_bytes(workspace: Workspace) -> int:
    return Version.objects.filter(document__workspace=workspace).aggregate(s=Sum("size"))["s"] or 0


def _check_quota(workspace: Workspace, adding: int) -> None:
    used = used_bytes(workspace)
    if used + adding > workspace.quota_bytes:
        mib = 1024 * 1024
        raise ValidationError(
            f"Le quota de l'espace est atteint : {used // mib} Mio utilisés sur "
            f"{workspace.quota_bytes // mib} Mio, ce fichier en demande {adding // mib or 1}.",
            code="quota",
        )


def lock_of(document: Document) -> Lock | None:
    """The live lock on the document (page or WebDAV), if any."""
    now = time.time()
    for lock in Lock.objects.filter(root=paths.document_path(document)).select_related("user"):
        if lock.expires_at < 0 or lock.expires_at >= now:
            return lock
    return None


def _check_not_locked_by_other(actor: User, document: Document) -> None:
    lock = lock_of(document)
    if lock is not None and lock.user_id != actor.pk:
        holder = lock.user.get_full_name() or lock.user.email if lock.user else "un client"
        raise ValidationError(
            f"« {document.name} » est verrouillé par {holder} : attendez qu'il le libère.",
            code="locked",
        )


def _next_number(document: Document) -> int:
    last = document.versions.order_by("-number").values_list("number", flat=True).first()
    return (last or 0) + 1


def _reuse_version(
    *, document: Document, source: Version, actor: User, comment: str, restored_from=None
) -> Version:
    """A new version of `document` with the bytes already stored for `source` (no copy)."""
    return Version.objects.create(
        document=document,
        number=_next_number(document),
        file=source.file.name,
        size=source.size,
        sha256=source.sha256,
        author=actor,
        created_at=clock.now(),
        comment=comment,
        restored_from=restored_from,
    )


def _store_version(
    *,
    actor: User | None,
    document: Document,
    spooled,
    size: int,
    sha256: str,
    comment: str = "",
    restored_from: int | None = None,
) -> Version:
    version = Version(
        document=document,
        number=_next_number(document),
        size=size,
        sha256=sha256,
        author=actor,
        created_at=clock.now(),
        comment=str(comment or "").strip()[:300],
        restored_from=restored_from,
    )
    same = Version.objects.filter(document__workspace_id=document.workspace_id, sha256=sha256)
    existing = same.exclude(file="").values_list("file", flat=True).first()
    if existing:
        version.file.name = existing  # the same bytes are already stored for this workspace
    else:
        version.file.save(sha256, File(spooled), save=False)
    version.save()
    Document.objects.filter(pk=document.pk).update(updated_at=clock.now())
    return version


@transaction.atomic
def upload(
    *,
    actor: User,
    workspace: Workspace,
    folder: Folder | None,
    name: str,
    content,
    comment: str = "",
    content_type: str = "",
    bypass_lock_token: bool = False,
) -> Version:
    """Store a file: a new document, or a new version of the document of that name."""
    name = clean_name(name, what="Le nom du fichier")
    spooled, size, sha256 = spool(content, limit=max_file_bytes())
    with spooled:
        workspace = _locked(workspace)
        access.require_writer(actor, workspace)
        _check_parent(workspace, folder)
        document = Document.objects.filter(
            workspace=workspace, folder=folder, name=name, trashed_at__isnull=True
        ).first()
        if document is None:
            if _name_taken(workspace, folder, name):
                raise ValidationError(f"Un dossier s'appelle déjà « {name} » ici.")
            document = Document.objects.create(
                workspace=workspace, folder=folder, name=name, content_type=content_type[:100]
            )
        elif not bypass_lock_token:
            _check_not_locked_by_other(actor, document)
        _check_quota(workspace, size)
        version = _store_version(
            actor=actor,
            document=document,
            spooled=spooled,
            size=size,
            sha256=sha256,
            comment=comment,
        )
    journal_entry(
        "version_added",
        actor=actor,
        workspace=workspace,
        target=document,
        path=paths.document_path(document),
        version=version.number,
        size=size,
        sha256=sha256,
    )
    return version


@transaction.atomic
def restore_version(*, actor: User, document: Document, number: int) -> Version:
    """A new version with the content of an older one: nothing is ever overwritten."""
    workspace = _locked(document.workspace)
    access.require_writer(actor, workspace)
    _check_not_locked_by_other(actor, document)
    old = document.versions.filter(number=number).first()
    if old is None:
        raise ValidationError("Cette version n'existe pas.")
    _check_quota(workspace, old.size)
    version = _reuse_version(
        document=document,
        source=old,
        actor=actor,
        comment=f"Restauration de la version {old.number}",
        restored_from=old.number,
    )
    journal_entry(
        "version_restored",
        actor=actor,
        workspace=workspace,
        target=document,
        path=paths.document_path(document),
        version=version.number,
        restored=old.number,
    )
    return version


@transaction.atomic
def rename_document(*, actor: User, document: Document, name: str, folder=False) -> Document:
    """Rename, or move (folder=the destination, None for the workspace's root)."""
    workspace = _locked(document.workspace)
    access.require_writer(actor, workspace)
    _check_not_locked_by_other(actor, document)
    name = clean_name(name, what="Le nom du fichier")
    destination = document.folder if folder is False else folder
    _check_parent(workspace, destination)
    if _name_taken(workspace, destination, name, but=document):
        raise ValidationError({"name": f"« {name} » existe déjà à cet endroit."})
    before = paths.document_path(document)
    Lock.objects.filter(root=before).delete()
    document.name, document.folder = name, destination
    document.save(update_fields=["name", "folder", "updated_at"])
    journal_entry(
        "document_moved",
        actor=actor,
        workspace=workspace,
        target=document,
        before=before,
        after=paths.document_path(document),
    )
    return document


@transaction.atomic
def rename_folder(*, actor: User, folder: Folder, name: str, parent=False) -> Folder:
    workspace = _locked(folder.workspace)
    access.require_writer(actor, workspace)
    name = clean_name(name, what="Le nom du dossier")
    destination = folder.parent if parent is False else parent
    _check_parent(workspace, destination)
    if destination is not None and paths.is_inside(destination, folder):
        raise ValidationError("Un dossier ne peut pas être déplacé dans lui-même.", code="cycle")
    if _name_taken(workspace, destination, name, but=folder):
        raise ValidationError({"name": f"« {name} » existe déjà à cet endroit."})
    before = paths.folder_path(workspace.slug, folder)
    if Lock.objects.filter(root__startswith=before + "/").exclude(user=actor).exists():
        raise ValidationError("Un document de ce dossier est verrouillé.", code="locked")
    folder.name, folder.parent = name, destination
    folder.save(update_fields=["name", "parent"])
    journal_entry(
        "folder_moved",
        actor=actor,
        workspace=workspace,
        target=folder,
        before=before,
        after=paths.folder_path(workspace.slug, folder),
    )
    return folder


@transaction.atomic
def trash(*, actor: User, item: Document | Folder) -> None:
    """Put a document or a folder (with what it holds) in the trash."""
    workspace = _locked(item.workspace)
    access.require_writer(actor, workspace)
    if isinstance(item, Document):
        _check_not_locked_by_other(actor, item)
        path = paths.document_path(item)
    else:
        path = paths.folder_path(workspace.slug, item)
    item.trashed_at = clock.now()
    item.save(update_fields=["trashed_at"])
    journal_entry("trashed", actor=actor, workspace=workspace, target=item, path=path)


@transaction.atomic
def restore(*, actor: User, item: Document | Folder) -> None:
    workspace = _locked(item.workspace)
    access.require_writer(actor, workspace)
    parent = item.folder if isinstance(item, Document) else item.parent
    if parent is not None and parent.trashed_at is not None:
        raise ValidationError(f"Restaurez d'abord le dossier « {parent.name} ».")
    if _name_taken(workspace, parent, item.name, but=item):
        raise ValidationError(f"« {item.name} » existe de nouveau à cet endroit : renommez-le.")
    item.trashed_at = None
    item.save(update_fields=["trashed_at"])
    journal_entry(
        "restored_from_trash", actor=actor, workspace=workspace, target=item, name=item.name
    )


@transaction.atomic
def empty_trash(*, actor: User, workspace: Workspace) -> int:
    """Delete for good what is in the trash (administrators); the stored files no version
    uses any more are removed after the commit."""
    workspace = _locked(workspace)
    access.require_admin(actor, workspace)
    if workspace.archived_at is not None:
        raise PermissionDenied("Cet espace est archivé : il est en lecture seule.")
    trashed_folders = list(Folder.objects.filter(workspace=workspace, trashed_at__isnull=False))
    documents = Document.objects.filter(workspace=workspace, trashed_at__isnull=False)
    files = set(Version.objects.filter(document__in=documents).values_list("file", flat=True))
    count = documents.count() + len(trashed_folders)
    documents.delete()
    for folder in trashed_folders:
        files |= set(
            Version.objects.filter(document__workspace=workspace)
            .filter(document__folder__in=_descendants(folder))
            .values_list("file", flat=True)
        )
        folder.delete()  # cascades to what it holds
    still_used = set(Version.objects.filter(file__in=files).values_list("file", flat=True))
    orphans = files - still_used
    storage = Version._meta.get_field("file").storage

    def _delete_files():
        for name in orphans:
            storage.delete(name)

    transaction.on_commit(_delete_files)
    journal_entry("trash_emptied", actor=actor, workspace=workspace, target=workspace, count=count)
    return count


def _descendants(folder: Folder) -> list[Folder]:
    found, todo = [folder], [folder]
    while todo:
        children = list(Folder.objects.filter(parent__in=todo))
        found += children
        todo = children
    return found


# --- page locks (the same rows as WebDAV's) ------------------------------------------------


@transaction.atomic
def lock_document(*, actor: User, document: Document, minutes: int = PAGE_LOCK_MINUTES) -> Lock:
    workspace = _locked(document.workspace)
    access.require_writer(actor, workspace)
    existing = lock_of(document)
    if existing is not None:
        if existing.user_id == actor.pk:
            return existing
        _check_not_locked_by_other(actor, document)
    root = paths.document_path(document)
    timeout = minutes * 60
    token = f"opaquelocktoken:{uuid.uuid4()}"
    who = actor.get_full_name() or actor.email
    data = {
        "root": root,
        "token": token,
        "type": "write",
        "scope": "exclusive",
        "depth": "0",
        "owner": f'<owner xmlns="DAV:">{who} (page web)</owner>',
        "principal": actor.email,
        "timeout": timeout,
        "expire": time.time() + timeout,
    }
    lock = Lock.objects.create(
        token=token,
        root=root,
        workspace=workspace,
        user=actor,
        data=data,
        created_at=clock.now(),
        expires_at=data["expire"],
    )
    journal_entry("locked", actor=actor, workspace=workspace, target=document, path=root)
    return lock


@transaction.atomic
def unlock_document(*, actor: User, document: Document) -> None:
    """The holder releases its lock; an administrator may release anyone's."""
    workspace = _locked(document.workspace)
    member = access.require_member(actor, workspace)
    lock = lock_of(document)
    if lock is None:
        return
    if lock.user_id != actor.pk and member.role != Role.ADMINISTRATEUR:
        raise PermissionDenied(
            "Seul celui qui a verrouillé le document (ou un administrateur) le libère."
        )
    Lock.objects.filter(root=lock.root).delete()
    journal_entry("unlocked", actor=actor, workspace=workspace, target=document, path=lock.root)


# --- for WebDAV: an empty document (PUT and LOCK on a new name), a copy ------------------------


@transaction.atomic
def create_empty_document(
    *, actor: User, workspace: Workspace, folder: Folder | None, name: str
) -> Document:
    """A document with no version yet: its first PUT makes version 1."""
    workspace = _locked(workspace)
    access.require_writer(actor, workspace)
    _check_parent(workspace, folder)
    name = clean_name(name, what="Le nom du fichier")
    if _name_taken(workspace, folder, name):
        raise ValidationError(f"« {name} » existe déjà ici.")
    document = Document.objects.create(workspace=workspace, folder=folder, name=name)
    journal_entry(
        "document_created",
        actor=actor,
        workspace=workspace,
        target=document,
        path=paths.document_path(document),
    )
    return document


@transaction.atomic
def copy_document(*, actor: User, document: Document, folder: Folder | None, name: str) -> Document:
    """Copy the current content to another name: a new version of the document there if
    there is one, else a new document (the stored bytes are shared, not duplicated)."""
    workspace = _locked(document.workspace)
    access.require_writer(actor, workspace)
    _check_parent(workspace, folder)
    name = clean_name(name, what="Le nom du fichier")
    target = Document.objects.filter(
        workspace=workspace, folder=folder, name=name, trashed_at__isnull=True
    ).first()
    if target is None:
        if _name_taken(workspace, folder, name):
            raise ValidationError(f"Un dossier s'appelle déjà « {name} » ici.")
        target = Document.objects.create(
            workspace=workspace, folder=folder, name=name, content_type=document.content_type
        )
    else:
        _check_not_locked_by_other(actor, target)
    source = document.current
    if source is not None:
        _check_quota(workspace, source.size)
        _reuse_version(
            document=target, source=source, actor=actor, comment=f"Copie de « {document.name} »"
        )
    journal_entry(
        "document_copied",
        actor=actor,
        workspace=workspace,
        target=target,
        source=paths.document_path(document),
        path=paths.document_path(target),
    )
    return target


# --- workspaces that other services keep for their records ---------------------------------


@transaction.atomic
def sync_service_workspace(
    *,
    source: str,
    organisation: Organisation,
    name: str,
    people: list[tuple[User, Organisation, str]],
    archived: bool = False,
) -> Workspace | None:
    """The workspace another service keeps for one of its records (source « groupement:12 »),
    owned by `organisation`; None when that organisation's convention does not open the
    service. Its members follow `people` (user, organisation, role): who is missing joins,
    who belongs to an organisation no longer listed leaves; someone invited by hand from a
    listed organisation stays, and nobody's role is lowered. People whose organisation has
    not opened the service are left out."""
    if not access.may_use(organisation, Service.COLLABORATIF):
        return None
    workspace = Workspace.objects.select_for_update().filter(source=source).first()
    if workspace is None:
        workspace = Workspace.objects.create(
            name=_clean_workspace_name(name),
            slug=_unique_slug(name),
            organisation=organisation,
            quota_bytes=settings.COLLABORATIF_DEFAULT_QUOTA_BYTES,
            source=source,
        )
        journal_entry(
            "workspace_created",
            actor=None,
            workspace=workspace,
            target=workspace,
            name=workspace.name,
            source=source,
        )
    open_people = [
        (user, org, role) for user, org, role in people if access.may_use(org, Service.COLLABORATIF)
    ]
    organisations = {org.pk for _, org, _ in open_people}
    for member in workspace.members.exclude(organisation_id__in=organisations):
        Lock.objects.filter(workspace=workspace, user_id=member.user_id).delete()
        journal_entry(
            "member_removed",
            actor=None,
            workspace=workspace,
            target=member,
            user=member.user.email,
            source=source,
        )
        member.delete()
    present = dict(workspace.members.values_list("user_id", "role"))
    for user, org, role in open_people:
        if user.pk not in present:
            member = Member.objects.create(
                workspace=workspace, user=user, organisation=org, role=role
            )
            present[user.pk] = role
            journal_entry(
                "joined", actor=None, workspace=workspace, target=member, role=role, source=source
            )
        elif role == Role.ADMINISTRATEUR and present[user.pk] != role:
            workspace.members.filter(user=user).update(role=role)
    stamp = clock.now() if archived else None
    if bool(workspace.archived_at) != archived:
        workspace.archived_at = stamp
        workspace.save(update_fields=["archived_at"])
        journal_entry(
            "archived" if archived else "restored",
            actor=None,
            workspace=workspace,
            target=workspace,
            source=source,
        )
    return workspace
