"""Authentication of the REST API by a personal API key (`Authorization: Bearer <key>`)."""

from ninja.security import HttpBearer

from . import throttling


class TokenAuth(HttpBearer):
    """A personal API key (organisations.ApiKey); the request then acts for its organisation."""

    def authenticate(self, request, token):
        found = throttling.authenticate_api_key(request, token)
        if found is None:
            return None
        request.user, request.organisation = found
        return request.user
