"""The return mailbox poller against a real IMAP server: Debian's Dovecot, started by the test
on a free local port with its own configuration (installed by .ci/run; skipped when absent
unless EMEGALIS_REQUIRE_IMAP=1)."""

import getpass
import imaplib
import io
import os
import shutil
import socket
import subprocess
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.core.management import call_command

from emegalis.actes import protocol as p
from emegalis.actes.models import IncomingArchive, Transaction
from emegalis.prefecture import services as pref
from emegalis.prefecture.models import OutgoingReturn
from tests.actes.helpers import acte_form

pytestmark = pytest.mark.django_db
DOVECOT = shutil.which("dovecot") or (
    "/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None
)
PASSWORD = "mot-de-passe-imap"

CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
{users}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dovecot():
    if DOVECOT is None:
        message = "Dovecot est absent : sudo apt-get install dovecot-imapd"
        if os.environ.get("EMEGALIS_REQUIRE_IMAP") == "1":
            pytest.fail(message + " (EMEGALIS_REQUIRE_IMAP=1 : échec)")
        pytest.skip(message)
    # Not under pytest's temporary folder: Dovecot's mail processes run as « nobody » and
    # need to reach the mail folder (pytest's root folder is private).
    root = Path(tempfile.mkdtemp(prefix="emegalis-dovecot-"))
    root.chmod(0o755)
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir()
    if os.geteuid() == 0:
        uid, gid, users = "nobody", "nogroup", ""
        shutil.chown(root / "mail", "nobody", "nogroup")
    else:
        me = getpass.getuser()
        uid, gid = os.getuid(), os.getgid()
        users = f"default_internal_user = {me}\ndefault_login_user = {me}\n"
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(
        CONFIG.format(root=root, users=users, password=PASSWORD, uid=uid, gid=gid, port=port)
    )
    subprocess.run([DOVECOT, "-c", str(conf)], check=True, timeout=30)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield {"host": "127.0.0.1", "port": port}
    finally:
        subprocess.run([DOVECOT, "-c", str(conf), "stop"], timeout=30, check=False)
        shutil.rmtree(root, ignore_errors=True)


def mail_with(name: str, archive: bytes) -> bytes:
    mail = EmailMessage()
    mail["From"] = "actes@interieur.gouv.fr"
    mail["To"] = "retour-actes@e-megalis.bzh"
    mail["Subject"] = f"Retour @CTES {name}"
    mail.set_content("Message automatique du ministère de l'Intérieur.")
    mail.add_attachment(archive, maintype="application", subtype="x-gzip", filename=name)
    return mail.as_bytes()


def test_the_poller_applies_returns_from_a_real_imap_mailbox(
    dovecot, settings, agent_client, wire, run_commits
):
    settings.ACTES_IMAP_HOST = dovecot["host"]
    settings.ACTES_IMAP_PORT = dovecot["port"]
    settings.ACTES_IMAP_SSL = False
    settings.ACTES_IMAP_USER = "retour-actes"
    settings.ACTES_IMAP_PASSWORD = PASSWORD
    settings.ACTES_IMAP_FOLDER = "INBOX"

    wire.mode = "ok"  # the archive reaches the ministry; its answer comes by e-mail
    with run_commits():
        agent_client.post("/actes/nouveau/", acte_form())
    acte = Transaction.objects.get(type=1)
    assert acte.status == p.ActStatus.TRANSMIS
    pref.receive_archive(source=io.BytesIO(wire.sent[0][1]), name=wire.sent[0][0])
    out = OutgoingReturn.objects.get()
    archive = out.archive.open("rb").read()

    imap = imaplib.IMAP4(dovecot["host"], dovecot["port"])
    imap.login("retour-actes", PASSWORD)
    notice = EmailMessage()
    notice["Subject"] = "Transmission multi-canal"
    notice.set_content("Cet acte a été transmis par un autre canal.")
    for raw in (
        notice.as_bytes(),
        mail_with(out.name, archive),
        mail_with("copie.tar.gz", archive),
    ):
        assert imap.append("INBOX", None, None, raw)[0] == "OK"
    imap.logout()

    call_command("poll_actes_mailbox")
    acte.refresh_from_db()
    assert acte.status == p.ActStatus.ACQUITTEMENT_RECU
    assert acte.id_acte
    assert IncomingArchive.objects.filter(channel="imap").count() == 1

    imap = imaplib.IMAP4(dovecot["host"], dovecot["port"])
    imap.login("retour-actes", PASSWORD)
    imap.select("INBOX")
    assert imap.search(None, "UNSEEN")[1] == [b""]
    imap.logout()
    call_command("poll_actes_mailbox")  # nothing new: nothing changes
    assert acte.status_changes.count() == 4
