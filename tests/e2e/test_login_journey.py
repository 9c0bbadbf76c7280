"""A commune's référent logs in, sees the dashboard, switches organisation and logs out."""

import re

import pytest
from playwright.sync_api import expect

from emegalis.demo.region import DEMO_PASSWORD, demo_email

pytestmark = pytest.mark.browser


def test_referent_logs_in_switches_organisation_and_logs_out(page, demo_region):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("administration électronique")
    page.get_by_role("link", name="Se connecter").first.click()

    page.get_by_label("Adresse électronique").fill(demo_email("referent.lorient"))
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))
    expect(page.locator("#dashboard-organisation")).to_contain_text("Commune de Lorient (démo)")
    # The commune's charter opens every service.
    expect(page.locator('[data-service="actes"]')).to_have_attribute("data-enabled", "true")

    page.get_by_label("Organisation").select_option(label="CCAS de Lorient (démo)")
    page.get_by_role("button", name="Changer").click()
    expect(page.locator("#dashboard-organisation")).to_contain_text("CCAS de Lorient (démo)")
    expect(page.get_by_role("status")).to_contain_text("CCAS de Lorient")
    # The CCAS's convention opens procurement and acts, not the collaborative tools.
    expect(page.locator('[data-service="collaboratif"]')).to_have_attribute("data-enabled", "false")

    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("link", name="Se connecter").first).to_be_visible()
    page.goto("/tableau-de-bord/")
    expect(page).to_have_url(re.compile(r"/compte/connexion/\?next="))


def test_wrong_password_shows_french_error(page, demo_region):
    page.goto("/compte/connexion/")
    page.get_by_label("Adresse électronique").fill(demo_email("referent.lorient"))
    page.get_by_label("Mot de passe").fill("pas-le-bon-mot-de-passe")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_contain_text("mot de passe incorrect")
