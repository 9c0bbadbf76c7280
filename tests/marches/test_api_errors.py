"""Every error of the REST API has one body, `{"detail": "…", "errors": […]}` in French, and the
OpenAPI document declares it for the status answered (outside tester's findings, issue 9)."""

import json

import pytest
from django.test import Client
from jsonschema import Draft202012Validator

from emegalis.api import api
from emegalis.marches.consultations import services as consultations_services
from emegalis.organisations import services as account_services
from emegalis.organisations.roles import Role
from tests.factories import make_member
from tests.marches.helpers import consultation_fields

pytestmark = pytest.mark.django_db

PREFIX = "/api/v1"


@pytest.fixture(scope="module")
def openapi():
    """The document as served (status codes as strings)."""
    return json.loads(json.dumps(api.get_openapi_schema()))


def assert_documented(openapi, response, path: str, method: str) -> dict:
    """The response's status is declared for the operation and its JSON body matches the
    declared schema; returns the body."""
    operation = openapi["paths"][PREFIX + path][method]
    status = str(response.status_code)
    assert status in operation["responses"], (
        f"{method.upper()} {path}: {status} not documented ({sorted(operation['responses'])})"
    )
    body = response.json()
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    errors = list(
        Draft202012Validator({**schema, "components": openapi["components"]}).iter_errors(body)
    )
    assert not errors, f"{method.upper()} {path} → {status}: {body} breaks {schema}: {errors}"
    return body


def assert_error_body(body: dict) -> None:
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], list)
    assert all(isinstance(e, str) for e in body["errors"])
    assert "Unauthorized" not in body["detail"] and "Not Found" not in body["detail"]


@pytest.fixture
def robust_client():
    """A client that returns a server error as a response instead of raising it."""
    return Client(raise_request_exception=False)


@pytest.fixture
def buyer_headers(buyer_a, commune_a):
    _, raw = account_services.create_api_key(user=buyer_a, organisation=commune_a, name="Outil")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def draft(buyer_a, commune_a):
    return consultations_services.create_consultation(
        actor=buyer_a, organisation=commune_a, **consultation_fields()
    )


@pytest.mark.parametrize("debug", [True, False])
def test_multipart_without_boundary_on_dce_upload_is_a_french_400(
    robust_client, openapi, buyer_headers, draft, settings, debug
):
    """Was a 500 with the traceback in DEBUG, Django's English HTML 400 page otherwise."""
    settings.DEBUG = debug
    path = "/marches/acheteur/consultations/{pk}/dce"
    response = robust_client.generic(
        "POST",
        PREFIX + path.format(pk=draft.pk),
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\nA\r\n--x--',
        content_type="multipart/form-data",
        **buyer_headers,
    )
    assert response.status_code == 400, response.content[:300]
    body = assert_documented(openapi, response, path, "post")
    assert_error_body(body)
    assert "multipart" in body["detail"]
    assert "Traceback" not in response.content.decode()


def test_search_with_an_unknown_sort_is_a_documented_422(client, openapi):
    response = client.get(PREFIX + "/marches/consultations", {"sort": "null"})
    assert response.status_code == 422
    body = assert_documented(openapi, response, "/marches/consultations", "get")
    assert_error_body(body)
    assert any("sort" in e and "echeance" in e for e in body["errors"]), body


def test_commission_without_body_is_a_documented_422(client, openapi, buyer_headers, draft):
    path = "/marches/acheteur/consultations/{pk}/commission"
    response = client.generic("POST", PREFIX + path.format(pk=draft.pk), b"", **buyer_headers)
    assert response.status_code == 422
    body = assert_documented(openapi, response, path, "post")
    assert_error_body(body)
    assert body["errors"], body


