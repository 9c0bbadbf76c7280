"""A consultation's buyers open a workspace for its team in the outils collaboratifs; the
organisation's convention must open that service; nobody else reaches it."""

import html
from datetime import date

import pytest

from emegalis.collaboratif.models import Workspace
from emegalis.core.services_catalog import Service
from emegalis.organisations.roles import Role
from tests.factories import make_convention, make_member

pytestmark = pytest.mark.django_db


def test_the_buyers_open_the_team_workspace(
    client, login, make_consultation, buyer_a, commune_a, buyer_b
):
    consultation = make_consultation(publish=False)
    url = f"/marches/acheteur/{consultation.pk}/equipe/"
    login(buyer_a)
    response = client.post(url, follow=True)
    assert "n'ouvre pas les outils collaboratifs" in html.unescape(response.content.decode())
    assert not Workspace.objects.exists()
    make_convention(commune_a, [Service.COLLABORATIF], start=date(2020, 1, 1), end=None)
    colleague = make_member(commune_a, Role.ACHETEUR)
    response = client.post(url)
    workspace = Workspace.objects.get(source=f"consultation:{consultation.pk}")
    assert response["Location"] == f"/collaboratif/{workspace.pk}/"
    assert dict(workspace.members.values_list("user", "role")) == {
        buyer_a.pk: "administrateur",
        colleague.pk: "contributeur",
    }
    page = client.get(f"/marches/acheteur/{consultation.pk}/").content.decode()
    assert "Ouvrir l'espace collaboratif de l'équipe" in html.unescape(page)
    client.logout()
    login(buyer_b)
    assert client.post(url).status_code == 404
    assert workspace.members.count() == 2
