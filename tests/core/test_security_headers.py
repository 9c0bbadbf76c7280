"""Production headers: a strict Content-Security-Policy on every page, HSTS and the redirect to
HTTPS outside DEBUG (with the machine endpoints that must answer over plain HTTP), and
`check --deploy` without the HSTS/SSL warnings."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

SRC = Path(__file__).resolve().parents[2] / "src"
PROJECT = SRC.parent


def directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in header.split(";")
        if part.strip()
    }


# --- Content-Security-Policy -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/compte/connexion/", "/marches/", "/admin/login/"])
def test_pages_carry_a_strict_content_security_policy(client, url):
    policy = directives(client.get(url))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"
    header = client.get(url)["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header


def test_templates_hold_no_inline_script_handler_or_style():
    """What the policy forbids must not be in the pages: the browser would ignore it."""
    offenders = []
    for path in sorted(SRC.rglob("templates/**/*.html")):
        text = path.read_text()
        for match in re.finditer(r"<script\b([^>]*)>", text):
            if "src=" not in match.group(1) and "application/json" not in match.group(1):
                offenders.append(f"{path.relative_to(SRC)}: inline <script>")
        if re.search(r"\son[a-z]+\s*=", text):
            offenders.append(f"{path.relative_to(SRC)}: inline event handler")
        if re.search(r"\sstyle\s*=", text) or "<style" in text:
            offenders.append(f"{path.relative_to(SRC)}: inline style")
        if "javascript:" in text:
            offenders.append(f"{path.relative_to(SRC)}: javascript: URL")
    assert offenders == []


def test_static_scripts_use_no_eval():
    offenders = []
    for path in sorted(SRC.rglob("static/**/*.js")):
        if "vendor" in path.parts:
            continue
        text = path.read_text()
        if re.search(r"\beval\(|new Function\(|setTimeout\(\s*['\"]", text):
            offenders.append(str(path.relative_to(SRC)))
    assert offenders == []


# --- HSTS and the redirect to HTTPS --------------------------------------------------------------


def production_settings(**extra) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # The browser tests' conftest sets DJANGO_ALLOW_ASYNC_UNSAFE (async.E001 in deploy).
        if key
        not in {
            "DEBUG",
            "DJANGO_SETTINGS_MODULE",
            "SECURE_SSL_REDIRECT",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "emegalis.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "e-megalis.example.fr",
            "EMEGALIS_VAR_DIR": django_settings.VAR_DIR.as_posix(),
            "PYTHONPATH": SRC.as_posix(),
        }
    )
    env.update(extra)
    return env


def run_in_production(code: str, **extra) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=production_settings(**extra),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_deploy_check_has_no_hsts_or_https_warning():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        env=production_settings(),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    for warning in ("W004", "W005", "W008"):
        assert f"security.{warning}" not in output, output
    assert "System check identified no issues" in output, output


def test_production_defaults_redirect_to_https_and_send_hsts():
    out = run_in_production(
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "s.SECURE_HSTS_PRELOAD, s.SECURE_PROXY_SSL_HEADER)"
    )
    assert out.split() == ["True", "31536000", "True", "False", "None"]
    out = run_in_production(
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_PRELOAD, "
        "s.SECURE_PROXY_SSL_HEADER)",
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_SECONDS="0",
        SECURE_HSTS_PRELOAD="1",
        BEHIND_TLS_PROXY="1",
    )
    assert out.split() == ["False", "0", "True", "('HTTP_X_FORWARDED_PROTO',", "'https')"]


@pytest.fixture
def https_only(settings):
    """The production values (the test settings turn the redirect off for the test client)."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    return Client()


@pytest.mark.django_db
def test_plain_http_pages_are_redirected_and_https_ones_get_hsts(https_only):
    response = https_only.get("/marches/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/marches/"
    secure = https_only.get("/marches/", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.django_db
def test_health_check_answers_over_plain_http(https_only):
    response = https_only.get("/sante/")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_actes_return_endpoint_is_not_redirected(https_only, settings):
    """A POST redirected with 301 loses its body: the @CTES returns would be dropped."""
    settings.ACTES_RETURN_TOKEN = "jeton"
    response = https_only.post("/actes/retour/", data=b"", content_type="application/zip")
    assert response.status_code != 301
    assert response.status_code < 500
