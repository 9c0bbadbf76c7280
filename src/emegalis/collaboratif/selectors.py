"""Reads of the collaboratif service. A workspace exists (404 otherwise) only for its members,
acting for the organisation through which they joined."""

from django.db.models import Count, F, QuerySet
from django.http import Http404

from emegalis.core import usage
from emegalis.organisations.models import Organisation, User

from .models import Document, Folder, Invitation, Lock, Member, Version, Workspace


def workspaces_for(user: User, organisation: Organisation | None) -> QuerySet[Workspace]:
    if organisation is None or not user.is_authenticated:
        return Workspace.objects.none()
    return Workspace.objects.filter(
        members__user=user, members__organisation=organisation
    ).select_related("organisation")


def _get(queryset, pk, what: str):
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404(f"{what} introuvable.") from None


def get_workspace(user: User, organisation: Organisation | None, pk) -> Workspace:
    return _get(workspaces_for(user, organisation), pk, "Espace")


def get_folder(workspace: Workspace, pk, *, trashed: bool = False) -> Folder:
    return _get(
        Folder.objects.filter(workspace=workspace, trashed_at__isnull=not trashed), pk, "Dossier"
    )


def get_document(user: User, organisation: Organisation | None, pk) -> Document:
    return _get(
        Document.objects.filter(workspace__in=workspaces_for(user, organisation)).select_related(
            "workspace", "folder"
        ),
        pk,
        "Document",
    )


def get_version(user: User, organisation: Organisation | None, pk) -> Version:
    return _get(
        Version.objects.filter(
            document__workspace__in=workspaces_for(user, organisation)
        ).select_related("document", "author"),
        pk,
        "Version",
    )


def contents(workspace: Workspace, folder: Folder | None):
    """The folder's sub-folders and documents (not in the trash), with their versions."""
    folders = Folder.objects.filter(workspace=workspace, parent=folder, trashed_at__isnull=True)
    documents = (
        Document.objects.filter(workspace=workspace, folder=folder, trashed_at__isnull=True)
        .annotate(version_count=Count("versions"))
        .prefetch_related("versions")
    )
    return folders, documents


def trashed(workspace: Workspace):
    return (
        Folder.objects.filter(workspace=workspace, trashed_at__isnull=False),
        Document.objects.filter(workspace=workspace, trashed_at__isnull=False),
    )


def all_folders(workspace: Workspace) -> QuerySet[Folder]:
    return Folder.objects.filter(workspace=workspace, trashed_at__isnull=True)


def members_of(workspace: Workspace) -> QuerySet[Member]:
    return workspace.members.select_related("user", "organisation")


def pending_invitations(workspace: Workspace) -> QuerySet[Invitation]:
    return workspace.invitations.filter(accepted_at__isnull=True, cancelled_at__isnull=True)


def locks_in(workspace: Workspace) -> dict[str, Lock]:
    return {lock.root: lock for lock in Lock.objects.filter(workspace=workspace)}


def get_member(workspace: Workspace, pk) -> Member:
    return _get(workspace.members.select_related("user"), pk, "Membre")


def service_workspace(user: User, source: str) -> Workspace | None:
    """The workspace another service keeps for one of its records, if the user is a member."""
    return Workspace.objects.filter(source=source, members__user=user).first()


@usage.register("collaboratif", title="Outils collaboratifs")
def collaboratif_usage(organisation: Organisation, year: int) -> dict[str, int]:
    return {
        "Espaces de l'organisation": Workspace.objects.filter(organisation=organisation).count(),
        "Versions déposées par ses agents": Version.objects.filter(
            created_at__year=year,
            document__workspace__members__organisation=organisation,
            document__workspace__members__user=F("author"),
        ).count(),
    }
