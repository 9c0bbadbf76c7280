"""The workspaces over WebDAV at /dav/: WsgiDAV (MIT, litmus-tested) mounted behind a Django view,
with a provider over the app's models and storage, app passwords for authentication, and its
locks kept in the database (the same rows as the pages' locks, so they hold across processes).

Every write goes through collaboratif.services: a PUT makes a version, a DELETE puts in the
trash, and the rules (roles, archive, quota, names) are the pages' rules."""

import io
import mimetypes
import os
import tempfile
import time
from contextlib import contextmanager
from itertools import chain

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from wsgidav import util
from wsgidav.dav_error import (
    HTTP_CONFLICT,
    HTTP_FORBIDDEN,
    HTTP_INSUFFICIENT_STORAGE,
    HTTP_LOCKED,
    HTTP_MEDIATYPE_NOT_SUPPORTED,
    DAVError,
)
from wsgidav.dav_provider import DAVCollection, DAVNonCollection, DAVProvider
from wsgidav.dc.base_dc import BaseDomainController
from wsgidav.lock_man.lock_manager import generate_lock_token, normalize_lock_root
from wsgidav.wsgidav_app import WsgiDAVApp

from emegalis.core import clock
from emegalis.organisations.models import User
from emegalis.organisations.services import authenticate_app_password

from . import access, services
from .models import Document, Folder, Lock, Workspace

MOUNT = "/dav"
REALM = "e-megalis"

# --- errors: the services' French refusals become WebDAV statuses --------------------------

_STATUS_BY_CODE = {
    "quota": HTTP_INSUFFICIENT_STORAGE,
    "too_big": 413,
    "locked": HTTP_LOCKED,
}


@contextmanager
def _as_dav_errors():
    try:
        yield
    except PermissionDenied as exc:
        raise DAVError(HTTP_FORBIDDEN, str(exc)) from exc
    except ValidationError as exc:
        status = _STATUS_BY_CODE.get(getattr(exc, "code", None), HTTP_CONFLICT)
        raise DAVError(status, "; ".join(exc.messages)) from exc


# --- locks in the database ----------------------------------------------------------------


def _live(locks):
    now = time.time()
    return [lock for lock in locks if lock.expires_at < 0 or lock.expires_at >= now]


def _to_json(lock: dict) -> dict:
    """WsgiDAV gives the owner as XML bytes; JSON keeps text (marked to be given back)."""
    stored = dict(lock)
    if isinstance(stored.get("owner"), bytes):
        stored["owner"] = stored["owner"].decode("utf-8")
        stored["owner_is_bytes"] = True
    return stored


def _from_json(data: dict) -> dict:
    lock = dict(data)
    if lock.pop("owner_is_bytes", False):
        lock["owner"] = lock["owner"].encode("utf-8")
    return lock


