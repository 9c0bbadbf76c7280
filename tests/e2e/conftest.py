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


# Every page of every journey reports what the Content-Security-Policy blocked: the
# `securitypolicyviolation` events (through a binding, so they survive navigations) and
# Chromium's console messages about the policy. A journey that triggered one fails.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.emegalisCspViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} `
    + `on ${event.documentURI} (${event.sourceFile}:${event.lineNumber})`
  );
});
"""


@pytest.fixture
def csp_violations() -> list[str]:
    """What the browser refused under the Content-Security-Policy during the test."""
    return []


@pytest.fixture
def page(browser, live_server, csp_violations):
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    context.expose_function("emegalisCspViolation", lambda text: csp_violations.append(text))
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.on(
        "console",
        lambda message: (
            csp_violations.append(f"console: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.set_default_timeout(10_000)
    yield page
    if not page.is_closed():
        page.wait_for_timeout(50)  # let the last reports cross the binding
    context.close()
    assert csp_violations == [], "Le navigateur a bloqué au titre de la CSP :\n" + "\n".join(
        csp_violations
    )


@pytest.fixture
def demo_region(transactional_db):
    from emegalis.demo.region import load_demo_region

    return load_demo_region()


def pytest_terminal_summary(terminalreporter):
    """The accessibility crawl's figures: pages audited per role."""
    from tests.e2e.test_site_audit import AUDITED

    if AUDITED:
        terminalreporter.section("audit d'accessibilité (axe-core, 390 px)")
        for role, count in AUDITED.items():
            terminalreporter.write_line(f"{role:>24} : {count} pages auditées")
        terminalreporter.write_line(f"{'total':>24} : {sum(AUDITED.values())} pages")
