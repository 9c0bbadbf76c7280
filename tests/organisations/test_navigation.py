"""A person is offered a link only if it leads somewhere they may go: the menu and the
dashboard's service cards follow the convention and the person's roles."""

import pytest

from emegalis.demo.region import demo_email, load_demo_region
from emegalis.organisations.models import User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_client(client, login):
    load_demo_region()

    def _as(local_part):
        user = User.objects.get(email=demo_email(local_part))
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        client.logout()
        login(user)
        return client

    return _as


def test_a_buyer_without_the_actes_role_is_not_sent_to_the_actes_pages(demo_client):
    page = demo_client("acheteur.agglo").get("/tableau-de-bord/").content.decode()
    assert 'href="/services/actes/"' not in page and 'href="/actes/"' not in page
    assert "réservé au rôle Agent actes" in page
    assert 'href="/services/marches/"' in page and 'href="/marches/acheteur/"' in page


def test_an_actes_agent_is_offered_the_actes_pages(demo_client):
    page = demo_client("actes.lanester").get("/tableau-de-bord/").content.decode()
    assert 'href="/services/actes/"' in page and 'href="/actes/"' in page


def test_a_company_gets_its_own_home_and_menu(demo_client):
    page = demo_client("entreprise.armor").get("/tableau-de-bord/").content.decode()
    assert "Aucune convention" not in page and "Non ouvert" not in page
    assert "Mes dépôts et accusés de réception" in page
    assert 'href="/marches/acheteur/"' not in page  # no buyer space for a company
    home = demo_client("entreprise.armor").get("/marches/entreprise/").content.decode()
    # Not a référent of its company: no link to a page it may not open.
    assert "/utilisateurs/" not in home


def test_the_prefecture_menu_follows_the_counterpart_setting(demo_client, settings):
    settings.PREFECTURE_COUNTERPART_ENABLED = False
    page = demo_client("prefecture").get("/tableau-de-bord/").content.decode()
    assert 'href="/prefecture/"' not in page
    assert 'href="/marches/entreprise/"' not in page and 'href="/marches/acheteur/"' not in page
    settings.PREFECTURE_COUNTERPART_ENABLED = True
    page = demo_client("prefecture").get("/tableau-de-bord/").content.decode()
    assert 'href="/prefecture/"' in page