class DatabaseLockStorage:
    """WsgiDAV's lock storage interface over the Lock model. Taking a lock runs in a
    transaction that holds the workspace row, and checks again for a conflicting lock: two
    application processes cannot both grant one."""

    LOCK_TIME_OUT_DEFAULT = 604800
    LOCK_TIME_OUT_MAX = 4 * 604800

    def __repr__(self) -> str:
        return "DatabaseLockStorage"

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def cleanup(self) -> None:
        Lock.objects.filter(expires_at__gte=0, expires_at__lt=time.time()).delete()

    def clear(self) -> None:
        Lock.objects.all().delete()

    def get(self, token):
        lock = Lock.objects.filter(token=token).first()
        if lock is None:
            return None
        if not _live([lock]):
            lock.delete()
            return None
        return _from_json(lock.data)

    def create(self, path, lock):
        root = normalize_lock_root(path)
        slug = root.strip("/").split("/")[0]
        timeout = float(lock.get("timeout") or self.LOCK_TIME_OUT_DEFAULT)
        if timeout < 0 or timeout > self.LOCK_TIME_OUT_MAX:
            timeout = self.LOCK_TIME_OUT_MAX
        with transaction.atomic():
            workspace = Workspace.objects.select_for_update().filter(slug=slug).first()
            if workspace is None:
                raise DAVError(HTTP_FORBIDDEN, "Verrou hors d'un espace de travail.")
            exclusive = lock.get("scope") == "exclusive" or self._exclusive_on(root, workspace)
            infinite = lock.get("depth") == "infinity"
            if exclusive and _live(self._covering(root, workspace, infinite)):
                raise DAVError(HTTP_LOCKED)
            # WsgiDAV reads the token from the dictionary it passed: complete it in place.
            lock.update(
                root=root,
                timeout=timeout,
                expire=time.time() + timeout,
                token=generate_lock_token(),
            )
            user = User.objects.filter(email__iexact=lock.get("principal") or "").first()
            Lock.objects.create(
                token=lock["token"],
                root=root,
                workspace=workspace,
                user=user,
                data=_to_json(lock),
                created_at=clock.now(),
                expires_at=lock["expire"],
            )
            services.journal_entry(
                "locked",
                actor=user,
                workspace=workspace,
                target=workspace,
                path=root,
                via="webdav",
                scope=lock.get("scope"),
            )
        return lock

    @staticmethod
    def _covering(root: str, workspace: Workspace, infinite: bool):
        """The locks on root, on a parent with depth infinity, or (infinite) under it."""
        parents, path = [], root
        while "/" in path.strip("/"):
            path = path.rsplit("/", 1)[0]
            parents.append(path)
        found = list(Lock.objects.filter(workspace=workspace, root=root))
        found += [
            lock
            for lock in Lock.objects.filter(workspace=workspace, root__in=parents)
            if lock.data.get("depth") == "infinity"
        ]
        if infinite:
            found += list(Lock.objects.filter(workspace=workspace, root__startswith=root + "/"))
        return found

    def _exclusive_on(self, root: str, workspace: Workspace) -> bool:
        return any(
            lock.data.get("scope") == "exclusive"
            for lock in _live(self._covering(root, workspace, True))
        )

    def refresh(self, token, *, timeout):
        if timeout < 0 or timeout > self.LOCK_TIME_OUT_MAX:
            timeout = self.LOCK_TIME_OUT_MAX
        lock = Lock.objects.get(token=token)
        data = {**lock.data, "timeout": timeout, "expire": time.time() + timeout}
        Lock.objects.filter(token=token).update(data=data, expires_at=data["expire"])
        return _from_json(data)

    def delete(self, token):
        lock = Lock.objects.select_related("workspace", "user").filter(token=token).first()
        if lock is None:
            return False
        with transaction.atomic():
            lock.delete()
            services.journal_entry(
                "unlocked",
                actor=lock.user,
                workspace=lock.workspace,
                target=lock.workspace,
                path=lock.root,
                via="webdav",
            )
        return True

    def get_lock_list(self, path, *, include_root, include_children, token_only):
        root = normalize_lock_root(path)
        locks = []
        if include_root:
            locks += list(Lock.objects.filter(root=root))
        if include_children:
            locks += list(Lock.objects.filter(root__startswith=root.rstrip("/") + "/"))
        live = _live(locks)
        return [lock.token for lock in live] if token_only else [_from_json(lk.data) for lk in live]


# --- authentication by app password -------------------------------------------------------


class AppPasswordDomainController(BaseDomainController):
    def __init__(self, wsgidav_app, config):
        super().__init__(wsgidav_app, config)

    def __str__(self) -> str:
        return "AppPasswordDomainController"

    def get_domain_realm(self, path_info, environ):
        return REALM

    def require_authentication(self, realm, environ):
        return True

    def basic_auth_user(self, realm, user_name, password, environ):
        user = authenticate_app_password(user_name, password)
        if user is None:
            return False
        environ["emegalis.user"] = user
        return True

    def supports_http_digest_auth(self):
        return False

    def digest_auth_user(self, realm, user_name, environ):
        return False


