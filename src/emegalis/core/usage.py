"""Usage figures per organisation and year, gathered from every app that registers some.

An app registers a function `(organisation, year) -> dict[label, count]` under a name:

    from emegalis.core import usage

    @usage.register("marches")
    def marches_usage(organisation, year):
        return {"Consultations publiées": …, "Plis reçus": …}

`collect(organisation, year)` calls them all, in registration order, and returns one list of
sections for the operator's dashboard. `core` depends on no other app: the functions receive
whatever organisation object the caller passes. Registrations live in each app's `selectors`
module (reads scoped by the caller) or are imported from its `AppConfig.ready()`; `collect`
imports every installed app's `selectors` module first so that none is missed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import autodiscover_modules

UsageFunction = Callable[[Any, int], dict[str, int]]

_registry: dict[str, tuple[str, UsageFunction]] = {}
_discovered = False


@dataclass(frozen=True)
class UsageSection:
    name: str
    title: str
    figures: dict[str, int]


def register(name: str, *, title: str = "") -> Callable[[UsageFunction], UsageFunction]:
    """Register a usage function under `name` (registering a name again replaces it)."""

    def decorator(function: UsageFunction) -> UsageFunction:
        _registry[name] = (title or name, function)
        return function

    return decorator


def unregister(name: str) -> None:
    _registry.pop(name, None)


def registered() -> list[str]:
    _discover()
    return list(_registry)


def _discover() -> None:
    global _discovered
    if not _discovered:
        autodiscover_modules("selectors")
        _discovered = True


def collect(organisation: Any, year: int) -> list[UsageSection]:
    """Every registered app's figures for one organisation and one year."""
    _discover()
    sections = []
    for name, (title, function) in list(_registry.items()):
        figures = function(organisation, year)
        sections.append(UsageSection(name=name, title=title, figures=dict(figures)))
    return sections
