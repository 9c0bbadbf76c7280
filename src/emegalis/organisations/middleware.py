from urllib.parse import urlencode

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from .selectors import active_memberships, has_confirmed_totp

ACTIVE_ORGANISATION_SESSION_KEY = "active_organisation_id"


class ActiveOrganisationMiddleware:
    """Sets request.organisation (the one the user is acting for) and request.memberships."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.memberships = []
        request.organisation = None
        request.roles = frozenset()
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            memberships = list(active_memberships(user))
            request.memberships = memberships
            wanted = request.session.get(ACTIVE_ORGANISATION_SESSION_KEY)
            chosen = next((m for m in memberships if m.organisation_id == wanted), None)
            # By default, the organisation the user was first attached to.
            chosen = chosen or min(memberships, key=lambda m: m.pk, default=None)
            if chosen is not None:
                request.organisation = chosen.organisation
                request.roles = frozenset(r.role for r in chosen.roles.all())
        return self.get_response(request)


class TwoFactorRequiredMiddleware:
    """A second factor is passed before anything else by users who need one: those whose roles
    require it (roles.TWO_FACTOR_ROLES) and those who enabled it themselves.

    Pages redirect to enrolment (no confirmed device yet) or to verification; the API answers
    403 in JSON. Must come after OTPMiddleware (which sets user.is_verified).
    """

    EXEMPT_URL_NAMES = ("two_factor_setup", "two_factor_verify", "logout")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not self._is_exempt(request.path)
        ):
            has_device = has_confirmed_totp(user)
            if has_device or user.requires_two_factor:
                if request.path.startswith("/api/"):
                    return JsonResponse(
                        {"detail": "Double authentification requise pour ce compte.", "errors": []},
                        status=403,
                    )
                target = "two_factor_verify" if has_device else "two_factor_setup"
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse(target)}?{query}")
        return self.get_response(request)

    def _is_exempt(self, path: str) -> bool:
        if path.startswith(("/static/", "/media/")):
            return True
        return any(path == reverse(name) for name in self.EXEMPT_URL_NAMES)
