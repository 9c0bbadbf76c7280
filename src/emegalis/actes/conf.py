"""Settings of the contrôle de légalité, with their defaults (see README, « Configuration »)."""

from django.conf import settings

from . import protocol as p

MiB = 1024 * 1024


def _get(name: str, default):
    value = getattr(settings, name, None)
    return default if value in (None, "") else value


def trigramme() -> str:
    return _get("ACTES_TRIGRAMME", "emg")


def quadrigramme() -> str:
    return _get("ACTES_QUADRIGRAMME", "EACT")


def return_email() -> str:
    """The platform's own return mailbox, always appended to AdressesRetour (brief §2)."""
    return _get("ACTES_RETURN_EMAIL", "retour-actes@e-megalis.bzh")


def archive_max_bytes() -> int:
    return int(_get("ACTES_ARCHIVE_MAX_BYTES", 150 * MiB))


def archive_limits() -> p.ArchiveLimits:
    cap = archive_max_bytes()
    return p.ArchiveLimits(max_archive_bytes=cap, max_total_bytes=max(cap * 4 // 3, cap + MiB))


def transport_url() -> str:
    return _get("ACTES_TRANSPORT_URL", "")


def return_token() -> str:
    return _get("ACTES_RETURN_TOKEN", "")


def send_backoff() -> list[int]:
    """Seconds to wait before each new attempt at sending an archive."""
    value = _get("ACTES_SEND_BACKOFF", [30, 120, 600, 1800, 3600])
    if isinstance(value, str):
        value = [int(v) for v in value.split(",") if v.strip()]
    return list(value)


def classification_request_interval_seconds() -> int:
    """S²LOW throttles classification requests; so do we (one per authority per interval)."""
    return int(_get("ACTES_CLASSIFICATION_REQUEST_INTERVAL", 60))


def schema():
    """The XSD set in force (ACTES_XSD: a path, to switch to a newer DGCL revision)."""
    return _get("ACTES_XSD", None)
