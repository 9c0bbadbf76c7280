"""The ProConnect button's round trips: sign-in (start, callback) and sign-out.

Every way the callback can fail ends on a French page saying what happened and what to do
(FAILURES), never on a 500: an unreachable provider, a `state` that is not
this browser's, a code expired or used, a token whose signature, nonce, issuer or audience is
wrong, an identity that opens no account here.
"""

import logging
import secrets
from urllib.parse import urlencode

import requests
from django.contrib import auth, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_otp import login as otp_login

from ..middleware import ACTIVE_ORGANISATION_SESSION_KEY
from . import config, services
from .client import ID_TOKEN_SESSION_KEY, AuthorizationRequestView, ProConnectClient, oidc_settings
from .services import SignInRefused

logger = logging.getLogger(__name__)

PASSWORD_BACKEND = "django.contrib.auth.backends.ModelBackend"
LOGOUT_STATE_SESSION_KEY = "proconnect_logout_state"

FAILURES = {
    # reason: (HTTP status, title, explanation)
    "unavailable": (
        503,
        "ProConnect ne répond pas",
        "Le service ProConnect est injoignable pour le moment. Réessayez dans quelques "
        "minutes, ou connectez-vous avec votre adresse et votre mot de passe e-mégalis si "
        "vous en avez un.",
    ),
    "state": (
        400,
        "Connexion non reconnue",
        "Cette réponse de ProConnect ne correspond à aucune connexion commencée dans ce "
        "navigateur (lien ouvert dans un autre navigateur, page rechargée ou connexion déjà "
        "terminée). Recommencez depuis le bouton « Se connecter avec ProConnect ».",
    ),
    "code": (
        400,
        "Délai de connexion dépassé",
        "ProConnect a refusé le code de connexion : il a expiré (il ne vaut que quelques "
        "secondes) ou a déjà servi. Recommencez depuis le bouton « Se connecter avec "
        "ProConnect ».",
    ),
    "verification": (
        400,
        "Réponse de ProConnect refusée",
        "La réponse reçue n'a pas passé nos contrôles (signature, émetteur, destinataire ou "
        "jeton à usage unique). Par sécurité, personne n'a été connecté. Recommencez ; si le "
        "problème persiste, signalez-le à l'assistance en indiquant l'heure.",
    ),
    "cancelled": (
        400,
        "Connexion ProConnect interrompue",
        "ProConnect n'a pas terminé la connexion (elle a été annulée ou refusée). Vous "
        "pouvez recommencer, ou vous connecter avec votre mot de passe e-mégalis.",
    ),
}


def _failure(request, reason: str, detail: str = ""):
    status, title, explanation = FAILURES[reason]
    logger.warning("ProConnect sign-in failed (%s): %s", reason, detail)
    return render(
        request,
        "registration/proconnect_failed.html",
        {"title": title, "explanation": explanation, "detail": detail},
        status=status,
    )


def _require_enabled() -> None:
    if not config.enabled():
        raise Http404("ProConnect n'est pas activé sur cette plateforme.")


class LoginView(auth_views.LoginView):
    """The password login page, with the ProConnect button when ProConnect is configured."""

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | {"proconnect_enabled": config.enabled()}


@require_GET
def start(request):
    """« Se connecter avec ProConnect »: to the provider's authorization endpoint."""
    _require_enabled()
    try:
        oidc = oidc_settings()
    except config.ProConnectUnavailable as exc:
        return _failure(request, "unavailable", str(exc))
    view = AuthorizationRequestView(oidc=oidc)
    view.setup(request)
    return view.get(request)


