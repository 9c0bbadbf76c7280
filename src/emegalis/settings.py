"""Settings for e-mégalis, read from the environment.

Defaults are safe for production (DEBUG off, secure cookies when not in DEBUG, a
SECRET_KEY that must be provided); `make run` sets the development values explicitly.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from bootstrap_wrapper import get_bootstrap_dir
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("EMEGALIS_VAR_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY doit être défini lorsque DEBUG est désactivé.")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
# Former keys, comma-separated, while rotating SECRET_KEY (sessions, signed links). No pli,
# share or key is ever sealed with them (ADR 0004).
SECRET_KEY_FALLBACKS = [k for k in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if k]

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "ninja",  # its Swagger UI from the package's static files, never a CDN
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_htmx",
    "django_tasks_db",
    "emegalis.core",
    "emegalis.organisations",
    "emegalis.adhesions",
    "emegalis.marches",
    "emegalis.actes",
    "emegalis.groupements",
    "emegalis.collaboratif",
    "emegalis.formations",
    "emegalis.prefecture",
    "emegalis.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "emegalis.organisations.middleware.ActiveOrganisationMiddleware",
    "emegalis.organisations.middleware.TwoFactorRequiredMiddleware",
    "emegalis.core.middleware.OutOfRangeIdMiddleware",
    # AxesMiddleware must be last: it turns lockouts into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "emegalis.urls"
WSGI_APPLICATION = "emegalis.wsgi.application"
ASGI_APPLICATION = "emegalis.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "emegalis.organisations.context_processors.organisations",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'emegalis.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while one writer works; IMMEDIATE takes the write lock at the
    # start of a transaction so two writers never deadlock half-way. secure_delete zeroes what
    # is deleted or overwritten (defence in depth: nothing secret is stored, ADR 0004).
    # synchronous=FULL: in WAL mode, NORMAL lets a power loss undo the last commits, e.g. the
    # row of a deposit whose signed receipt the company already holds (ADR 0004).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;PRAGMA foreign_keys=ON;"
            "PRAGMA secure_delete=ON;"
        ),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "organisations.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# Reverse proxies in front of the application that append the client's address to
# X-Forwarded-For (organisations/throttling.py:client_ip). 0: REMOTE_ADDR is the client.
TRUSTED_PROXY_COUNT = int(
    os.environ.get(
        "TRUSTED_PROXY_COUNT",
        os.environ.get("AXES_PROXY_COUNT", "1" if env_bool("BEHIND_TLS_PROXY") else "0"),
    )
)

# Login throttling (django-axes): a (login, address) pair is locked after AXES_FAILURE_LIMIT
# failures; an address, whatever the logins tried, after AXES_ADDRESS_FAILURE_LIMIT (higher:
# a town hall's agents share one address behind its NAT). Both for AXES_COOLOFF_HOURS.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_ADDRESS_FAILURE_LIMIT = int(os.environ.get("AXES_ADDRESS_FAILURE_LIMIT", "30"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "emegalis.organisations.throttling.AddressAwareAxesHandler"
AXES_CLIENT_IP_CALLABLE = "emegalis.organisations.throttling.client_ip"
# The login form passes the address as `email` too (see EmailAuthenticationForm).
AXES_USERNAME_FORM_FIELD = "email"
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Password reset e-mails (organisations/throttling.py): per account and per client address.
PASSWORD_RESET_WINDOW = timedelta(hours=1)
PASSWORD_RESET_PER_ACCOUNT = int(os.environ.get("PASSWORD_RESET_PER_ACCOUNT", "3"))
PASSWORD_RESET_PER_ADDRESS = int(os.environ.get("PASSWORD_RESET_PER_ADDRESS", "20"))
# Wrong API keys from one address before its key authentications are refused for the window.
API_KEY_FAILURE_WINDOW = timedelta(minutes=15)
API_KEY_FAILURES_PER_ADDRESS = int(os.environ.get("API_KEY_FAILURES_PER_ADDRESS", "20"))
# TLS client certificates (S²LOW-style API): the proxy verifies the certificate and sets these
# headers itself, stripping any copy sent by the client. Trusted only when said so.
CLIENT_CERT_HEADERS_TRUSTED = env_bool("CLIENT_CERT_HEADERS_TRUSTED", False)
CLIENT_CERT_VERIFY_HEADER = os.environ.get("CLIENT_CERT_VERIFY_HEADER", "X-SSL-Client-Verify")
CLIENT_CERT_FINGERPRINT_HEADER = os.environ.get(
    "CLIENT_CERT_FINGERPRINT_HEADER", "X-SSL-Client-SHA256"
)
# A nounce of /api/get-nounce.php opens the API for this long (S²LOW: five minutes).
API_NOUNCE_LIFETIME = timedelta(minutes=5)

OTP_TOTP_ISSUER = "e-mégalis"

SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 10
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# HTTPS only outside DEBUG: plain HTTP requests are redirected (behind a TLS proxy, set
# BEHIND_TLS_PROXY so that its X-Forwarded-Proto says which ones were HTTPS), and browsers are
# told by HSTS to use HTTPS for a year, subdomains included. Not on the HSTS preload list by
# default: being listed is hard to undo, the syndicat's domain owner decides
# (SECURE_HSTS_PRELOAD=1 then submit the domain to hstspreload.org).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Machine endpoints answered over plain HTTP too: the load balancer's health check (it talks
# to each node directly), the @CTES return endpoint (a redirected POST loses its body: the
# ministry's returns would be dropped; it is protected by its token) and the RFC 3161
# timestamping authority (its answers are signed; TSA clients commonly use plain HTTP).
SECURE_REDIRECT_EXEMPT = [r"^sante/$", r"^actes/retour/$", r"^horodatage/$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# `check --deploy` warns (W021) while preload is off: a decision, not an oversight.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Content-Security-Policy (Django's own middleware): scripts, styles, fonts and images from
# the platform only; no inline script, inline event handler, inline style or eval anywhere
# (templates load static files; tests/core/test_security_headers.py checks the templates).
# `data:` images: Bootstrap draws its select arrows and check marks with data: SVGs.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "upgrade-insecure-requests": SECURE_SSL_REDIRECT,
}

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Files --------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor/bootstrap", get_bootstrap_dir())]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local")
if STORAGE_BACKEND == "s3":
    from boto3.s3.transfer import TransferConfig

    default_storage = {
        # S3Storage without its reference cycle on save (core/object_storage.py).
        "BACKEND": "emegalis.core.object_storage.ObjectStorage",
        "OPTIONS": {
            "bucket_name": os.environ["S3_BUCKET"],
            "endpoint_url": os.environ.get("S3_ENDPOINT_URL"),
            "region_name": os.environ.get("S3_REGION"),
            "access_key": os.environ.get("S3_ACCESS_KEY_ID"),
            "secret_key": os.environ.get("S3_SECRET_ACCESS_KEY"),
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            # Memory per request stays bounded whatever the file's size: an object read is
            # held in memory up to 16 MiB (a pli segment), beyond that spooled to a temporary
            # file (a large DCE); a write goes up in one PUT up to 32 MiB, beyond that in
            # 16 MiB parts sent one after the other, no thread pool (bench/bid_upload.py and
            # bench/dce_download.py --topology measure it).
            "max_memory_size": 16 * 1024 * 1024,
            "transfer_config": TransferConfig(
                multipart_threshold=32 * 1024 * 1024,
                multipart_chunksize=16 * 1024 * 1024,
                use_threads=False,
            ),
        },
    }
elif STORAGE_BACKEND == "local":
    # Every save is on disk before it returns: temporary + fsync + rename + directory fsync
    # (core/durable.py, ADR 0004 "What is durable at each answer").
    default_storage = {"BACKEND": "emegalis.core.durable.DurableFileSystemStorage"}
else:
    raise ImproperlyConfigured("STORAGE_BACKEND doit valoir « local » ou « s3 ».")
STORAGES = {
    "default": default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- E-mail ------------------------------------------------------------------------------------
EMAIL_BACKEND_PATH = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
_smtp_options = {
    "host": os.environ.get("EMAIL_HOST", "localhost"),
    "port": int(os.environ.get("EMAIL_PORT", "25")),
    "username": os.environ.get("EMAIL_HOST_USER", ""),
    "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
    "use_tls": env_bool("EMAIL_USE_TLS", False),
}
MAILERS = {
    "default": {
        "BACKEND": EMAIL_BACKEND_PATH,
        "OPTIONS": _smtp_options if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend") else {},
    }
}
DEFAULT_FROM_EMAIL = os.environ.get(
    "DEFAULT_FROM_EMAIL", "e-mégalis <ne-pas-repondre@e-megalis.bzh>"
)

# --- Background work (django.tasks with the database backend) -----------------------------------
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# Periodic jobs: `manage.py run_periodic` (started by `make run`; one or several instances in
# production, a job runs once per slot whichever instance sees it first) enqueues these tasks.
PERIODIC_JOBS = [
    {
        "name": "marches.close_due_consultations",
        "task": "emegalis.marches.tasks.close_due_consultations",
        "every_seconds": 60,
    },
    {
        "name": "marches.issue_missing_receipts",
        "task": "emegalis.marches.tasks.issue_missing_receipts",
        "every_seconds": 60,
    },
    {
        "name": "marches.send_search_alerts",
        "task": "emegalis.marches.tasks.send_search_alerts",
        "daily_at": os.environ.get("SEARCH_ALERTS_AT", "07:00"),
    },
    {
        "name": "groupements.close_due_surveys",
        "task": "emegalis.groupements.tasks.close_due_surveys",
        "every_seconds": 60,
    },
    {
        "name": "groupements.remind_due_surveys",
        "task": "emegalis.groupements.tasks.remind_due_surveys",
        "every_seconds": 3600,
    },
    {
        "name": "formations.expire_offers",
        "task": "emegalis.formations.tasks.expire_offers",
        "every_seconds": 300,
    },
    {
        "name": "formations.send_reminders",
        "task": "emegalis.formations.tasks.send_reminders",
        "every_seconds": 3600,
    },
    {
        "name": "formations.close_due_sessions",
        "task": "emegalis.formations.tasks.close_due_sessions",
        "every_seconds": 3600,
    },
    {
        "name": "collaboratif.send_digests",
        "task": "emegalis.collaboratif.tasks.send_digests",
        "daily_at": os.environ.get("COLLABORATIF_DIGEST_AT", "17:30"),
    },
    {
        "name": "core.purge_rate_counters",
        "task": "emegalis.core.tasks.purge_rate_counters",
        "every_seconds": 3600,
    },
    {
        "name": "core.remove_orphan_temporaries",
        "task": "emegalis.core.tasks.remove_orphan_temporaries",
        "every_seconds": 3600,
    },
    {
        "name": "core.anchor_journal",
        "task": "emegalis.core.tasks.anchor_journal",
        "every_seconds": 60,
    },
    {
        "name": "actes.remind_stuck_acts",
        "task": "emegalis.actes.tasks.remind_stuck_acts",
        "daily_at": "08:00",
    },
    {
        "name": "actes.poll_mailbox",
        "task": "emegalis.actes.tasks.poll_mailbox",
        "every_seconds": 300,
        "if_setting": "ACTES_IMAP_HOST",
    },
]

# --- Logging -------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Signature of the platform's documents (PAdES + RFC 3161, core/signing.py) ----------------
# Without a certificate and key, a local test PKI is generated into VAR_DIR/pki on first use;
# without a TSA URL, timestamps come from the local test TSA (also served at /horodatage/).
SIGNING_CERT_FILE = os.environ.get("SIGNING_CERT_FILE", "")
SIGNING_KEY_FILE = os.environ.get("SIGNING_KEY_FILE", "")
SIGNING_CHAIN_FILE = os.environ.get("SIGNING_CHAIN_FILE", "")
SIGNING_TSA_URL = os.environ.get("SIGNING_TSA_URL", "")
SIGNING_LOCAL_TSA = env_bool("SIGNING_LOCAL_TSA", not SIGNING_TSA_URL)

# --- The journal's witnesses and key (ADR 0005, core/witnesses.py, core/journal_key.py) --------
# The head-witness log: a file outside the database, one fsynced line per committed entry,
# signed document and anchor. Point it to storage the database's users cannot write.
JOURNAL_WITNESS_DIR = Path(os.environ.get("JOURNAL_WITNESS_DIR", VAR_DIR / "journal"))
# The key of the entries' HMAC: the same value on every server; without it, a key file is
# created on first use (JOURNAL_KEY_FILE). Old keys stay in JOURNAL_KEY_FALLBACKS.
JOURNAL_KEY = os.environ.get("JOURNAL_KEY", "")
JOURNAL_KEY_FALLBACKS = [
    value for value in os.environ.get("JOURNAL_KEY_FALLBACKS", "").split(",") if value.strip()
]
JOURNAL_KEY_FILE = Path(os.environ.get("JOURNAL_KEY_FILE", VAR_DIR / "journal" / "journal.key"))
# The head is timestamped (RFC 3161) right after these events, besides the minute job.
JOURNAL_ANCHOR_AFTER_ACTIONS = frozenset(
    {
        "marches.pli.received",
        "marches.pli.receipt_issued",
        "marches.opening.done",
        "marches.opening.late_pli_opened",
        "marches.award.decided",
        "marches.award.contract_notified",
        "actes.envelope.sent",
        "actes.acte.published",
    }
)

# --- Contrôle de légalité (@CTES) -----------------------------------------------------------------
# Where archives are posted: the ministry in production; our own prefecture counterpart in DEBUG.
ACTES_TRANSPORT_URL = os.environ.get(
    "ACTES_TRANSPORT_URL", f"{SITE_URL}/prefecture/depot/" if DEBUG else ""
)
ACTES_TRANSPORT_CLIENT_CERT = os.environ.get("ACTES_TRANSPORT_CLIENT_CERT", "")
ACTES_TRANSPORT_CLIENT_KEY = os.environ.get("ACTES_TRANSPORT_CLIENT_KEY", "")
ACTES_TRANSPORT_CA_FILE = os.environ.get("ACTES_TRANSPORT_CA_FILE", "")
ACTES_TRANSPORT_PIN_SHA256 = os.environ.get("ACTES_TRANSPORT_PIN_SHA256", "")
ACTES_TRANSPORT_USERNAME = os.environ.get("ACTES_TRANSPORT_USERNAME", "")
ACTES_TRANSPORT_PASSWORD = os.environ.get("ACTES_TRANSPORT_PASSWORD", "")
ACTES_TRANSPORT_TIMEOUT = int(os.environ.get("ACTES_TRANSPORT_TIMEOUT", "60"))
ACTES_SEND_BACKOFF = os.environ.get("ACTES_SEND_BACKOFF", "30,120,600,1800,3600")
ACTES_TRIGRAMME = os.environ.get("ACTES_TRIGRAMME", "emg")
ACTES_QUADRIGRAMME = os.environ.get("ACTES_QUADRIGRAMME", "EACT")
ACTES_RETURN_EMAIL = os.environ.get("ACTES_RETURN_EMAIL", "retour-actes@e-megalis.bzh")
# Shared secret of the HTTP return endpoint (/actes/retour/), used by our prefecture counterpart.
ACTES_RETURN_TOKEN = os.environ.get(
    "ACTES_RETURN_TOKEN", "dev-only-actes-return-token" if DEBUG else ""
)
# Another @CTES schema set (path to its actesv*.xsd), for a newer DGCL revision; default: v1.1.
ACTES_XSD = os.environ.get("ACTES_XSD", "") or None
ACTES_ARCHIVE_MAX_BYTES = int(os.environ.get("ACTES_ARCHIVE_MAX_BYTES", str(150 * 1024 * 1024)))
ACTES_IMAP_HOST = os.environ.get("ACTES_IMAP_HOST", "")
ACTES_IMAP_PORT = int(os.environ.get("ACTES_IMAP_PORT", "993"))
ACTES_IMAP_SSL = env_bool("ACTES_IMAP_SSL", True)
ACTES_IMAP_USER = os.environ.get("ACTES_IMAP_USER", "")
ACTES_IMAP_PASSWORD = os.environ.get("ACTES_IMAP_PASSWORD", "")
ACTES_IMAP_FOLDER = os.environ.get("ACTES_IMAP_FOLDER", "INBOX")
# The prefecture counterpart (prefecture/ app): where it pushes its returns, and its identity.
PREFECTURE_RETURN_URL = os.environ.get(
    "PREFECTURE_RETURN_URL", f"{SITE_URL}/actes/retour/" if DEBUG else ""
)
PREFECTURE_RETURN_TOKEN = os.environ.get("PREFECTURE_RETURN_TOKEN", ACTES_RETURN_TOKEN)
PREFECTURE_COUNTERPART_ENABLED = env_bool("PREFECTURE_COUNTERPART_ENABLED", DEBUG)
PREFECTURE_APPLICATION = os.environ.get("PREFECTURE_APPLICATION", "TACT")

# --- Outils collaboratifs (docs/collaboratif.md) ---------------------------------------------
COLLABORATIF_MAX_FILE_BYTES = int(
    os.environ.get("COLLABORATIF_MAX_FILE_BYTES", str(512 * 1024 * 1024))
)
COLLABORATIF_DEFAULT_QUOTA_BYTES = int(
    os.environ.get("COLLABORATIF_DEFAULT_QUOTA_BYTES", str(5 * 1024 * 1024 * 1024))
)

# --- Publisher, host and contacts (legal pages, footer) -------------------------------------
# Each value comes from the environment; the defaults describe the demonstration platform.
PLATFORM_IDENTITY = {
    "name": os.environ.get("PLATFORM_NAME", "e-mégalis"),
    "publisher": os.environ.get("PLATFORM_PUBLISHER", "le syndicat mixte e-mégalis"),
    "publisher_address": os.environ.get(
        "PLATFORM_PUBLISHER_ADDRESS", "15 rue Claude Chappe, 35510 Cesson-Sévigné"
    ),
    "publisher_siren": os.environ.get("PLATFORM_PUBLISHER_SIREN", "253 514 491"),
    "publication_director": os.environ.get(
        "PLATFORM_PUBLICATION_DIRECTOR", "le président du syndicat mixte"
    ),
    "host": os.environ.get("PLATFORM_HOST", "le syndicat mixte, sur ses propres serveurs"),
    "host_address": os.environ.get(
        "PLATFORM_HOST_ADDRESS", "15 rue Claude Chappe, 35510 Cesson-Sévigné"
    ),
    "dpo_email": os.environ.get("PLATFORM_DPO_EMAIL", "dpo@e-megalis.example"),
    "contact_email": os.environ.get("PLATFORM_CONTACT_EMAIL", "contact@e-megalis.example"),
    "contact_phone": os.environ.get("PLATFORM_CONTACT_PHONE", "02 99 00 00 00"),
}
# The conditions of use in force: a company accepts this version when it signs up.
TERMS_VERSION = "2026-12"
# Hours a sign-up confirmation link stays valid.
SIGNUP_CONFIRMATION_HOURS = int(os.environ.get("SIGNUP_CONFIRMATION_HOURS", "48"))
# The automated accessibility audit the déclaration d'accessibilité reports
# (tests/e2e/test_site_audit.py runs it at each CI run; update the date and figures when the
# declaration is reviewed).
ACCESSIBILITY_AUDIT = {
    "date": "5 décembre 2026",
    "tool": "axe-core 4.14.1",
    "roles": 11,
    "pages": 493,
}

# --- ProConnect (OpenID Connect for public agents; organisations/proconnect/) ---------------
# Off unless the issuer, the client id and the secret are all set: the button is then hidden
# and its URLs answer 404. The issuer is the discovery base: ProConnect's production one is
# https://proconnect.gouv.fr/api/v2 (its metadata at <issuer>/.well-known/openid-configuration).
PROCONNECT_ISSUER = os.environ.get("PROCONNECT_ISSUER", "").rstrip("/")
PROCONNECT_CLIENT_ID = os.environ.get("PROCONNECT_CLIENT_ID", "")
PROCONNECT_CLIENT_SECRET = os.environ.get("PROCONNECT_CLIENT_SECRET", "")
# The claims asked for, one scope per claim as ProConnect names them (data minimisation).
PROCONNECT_SCOPES = os.environ.get("PROCONNECT_SCOPES", "openid email given_name usual_name siret")
# RS256 or ES256, as registered with ProConnect for the ID token and the userinfo JWT.
PROCONNECT_SIGN_ALGO = os.environ.get("PROCONNECT_SIGN_ALGO", "RS256")
# A sign-in whose ID token carries one of these acr values, or one of these amr values,
# counts as the second factor of the roles that need one (roles.TWO_FACTOR_ROLES); any other
# sign-in is followed by the platform's TOTP for them. Empty (the default): TOTP always.
# E.g. PROCONNECT_2FA_ACR="eidas2,eidas3,https://proconnect.gouv.fr/assurance/self-asserted-2fa"
PROCONNECT_2FA_ACR = frozenset(env_list("PROCONNECT_2FA_ACR"))
PROCONNECT_2FA_AMR = frozenset(env_list("PROCONNECT_2FA_AMR"))
# Seconds to wait for ProConnect's endpoints (server to server).
PROCONNECT_TIMEOUT = float(os.environ.get("PROCONNECT_TIMEOUT", "10"))
if PROCONNECT_ISSUER:
    # Signing out posts the form here, which redirects to ProConnect's end-session endpoint:
    # the browser allows that redirect only to an origin form-action names.
    _issuer = urlsplit(PROCONNECT_ISSUER)
    SECURE_CSP["form-action"] = [*SECURE_CSP["form-action"], f"{_issuer.scheme}://{_issuer.netloc}"]
