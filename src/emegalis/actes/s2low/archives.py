"""A letter from the prefecture as the archive S²LOW's clients download and untar."""

import io
import tarfile

from emegalis.actes import protocol as p
from emegalis.actes.models import Transaction
from emegalis.actes.outgoing import travelled_message


def letter_archive(tx: Transaction) -> tuple[bytes, str]:
    """A letter from the prefecture as a .tar.gz: its XML message and its documents under their
    wire names, built from what was received for this authority only."""
    members: list[tuple[str, bytes]] = []
    message = travelled_message(tx)
    if message is not None:
        members.append(message)
    for d in tx.documents.order_by("rank", "pk"):
        with d.file.open("rb") as fh:
            members.append((d.wire_name or d.original_name, fh.read()))
    stamp = int(tx.created_at.timestamp())
    buf = io.BytesIO()
    level = p.choose_compresslevel([content for _, content in members])
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=level) as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(content), stamp, 0o644
            tar.addfile(info, io.BytesIO(content))
    stem = message[0].removesuffix(".xml") if message else f"courrier-{tx.pk}"
    return buf.getvalue(), f"{stem}.tar.gz"
