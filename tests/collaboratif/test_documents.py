"""Documents: every upload of an existing name is a kept version, versions restore, names are
checked, the quota and the size cap refuse with nothing stored, the trash restores and empties,
a folder never moves into itself, and a lecteur or an archived workspace writes nothing."""

from io import BytesIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from emegalis.collaboratif import services
from emegalis.collaboratif.models import Document, Folder, Version
from emegalis.core.models import JournalEntry

from .helpers import join, side, workspace_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def space():
    owner = side()
    return owner, workspace_of(owner)


def _put(owner, workspace, name, data, folder=None, comment=""):
    return services.upload(
        actor=owner.agent,
        workspace=workspace,
        folder=folder,
        name=name,
        content=BytesIO(data),
        comment=comment,
    )


def test_an_upload_of_the_same_name_is_a_new_version_and_none_is_lost(space):
    owner, workspace = space
    first = _put(owner, workspace, "note.odt", b"premier jet")
    second = _put(owner, workspace, "note.odt", b"second jet", comment="relu")
    assert (first.number, second.number) == (1, 2) and first.document == second.document
    assert second.comment == "relu" and second.size == len(b"second jet")
    assert Document.objects.count() == 1
    assert first.file.open("rb").read() == b"premier jet"
    restored = services.restore_version(actor=owner.agent, document=first.document, number=1)
    assert restored.number == 3 and restored.restored_from == 1
    assert restored.file.open("rb").read() == b"premier jet"
    assert [v.number for v in first.document.versions.all()] == [3, 2, 1]
    assert JournalEntry.objects.filter(action="collaboratif.version_added").count() == 2
    assert JournalEntry.objects.filter(action="collaboratif.version_restored").count() == 1


@pytest.mark.parametrize(
    "name, message",
    [
        ("a/b.txt", "séparateurs"),
        ("..", "« .. »"),
        ("bad\x07name", "contrôle"),
        ("x" * 201, "200 caractères"),
        ("   ", "vide"),
    ],
)
def test_bad_names_are_refused_and_nothing_is_stored(space, name, message):
    owner, workspace = space
    with pytest.raises(ValidationError, match=message):
        _put(owner, workspace, name, b"contenu")
    assert not Document.objects.exists() and not Version.objects.exists()


def test_the_quota_and_the_size_cap_refuse_with_nothing_stored(space, settings):
    owner, workspace = space
    workspace.quota_bytes = 10
    workspace.save()
    _put(owner, workspace, "petit.txt", b"123456")
    with pytest.raises(ValidationError, match="quota de l'espace est atteint"):
        _put(owner, workspace, "grand.txt", b"12345")
    settings.COLLABORATIF_MAX_FILE_BYTES = 4
    with pytest.raises(ValidationError, match="taille maximale"):
        _put(owner, workspace, "petit.txt", b"12345")
    assert Version.objects.count() == 1 and Document.objects.count() == 1


def test_trash_restore_and_empty(space, django_capture_on_commit_callbacks):
    owner, workspace = space
    folder = services.create_folder(actor=owner.agent, workspace=workspace, parent=None, name="CR")
    version = _put(owner, workspace, "cr.pdf", b"%PDF-1.4 compte rendu", folder=folder)
    stored = version.file.name
    services.trash(actor=owner.agent, item=folder)
    with pytest.raises(ValidationError, match="n'existe pas"):
        _put(owner, workspace, "autre.pdf", b"x", folder=folder)
    # The name is free again while the folder is in the trash; restoring then asks to rename.
    again = services.create_folder(actor=owner.agent, workspace=workspace, parent=None, name="CR")
    with pytest.raises(ValidationError, match="existe de nouveau"):
        services.restore(actor=owner.agent, item=folder)
    services.rename_folder(actor=owner.agent, folder=again, name="CR bis")
    services.restore(actor=owner.agent, item=folder)
    folder.refresh_from_db()
    assert folder.trashed_at is None
    services.trash(actor=owner.agent, item=version.document)
    storage = Version._meta.get_field("file").storage
    assert storage.exists(stored)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.empty_trash(actor=owner.agent, workspace=workspace) == 1
    assert not Document.objects.exists() and not storage.exists(stored)


