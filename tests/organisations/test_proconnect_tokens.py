"""The relying party's checks on each token, with tokens genuinely signed by a key the local
provider publishes (its /_sign endpoint), but saying the wrong thing."""

import time

import jwt
import pytest
from django.core.exceptions import SuspiciousOperation

from emegalis.organisations.proconnect.client import ProConnectClient
from tests.proconnect import CLIENT_ID

NONCE = "n" * 48


@pytest.fixture
def rp(proconnect):
    return ProConnectClient()


@pytest.fixture
def id_claims(proconnect):
    now = int(time.time())
    return {
        "iss": proconnect.url,
        "aud": CLIENT_ID,
        "sub": "agent-1",
        "nonce": NONCE,
        "iat": now,
        "exp": now + 60,
        "acr": "eidas1",
    }


def test_a_well_formed_id_token_passes(rp, proconnect, id_claims):
    assert rp.verify_token(proconnect.sign(id_claims), nonce=NONCE)["sub"] == "agent-1"
    listed = id_claims | {"aud": [CLIENT_ID, "another-client"], "azp": CLIENT_ID}
    assert rp.verify_token(proconnect.sign(listed), nonce=NONCE)["sub"] == "agent-1"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"aud": "another-client"}, "issued for another client"),
        ({"aud": ["another-client"]}, "issued for other clients"),
        ({"aud": None}, "no audience"),
        ({"iss": "https://faux-proconnect.example"}, "another issuer"),
        ({"iss": None}, "no issuer"),
        ({"azp": "another-client"}, "authorised for another party"),
        ({"nonce": "m" * 48}, "another sign-in's nonce"),
        ({"nonce": None}, "no nonce"),
        ({"sub": None}, "no subject"),
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"iat": int(time.time()) + 3600}, "issued in the future"),
    ],
)
def test_an_id_token_saying_the_wrong_thing_is_refused(rp, proconnect, id_claims, change, why):
    claims = {k: v for k, v in (id_claims | change).items() if v is not None}
    with pytest.raises(SuspiciousOperation):
        rp.verify_token(proconnect.sign(claims), nonce=NONCE)
        pytest.fail(why)


def test_a_token_signed_by_another_key_or_algorithm_is_refused(rp, id_claims):
    unsigned = jwt.encode(id_claims, "a-shared-secret-of-32-bytes-long!", algorithm="HS256")
    with pytest.raises(SuspiciousOperation):
        rp.verify_token(unsigned, nonce=NONCE)
    with pytest.raises(SuspiciousOperation):
        rp.verify_token("not.a.jwt", nonce=NONCE)


def test_userinfo_checks_issuer_and_audience_when_it_names_them(rp, proconnect):
    plain = {"sub": "agent-1", "email": "agent@lorient.fr"}
    assert rp.verify_token(proconnect.sign(plain))["email"] == "agent@lorient.fr"
    for wrong in ({"aud": "another-client"}, {"iss": "https://faux-proconnect.example"}):
        with pytest.raises(SuspiciousOperation):
            rp.verify_token(proconnect.sign(plain | wrong))
