"""Every endpoint of the REST API (from its own OpenAPI document), every method, with a
buyer's key, a company's key, an actes agent's key and no key, on the demo region, with
existing and missing ids and an empty or malformed body: no 500."""

import itertools
import re

import pytest

from emegalis.api import api
from emegalis.demo.region import demo_email, load_demo_region
from emegalis.organisations import services as account_services
from emegalis.organisations.models import User

MISSING = 999_999
BODIES = [b"", b"{}", b"{pas du json"]


def _urls(path: str) -> list[str]:
    names = re.findall(r"{(\w+)}", path)
    urls = []
    for combo in itertools.product(*([1, 2, MISSING] for _ in names)):
        url = path
        for name, value in zip(names, combo, strict=True):
            url = url.replace("{" + name + "}", str(value))
        urls.append(url)
    return urls


def _key(local_part: str) -> dict:
    user = User.objects.get(email=demo_email(local_part))
    organisation = user.memberships.first().organisation
    _, raw = account_services.create_api_key(user=user, organisation=organisation, name="crawl")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.django_db
def test_no_api_endpoint_answers_500(client):
    load_demo_region()
    schema = api.get_openapi_schema()
    visitors = [{}] + [_key(p) for p in ("acheteur.agglo", "entreprise.armor", "actes.lanester")]
    failures = []
    calls = 0
    for path, operations in schema["paths"].items():
        for url, method in itertools.product(_urls(path), operations):
            for headers, body in itertools.product(visitors, BODIES):
                extra = dict(headers, HTTP_UPLOAD_OFFSET="0")
                response = client.generic(
                    method.upper(), url, body, content_type="application/json", **extra
                )
                calls += 1
                if response.status_code >= 500:
                    failures.append(f"{method.upper()} {url} {body!r} → {response.status_code}")
    assert not failures, "\n".join(failures)
    assert calls > 500
