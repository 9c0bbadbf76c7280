"""Sign-in of public agents with ProConnect, the State's OpenID Connect federation.

`config` reads the settings and the provider's published metadata, `client` is
mozilla-django-oidc's relying party made as strict as ProConnect requires, `services` links
the identity to an account, `views` are the button's round trips (sign-in and sign-out).
"""