def test_dce_upload_with_a_non_integer_id_is_a_documented_422(client, openapi, buyer_headers):
    path = "/marches/acheteur/consultations/{pk}/dce"
    response = client.generic("POST", PREFIX + path.format(pk="abc"), b"", **buyer_headers)
    assert response.status_code == 422
    body = assert_documented(openapi, response, path, "post")
    assert_error_body(body)
    assert any("pk" in e and "entier" in e for e in body["errors"]), body


def test_unreadable_json_body_is_a_documented_french_400(client, openapi, buyer_headers):
    path = "/marches/acheteur/consultations"
    response = client.post(
        PREFIX + path, b"{pas du json", content_type="application/json", **buyer_headers
    )
    assert response.status_code == 400
    body = assert_documented(openapi, response, path, "post")
    assert_error_body(body)
    assert "JSON" in body["detail"]


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/marches/acheteur/consultations", "get"),
        ("/marches/entreprise/plis/{pli_pk}", "get"),
        ("/me", "get"),
        ("/actes/", "get"),
    ],
)
def test_missing_key_is_a_documented_french_401(client, openapi, path, method):
    response = client.generic(method.upper(), PREFIX + path.format(pli_pk=1))
    assert response.status_code == 401
    body = assert_documented(openapi, response, path, method)
    assert_error_body(body)


