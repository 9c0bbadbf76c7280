"""API of the outils collaboratifs: the caller's workspaces, their documents (the content
streamed down, and up as the raw body of a PUT that makes a version) and their events. Same
scoping as the pages: a workspace of which the caller is not a member is a 404."""

from datetime import datetime

from django.core.exceptions import ValidationError
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from ninja.security import django_auth

from emegalis.adhesions.access import require_service
from emegalis.core.api_errors import AUTH, BODY, READ, errors
from emegalis.core.downloads import attachment
from emegalis.core.services_catalog import Service
from emegalis.organisations.api_auth import TokenAuth

from . import access, paths, selectors, services
from .calendars import selectors as calendar_selectors
from .calendars import services as calendar_services

router = Router(tags=["outils collaboratifs"], auth=[TokenAuth(), django_auth])


class WorkspaceOut(Schema):
    id: int
    name: str
    slug: str
    organisation_id: int
    role: str
    archived: bool
    quota_bytes: int
    used_bytes: int


class DocumentOut(Schema):
    id: int
    name: str
    path: str
    folder_id: int | None
    version: int | None
    size: int
    sha256: str | None
    updated_at: datetime
    locked_by: str | None


class VersionOut(Schema):
    document_id: int
    number: int
    size: int
    sha256: str
    author: str | None
    created_at: datetime
    comment: str


class EventIn(Schema):
    title: str
    starts_at: datetime
    ends_at: datetime
    place: str = ""
    video_url: str = ""
    description: str = ""
    recurrence: str = ""
    occurrences: int | None = None
    attendee_ids: list[int] = []


class EventOut(Schema):
    id: int
    uid: str
    sequence: int
    title: str
    starts_at: datetime
    ends_at: datetime
    place: str
    video_url: str
    recurrence: str
    occurrences: int | None
    cancelled: bool
    attendees: list[str]


def _organisation(request):
    organisation = getattr(request, "organisation", None)
    require_service(organisation, Service.COLLABORATIF)
    return organisation


def _workspace(request, pk: int):
    return selectors.get_workspace(request.user, _organisation(request), pk)


def _document_out(document, lock=None) -> dict:
    current = document.current
    holder = lock.user if lock is not None else None
    return {
        "id": document.pk,
        "name": document.name,
        "path": paths.document_path(document),
        "folder_id": document.folder_id,
        "version": current.number if current else None,
        "size": current.size if current else 0,
        "sha256": current.sha256 if current else None,
        "updated_at": document.updated_at,
        "locked_by": (holder.email if holder else "WebDAV") if lock is not None else None,
    }


def _version_out(version) -> dict:
    return {
        "document_id": version.document_id,
        "number": version.number,
        "size": version.size,
        "sha256": version.sha256,
        "author": version.author.email if version.author else None,
        "created_at": version.created_at,
        "comment": version.comment,
    }


def _event_out(event) -> dict:
    return {
        "id": event.pk,
        "uid": event.uid,
        "sequence": event.sequence,
        "title": event.title,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "place": event.place,
        "video_url": event.video_url,
        "recurrence": event.recurrence,
        "occurrences": event.occurrences,
        "cancelled": event.cancelled_at is not None,
        "attendees": [u.email for u in event.attendees.all()],
    }


@router.get("/collaboratif/espaces", response={200: list[WorkspaceOut], **errors(*AUTH)})
def workspaces(request):
    organisation = _organisation(request)
    out = []
    for workspace in selectors.workspaces_for(request.user, organisation):
        member = access.membership(request.user, workspace)
        out.append(
            {
                "id": workspace.pk,
                "name": workspace.name,
                "slug": workspace.slug,
                "organisation_id": workspace.organisation_id,
                "role": member.role,
                "archived": workspace.archived_at is not None,
                "quota_bytes": workspace.quota_bytes,
                "used_bytes": services.used_bytes(workspace),
            }
        )
    return out


@router.get(
    "/collaboratif/espaces/{pk}/documents", response={200: list[DocumentOut], **errors(*READ)}
)
def documents(request, pk: int):
    """Every document of the workspace outside the trash, with its current version."""
    workspace = _workspace(request, pk)
    locks = selectors.locks_in(workspace)
    return [
        _document_out(d, locks.get(paths.document_path(d)))
        for d in workspace.documents.filter(trashed_at__isnull=True).select_related(
            "workspace", "folder"
        )
    ]


@router.get(
    "/collaboratif/documents/{pk}/versions", response={200: list[VersionOut], **errors(*READ)}
)
def versions(request, pk: int):
    document = selectors.get_document(request.user, _organisation(request), pk)
    return [_version_out(v) for v in document.versions.select_related("author")]


@router.get(
    "/collaboratif/documents/{pk}/contenu",
    response={200: None, **errors(*READ)},
    openapi_extra={
        "responses": {
            "200": {
                "description": "Le contenu de la version courante",
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            }
        }
    },
)
def content(request, pk: int):
    """The current version's bytes, streamed."""
    document = selectors.get_document(request.user, _organisation(request), pk)
    current = document.current
    if current is None or document.trashed_at is not None:
        raise HttpError(404, "Ce document n'a pas de contenu.")
    return attachment(current.file, document.name, content_type="application/octet-stream")


_UPLOAD_STATUS = {"quota": 507, "too_big": 413, "locked": 409}


@router.put(
    "/collaboratif/espaces/{pk}/documents",
    response={201: VersionOut, **errors(*READ, *BODY, 409, 507)},
    openapi_extra={
        "requestBody": {
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            "required": True,
        }
    },
)
def put_document(request, pk: int, nom: str, dossier: int | None = None, commentaire: str = ""):
    """Store the raw body as `nom` in the folder `dossier` (the root when absent): a new
    document, or a new version of the document of that name. Streamed and counted as it
    comes; refused whole past the size cap or the quota, or on a document locked by another."""
    workspace = _workspace(request, pk)
    folder = selectors.get_folder(workspace, dossier) if dossier is not None else None
    try:
        version = services.upload(
            actor=request.user,
            workspace=workspace,
            folder=folder,
            name=nom,
            content=request,
            comment=commentaire,
        )
    except ValidationError as exc:
        status = _UPLOAD_STATUS.get(getattr(exc, "code", None))
        if status is None:
            raise
        raise HttpError(status, "; ".join(exc.messages)) from exc
    return Status(201, _version_out(version))


@router.get(
    "/collaboratif/espaces/{pk}/evenements", response={200: list[EventOut], **errors(*READ)}
)
def events(request, pk: int):
    return [_event_out(e) for e in calendar_selectors.events_of(_workspace(request, pk))]


@router.post(
    "/collaboratif/espaces/{pk}/evenements",
    response={201: EventOut, **errors(*READ, *BODY)},
)
def create_event(request, pk: int, payload: EventIn):
    """A new event; its attendees (members' user ids) get the invitation by e-mail."""
    workspace = _workspace(request, pk)
    members = {m.user_id: m.user for m in workspace.members.select_related("user")}
    values = payload.dict()
    ids = values.pop("attendee_ids")
    unknown = [i for i in ids if i not in members]
    if unknown:
        raise ValidationError("Les participants sont choisis parmi les membres de l'espace.")
    event = calendar_services.create_event(
        actor=request.user, workspace=workspace, attendees=[members[i] for i in ids], **values
    )
    return Status(201, _event_out(event))
