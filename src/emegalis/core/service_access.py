"""Which services an organisation may use, as the shared pages ask it.

The rule belongs to `adhesions` (conventions in force), which sits above `core`: core cannot
import it. `adhesions` hands its rule to core when the apps are ready (AdhesionsConfig.ready),
so the home, the dashboard and a service's entry page ask here without knowing conventions.
"""

from collections.abc import Callable
from typing import Any

EnabledServices = Callable[[Any], frozenset[str]]
RequireService = Callable[[Any, str], None]

_rule: dict[str, Callable] = {}


def install(*, enabled_services: EnabledServices, require_service: RequireService) -> None:
    _rule["enabled_services"] = enabled_services
    _rule["require_service"] = require_service


def _installed(name: str) -> Callable:
    try:
        return _rule[name]
    except KeyError:
        raise RuntimeError(
            "No service access rule is installed (is adhesions installed?)"
        ) from None


def enabled_services(organisation) -> frozenset[str]:
    """The services the organisation's conventions open today."""
    return _installed("enabled_services")(organisation)


def require_service(organisation, service: str) -> None:
    """PermissionDenied, with the reason in French, unless the organisation may use the service."""
    _installed("require_service")(organisation, service)
