"""Shared steps of the browser journeys: logging a demo account in, second factor included."""

import re
import time

from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from emegalis.demo.region import DEMO_PASSWORD, demo_email
from tests.factories import token_for


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