def test_a_folder_never_moves_into_itself(space):
    owner, workspace = space
    parent = services.create_folder(actor=owner.agent, workspace=workspace, parent=None, name="A")
    child = services.create_folder(actor=owner.agent, workspace=workspace, parent=parent, name="B")
    for destination in (parent, child):
        with pytest.raises(ValidationError, match="dans lui-même"):
            services.rename_folder(actor=owner.agent, folder=parent, name="A", parent=destination)
    assert Folder.objects.get(pk=parent.pk).parent is None


def test_a_lecteur_and_an_archived_workspace_write_nothing(space):
    owner, workspace = space
    reader = side()
    join(workspace, owner.agent, reader, role="lecteur")
    with pytest.raises(PermissionDenied, match="lecteur"):
        _put(reader, workspace, "x.txt", b"x")
    with pytest.raises(PermissionDenied, match="lecteur"):
        services.create_folder(actor=reader.agent, workspace=workspace, parent=None, name="X")
    services.set_archived(actor=owner.agent, workspace=workspace, archived=True)
    with pytest.raises(PermissionDenied, match="archivé"):
        _put(owner, workspace, "x.txt", b"x")
    services.set_archived(actor=owner.agent, workspace=workspace, archived=False)
    _put(owner, workspace, "x.txt", b"x")


def test_a_lock_keeps_others_from_overwriting_until_it_is_released(space):
    owner, workspace = space
    colleague = side()
    join(workspace, owner.agent, colleague)
    document = _put(owner, workspace, "budget.ods", b"v1").document
    lock = services.lock_document(actor=owner.agent, document=document)
    assert services.lock_of(document) == lock
    with pytest.raises(ValidationError, match="verrouillé par"):
        _put(colleague, workspace, "budget.ods", b"v2")
    with pytest.raises(ValidationError, match="verrouillé par"):
        services.lock_document(actor=colleague.agent, document=document)
    with pytest.raises(PermissionDenied):
        services.unlock_document(actor=colleague.agent, document=document)
    _put(owner, workspace, "budget.ods", b"v2 du titulaire du verrou")
    services.unlock_document(actor=owner.agent, document=document)
    _put(colleague, workspace, "budget.ods", b"v3")
    assert document.versions.count() == 3


def test_membership_invitations_roles_and_the_last_administrator(space):
    owner, workspace = space
    other = side()
    _, secret = services.invite(
        actor=owner.agent, workspace=workspace, email=other.agent.email, role="lecteur"
    )
    stranger = side()
    with pytest.raises(PermissionDenied, match="adressée à"):
        services.accept_invitation(
            actor=stranger.agent, organisation=stranger.organisation, secret=secret
        )
    member = services.accept_invitation(
        actor=other.agent, organisation=other.organisation, secret=secret
    )
    with pytest.raises(ValidationError, match="déjà servi"):
        services.accept_invitation(
            actor=other.agent, organisation=other.organisation, secret=secret
        )
    closed = side("marches")  # the service is not open to this organisation
    _, secret2 = services.invite(
        actor=owner.agent, workspace=workspace, email=closed.agent.email, role="lecteur"
    )
    with pytest.raises(PermissionDenied, match="Outils collaboratifs"):
        services.accept_invitation(
            actor=closed.agent, organisation=closed.organisation, secret=secret2
        )
    admin = workspace.members.get(user=owner.agent)
    with pytest.raises(ValidationError, match="au moins un administrateur"):
        services.set_role(actor=owner.agent, member=admin, role="lecteur")
    with pytest.raises(ValidationError, match="dernier administrateur"):
        services.remove_member(actor=owner.agent, member=admin)
    with pytest.raises(PermissionDenied):
        services.set_role(actor=other.agent, member=member, role="administrateur")
    services.set_role(actor=owner.agent, member=member, role="administrateur")
    services.remove_member(actor=owner.agent, member=admin)  # another administrator remains
    assert list(workspace.members.values_list("user", flat=True)) == [other.agent.pk]
