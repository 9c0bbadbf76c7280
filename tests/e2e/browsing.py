"""Shared steps of the browser journeys: logging a demo account in, second factor included;
the accessibility engine (axe-core, from node_modules) and what it finds serious."""

import os
import re
import time
from pathlib import Path

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from emegalis.demo.region import DEMO_PASSWORD, demo_email
from tests.factories import token_for

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}


def require_axe() -> None:
    """Skip without axe-core (a failure in CI, where EMEGALIS_REQUIRE_BROWSER=1)."""
    if not AXE.exists():
        message = (
            "axe-core est absent (node_modules) : lancez `make test`, qui l'installe avec npm."
        )
        if os.environ.get("EMEGALIS_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


def serious_axe_findings(page) -> list[str]:
    """The « serious » and « critical » WCAG 2.1 A/AA findings on the page, as
    « rule (impact) targets ». The context must have loaded AXE with add_init_script."""
    result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    return [
        f"axe {violation['id']} ({violation['impact']}) "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def fresh_token(device) -> str:
    """A code the device has not used yet (a used code is never accepted twice)."""
    while True:
        device.refresh_from_db()
        step = int(time.time() - device.t0) // device.step
        if device.last_t is None or device.last_t < step + 1:
            drift = 0 if device.last_t is None or device.last_t < step else 1
            return token_for(device, drift=drift)
        time.sleep(1)


def log_in(page, local_part: str, device=None) -> None:
    """Log a demo account in through the forms; the second factor with its demo device."""
    page.context.clear_cookies()
    page.goto("/compte/connexion/")
    page.get_by_label("Adresse électronique").fill(demo_email(local_part))
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()
    if "/compte/verification/" in page.url:
        device = device or TOTPDevice.objects.get(user__email=demo_email(local_part))
        page.locator("#id_token").fill(fresh_token(device))
        page.get_by_role("button", name="Valider").click()
    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))
