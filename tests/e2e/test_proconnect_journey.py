"""An agent signs in with ProConnect (the local provider, a real OpenID provider process),
lands on the dashboard of the organisation its SIRET names, and signs out through the
provider."""

import re

import pytest
from playwright.sync_api import expect

from emegalis.demo.region import demo_email
from emegalis.organisations.models import Organisation, ProConnectIdentity
from tests.e2e.browsing import AXE, require_axe, serious_axe_findings

pytestmark = pytest.mark.browser


def test_agent_signs_in_and_out_with_proconnect(page, demo_region, proconnect, csp_violations):
    ccas = Organisation.objects.get(name="CCAS de Lorient (démo)")
    siret = ccas.siret or f"{ccas.siren}00018"
    proconnect.add_user(
        "sub-referent-lorient",
        email=demo_email("referent.lorient"),
        given_name="Gwenaëlle",
        usual_name="Le Floc'h",
        siret=siret,
        acr="eidas1",
        amr=["pwd"],
    )

    page.goto("/compte/connexion/")
    page.get_by_role("link", name="Se connecter avec ProConnect").click()
    expect(page).to_have_url(re.compile(re.escape(proconnect.url) + r"/oauth2/authorize\?"))
    page.get_by_label("Subject").fill("sub-referent-lorient")
    page.get_by_role("button", name="Authorize", exact=True).click()

    # Her account is found by its address; the SIRET picks the CCAS, not her first membership.
    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))
    expect(page.locator("#dashboard-organisation")).to_contain_text("CCAS de Lorient (démo)")
    identity = ProConnectIdentity.objects.get(sub="sub-referent-lorient")
    assert identity.user.email == demo_email("referent.lorient")

    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile(re.escape(proconnect.url) + r"/oauth2/end_session\?"))
    assert "id_token_hint=" in page.url and "state=" in page.url
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Vous êtes déconnecté d'e-mégalis et de ProConnect."
    )
    page.goto("/tableau-de-bord/")
    expect(page).to_have_url(re.compile(r"/compte/connexion/\?next="))
    assert csp_violations == []


def test_proconnect_pages_are_accessible_on_a_phone(browser, live_server, proconnect, db):
    """The login page with its button, and the page of an unknown SIRET, pass axe at 390 px."""
    require_axe()
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", viewport={"width": 390, "height": 844}
    )
    context.add_init_script(path=AXE)
    page = context.new_page()
    proconnect.add_user("sub-unknown", email="agent@ailleurs.fr", siret="21290019700010")
    page.goto("/compte/connexion/")
    findings = serious_axe_findings(page)
    page.get_by_role("link", name="Se connecter avec ProConnect").click()
    page.get_by_label("Subject").fill("sub-unknown")
    page.get_by_role("button", name="Authorize", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("pas encore connue")
    findings += serious_axe_findings(page)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    context.close()
    assert findings == [] and width <= 390, (findings, width)
