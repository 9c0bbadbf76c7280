"""The collaboratif API: workspaces, documents streamed down and up (a PUT makes a version),
events; a non-member gets 404; a lecteur writes nothing; the quota answers 507."""

from io import BytesIO

import pytest

from emegalis.collaboratif import services
from emegalis.collaboratif.models import Version
from emegalis.organisations import services as account_services

from .helpers import join, side, workspace_of

pytestmark = pytest.mark.django_db


def _key(who) -> dict:
    _, raw = account_services.create_api_key(
        user=who.agent, organisation=who.organisation, name="test"
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def space():
    owner = side()
    workspace = workspace_of(owner)
    services.upload(
        actor=owner.agent, workspace=workspace, folder=None, name="cr.txt", content=BytesIO(b"v1")
    )
    return owner, workspace


def test_documents_go_up_and_down_as_versions(client, space):
    owner, workspace = space
    auth = _key(owner)
    listed = client.get("/api/v1/collaboratif/espaces", **auth).json()
    assert [w["slug"] for w in listed] == [workspace.slug] and listed[0]["role"] == "administrateur"
    url = f"/api/v1/collaboratif/espaces/{workspace.pk}/documents"
    response = client.put(
        f"{url}?nom=cr.txt&commentaire=relu",
        b"v2 du compte rendu",
        content_type="application/octet-stream",
        **auth,
    )
    assert response.status_code == 201, response.content
    assert response.json()["number"] == 2 and response.json()["comment"] == "relu"
    (document,) = client.get(url, **auth).json()
    assert document["version"] == 2 and document["size"] == len(b"v2 du compte rendu")
    down = client.get(f"/api/v1/collaboratif/documents/{document['id']}/contenu", **auth)
    assert b"".join(down.streaming_content) == b"v2 du compte rendu"
    versions = client.get(f"/api/v1/collaboratif/documents/{document['id']}/versions", **auth)
    assert [v["number"] for v in versions.json()] == [2, 1]
    bad = client.put(f"{url}?nom=../x", b"x", content_type="application/octet-stream", **auth)
    assert bad.status_code == 422 and "séparateurs" in bad.json()["errors"][0]
    workspace.quota_bytes = 20
    workspace.save()
    full = client.put(
        f"{url}?nom=gros.bin", b"x" * 50, content_type="application/octet-stream", **auth
    )
    assert full.status_code == 507 and "quota" in full.json()["detail"]
    assert Version.objects.count() == 2


def test_non_members_and_lecteurs(client, space):
    owner, workspace = space
    outsider, reader = side(), side()
    join(workspace, owner.agent, reader, role="lecteur")
    url = f"/api/v1/collaboratif/espaces/{workspace.pk}/documents"
    assert client.get(url, **_key(outsider)).status_code == 404
    assert client.get("/api/v1/collaboratif/espaces", **_key(outsider)).json() == []
    refused = client.put(
        f"{url}?nom=cr.txt", b"x", content_type="application/octet-stream", **_key(reader)
    )
    assert refused.status_code == 403 and "lecteur" in refused.json()["detail"]
    assert client.get(url, **_key(reader)).status_code == 200


def test_events_through_the_api(client, space):
    owner, workspace = space
    guest = side()
    join(workspace, owner.agent, guest)
    url = f"/api/v1/collaboratif/espaces/{workspace.pk}/evenements"
    payload = {
        "title": "Comité",
        "starts_at": "2027-03-01T09:00:00+01:00",
        "ends_at": "2027-03-01T08:00:00+01:00",
        "attendee_ids": [guest.agent.pk],
    }
    response = client.post(url, payload, content_type="application/json", **_key(owner))
    assert response.status_code == 422 and "après son début" in response.json()["errors"][0]
    payload["ends_at"] = "2027-03-01T11:00:00+01:00"
    response = client.post(url, payload, content_type="application/json", **_key(owner))
    assert response.status_code == 201 and response.json()["attendees"] == [guest.agent.email]
    assert [e["title"] for e in client.get(url, **_key(guest)).json()] == ["Comité"]
