"""The main pages under the production Content-Security-Policy, in Chromium: nothing is
blocked (the `page` fixture collects every violation the browser reports), scripts still run
(the workstation check fills its fields, Bootstrap and htmx load), and the collector does see
a violation when one happens."""

import re

import pytest
from playwright.sync_api import expect

from emegalis.actes.models import Transaction
from emegalis.demo.region import DEMO_PASSWORD, demo_email
from emegalis.marches.consultations.models import Consultation

pytestmark = pytest.mark.browser


def log_in(page, local_part):
    page.goto("/compte/connexion/")
    page.get_by_label("Adresse électronique").fill(demo_email(local_part))
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))


def visit(page, url):
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, policy
    # The shared scripts ran: htmx (from its static file) is there.
    assert page.evaluate("() => typeof window.htmx") == "object", url


def test_main_pages_raise_no_csp_violation(page, demo_region, csp_violations):
    consultation = Consultation.objects.get(reference="DEMO-2026-001")
    acte = Transaction.objects.filter(numero_interne="DEMO2026_001").get()

    for url in ("/", "/compte/connexion/", "/compte/mot-de-passe/oubli/", "/marches/"):
        visit(page, url)
    visit(page, f"/marches/consultations/{consultation.pk}/")

    # The workstation check's script is a static file now: it still fills the page.
    visit(page, "/marches/test/")
    expect(page.locator("#check-js")).to_have_text("activé")
    expect(page.locator("#check-cookies")).to_have_text("activés")

    log_in(page, "entreprise.armor")
    visit(page, "/tableau-de-bord/")
    visit(page, f"/marches/consultations/{consultation.pk}/depot/")
    page.get_by_role("button", name="Se déconnecter").click()

    log_in(page, "referent.lorient")
    visit(page, "/actes/")
    visit(page, f"/actes/{acte.pk}/")
    visit(page, "/compte/securite/")
    # A select styled by Bootstrap (its arrow is a data: image) on a page with a form.
    expect(page.locator("#organisation-select")).to_be_visible()

    page.wait_for_timeout(100)
    assert csp_violations == []


def test_the_collector_sees_a_violation(page, demo_region, csp_violations):
    page.goto("/")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.body.append(script);
            const div = document.createElement("div");
            div.setAttribute("style", "color: red");
            document.body.append(div);
        }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.injected === undefined")
    assert any("script-src" in v for v in csp_violations), csp_violations
    assert any("style-src" in v for v in csp_violations), csp_violations
    csp_violations.clear()  # expected here: the fixture must not fail this test
