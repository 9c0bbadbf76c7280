"""The files of a transaction (the act, its annexes and signatures, replies, returned letters):
checked by format and stored with their SHA-256."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File

from emegalis.actes import protocol as p
from emegalis.actes.models import (
    Document,
    Transaction,
)
from emegalis.core.pdf import check_pdf
from emegalis.core.stored_files import SavedFiles

logger = logging.getLogger(__name__)


IMAGE_MAGIC = {"jpg": (b"\xff\xd8\xff",), "png": (b"\x89PNG\r\n\x1a\n",)}


@dataclass
class Upload:
    """A file given by a form or the API, with its typology (CodeTypePJ)."""

    file: BinaryIO
    name: str
    typologie: str = ""
    signature: Upload | None = None

    @classmethod
    def of(cls, uploaded, typologie: str = "", signature=None) -> Upload:
        sig = cls.of(signature, "99_SE") if signature is not None else None
        return cls(
            file=uploaded,
            name=getattr(uploaded, "name", "") or "fichier",
            typologie=typologie,
            signature=sig,
        )

    @property
    def extension(self) -> str:
        return self.name.rsplit(".", 1)[-1].lower() if "." in self.name else ""


def upload_size(file: BinaryIO) -> int:
    size = getattr(file, "size", None)
    if size is not None:
        return int(size)
    pos = file.tell()
    end = file.seek(0, 2)
    file.seek(pos)
    return end


def check_file(upload: Upload, *, label: str, allowed: Iterable[str]) -> None:
    """Refuse empty files, wrong formats, unreadable PDFs, unsafe XML (each message names the
    file and what to do)."""
    ext = upload.extension
    allowed = tuple(allowed)
    if ext not in allowed:
        shown = ", ".join(e.upper() for e in allowed)
        raise ValidationError(
            f"{label} « {upload.name} » : format « .{ext or '?'} » non accepté ({shown})."
        )
    size = upload_size(upload.file)
    if size == 0:
        raise ValidationError(
            f"{label} « {upload.name} » est vide (0 octet). S'il vient d'un espace en ligne "
            "ou d'une messagerie, téléchargez-le d'abord sur votre poste, puis déposez-le."
        )
    upload.file.seek(0)
    if ext == "pdf":
        try:
            check_pdf(upload.file)
        except ValidationError as exc:
            raise ValidationError(f"{label} « {upload.name} » : {exc.messages[0]}") from None
    elif ext == "xml":
        if size > 50 * 1024 * 1024:
            raise ValidationError(f"{label} « {upload.name} » : XML trop volumineux (50 Mio).")
        try:
            p.parse_xml(upload.file.read())
        except p.ProtocolError as exc:
            raise ValidationError(f"{label} « {upload.name} » : {exc.message}") from None
    elif ext in IMAGE_MAGIC:
        head = upload.file.read(16)
        if not head.startswith(IMAGE_MAGIC[ext]):
            raise ValidationError(
                f"{label} « {upload.name} » n'est pas une image {ext.upper()} valide."
            )
    upload.file.seek(0)


def store_document(
    *,
    tx: Transaction,
    upload: Upload,
    kind: str,
    rank: int,
    wire_name: str,
    saved: SavedFiles,
    signature_of: Document | None = None,
) -> Document:
    digest = hashlib.sha256()
    upload.file.seek(0)
    while chunk := upload.file.read(1024 * 1024):
        digest.update(chunk)
    upload.file.seek(0)
    doc = Document(
        transaction=tx,
        kind=kind,
        rank=rank,
        typologie=upload.typologie,
        original_name=upload.name[:255],
        wire_name=wire_name,
        size=upload_size(upload.file),
        sha256=digest.hexdigest(),
        content_type=getattr(upload.file, "content_type", "") or "",
        signature_of=signature_of,
    )
    doc.file.save(wire_name or "piece", File(upload.file), save=False)
    saved.add(doc.file.name)
    doc.save()
    return doc


def store_bytes(
    *, tx: Transaction, data: bytes, name: str, kind: str, rank: int, saved: SavedFiles
) -> Document:
    doc = Document(
        transaction=tx,
        kind=kind,
        rank=rank,
        original_name=name[:255],
        wire_name=name[:255],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    doc.file.save(name, ContentFile(data), save=False)
    saved.add(doc.file.name)
    doc.save()
    return doc
