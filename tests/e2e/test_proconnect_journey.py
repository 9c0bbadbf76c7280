"""An agent signs in with ProConnect (the local provider, a real OpenID provider process),
lands on the dashboard of the organisation its SIRET names, and signs out through the
provider."""

import re

import pytest
from playwright.sync_api import expect

from emegalis.demo.region import demo_email
from emegalis.organisations.models import Organisation, ProConnectIdentity

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
    page.get_by_role("button", name="Authorize").click()

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
