"""Sections that an app adds to another app's page, the page's app knowing nothing of it.

A page names a slot (« marches.notice »); an app above it registers a provider for that slot
in its AppConfig.ready(); the page shows what the providers return. A provider gets the
request and the page's object and returns a rendered template (render_to_string's SafeString),
or "" to add nothing; a plain string would be escaped by the page like any text."""

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.utils.safestring import SafeString

Provider = Callable[[Any, Any], SafeString | str]

_providers: dict[str, list[Provider]] = defaultdict(list)


def register(slot: str, provider: Provider) -> None:
    if provider not in _providers[slot]:
        _providers[slot].append(provider)


def render(slot: str, request, obj) -> list[SafeString | str]:
    """The sections of the slot for this object, in the order the apps registered them."""
    return [html for provider in _providers[slot] if (html := provider(request, obj))]
