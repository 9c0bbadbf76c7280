"""Demo data of the actes service, loaded after the region's organisations and users."""

from emegalis.organisations.models import Organisation


def load(organisations: dict[str, Organisation]) -> None:
    """Idempotent: running it again must not duplicate anything."""