@require_GET
def callback(request):
    """The provider's answer: the code exchanged, the tokens checked, the agent signed in."""
    _require_enabled()
    states = request.session.get("oidc_states") or {}
    state = request.GET.get("state", "")
    if request.GET.get("error"):
        states.pop(state, None)
        request.session["oidc_states"] = states
        return _failure(
            request,
            "cancelled",
            f"{request.GET['error']}: {request.GET.get('error_description', '')}",
        )
    if not request.GET.get("code") or state not in states:
        return _failure(request, "state", "state absent or unknown to this session")
    nonce = states.pop(state)["nonce"]
    request.session["oidc_states"] = states
    try:
        client = ProConnectClient()
        user = client.authenticate(request, nonce=nonce)
    except config.ProConnectUnavailable as exc:
        return _failure(request, "unavailable", str(exc))
    except requests.HTTPError as exc:
        return _failure(request, "code", str(exc))
    except requests.RequestException as exc:
        return _failure(request, "unavailable", str(exc))
    except SuspiciousOperation as exc:
        return _failure(request, "verification", str(exc))
    except SignInRefused as refusal:
        return render(
            request,
            "registration/proconnect_refused.html",
            {"reason": refusal.reason, **refusal.context},
            status=403,
        )
    if user is None or client.outcome is None:
        return _failure(request, "verification", "userinfo refused (see the warning above)")
    outcome = client.outcome
    next_url = request.session.get("oidc_login_next")
    auth.login(request, user, backend=PASSWORD_BACKEND)
    request.session[ID_TOKEN_SESSION_KEY] = client.id_token
    if outcome.organisation is not None:
        request.session[ACTIVE_ORGANISATION_SESSION_KEY] = outcome.organisation.pk
    if outcome.strong:
        otp_login(request, outcome.identity)
    if outcome.created:
        messages.info(
            request,
            "Votre compte a été créé. Le référent de votre organisation a été prévenu : il vous "
            "attribuera les rôles dont vous avez besoin.",
        )
    return redirect(next_url or "dashboard")


class LogoutView(auth_views.LogoutView):
    """Signs out here first, then, for a ProConnect session, at the provider too: the browser
    goes to its end-session endpoint with `id_token_hint`, `state` and the return address."""

    def post(self, request, *args, **kwargs):
        id_token = request.session.get(ID_TOKEN_SESSION_KEY)
        response = super().post(request, *args, **kwargs)
        if not id_token or not config.enabled():
            return response
        try:
            end_session = config.metadata()["end_session_endpoint"]
        except config.ProConnectUnavailable:
            messages.warning(
                request,
                "Vous êtes déconnecté d'e-mégalis. ProConnect ne répond pas : fermez votre "
                "navigateur pour terminer aussi votre session ProConnect.",
            )
            return response
        state = secrets.token_urlsafe(32)
        request.session[LOGOUT_STATE_SESSION_KEY] = state
        query = urlencode(
            {
                "id_token_hint": id_token,
                "state": state,
                "post_logout_redirect_uri": request.build_absolute_uri(
                    reverse("proconnect_logged_out")
                ),
            }
        )
        return HttpResponseRedirect(f"{end_session}?{query}")


@require_GET
def logged_out(request):
    """The return from ProConnect's end-session endpoint: this browser's `state` or not."""
    _require_enabled()
    expected = request.session.pop(LOGOUT_STATE_SESSION_KEY, None)
    if expected and secrets.compare_digest(expected, request.GET.get("state", "")):
        messages.success(request, "Vous êtes déconnecté d'e-mégalis et de ProConnect.")
    else:
        messages.warning(
            request,
            "Vous êtes déconnecté d'e-mégalis. Le retour de ProConnect n'a pas pu être "
            "vérifié : fermez votre navigateur pour être sûr de terminer votre session "
            "ProConnect.",
        )
    return redirect("home")


@login_required
@require_POST
def unlink(request):
    """« Délier mon compte de ProConnect » (Sécurité du compte)."""
    if services.unlink(user=request.user):
        messages.success(
            request,
            "Votre compte n'est plus relié à ProConnect. Une prochaine connexion avec ProConnect "
            "le reliera de nouveau, par votre adresse électronique.",
        )
    return redirect("account_security")
