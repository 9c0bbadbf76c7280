"""Browser journeys in Debian's Chromium, driven by Playwright (never `playwright install`).

Without Chromium these tests are skipped with a message saying how to enable them; with
EMEGALIS_REQUIRE_BROWSER=1 (set by .ci/run) a missing browser is a failure instead.
"""

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Playwright's sync API runs an event loop in the test thread; the Django ORM calls made by
# the test itself are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        message = (
            "Chromium est absent : parcours navigateur ignoré. "
            "Pour l'exécuter : sudo apt-get install chromium chromium-driver"
        )
        if os.environ.get("EMEGALIS_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (EMEGALIS_REQUIRE_BROWSER=1 : échec)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def demo_region(transactional_db):
    from emegalis.demo.region import load_demo_region

    return load_demo_region()
