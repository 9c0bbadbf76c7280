"""A local OpenID provider that behaves like ProConnect, for the tests and for development.

It runs the `oidc-provider-mock` package (a real OpenID Connect provider built on Authlib:
discovery, JWKS, authorization code flow, RS256 ID tokens with the nonce, end session) and
puts in front of it what ProConnect does differently (doc_fs/implementation_technique.md of
numerique-gouv/proconnect-documentation):

- the authorization endpoint refuses any parameter outside ProConnect's list, and a `state`
  or `nonce` shorter than 32 characters (ProConnect's « Y000400 : Bad Request »);
- an authorization code lives CODE_MAX_AGE seconds (30 at ProConnect);
- the userinfo endpoint answers a signed JWT (`application/jwt`), not JSON;
- the end-session endpoint requires `id_token_hint`, `state` and `post_logout_redirect_uri`.

Run it: `.venv/bin/python scripts/proconnect_provider.py --port 9400`, then start the
platform with PROCONNECT_ISSUER=http://127.0.0.1:9400 (README, « ProConnect »). Users are
declared with `PUT /users/<sub>` (their claims: email, given_name, usual_name, siret, acr,
amr…); a test changes the provider's behaviour with `PUT /_profile` (JSON, see PROFILE)
and has claims signed with the provider's key by `POST /_sign`.

Development and test tool only: it accepts any client id and secret.
"""

import argparse
import contextlib
import io
import json
import os
import re
import sys
import threading
import time
from urllib.parse import parse_qs, urlencode

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain HTTP on 127.0.0.1

import joserfc.jwk  # noqa: E402
import joserfc.jwt  # noqa: E402
import oidc_provider_mock  # noqa: E402
import werkzeug.serving  # noqa: E402

AUTHORIZE_PARAMETERS = frozenset(
    {"response_type", "client_id", "redirect_uri", "scope", "claims", "state", "nonce"}
    | {"prompt", "idp_hint"}
)
MIN_RANDOM_LENGTH = 32

# What a test may change with PUT /_profile.
PROFILE = {
    # Seconds an authorization code may wait before the token endpoint refuses it.
    "code_max_age": 30.0,
    # "jwt" (ProConnect), "json" (a plain OpenID provider) or "jwt-unknown-key" (signed by
    # a key the JWKS does not publish: a forged answer).
    "userinfo": "jwt",
}

_CDN_STYLESHEET = re.compile(rb"<link[^>]*cdn\.jsdelivr\.net[^>]*>", re.DOTALL)


