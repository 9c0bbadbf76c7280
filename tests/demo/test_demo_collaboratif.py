"""The demo region's workspaces: the buyers' network with members from three organisations
(Ploemeur's chargée de mission among them), folders, a document with two versions; one per
constituted groupement; loading twice duplicates nothing."""

import pytest

from emegalis.collaboratif.models import Document, Workspace
from emegalis.demo.region import demo_email, load_demo_region

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_shared_workspace_with_versions():
    load_demo_region()
    workspace = Workspace.objects.get(name="Réseau des acheteurs du Pays de Lorient")
    emails = set(workspace.members.values_list("user__email", flat=True))
    assert demo_email("collaboratif.ploemeur") in emails and len(emails) == 4
    assert len({m.organisation_id for m in workspace.members.all()}) == 3
    ccap = Document.objects.get(workspace=workspace, name="CCAP type fournitures.pdf")
    assert [v.number for v in ccap.versions.all()] == [2, 1]
    assert ccap.current.file.open("rb").read(5) == b"%PDF-"
    thread = workspace.threads.get()
    assert thread.posts.count() == 2 and thread.posts.last().mentions.exists()
    assert workspace.events.count() == 2
    assert workspace.events.get(recurrence="MONTHLY").attendees.count() == 3
    # The constituted groupements got theirs from the groupements service.
    sources = set(Workspace.objects.exclude(source="").values_list("source", flat=True))
    assert len(sources) == 2 and all(s.startswith("groupement:") for s in sources)
    load_demo_region()
    assert Workspace.objects.count() == 3 and Document.objects.count() == 2
