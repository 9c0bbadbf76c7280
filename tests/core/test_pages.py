"""The pages everyone can read: legal notices, accessibility, personal data, terms, site map
and help, linked from every page's footer, with the publisher taken from settings."""

import html

import pytest

from emegalis.core.help_topics import TOPICS

pytestmark = pytest.mark.django_db

PAGES = (
    "/mentions-legales/",
    "/accessibilite/",
    "/donnees-personnelles/",
    "/cgu/",
    "/plan-du-site/",
    "/aide/",
)


def test_every_legal_and_help_page_answers_and_is_linked_from_the_footer(client):
    home = client.get("/").content.decode()
    for url in PAGES:
        assert client.get(url).status_code == 200, url
        assert f'href="{url}"' in home, url
    for topic in TOPICS:
        page = client.get(f"/aide/{topic.slug}/")
        assert page.status_code == 200 and topic.title in html.unescape(page.content.decode())
    assert client.get("/aide/inconnu/").status_code == 404


def test_the_publisher_host_and_dpo_come_from_settings(client, settings):
    settings.PLATFORM_IDENTITY = {
        **settings.PLATFORM_IDENTITY,
        "publisher": "le Syndicat mixte Exemple",
        "host": "Hébergeur Exemple SAS",
        "dpo_email": "dpo@exemple.test",
    }
    notice = client.get("/mentions-legales/").content.decode()
    assert "le Syndicat mixte Exemple" in notice and "Hébergeur Exemple SAS" in notice
    data = client.get("/donnees-personnelles/").content.decode()
    assert "dpo@exemple.test" in data
    # Each service says what it keeps and for how long.
    for service in ("Salle des marchés", "Contrôle de légalité", "Journal", "Formations"):
        assert service in data


def test_the_accessibility_declaration_states_its_audit(client, settings):
    page = client.get("/accessibilite/").content.decode()
    audit = settings.ACCESSIBILITY_AUDIT
    assert audit["date"] in page and audit["tool"] in page and str(audit["pages"]) in page
    assert "partiellement conforme" in page and "Défenseur des droits" in page


def test_the_declared_axe_version_is_the_one_installed():
    import json
    from pathlib import Path

    from django.conf import settings

    package = json.loads((Path(__file__).parents[2] / "package.json").read_text())
    assert (
        settings.ACCESSIBILITY_AUDIT["tool"] == f"axe-core {package['devDependencies']['axe-core']}"
    )


def test_the_terms_show_their_version(client, settings):
    assert settings.TERMS_VERSION in client.get("/cgu/").content.decode()


def test_the_api_documentation_loads_swagger_ui_from_the_platform(client):
    page = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200
