"""Every page of the procurement room, for every kind of visitor, on the demo region: no
500 whatever the identifiers (existing, another organisation's, missing) or an empty POST.
A safety net under the targeted tests: bad input gets an answer, never a crash."""

import itertools

import pytest
from django.urls import reverse

from emegalis.demo.region import demo_email, load_demo_region
from emegalis.marches import urls as marches_urls
from emegalis.marches.award.models import AwardLetter
from emegalis.marches.consultations.models import Consultation, DceFile, Question, SavedSearch
from emegalis.marches.deposit.models import Pli, PliFile
from emegalis.marches.messaging.models import Message
from emegalis.marches.opening.models import OpenedFile
from emegalis.organisations.models import Organisation, User
from tests.factories import PASSWORD

MISSING = 999_999
# Streams whose body is not needed to check the status.
SKIP = {"marches_dce_zip"}


def _candidates() -> dict[str, list[int]]:
    def first(model) -> list[int]:
        found = model.objects.order_by("pk").values_list("pk", flat=True).first()
        return [found] if found is not None else []

    return {
        "pk": list(Consultation.objects.values_list("pk", flat=True)) + [MISSING],
        "lot": [0, 1, 7],
        "file_pk": first(DceFile) + first(PliFile) + [MISSING],
        "pli_pk": first(Pli) + [MISSING],
        "question_pk": first(Question) + [MISSING],
        "lot_pk": [MISSING],
        "opened_pk": first(OpenedFile) + [MISSING],
        "alert_pk": first(SavedSearch) + [MISSING],
        "company_pk": list(
            Organisation.objects.filter(kind="entreprise").values_list("pk", flat=True)[:1]
        )
        + [MISSING],
        "message_pk": first(Message) + [MISSING],
        "letter_pk": first(AwardLetter) + [MISSING],
    }


def _urls() -> list[str]:
    values = _candidates()
    found = []
    for pattern in marches_urls.urlpatterns:
        if pattern.name in SKIP or pattern.name is None:
            continue
        names = list(pattern.pattern.converters)
        for combo in itertools.product(*(values[name] for name in names)):
            found.append(reverse(pattern.name, kwargs=dict(zip(names, combo, strict=True))))
    return found


@pytest.mark.django_db
def test_no_page_answers_500_to_any_visitor(client, login, login_verified):
    load_demo_region()
    urls = _urls()
    visitors = [
        None,
        "acheteur.agglo",
        "entreprise.armor",
        "entreprise.breizh",
        "commission.agglo",
    ]
    failures = []
    for visitor in visitors:
        client.logout()
        user = User.objects.get(email=demo_email(visitor)) if visitor else None
        if user is not None:
            user.set_password(PASSWORD)  # the fixtures log in with the tests' password
            user.save(update_fields=["password"])
        if visitor == "commission.agglo":
            login_verified(user)
        elif user is not None:
            login(user)
        for url in urls:
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                if response.status_code >= 500:
                    failures.append(f"{visitor} {method.upper()} {url} → {response.status_code}")
    assert not failures, "\n".join(failures)
    assert len(urls) > 60
