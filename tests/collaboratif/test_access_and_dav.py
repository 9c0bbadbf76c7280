"""Who reaches what, by page and by WebDAV: a non-member gets 404 everywhere, a lecteur writes
nothing by any route, a revoked app password stops at once; WebDAV writes are versions and
trash, and its locks are the pages' locks."""

import base64
from io import BytesIO

import pytest

from emegalis.collaboratif import services
from emegalis.collaboratif.models import Document, Lock, Version
from emegalis.core.models import JournalEntry
from emegalis.organisations import services as account_services
from emegalis.organisations.models import AppPassword

from .helpers import app_password, join, side, workspace_of

pytestmark = pytest.mark.django_db

LOCK_BODY = (
    b'<?xml version="1.0" encoding="utf-8"?><lockinfo xmlns="DAV:"><lockscope><exclusive/>'
    b"</lockscope><locktype><write/></locktype><owner>poste de travail</owner></lockinfo>"
)


def _basic(user, secret) -> dict:
    raw = base64.b64encode(f"{user.email}:{secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {raw}"}


def _dav(client, method, path, auth, body=b"", **headers):
    response = client.generic(method, f"/dav/{path}", body, **auth, **headers)
    if response.streaming:
        response.body = b"".join(response.streaming_content)
    return response


@pytest.fixture
def space():
    owner = side()
    workspace = workspace_of(owner)
    document = services.upload(
        actor=owner.agent, workspace=workspace, folder=None, name="cr.txt", content=BytesIO(b"v1")
    ).document
    return owner, workspace, document


def test_a_non_member_reaches_nothing_by_page_or_webdav(client, login, space):
    owner, workspace, document = space
    outsider = side()
    version = document.current
    login(outsider.agent)
    for url in (
        f"/collaboratif/{workspace.pk}/",
        f"/collaboratif/{workspace.pk}/membres/",
        f"/collaboratif/{workspace.pk}/corbeille/",
        f"/collaboratif/documents/{document.pk}/",
        f"/collaboratif/versions/{version.pk}/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/collaboratif/{workspace.pk}/deposer/", {}).status_code == 404
    auth = _basic(outsider.agent, app_password(outsider.agent))
    assert _dav(client, "PROPFIND", f"{workspace.slug}/", auth, HTTP_DEPTH="1").status_code == 404
    assert _dav(client, "GET", f"{workspace.slug}/cr.txt", auth).status_code == 404
    assert _dav(client, "PUT", f"{workspace.slug}/x.txt", auth, b"x").status_code in (404, 409)
    listing = _dav(client, "PROPFIND", "", auth, HTTP_DEPTH="1")
    assert listing.status_code == 207 and workspace.slug.encode() not in listing.body
    assert Document.objects.count() == 1


def test_app_passwords_open_webdav_only_and_a_revoked_one_stops_at_once(client, space):
    owner, workspace, _document = space
    secret = app_password(owner.agent)
    stored = AppPassword.objects.get(user=owner.agent)
    assert secret not in (stored.secret_hash, stored.prefix + "x") and stored.last_used_at is None
    auth = _basic(owner.agent, secret)
    assert _dav(client, "GET", f"{workspace.slug}/cr.txt", auth).body == b"v1"
    stored.refresh_from_db()
    assert stored.last_used_at is not None
    assert (
        _dav(client, "GET", f"{workspace.slug}/cr.txt", _basic(owner.agent, "faux")).status_code
        == 401
    )
    assert _dav(client, "GET", f"{workspace.slug}/cr.txt", {}).status_code == 401
    # The app password opens no page and no API.
    assert client.get(f"/collaboratif/{workspace.pk}/", **auth).status_code == 302
    account_services.revoke_app_password(user=owner.agent, password=stored)
    assert _dav(client, "GET", f"{workspace.slug}/cr.txt", auth).status_code == 401


def test_webdav_put_makes_versions_and_delete_puts_in_the_trash(client, space):
    owner, workspace, document = space
    auth = _basic(owner.agent, app_password(owner.agent))
    assert _dav(client, "PUT", f"{workspace.slug}/cr.txt", auth, b"v2").status_code == 204
    assert _dav(client, "PUT", f"{workspace.slug}/neuf.txt", auth, b"n1").status_code == 201
    assert [v.number for v in document.versions.all()] == [2, 1]
    assert (
        _dav(client, "MKCOL", f"{workspace.slug}/Dossier%20%C3%A9t%C3%A9", auth).status_code == 201
    )
    assert _dav(client, "DELETE", f"{workspace.slug}/cr.txt", auth).status_code == 204
    document.refresh_from_db()
    assert document.trashed_at is not None and document.versions.count() == 2
    assert _dav(client, "GET", f"{workspace.slug}/cr.txt", auth).status_code == 404


