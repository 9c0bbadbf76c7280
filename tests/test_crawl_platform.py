"""Every page outside the procurement room (accounts, organisations, adhésions, operator,
actes, prefecture, groupements, collaboratif, S²LOW-style API), GET and empty POST, for every
kind of visitor on the demo region: no 500 whatever the identifiers. The procurement room has
its own crawl (tests/marches/test_crawl.py)."""

import itertools

import pytest
from django.urls import URLResolver, get_resolver, reverse

from emegalis.demo.region import demo_email, load_demo_region
from emegalis.organisations.models import User
from tests.factories import PASSWORD

MISSING = 999_999
VALUES = {"int": [1, 2, 3, MISSING], "str": ["marches", "actes", "inconnu"]}
# Not crawled: logging out or switching off the second factor would end the visitor's
# session; the password-reset link needs a signed token; prefixes with their own tests.
SKIP_NAMES = {"logout", "account_security_disable", "password_reset_confirm", None}
SKIP_PREFIXES = ("marches/", "api/", "admin/", "static", "^media")
NO_POST = {"member_deactivate", "member_reactivate", "api_key_revoke"}


def _patterns(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def _targets() -> list[tuple[str, str]]:
    targets = []
    for path, pattern in _patterns(get_resolver().url_patterns):
        if pattern.name in SKIP_NAMES or path.startswith(SKIP_PREFIXES):
            continue
        converters = pattern.pattern.converters
        names = list(converters)
        kinds = [
            "int" if type(c).__name__ == "IntConverter" else "str" for c in converters.values()
        ]
        for combo in itertools.product(*(VALUES[k] for k in kinds)):
            url = reverse(pattern.name, kwargs=dict(zip(names, combo, strict=True)))
            targets.append((pattern.name, url))
    return targets


@pytest.mark.django_db
def test_no_platform_page_answers_500_to_any_visitor(client, login, login_verified):
    load_demo_region()
    targets = _targets()
    failures = []
    visitors = (
        None,
        "referent.lorient",
        "coordinateur.agglo",  # the groupements' coordinator side
        "actes.lanester",
        "prefecture",
        "operateur",
    )
    for visitor in visitors:
        client.logout()
        user = User.objects.get(email=demo_email(visitor)) if visitor else None
        if user is not None:
            user.set_password(PASSWORD)  # the fixtures log in with the tests' password
            user.save(update_fields=["password"])
            if visitor == "operateur":
                login_verified(user)
            else:
                login(user)
        for name, url in targets:
            methods = ("get",) if name in NO_POST else ("get", "post")
            for method in methods:
                response = getattr(client, method)(url)
                if response.status_code >= 500:
                    failures.append(f"{visitor} {method.upper()} {url} → {response.status_code}")
    assert not failures, "\n".join(failures)
    assert len(targets) > 100
    assert any(url.startswith("/groupements/marches/") for _, url in targets)
