"""The whole site as each demo role meets it, in Chromium at 390 px: every page reached by
following links is audited by axe-core (no « serious » or « critical » violation), is no wider
than the phone's screen, and every link it offers leads somewhere its visitor may go (no 403,
no 404, no bounce to the login page).

axe-core comes from the npm registry (package.json, `make test` installs it into
node_modules); it is evaluated in the page through the DevTools protocol, so the
Content-Security-Policy stays as in production. The figures per role are printed at the end
of the run (conftest's terminal summary)."""

import re
from collections import defaultdict
from urllib.parse import urldefrag, urlsplit

import pytest
from django.urls import Resolver404, resolve
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.browsing import AXE, log_in, require_axe, serious_axe_findings

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
ROLES = (
    None,
    "entreprise.armor",
    "referent.lorient",
    "acheteur.agglo",
    "commission.agglo",
    "coordinateur.agglo",
    "actes.lanester",
    "collaboratif.ploemeur",
    "stagiaire.hennebont",
    "prefecture",
    "operateur",
)
# Pages of one route look alike: two of each are enough for the audit (every link is still
# checked). Files, the API, WebDAV and the admin are fetched for their status only.
PER_ROUTE = 2
MAX_PAGES = 60
NOT_PAGES = re.compile(r"(\.(pdf|csv|zip|xml|json|ics|xlsx|tar\.gz|txt)$)|^/(api|dav|admin|media)/")
NOT_FOLLOWED = re.compile(r"^/(compte/deconnexion|static)/")
LINKS_JS = """() => Array.from(document.querySelectorAll('a[href]'), a => a.href)"""
WIDTH_JS = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = e => e && e !== document.body && (
    getComputedStyle(e).overflowX !== "visible" || clipped(e.parentElement));
  const wide = Array.from(document.querySelectorAll("body *")).filter(
    e => e.getBoundingClientRect().right > width + 1
      && e.parentElement.getBoundingClientRect().right <= width + 1
      && !clipped(e.parentElement));
  return [document.documentElement.scrollWidth, width,
          wide.slice(0, 3).map(e => e.tagName.toLowerCase() + "." + e.className)];
}"""

AUDITED: dict[str, int] = {}


def _route(path: str) -> str:
    try:
        return resolve(path).route
    except Resolver404:
        return path


def _local(url: str, origin: str) -> str | None:
    url, _ = urldefrag(url)
    if not url.startswith(origin):
        return None
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _crawl(page, origin: str, role: str | None, problems: list[str]) -> int:
    seen_routes: dict[str, int] = defaultdict(int)
    queue, queued, checked = ["/", "/tableau-de-bord/" if role else "/marches/"], set(), {}
    queued.update(queue)
    audited = 0
    who = role or "anonyme"
    while queue and audited < MAX_PAGES:
        url = queue.pop(0)
        path = urlsplit(url).path
        if NOT_PAGES.search(path):
            continue
        route = _route(path)
        if seen_routes[route] >= PER_ROUTE:
            continue
        try:
            response = page.goto(url)
        except PlaywrightError as error:
            if "Download is starting" not in str(error):
                raise
            continue  # a file behind a page-like address: its status is checked below
        status = response.status if response else 0
        checked[url] = status
        if status != 200:
            problems.append(f"{who} : {url} → {status}")
            continue
        seen_routes[route] += 1
        audited += 1
        problems.extend(f"{who} : {url} {finding}" for finding in serious_axe_findings(page))
        scroll, client, culprits = page.evaluate(WIDTH_JS)
        if scroll > client:
            problems.append(
                f"{who} : {url} fait {scroll} px de large pour {client} px d'écran ({culprits})"
            )
        for href in page.evaluate(LINKS_JS):
            link = _local(href, origin)
            if link is None or link in queued or NOT_FOLLOWED.search(urlsplit(link).path):
                continue
            queued.add(link)
            queue.append(link)
    # Every link offered, audited or not, leads somewhere its visitor may go.
    for link in queued - checked.keys():
        if NOT_FOLLOWED.search(urlsplit(link).path):
            continue
        answer = page.request.get(link, max_redirects=5)
        final = urlsplit(answer.url).path
        if answer.status in (403, 404) or answer.status >= 500:
            problems.append(f"{who} : lien {link} → {answer.status}")
        elif role and final.startswith("/compte/connexion/"):
            problems.append(f"{who} : lien {link} → renvoi à la connexion")
    return audited


def test_every_page_of_every_role_is_accessible_fits_a_phone_and_has_no_dead_link(
    browser, live_server, demo_region
):
    require_axe()
    problems: list[str] = []
    for role in ROLES:
        context = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport=PHONE)
        context.add_init_script(path=AXE)  # through DevTools: the page's CSP stays whole
        page = context.new_page()
        page.set_default_timeout(15_000)
        if role:
            log_in(page, role)
        AUDITED[role or "anonyme"] = _crawl(page, live_server.url, role, problems)
        context.close()
    assert not problems, f"{len(problems)} problème(s) :\n" + "\n".join(problems)
    assert min(AUDITED.values()) >= 5, AUDITED