def test_forbidden_is_a_documented_403(client, openapi, commune_a):
    """An actes agent's key cannot start a deposit (reserved to a company's representative)."""
    agent = make_member(commune_a, Role.AGENT_ACTES)
    _, raw = account_services.create_api_key(user=agent, organisation=commune_a, name="x")
    path = "/marches/entreprise/consultations/{pk}/plis"
    response = client.post(
        PREFIX + path.format(pk=1),
        b"{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 403
    assert_error_body(assert_documented(openapi, response, path, "post"))


def test_unknown_consultation_is_a_documented_404(client, openapi):
    path = "/marches/consultations/{pk}"
    response = client.get(PREFIX + path.format(pk=999_999))
    assert response.status_code == 404
    assert_error_body(assert_documented(openapi, response, path, "get"))


def test_every_operation_documents_its_errors(openapi):
    """401/403 wherever a key or session is needed, 404 wherever an id is in the path, 422
    wherever there are parameters or a body, 400 and 413 wherever a body is read; each with
    the one error schema."""
    missing = []
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            expected = set()
            if operation.get("security"):
                expected |= {"401", "403"}
            parameters = operation.get("parameters", [])
            if any(p["in"] == "path" for p in parameters):
                expected |= {"404", "422"}
            if parameters:
                expected.add("422")
            if "requestBody" in operation:
                expected |= {"400", "413", "422"}
            responses = operation["responses"]
            for status in sorted(expected):
                declared = responses.get(status, {}).get("content", {})
                ref = declared.get("application/json", {}).get("schema", {}).get("$ref", "")
                if not ref.endswith("/ErrorOut"):
                    missing.append(f"{method.upper()} {path} {status}")
    assert not missing, "\n".join(missing)
    error_out = openapi["components"]["schemas"]["ErrorOut"]
    assert sorted(error_out["required"]) == ["detail", "errors"]


def test_json_body_over_the_memory_limit_is_a_documented_413(client, openapi, buyer_headers):
    """A JSON body over DATA_UPLOAD_MAX_MEMORY_SIZE is refused with the error body."""
    path = "/marches/acheteur/consultations"
    big = b'{"title": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    response = client.post(PREFIX + path, big, content_type="application/json", **buyer_headers)
    assert response.status_code == 413
    assert_error_body(assert_documented(openapi, response, path, "post"))


def test_deposit_answers_match_the_document(client, openapi, opened, company_user, company):
    """The deposit API answers JsonResponse built by hand: its successes and its offset
    conflict match the schemas it declares (PliOut, OffsetOut, ErrorOut)."""
    consultation, _ = opened
    _, secret = account_services.create_api_key(user=company_user, organisation=company, name="x")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    start_path = "/marches/entreprise/consultations/{pk}/plis"
    content = b"offre " * 100
    response = client.post(
        PREFIX + start_path.format(pk=consultation.pk),
        json.dumps({"files": [{"kind": "offre", "name": "offre.pdf", "size": len(content)}]}),
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    pli = assert_documented(openapi, response, start_path, "post")
    file_path = "/marches/entreprise/plis/{pli_pk}/fichiers/{file_pk}"
    file_url = pli["files"][0]["url"]
    conflict = client.put(
        file_url,
        content[:10],
        content_type="application/octet-stream",
        HTTP_UPLOAD_OFFSET="5",
        **auth,
    )
    assert conflict.status_code == 409
    assert_error_body(assert_documented(openapi, conflict, file_path, "put"))
    stored = client.put(
        file_url, content, content_type="application/octet-stream", HTTP_UPLOAD_OFFSET="0", **auth
    )
    assert stored.status_code == 200
    assert assert_documented(openapi, stored, file_path, "put")["offset"] == len(content)
    assert_documented(openapi, client.get(file_url, **auth), file_path, "get")
    detail_path = "/marches/entreprise/plis/{pli_pk}"
    detail = client.get(PREFIX + detail_path.format(pli_pk=pli["id"]), **auth)
    assert_documented(openapi, detail, detail_path, "get")
    listing = client.get(PREFIX + start_path.format(pk=consultation.pk), **auth)
    assert_documented(openapi, listing, start_path, "get")
    confirm_path = "/marches/entreprise/plis/{pli_pk}/confirmer"
    confirmed = client.post(
        PREFIX + confirm_path.format(pli_pk=pli["id"]),
        b"{}",
        content_type="application/json",
        **auth,
    )
    assert confirmed.status_code == 200, confirmed.content
    assert assert_documented(openapi, confirmed, confirm_path, "post")["completed_at"]
    receipt_path = "/marches/entreprise/plis/{pli_pk}/accuse.pdf"
    receipt = client.get(PREFIX + receipt_path.format(pli_pk=pli["id"]), **auth)
    declared = openapi["paths"][PREFIX + receipt_path]["get"]["responses"]
    assert receipt.status_code == 200
    assert receipt["Content-Type"] in declared["200"]["content"]


def test_multipart_without_boundary_with_a_session_is_a_documented_403(openapi, buyer_a, draft):
    """With a session, the CSRF check reads the body first and finds no token: a 403 in
    French, not a 500."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(buyer_a)
    path = "/marches/acheteur/consultations/{pk}/dce"
    response = client.generic(
        "POST", PREFIX + path.format(pk=draft.pk), b"--x\r\n", content_type="multipart/form-data"
    )
    assert response.status_code == 403, response.content[:300]
    body = assert_documented(openapi, response, path, "post")
    assert_error_body(body)
    assert "CSRF" in body["detail"]


@pytest.mark.parametrize("method", ["get", "put"])
def test_ids_beyond_the_database_range_are_a_documented_404(
    client, openapi, opened, company_user, company, method
):
    """Found by schemathesis: an id past 64 bits overflowed the database driver (500)."""
    _, secret = account_services.create_api_key(user=company_user, organisation=company, name="x")
    path = "/marches/entreprise/plis/{pli_pk}/fichiers/{file_pk}"
    url = PREFIX + path.format(pli_pk=429622573876955316224, file_pk=5)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    if method == "put":
        response = client.put(
            url,
            b"\xff\xd8 fichier",
            content_type="application/octet-stream",
            HTTP_UPLOAD_OFFSET="0",
            **headers,
        )
    else:
        response = client.get(url, **headers)
    assert response.status_code == 404, response.content
    assert_error_body(response.json())


@pytest.mark.parametrize(
    "url", ["/marches/plis/{big}/fichiers/5/", "/marches/commission/{big}/part/"]
)
def test_a_page_with_an_id_beyond_the_database_range_is_a_404(client_for, company_user, url):
    client = client_for(company_user)
    assert client.get(url.format(big=429622573876955316224)).status_code == 404
