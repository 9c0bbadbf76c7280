"""Values sealed with the server's secret survive a rotation of SECRET_KEY while the old key
is in SECRET_KEY_FALLBACKS, and not after it is dropped."""

import pytest

from emegalis.core import sealing, server_secret


def test_rotation_keeps_pending_values_readable_through_the_fallbacks(settings):
    settings.SECRET_KEY = "ancienne-clé-" + "a" * 40
    settings.SECRET_KEY_FALLBACKS = []
    sealed = server_secret.seal(b"contexte", b"clef de fichier")
    settings.SECRET_KEY = "nouvelle-clé-" + "b" * 40
    with pytest.raises(sealing.IntegrityError):
        server_secret.unseal(b"contexte", sealed)
    settings.SECRET_KEY_FALLBACKS = ["ancienne-clé-" + "a" * 40]
    assert server_secret.unseal(b"contexte", sealed) == b"clef de fichier"
    with pytest.raises(sealing.IntegrityError):
        server_secret.unseal(b"autre contexte", sealed)
    resealed = server_secret.seal(b"contexte", b"clef de fichier")
    settings.SECRET_KEY_FALLBACKS = []
    assert server_secret.unseal(b"contexte", resealed) == b"clef de fichier"
