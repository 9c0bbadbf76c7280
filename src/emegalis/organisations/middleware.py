from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from .selectors import active_memberships

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
            chosen = chosen or (memberships[0] if memberships else None)
            if chosen is not None:
                request.organisation = chosen.organisation
                request.roles = frozenset(r.role for r in chosen.roles.all())
        return self.get_response(request)


class TwoFactorRequiredMiddleware:
    """Users whose roles require it must pass a second factor before anything else."""

    EXEMPT_URL_NAMES = ("two_factor_setup", "two_factor_verify", "logout")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.requires_two_factor
            and not user.is_verified()
            and not self._is_exempt(request.path)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": "Double authentification requise pour ce compte."}, status=403
                )
            from django_otp import devices_for_user

            has_device = any(True for _ in devices_for_user(user, confirmed=True))
            target = "two_factor_verify" if has_device else "two_factor_setup"
            return redirect(f"{reverse(target)}?next={request.get_full_path()}")
        return self.get_response(request)

    def _is_exempt(self, path: str) -> bool:
        if path.startswith(("/static/", "/media/")):
            return True
        return any(path == reverse(name) for name in self.EXEMPT_URL_NAMES)