# --- resources ----------------------------------------------------------------------------


class _Context:
    def __init__(self, environ):
        self.user: User = environ["emegalis.user"]
        self.environ = environ

    def workspace(self, slug: str):
        workspace = Workspace.objects.filter(slug=slug).select_related("organisation").first()
        if workspace is None or access.membership(self.user, workspace) is None:
            return None
        return workspace


def _timestamp(moment) -> float | None:
    return moment.timestamp() if moment else None


def _children(workspace: Workspace, folder: Folder | None):
    folders = Folder.objects.filter(workspace=workspace, parent=folder, trashed_at__isnull=True)
    documents = Document.objects.filter(workspace=workspace, folder=folder, trashed_at__isnull=True)
    return folders, documents


def _resolve(workspace: Workspace, names: list[str]):
    """The folder at `names` (None: the workspace's root), or False when there is none."""
    folder = None
    for name in names:
        folder = Folder.objects.filter(
            workspace=workspace, parent=folder, name=name, trashed_at__isnull=True
        ).first()
        if folder is None:
            return False
    return folder


def _destination(ctx: _Context, workspace: Workspace, dest_path: str):
    """(folder, name) of a destination path inside the same workspace."""
    parts = [p for p in dest_path.strip("/").split("/") if p]
    if len(parts) < 2 or parts[0] != workspace.slug:
        raise DAVError(HTTP_FORBIDDEN, "Copie et déplacement restent dans le même espace.")
    folder = _resolve(workspace, parts[1:-1])
    if folder is False:
        raise DAVError(HTTP_CONFLICT)
    return folder, parts[-1]


def _carry_properties(resource, dest_path: str, *, move: bool, with_children: bool) -> None:
    """Dead properties follow a copied or moved resource."""
    manager = resource.provider.prop_manager
    if not manager:
        return
    destination = resource.provider.get_resource_inst(dest_path, resource.environ)
    if destination is None:
        return
    if move:
        manager.move_properties(
            resource.get_ref_url(),
            destination.get_ref_url(),
            with_children=with_children,
            environ=resource.environ,
        )
    else:
        manager.copy_properties(resource.get_ref_url(), destination.get_ref_url(), resource.environ)


class RootCollection(DAVCollection):
    """/dav/: the user's workspaces, one folder each."""

    def __init__(self, path, environ, ctx):
        super().__init__(path, environ)
        self.ctx = ctx

    def get_member_names(self):
        return list(
            Workspace.objects.filter(members__user=self.ctx.user)
            .order_by("slug")
            .values_list("slug", flat=True)
        )

    def get_member(self, name):
        workspace = self.ctx.workspace(name)
        if workspace is None:
            return None
        return FolderCollection(f"/{name}", self.environ, self.ctx, workspace, None)

    def create_collection(self, name):
        raise DAVError(HTTP_FORBIDDEN, "Créez un espace de travail depuis le site.")

    def create_empty_resource(self, name):
        raise DAVError(HTTP_FORBIDDEN)


