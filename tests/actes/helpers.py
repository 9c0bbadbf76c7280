"""Builders shared by the actes and prefecture tests: PDFs, uploads, archive checks."""

import io
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from emegalis.actes import protocol as p
from emegalis.actes.acts import services as acts_services
from emegalis.actes.models import Transaction
from emegalis.core.pdf import DocumentBuilder, extract_text
from emegalis.core.services_catalog import Service
from tests.factories import OrganisationFactory, make_convention

CLASSIFICATION_2017 = (
    Path(__file__).resolve().parents[2]
    / "src/emegalis/prefecture/data/classification-exemple-2017-12-08.xml"
)


def pdf_bytes(title: str = "Délibération de test") -> bytes:
    doc = DocumentBuilder(title=title)
    doc.title_line(title)
    doc.paragraph("Le conseil municipal, après en avoir délibéré, adopte la présente décision.")
    return doc.build()


def pdf_upload(name: str = "deliberation.pdf", title: str = "Délibération de test"):
    return SimpleUploadedFile(name, pdf_bytes(title), content_type="application/pdf")


def check_archive(name: str, data: bytes) -> p.Archive:
    """Every archive the platform or the counterpart builds: safe to read, every XML valid
    against the XSD, every name matching the protocol's regexes."""
    archive = p.read_archive(data)
    env = archive.envelope_name
    assert (
        p.naming.ENVELOPE_NAME_RE.match(env)
        or p.naming.RETURN_ENVELOPE_NAME_RE.match(env)
        or p.naming.ANOMALY_ENVELOPE_NAME_RE.match(env)
    ), env
    if p.naming.ENVELOPE_NAME_RE.match(env):
        assert p.naming.ARCHIVE_NAME_RE.match(name), name
        assert name == p.archive_name_for_envelope(env, trigramme=name[:3])
    p.validate(archive.files[env])
    for msg_name in archive.messages:
        assert p.naming.MESSAGE_NAME_RE.match(msg_name), msg_name
        p.validate(archive.files[msg_name])
    for doc_name in archive.documents:
        assert p.naming.DOCUMENT_NAME_RE.match(doc_name), doc_name
    return archive


def pdf_text(data: bytes) -> str:
    return extract_text(data)


def tar_gz(members: dict[str, bytes]) -> bytes:
    import gzip
    import tarfile

    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for member_name, content in members.items():
            info = tarfile.TarInfo(member_name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def check_all_stored_archives() -> int:
    """Every archive the platform stored (envelopes) and the counterpart queued (returns)
    validates and follows the naming rules."""
    from emegalis.actes.models import Envelope
    from emegalis.prefecture.models import OutgoingReturn

    count = 0
    for env in Envelope.objects.all():
        with env.archive.open("rb") as fh:
            archive = check_archive(env.archive_name, fh.read())
        assert archive.envelope_name == env.name
        count += 1
    for out in OutgoingReturn.objects.all():
        with out.archive.open("rb") as fh:
            check_archive(out.name, fh.read())
        count += 1
    return count


def send_act(client, run_commits, **overrides):
    with run_commits():
        response = client.post("/actes/nouveau/", acte_form(**overrides))
    assert response.status_code == 302, response.content.decode()[:2000]
    return Transaction.objects.filter(type=1).order_by("-pk").first()


def make_commune(**kwargs):
    commune = OrganisationFactory(**kwargs)
    make_convention(commune, [Service.ACTES])
    acts_services.import_classification(organisation=commune, xml=CLASSIFICATION_2017.read_bytes())
    return commune


def acte_form(**overrides):
    data = {
        "nature": "1",
        "numero_interne": "DEL2026_001",
        "decision_date": "2026-01-15",
        "objet": "Approbation du compte rendu de la séance du conseil municipal",
        "classification": "5.2",
        "type_acte": "99_DE",
        "document": pdf_upload(),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
