"""Settings of the procurement room, with their defaults (overridable in settings)."""

import os

from django.conf import settings

DEFAULT_DCE_MAX_BYTES = 2 * 1024**3  # 2 GiB


def dce_max_bytes() -> int:
    """Largest DCE file accepted (settings.MARCHES_DCE_MAX_BYTES, or the environment)."""
    value = getattr(settings, "MARCHES_DCE_MAX_BYTES", None)
    if value is None:
        value = os.environ.get("MARCHES_DCE_MAX_BYTES", DEFAULT_DCE_MAX_BYTES)
    return int(value)


def page_size() -> int:
    return int(getattr(settings, "MARCHES_PAGE_SIZE", 20))


def human_size(size: int) -> str:
    """« 1,5 Mo », « 2 Go » (French units, binary multiples)."""
    value = float(size)
    for unit in ("octets", "Ko", "Mo", "Go", "To"):
        if value < 1024 or unit == "To":
            if unit == "octets":
                return f"{int(value)} octet{'s' if value > 1 else ''}"
            text = f"{value:.1f}".replace(".", ",").removesuffix(",0")
            return f"{text} {unit}"
        value /= 1024
    return f"{size} octets"


def exact_size(size: int) -> str:
    """« 1,5 Mo (1 572 864 octets) »; below one kilo-octet, only « 597 octets »."""
    size = int(size)
    if size < 1024:
        return human_size(size)
    grouped = f"{size:,}".replace(",", "\u00a0")  # no-break space: every PDF font has it
    return f"{human_size(size)} ({grouped} octets)"


DEFAULT_PLI_MAX_BYTES = 16 * 1024**3  # 16 GiB per file of a pli (a 10 GiB offer is accepted)


def pli_max_bytes() -> int:
    """Largest file of a pli (settings.MARCHES_PLI_MAX_BYTES, or the environment)."""
    value = getattr(settings, "MARCHES_PLI_MAX_BYTES", None)
    if value is None:
        value = os.environ.get("MARCHES_PLI_MAX_BYTES", DEFAULT_PLI_MAX_BYTES)
    return int(value)