class FolderCollection(DAVCollection):
    """A workspace's root (folder None) or one of its folders."""

    def __init__(self, path, environ, ctx, workspace, folder):
        super().__init__(path, environ)
        self.ctx, self.workspace, self.folder = ctx, workspace, folder

    def get_display_name(self):
        return self.folder.name if self.folder else self.workspace.name

    def get_creation_date(self):
        return _timestamp(self.folder.created_at if self.folder else self.workspace.created_at)

    def get_last_modified(self):
        return self.get_creation_date()

    def get_member_names(self):
        folders, documents = _children(self.workspace, self.folder)
        return sorted(
            list(folders.values_list("name", flat=True))
            + list(documents.values_list("name", flat=True))
        )

    def get_member(self, name):
        folders, documents = _children(self.workspace, self.folder)
        path = util.join_uri(self.path, name)
        folder = folders.filter(name=name).first()
        if folder is not None:
            return FolderCollection(path, self.environ, self.ctx, self.workspace, folder)
        document = documents.filter(name=name).first()
        if document is not None:
            return DocumentResource(path, self.environ, self.ctx, document)
        return None

    def create_empty_resource(self, name):
        with _as_dav_errors():
            document = services.create_empty_document(
                actor=self.ctx.user, workspace=self.workspace, folder=self.folder, name=name
            )
        return DocumentResource(util.join_uri(self.path, name), self.environ, self.ctx, document)

    def create_collection(self, name):
        with _as_dav_errors():
            services.create_folder(
                actor=self.ctx.user, workspace=self.workspace, parent=self.folder, name=name
            )

    def support_recursive_delete(self):
        return True

    def delete(self):
        if self.folder is None:
            raise DAVError(HTTP_FORBIDDEN, "Un espace se supprime depuis le site.")
        with _as_dav_errors():
            services.trash(actor=self.ctx.user, item=self.folder)
        self.remove_all_locks(recursive=True)
        self.remove_all_properties(recursive=True)

    def copy_move_single(self, dest_path, *, is_move):
        if self.folder is None:
            raise DAVError(HTTP_FORBIDDEN)
        parent, name = _destination(self.ctx, self.workspace, dest_path)
        with _as_dav_errors():
            existing = _resolve(self.workspace, [*dest_path.strip("/").split("/")[1:]])
            if existing is False:
                services.create_folder(
                    actor=self.ctx.user, workspace=self.workspace, parent=parent, name=name
                )
        _carry_properties(self, dest_path, move=is_move, with_children=False)

    def support_recursive_move(self, dest_path):
        return self.folder is not None

    def move_recursive(self, dest_path):
        parent, name = _destination(self.ctx, self.workspace, dest_path)
        with _as_dav_errors():
            services.rename_folder(
                actor=self.ctx.user, folder=self.folder, name=name, parent=parent
            )
        self.remove_all_locks(recursive=True)
        _carry_properties(self, dest_path, move=True, with_children=True)


class DocumentResource(DAVNonCollection):
    def __init__(self, path, environ, ctx, document):
        super().__init__(path, environ)
        self.ctx, self.document = ctx, document
        self.version = document.current
        self._upload = None

    def get_content_length(self):
        return self.version.size if self.version else 0

    def get_content_type(self):
        guessed = mimetypes.guess_type(self.document.name)[0]
        return self.document.content_type or guessed or "application/octet-stream"

    def get_creation_date(self):
        return _timestamp(self.document.created_at)

    def get_last_modified(self):
        return _timestamp(self.version.created_at if self.version else self.document.created_at)

    def get_display_name(self):
        return self.document.name

    def get_etag(self):
        return self.version.sha256 if self.version else f"vide-{self.document.pk}"

    def support_etag(self):
        return True

    def support_ranges(self):
        return True

    def get_content(self):
        if self.version is None:
            return io.BytesIO(b"")
        return self.version.file.open("rb")

    def begin_write(self, *, content_type=None):
        with _as_dav_errors():
            access.require_writer(self.ctx.user, self.document.workspace)
        if content_type and "\n" in content_type:
            raise DAVError(HTTP_MEDIATYPE_NOT_SUPPORTED)
        # WsgiDAV writes the body, closes the file, then calls end_write(): keep its path.
        handle, self._upload = tempfile.mkstemp(prefix="emegalis-dav-")
        return os.fdopen(handle, "wb")

    def end_write(self, *, with_errors):
        path, self._upload = self._upload, None
        if path is None:
            return
        try:
            if with_errors:
                return  # a broken PUT stores nothing
            with open(path, "rb") as upload, _as_dav_errors():
                # WsgiDAV checked the If: lock tokens of this PUT against the same lock rows.
                self.version = services.upload(
                    actor=self.ctx.user,
                    workspace=self.document.workspace,
                    folder=self.document.folder,
                    name=self.document.name,
                    content=upload,
                    bypass_lock_token=True,
                )
        finally:
            os.unlink(path)

    def delete(self):
        with _as_dav_errors():
            services.trash(actor=self.ctx.user, item=self.document)
        self.remove_all_locks(recursive=False)
        self.remove_all_properties(recursive=False)

    def copy_move_single(self, dest_path, *, is_move):
        folder, name = _destination(self.ctx, self.document.workspace, dest_path)
        with _as_dav_errors():
            if is_move:
                services.rename_document(
                    actor=self.ctx.user, document=self.document, name=name, folder=folder
                )
            else:
                services.copy_document(
                    actor=self.ctx.user, document=self.document, folder=folder, name=name
                )
        _carry_properties(self, dest_path, move=is_move, with_children=False)

    def support_recursive_move(self, dest_path):
        return True

    def move_recursive(self, dest_path):
        self.remove_all_locks(recursive=False)
        self.copy_move_single(dest_path, is_move=True)