class ProConnectProfile:
    """WSGI middleware around the mock provider."""

    def __init__(self, inner):
        self.inner = inner
        self.profile = dict(PROFILE)
        self.userinfo_key = joserfc.jwk.RSAKey.generate_key(2048, {"kid": "userinfo"})
        self.unknown_key = joserfc.jwk.RSAKey.generate_key(2048, {"kid": "userinfo"})
        self.code_issued_at: dict[str, float] = {}
        self.token_client: dict[str, str] = {}
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/_profile" and method == "PUT":
            return self._set_profile(environ, start_response)
        if path == "/_sign" and method == "POST":
            return self._sign(environ, start_response)
        if path == "/oauth2/authorize":
            return self._authorize(environ, start_response)
        if path == "/oauth2/token" and method == "POST":
            return self._token(environ, start_response)
        if path == "/userinfo":
            return self._userinfo(environ, start_response)
        if path == "/jwks":
            return self._jwks(environ, start_response)
        if path == "/oauth2/end_session":
            return self._end_session(environ, start_response)
        return self._offline_html(environ, start_response)

    # --- the endpoints ProConnect defines more strictly -----------------------------------

    def _authorize(self, environ, start_response):
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        unknown = sorted(set(query) - AUTHORIZE_PARAMETERS)
        if unknown:
            return _error(start_response, f"Y000400 : Bad Request Exception ({', '.join(unknown)})")
        for name in ("state", "nonce"):
            if len(query.get(name, [""])[0]) < MIN_RANDOM_LENGTH:
                return _error(start_response, f"Y000400 : {name} trop court ou absent")
        # ProConnect's scopes name claims one by one; the mock releases given_name with
        # the standard « profile » scope only.
        scopes = query.get("scope", [""])[0].split()
        if "given_name" in scopes and "profile" not in scopes:
            query["scope"] = [" ".join([*scopes, "profile"])]
            environ["QUERY_STRING"] = urlencode(query, doseq=True)
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["headers"] = headers
            return start_response(status, headers, exc_info)

        body = self._offline_html(environ, capture)
        location = dict(captured.get("headers", [])).get("Location", "")
        code = parse_qs(location.partition("?")[2]).get("code", [None])[0]
        if code:
            with self.lock:
                self.code_issued_at[code] = time.monotonic()
        return body

    def _token(self, environ, start_response):
        raw = _read_body(environ)
        form = parse_qs(raw.decode())
        code = form.get("code", [None])[0]
        with self.lock:
            issued = self.code_issued_at.get(code)
            max_age = self.profile["code_max_age"]
        if issued is not None and time.monotonic() - issued > max_age:
            return _json(
                start_response,
                "400 Bad Request",
                {"error": "invalid_grant", "error_description": "authorization code expired"},
            )
        status, headers, body = _call(self.inner, environ)
        if status.startswith("200"):
            token = json.loads(body).get("access_token")
            with self.lock:
                self.token_client[token] = form.get("client_id", [""])[0]
        start_response(status, headers)
        return [body]

    def _userinfo(self, environ, start_response):
        status, headers, body = _call(self.inner, environ)
        with self.lock:
            mode = self.profile["userinfo"]
        if not status.startswith("200") or mode == "json":
            start_response(status, headers)
            return [body]
        claims = json.loads(body)
        bearer = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ").strip()
        with self.lock:
            audience = self.token_client.get(bearer, "")
        claims |= {"iss": _issuer(environ), "aud": audience, "iat": int(time.time())}
        key = self.unknown_key if mode == "jwt-unknown-key" else self.userinfo_key
        token = joserfc.jwt.encode({"alg": "RS256", "kid": "userinfo"}, claims, key)
        start_response("200 OK", [("Content-Type", "application/jwt; charset=utf-8")])
        return [token.encode()]

    def _jwks(self, environ, start_response):
        status, headers, body = _call(self.inner, environ)
        keys = json.loads(body)
        keys["keys"].append(self.userinfo_key.as_dict(private=False) | {"alg": "RS256"})
        return _json(start_response, status, keys)

    def _end_session(self, environ, start_response):
        values = parse_qs(environ.get("QUERY_STRING", ""))
        missing = [
            name
            for name in ("id_token_hint", "state", "post_logout_redirect_uri")
            if not values.get(name)
        ]
        if missing:
            return _error(start_response, f"Y000400 : paramètres manquants ({', '.join(missing)})")
        return self._offline_html(environ, start_response)

    # --- plumbing ---------------------------------------------------------------------------

    def _set_profile(self, environ, start_response):
        changes = json.loads(_read_body(environ) or b"{}")
        unknown = set(changes) - set(PROFILE)
        if unknown:
            return _json(start_response, "400 Bad Request", {"unknown": sorted(unknown)})
        with self.lock:
            self.profile = dict(PROFILE) | changes
        return _json(start_response, "200 OK", self.profile)

    def _sign(self, environ, start_response):
        """Any claims signed with the provider's published userinfo key: lets a test forge a
        token that is genuinely signed but says the wrong thing (issuer, audience, nonce…)."""
        claims = json.loads(_read_body(environ) or b"{}")
        token = joserfc.jwt.encode({"alg": "RS256", "kid": "userinfo"}, claims, self.userinfo_key)
        start_response("200 OK", [("Content-Type", "application/jwt")])
        return [token.encode()]

    def _offline_html(self, environ, start_response):
        """The mock's pages link a stylesheet on a CDN: dropped, the provider works offline."""
        status, headers, body = _call(self.inner, environ)
        if any(k.lower() == "content-type" and "text/html" in v for k, v in headers):
            body = _CDN_STYLESHEET.sub(b"", body)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]


def _read_body(environ) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    return raw


def _call(app, environ):
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return captured["status"], captured["headers"], body


def _issuer(environ) -> str:
    return f"{environ['wsgi.url_scheme']}://{environ['HTTP_HOST']}"


def _json(start_response, status, payload):
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def _error(start_response, message: str):
    return _json(
        start_response, "400 Bad Request", {"error": "invalid_request", "message": message}
    )


def build_app():
    return ProConnectProfile(oidc_provider_mock.app(require_nonce=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9400, help="0: a free port")
    args = parser.parse_args()
    server = werkzeug.serving.make_server(args.host, args.port, build_app(), threaded=True)
    print(f"ProConnect local : http://{args.host}:{server.server_port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