def test_a_lecteur_cannot_write_through_webdav_or_the_page(client, login, space):
    owner, workspace, document = space
    reader = side()
    join(workspace, owner.agent, reader, role="lecteur")
    auth = _basic(reader.agent, app_password(reader.agent))
    assert _dav(client, "GET", f"{workspace.slug}/cr.txt", auth).body == b"v1"
    assert _dav(client, "PUT", f"{workspace.slug}/cr.txt", auth, b"pirate").status_code == 403
    assert _dav(client, "DELETE", f"{workspace.slug}/cr.txt", auth).status_code == 403
    assert _dav(client, "MKCOL", f"{workspace.slug}/X", auth).status_code == 403
    login(reader.agent)
    client.post(
        f"/collaboratif/{workspace.pk}/deposer/",
        {"file": BytesIO(b"pirate"), "as_name": "cr.txt"},
    )
    assert Version.objects.count() == 1 and document.versions.get().size == 2


def test_locks_are_the_same_for_the_pages_and_webdav(client, login, space):
    owner, workspace, document = space
    colleague = side()
    join(workspace, owner.agent, colleague)
    colleague_auth = _basic(colleague.agent, app_password(colleague.agent))
    # A lock taken on the page: WebDAV refuses the colleague's PUT.
    services.lock_document(actor=owner.agent, document=document)
    put = _dav(client, "PUT", f"{workspace.slug}/cr.txt", colleague_auth, b"v2")
    assert put.status_code == 423
    services.unlock_document(actor=owner.agent, document=document)
    # A lock taken through WebDAV: the page shows it and refuses the owner's upload.
    lock = _dav(
        client,
        "LOCK",
        f"{workspace.slug}/cr.txt",
        colleague_auth,
        LOCK_BODY,
        content_type="application/xml",
        HTTP_DEPTH="0",
        HTTP_TIMEOUT="Second-600",
    )
    assert lock.status_code == 200
    token = lock["Lock-Token"].strip("<>")
    assert Lock.objects.get(token=token).user == colleague.agent
    entry = JournalEntry.objects.filter(action="collaboratif.locked").latest("pk")
    assert entry.payload["via"] == "webdav" and entry.payload["path"].endswith("/cr.txt")
    login(owner.agent)
    page = client.get(f"/collaboratif/documents/{document.pk}/").content.decode()
    assert "Verrouillé par" in page
    client.post(
        f"/collaboratif/{workspace.pk}/deposer/", {"file": BytesIO(b"v2"), "as_name": "cr.txt"}
    )
    assert document.versions.count() == 1
    # The holder writes with its token, then unlocks.
    path = f"{workspace.slug}/cr.txt"
    put = _dav(client, "PUT", path, colleague_auth, b"v2", HTTP_IF=f"(<{token}>)")
    assert put.status_code == 204 and document.versions.count() == 2
    unlock = _dav(client, "UNLOCK", path, colleague_auth, HTTP_LOCK_TOKEN=f"<{token}>")
    assert unlock.status_code == 204 and not Lock.objects.exists()


def test_a_pdf_previews_in_the_page_and_downloads_otherwise(client, login, space):
    owner, workspace, _document = space
    pdf = services.upload(
        actor=owner.agent,
        workspace=workspace,
        folder=None,
        name="plan.pdf",
        content=BytesIO(b"%PDF-1.4 plan"),
        content_type="application/pdf",
    )
    login(owner.agent)
    page = client.get(f"/collaboratif/documents/{pdf.document_id}/").content.decode()
    assert f"/collaboratif/versions/{pdf.pk}/?apercu=1" in page and "<iframe" in page
    inline = client.get(f"/collaboratif/versions/{pdf.pk}/?apercu=1")
    assert inline["Content-Disposition"].startswith("inline")
    assert inline["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in inline["Content-Security-Policy"]
    download = client.get(f"/collaboratif/versions/{pdf.pk}/")
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content) == b"%PDF-1.4 plan"
