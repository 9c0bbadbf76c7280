from django.conf import settings

from .navigation import main_links
from .roles import Role


def organisations(request):
    roles = getattr(request, "roles", frozenset())
    return {
        "active_organisation": getattr(request, "organisation", None),
        "user_memberships": getattr(request, "memberships", []),
        "active_roles": roles,
        "active_roles_display": sorted(Role(r).label for r in roles),
        "main_links": main_links(request) if hasattr(request, "user") else [],
        "platform": settings.PLATFORM_IDENTITY,
    }