class WorkspacesProvider(DAVProvider):
    def get_resource_inst(self, path, environ):
        ctx = _Context(environ)
        parts = [p for p in path.strip("/").split("/") if p]
        root = RootCollection("/", environ, ctx)
        if not parts:
            return root
        workspace = ctx.workspace(parts[0])
        if workspace is None:
            return None
        if len(parts) == 1:
            return FolderCollection(f"/{parts[0]}", environ, ctx, workspace, None)
        parent = _resolve(workspace, parts[1:-1])
        if parent is False:
            return None
        holder = FolderCollection("/" + "/".join(parts[:-1]), environ, ctx, workspace, parent)
        return holder.get_member(parts[-1])


def _config() -> dict:
    return {
        "mount_path": MOUNT,
        "provider_mapping": {"/": WorkspacesProvider()},
        "http_authenticator": {
            "domain_controller": AppPasswordDomainController,
            "accept_basic": True,
            "accept_digest": False,
            "default_to_digest": False,
        },
        "lock_storage": DatabaseLockStorage(),
        "property_manager": True,
        "verbose": 1,
        "logging": {"enable": False, "enable_loggers": []},
        "dir_browser": {"enable": False},
        "cors": {"allow_origin": None},
    }


_app: WsgiDAVApp | None = None


def application() -> WsgiDAVApp:
    global _app
    if _app is None:
        _app = WsgiDAVApp(_config())
    return _app


def _streamed(first: list, rest, body):
    try:
        yield from chain(first, rest)
    finally:
        if hasattr(body, "close"):
            body.close()


@csrf_exempt
def dav_view(request, path: str = ""):
    """Hand the request to WsgiDAV as it came (its body still unread, its WSGI path) and
    stream the answer back through Django."""
    captured: dict = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    environ = dict(request.environ)
    # Mounted at /dav: WsgiDAV expects the mount in SCRIPT_NAME, its own path in PATH_INFO.
    environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "").rstrip("/") + MOUNT
    # Django decoded the path; WSGI carries it as UTF-8 bytes read as ISO-8859-1.
    path_info = request.path_info[len(MOUNT) :] or "/"
    environ["PATH_INFO"] = path_info.encode("utf-8").decode("iso-8859-1")
    # Django's request reads its body through a stream bounded by Content-Length.
    environ["wsgi.input"] = request
    body = application()(environ, start_response)
    rest = iter(body)
    first = []
    if "status" not in captured:  # a WSGI app may answer on its first chunk
        first = [next(rest, b"")]
    response = StreamingHttpResponse(
        _streamed(first, rest, body), status=int(captured["status"].split()[0])
    )
    for name, value in captured["headers"]:
        response[name] = value
    return response
