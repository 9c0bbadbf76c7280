"""Pages of the collaboratif service: thin views over services and selectors."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_POST

from emegalis.adhesions.decorators import service_required
from emegalis.core.downloads import stored_file_response
from emegalis.core.forms import add_service_errors, error_messages
from emegalis.core.services_catalog import Service
from emegalis.organisations.selectors import roles_in

from . import access, paths, selectors, services
from .discussions.selectors import unread_count
from .forms import FolderForm, InviteForm, RenameForm, RoleForm, UploadForm, WorkspaceForm
from .models import Role

PREVIEWABLE = ("application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp")


def _view(function):
    for decorator in reversed([login_required, service_required(Service.COLLABORATIF)]):
        function = decorator(function)
    return function


def _flash(request, exc) -> None:
    for message in error_messages(exc):
        messages.error(request, message)


def _back(request, fallback: str):
    target = request.POST.get("next", "")
    return redirect(target if target.startswith("/collaboratif/") else fallback)


@_view
def home(request):
    organisation = request.organisation
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            workspace = services.create_workspace(
                actor=request.user, organisation=organisation, **form.cleaned_data
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Espace « {workspace.name} » créé.")
            return redirect("collaboratif_workspace", pk=workspace.pk)
    return render(
        request,
        "collaboratif/home.html",
        {
            "workspaces": selectors.workspaces_for(request.user, organisation),
            "form": form,
            "may_create": bool(
                organisation and roles_in(request.user, organisation) & access.CREATOR_ROLES
            ),
        },
    )


def _browse(request, workspace, folder):
    member = access.require_member(request.user, workspace)
    folders, documents = selectors.contents(workspace, folder)
    locks = selectors.locks_in(workspace)
    rows = []
    for document in documents:
        versions = list(document.versions.all())
        rows.append(
            {
                "document": document,
                "current": versions[0] if versions else None,
                "count": len(versions),
                "lock": locks.get(paths.document_path(document)),
            }
        )
    used = services.used_bytes(workspace)
    return render(
        request,
        "collaboratif/workspace.html",
        {
            "workspace": workspace,
            "folder": folder,
            "trail": _trail(folder),
            "folders": folders,
            "rows": rows,
            "member": member,
            "writable": workspace.archived_at is None and member.role in access.WRITERS,
            "upload_form": UploadForm(),
            "folder_form": FolderForm(),
            "used": used,
            "used_percent": min(100, round(100 * used / workspace.quota_bytes)),
            "dav_url": request.build_absolute_uri(f"/dav/{workspace.slug}/"),
            "max_bytes": services.max_file_bytes(),
            "unread": unread_count(request.user, workspace),
        },
    )


def _trail(folder):
    trail = []
    while folder is not None:
        trail.insert(0, folder)
        folder = folder.parent
    return trail


@_view
def workspace(request, pk):
    found = selectors.get_workspace(request.user, request.organisation, pk)
    return _browse(request, found, None)


@_view
def folder(request, pk, folder_pk):
    found = selectors.get_workspace(request.user, request.organisation, pk)
    return _browse(request, found, selectors.get_folder(found, folder_pk))


def _folder_url(workspace, folder):
    if folder is None:
        return f"/collaboratif/{workspace.pk}/"
    return f"/collaboratif/{workspace.pk}/dossiers/{folder.pk}/"


@_view
@require_POST
def folder_create(request, pk):
    found = selectors.get_workspace(request.user, request.organisation, pk)
    parent_pk = request.POST.get("parent")
    parent = selectors.get_folder(found, parent_pk) if parent_pk else None
    form = FolderForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(error_messages_of(form))
        services.create_folder(
            actor=request.user, workspace=found, parent=parent, name=form.cleaned_data["name"]
        )
    except (ValidationError, PermissionDenied) as exc:
        _flash(request, exc)
    else:
        messages.success(request, f"Dossier « {form.cleaned_data['name']} » créé.")
    return redirect(_folder_url(found, parent))


def error_messages_of(form) -> list[str]:
    return [error for errors in form.errors.values() for error in errors]


@_view
@require_POST
def upload(request, pk):
    found = selectors.get_workspace(request.user, request.organisation, pk)
    parent_pk = request.POST.get("folder")
    parent = selectors.get_folder(found, parent_pk) if parent_pk else None
    form = UploadForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            raise ValidationError(error_messages_of(form))
        uploaded = form.cleaned_data["file"]
        version = services.upload(
            actor=request.user,
            workspace=found,
            folder=parent,
            # A new version from the document's page keeps the document's name.
            name=request.POST.get("as_name") or uploaded.name,
            content=uploaded,
            comment=form.cleaned_data["comment"],
            content_type=uploaded.content_type or "",
        )
    except (ValidationError, PermissionDenied) as exc:
        _flash(request, exc)
    else:
        messages.success(
            request, f"« {version.document.name} » enregistré (version {version.number})."
        )
    back = request.POST.get("back", "")
    target = back if back.startswith("/collaboratif/") else _folder_url(found, parent)
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        # The page's script sent it with a progress bar: it goes there itself, and the
        # message waits for that page.
        return JsonResponse({"location": target})
    return redirect(target)


@_view
def document(request, pk):
    found = selectors.get_document(request.user, request.organisation, pk)
    workspace = found.workspace
    member = access.require_member(request.user, workspace)
    if found.trashed_at is not None:
        raise Http404("Ce document est dans la corbeille.")
    versions = list(found.versions.select_related("author"))
    current = versions[0] if versions else None
    content_type = found.content_type or ""
    return render(
        request,
        "collaboratif/document.html",
        {
            "document": found,
            "workspace": workspace,
            "trail": _trail(found.folder),
            "versions": versions,
            "current": current,
            "lock": services.lock_of(found),
            "member": member,
            "writable": workspace.archived_at is None and member.role in access.WRITERS,
            "rename_form": RenameForm(
                initial={"name": found.name, "folder": found.folder_id or ""},
                folders=selectors.all_folders(workspace),
            ),
            "upload_form": UploadForm(),
            "preview": current is not None and content_type in PREVIEWABLE,
            "is_image": content_type.startswith("image/"),
        },
    )


@_view
@xframe_options_sameorigin
@csp_override({"frame-ancestors": ["'self'"], "default-src": ["'none'"]})
def version_file(request, pk):
    """A version's bytes: downloaded, or shown in the document page's preview (?apercu=1)."""
    version = selectors.get_version(request.user, request.organisation, pk)
    access.require_member(request.user, version.document.workspace)
    inline = request.GET.get("apercu") == "1"
    name = version.document.name
    if not inline and version.number != version.document.versions.count():
        stem, dot, ext = name.rpartition(".")
        name = f"{stem} (v{version.number}).{ext}" if dot else f"{name} (v{version.number})"
    try:
        handle = version.file.open("rb")
    except OSError:
        raise Http404("Fichier introuvable.") from None
    return stored_file_response(
        handle,
        name,
        content_type=version.document.content_type or "application/octet-stream",
        inline=inline,
    )


@_view
@require_POST
def document_action(request, pk, action):
    found = selectors.get_document(request.user, request.organisation, pk)
    page = f"/collaboratif/documents/{found.pk}/"
    workspace = found.workspace
    try:
        if action == "renommer":
            form = RenameForm(request.POST, folders=selectors.all_folders(workspace))
            if not form.is_valid():
                raise ValidationError(error_messages_of(form))
            folder_pk = form.cleaned_data["folder"]
            destination = selectors.get_folder(workspace, folder_pk) if folder_pk else None
            services.rename_document(
                actor=request.user,
                document=found,
                name=form.cleaned_data["name"],
                folder=destination,
            )
            messages.success(request, "Document renommé.")
        elif action == "verrouiller":
            services.lock_document(actor=request.user, document=found)
            messages.success(request, "Document verrouillé pour 30 minutes.")
        elif action == "deverrouiller":
            services.unlock_document(actor=request.user, document=found)
            messages.success(request, "Verrou levé.")
        elif action == "corbeille":
            services.trash(actor=request.user, item=found)
            messages.success(request, f"« {found.name} » mis à la corbeille.")
            return redirect(_folder_url(workspace, found.folder))
        elif action == "restaurer-version":
            version = services.restore_version(
                actor=request.user, document=found, number=int(request.POST.get("number", 0))
            )
            messages.success(
                request,
                f"Version {version.restored_from} restaurée (nouvelle version {version.number}).",
            )
        else:
            raise Http404("Action inconnue.")
    except (ValidationError, PermissionDenied, ValueError) as exc:
        if isinstance(exc, ValueError):
            exc = ValidationError("Numéro de version invalide.")
        _flash(request, exc)
    return redirect(page)


@_view
@require_POST
def folder_action(request, pk, folder_pk, action):
    found = selectors.get_workspace(request.user, request.organisation, pk)
    target = selectors.get_folder(found, folder_pk)
    try:
        if action == "renommer":
            form = RenameForm(request.POST, folders=selectors.all_folders(found))
            if not form.is_valid():
                raise ValidationError(error_messages_of(form))
            folder_pk = form.cleaned_data["folder"]
            parent = selectors.get_folder(found, folder_pk) if folder_pk else None
            services.rename_folder(
                actor=request.user, folder=target, name=form.cleaned_data["name"], parent=parent
            )
            messages.success(request, "Dossier renommé.")
        elif action == "corbeille":
            services.trash(actor=request.user, item=target)
            messages.success(request, f"Dossier « {target.name} » mis à la corbeille.")
            return redirect(_folder_url(found, target.parent))
        else:
            raise Http404("Action inconnue.")
    except (ValidationError, PermissionDenied) as exc:
        _flash(request, exc)
    return redirect(_folder_url(found, target))


@_view
def trash(request, pk):
    found = selectors.get_workspace(request.user, request.organisation, pk)
    member = access.require_member(request.user, found)
    folders, documents = selectors.trashed(found)
    if request.method == "POST":
        try:
            kind, item_pk = request.POST.get("item", ":").split(":", 1)
            if kind == "vider":
                count = services.empty_trash(actor=request.user, workspace=found)
                messages.success(request, f"Corbeille vidée ({count} élément(s)).")
            else:
                queryset = documents if kind == "document" else folders
                item = queryset.filter(pk=int(item_pk)).first()
                if item is None:
                    raise Http404("Élément introuvable dans la corbeille.")
                services.restore(actor=request.user, item=item)
                messages.success(request, f"« {item.name} » restauré.")
        except (ValidationError, PermissionDenied) as exc:
            _flash(request, exc)
        except ValueError:
            raise Http404("Élément introuvable dans la corbeille.") from None
        return redirect("collaboratif_trash", pk=found.pk)
    return render(
        request,
        "collaboratif/trash.html",
        {"workspace": found, "folders": folders, "documents": documents, "member": member},
    )


@_view
def members(request, pk):
    found = selectors.get_workspace(request.user, request.organisation, pk)
    member = access.require_member(request.user, found)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invite(actor=request.user, workspace=found, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Invitation envoyée à {form.cleaned_data['email']}.")
            return redirect("collaboratif_members", pk=found.pk)
    return render(
        request,
        "collaboratif/members.html",
        {
            "workspace": found,
            "member": member,
            "members": selectors.members_of(found),
            "invitations": selectors.pending_invitations(found),
            "form": form,
            "roles": Role.choices,
        },
    )


@_view
@require_POST
def member_action(request, pk, member_pk, action):
    found = selectors.get_workspace(request.user, request.organisation, pk)
    target = selectors.get_member(found, member_pk)
    try:
        if action == "role":
            form = RoleForm(request.POST)
            if not form.is_valid():
                raise ValidationError("Rôle inconnu.")
            services.set_role(actor=request.user, member=target, role=form.cleaned_data["role"])
            messages.success(request, "Rôle modifié.")
        elif action == "retirer":
            services.remove_member(actor=request.user, member=target)
            if target.user_id == request.user.pk:
                messages.success(request, f"Vous avez quitté « {found.name} ».")
                return redirect("collaboratif_home")
            messages.success(request, "Membre retiré.")
        else:
            raise Http404("Action inconnue.")
    except (ValidationError, PermissionDenied) as exc:
        _flash(request, exc)
    return redirect("collaboratif_members", pk=found.pk)


@_view
@require_POST
def archive(request, pk):
    found = selectors.get_workspace(request.user, request.organisation, pk)
    archived = request.POST.get("archive") == "1"
    try:
        services.set_archived(actor=request.user, workspace=found, archived=archived)
    except (ValidationError, PermissionDenied) as exc:
        _flash(request, exc)
    else:
        messages.success(request, "Espace archivé." if archived else "Espace restauré.")
    return redirect("collaboratif_members", pk=found.pk)


@_view
def invitation(request, secret):
    found = services.find_invitation(secret)
    if found is None:
        raise Http404("Cette invitation n'existe pas.")
    if request.method == "POST":
        try:
            member = services.accept_invitation(
                actor=request.user, organisation=request.organisation, secret=secret
            )
        except (ValidationError, PermissionDenied) as exc:
            _flash(request, exc)
        else:
            messages.success(request, f"Bienvenue dans « {member.workspace.name} ».")
            return redirect("collaboratif_workspace", pk=member.workspace_id)
    return render(request, "collaboratif/invitation.html", {"invitation": found})
