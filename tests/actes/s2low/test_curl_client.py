"""A client script written with the real curl binary drives the S²LOW-style API of a live
server; archives travel over real HTTP to the prefecture counterpart and back."""

import shutil
import subprocess
from pathlib import Path

import pytest

from emegalis.actes import protocol as p
from emegalis.actes.models import Transaction
from emegalis.organisations.services import create_api_key
from tests.actes.helpers import check_all_stored_archives, pdf_bytes, pdf_text

SCRIPT = Path(__file__).parent / "s2low_client.sh"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl est absent")
def test_curl_client_posts_polls_and_fetches(live_server, settings, commune, agent, tmp_path):
    settings.ACTES_TRANSPORT_URL = f"{live_server.url}/prefecture/depot/"
    settings.PREFECTURE_RETURN_URL = f"{live_server.url}/actes/retour/"
    _, key = create_api_key(user=agent, organisation=commune, name="curl")
    (tmp_path / "acte.pdf").write_bytes(pdf_bytes("Délibération curl"))
    (tmp_path / "annexe.pdf").write_bytes(pdf_bytes("Annexe curl"))
    result = subprocess.run(
        [
            "bash",
            str(SCRIPT),
            live_server.url,
            agent.email,
            key,
            str(tmp_path / "acte.pdf"),
            str(tmp_path / "annexe.pdf"),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "statut 4" in result.stdout
    acte = Transaction.objects.get(type=1)
    ar = p.parse_ar_acte((tmp_path / "ARActe.xml").read_bytes())
    assert ar.id_acte == acte.id_acte
    text = pdf_text((tmp_path / "tampon.pdf").read_bytes())
    assert f"ID : {acte.id_acte}" in text and "Publié le 20/01/2026" in text
    assert acte.envelopes.get().http_status == 200
    assert check_all_stored_archives() == 2  # the act and its ARActe
