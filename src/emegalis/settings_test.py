"""Settings for the test suite: production settings plus fast hashing and throw-away files."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("EMEGALIS_VAR_DIR", tempfile.mkdtemp(prefix="emegalis-test-"))

from .settings import *  # noqa: E402,F403
from .settings import STORAGES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# The test client and the browser journeys' live server speak plain HTTP; the policy
# (SECURE_CSP) stays as in production, so the journeys run under it.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SECURE_CSP = {**SECURE_CSP, "upgrade-insecure-requests": False}  # noqa: F405
# Serve static files straight from the finders (no collectstatic in tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
