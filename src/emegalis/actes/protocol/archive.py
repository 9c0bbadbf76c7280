"""The .tar.gz archives that carry @CTES exchanges, written by the rules and read defensively.

Writing (:func:`build_archive`, :func:`write_archive`): one envelope, its business messages, the
documents they name; every name checked against the naming rules, every message listed in the
envelope, every document named by a message and carrying the message's stem (brief §2).

Reading (:func:`read_archive`): the gzip stream is inflated by us, chunk by chunk, with a
counter — a size cap, a compression-ratio cap and a member-count cap hold whatever the tar
headers claim. Only regular files with plain relative names are accepted: no absolute path,
no ``..``, no link, device, FIFO or sparse member.
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO

from . import naming
from .codec import SchemaArg, build
from .constants import ENVELOPE_ROOTS
from .errors import ArchiveError, MessageParseError, NamingError
from .messages import Envelope, EnveloppeCLMISILL, EnveloppeMISILLCL, FichierSigne, Message
from .parsing import parse, root_name

MiB = 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_IN_CHUNK = 64 * 1024
_OUT_CHUNK = 256 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    """What an archive may weigh. Defaults follow current S²LOW (150 MiB per archive, brief §4);
    the ministry's own cap is [unconfirmed]: configure per environment."""

    max_archive_bytes: int = 150 * MiB  # compressed size
    max_total_bytes: int = 200 * MiB  # inflated size of the whole tar stream
    max_member_bytes: int | None = None  # per file (None: only the total applies)
    max_members: int = 500
    max_ratio: float = 100.0  # inflated / compressed, checked once ratio_floor is inflated
    ratio_floor: int = 1 * MiB
    flat_only: bool = True  # @CTES archives are flat: refuse members in sub-folders


DEFAULT_LIMITS = ArchiveLimits()


def _mib(n: int) -> str:
    return f"{n / MiB:.0f} Mio" if n >= MiB else f"{n} octets"


# ===========================================================================================
# Writing
# ===========================================================================================


class _CountingWriter(io.RawIOBase):
    def __init__(self, out: BinaryIO, limit: int | None) -> None:
        self._out, self._limit, self.count = out, limit, 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[override]
        n = len(b)
        self.count += n
        if self._limit is not None and self.count > self._limit:
            raise ArchiveError(
                f"L'archive dépasse la taille maximale autorisée ({_mib(self._limit)}). "
                "Réduisez le nombre ou la taille des pièces."
            )
        self._out.write(b)
        return n


def _referenced_files(obj: Any) -> list[str]:
    """Every ``NomFichier`` a message names, in document order."""
    found: list[str] = []
    if isinstance(obj, FichierSigne):
        found.append(obj.nom_fichier)
    elif isinstance(obj, tuple | list):
        for item in obj:
            found.extend(_referenced_files(item))
    elif is_dataclass(obj) and not isinstance(obj, type):
        for f in fields(obj):
            if f.name != "acte_recu":  # an AR's echo names the act's files, not its own
                found.extend(_referenced_files(getattr(obj, f.name)))
    return found


_SUFFIX_RE = re.compile(r"_[0-9]+\.[A-Za-z0-9]+$")


def _transaction_key(name: str) -> str:
    """``{stem}-{code}`` of a message or document name (typology prefix and ``_k.ext`` cut)."""
    m = naming.DOCUMENT_NAME_RE.fullmatch(name)
    if m and m["typologie"]:
        name = name[len(m["typologie"]) + 1 :]
    return _SUFFIX_RE.sub("", name)


def _content_size(content: bytes | Path | BinaryIO) -> int:
    if isinstance(content, bytes | bytearray | memoryview):
        return len(content)
    if isinstance(content, Path):
        return content.stat().st_size
    pos = content.tell()
    size = content.seek(0, io.SEEK_END) - pos
    content.seek(pos)
    return size


def write_archive(
    out: BinaryIO,
    envelope: tuple[str, Envelope | bytes],
    messages: Mapping[str, Message | bytes],
    files: Mapping[str, bytes | Path | BinaryIO] | None = None,
    *,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    mtime: datetime | None = None,
    compresslevel: int | None = None,
    validate: bool = True,
    schema: SchemaArg = None,
) -> int:
    """Write the archive to ``out`` (streamed); return its size in bytes.

    ``envelope`` is ``(file name, EnveloppeCLMISILL | EnveloppeMISILLCL | its XML)``;
    ``messages`` maps business XML names to messages (or their XML); ``files`` maps document
    names to their content (bytes, a path, or a seekable binary stream). ``compresslevel``
    ``None`` picks it from the content (:func:`choose_compresslevel`).
    """
    files = dict(files or {})
    env_name, env_value = envelope
    outgoing = True
    if naming.ENVELOPE_NAME_RE.fullmatch(env_name):
        outgoing = True
    elif naming.RETURN_ENVELOPE_NAME_RE.fullmatch(env_name):
        outgoing = False
    else:
        naming.parse_envelope_name(env_name)  # raises the French message

    env_obj = env_value if isinstance(env_value, Envelope) else parse(bytes(env_value))
    if not isinstance(env_obj, EnveloppeCLMISILL | EnveloppeMISILLCL):
        raise ArchiveError("Le fichier enveloppe n'est ni EnveloppeCLMISILL ni EnveloppeMISILLCL.")
    if outgoing != isinstance(env_obj, EnveloppeCLMISILL):
        raise NamingError(
            f"Le nom « {env_name} » ne correspond pas au sens de l'enveloppe ({env_obj.ROOT}).",
            field="nom_fichier",
        )
    env_xml = (
        build(env_obj, validate=validate, schema=schema)
        if isinstance(env_value, Envelope)
        else bytes(env_value)
    )

    listed = list(env_obj.formulaires)
    if sorted(listed) != sorted(messages):
        missing = sorted(set(listed) - set(messages))
        extra = sorted(set(messages) - set(listed))
        detail = "; ".join(
            part
            for part in (
                f"annoncés mais absents : {', '.join(missing)}" if missing else "",
                f"présents mais non annoncés : {', '.join(extra)}" if extra else "",
            )
            if part
        )
        raise ArchiveError(f"L'enveloppe et les messages ne concordent pas ({detail}).")

    entries: list[tuple[str, bytes | Path | BinaryIO]] = [(env_name, env_xml)]
    used: set[str] = set()
    for msg_name, value in messages.items():
        m = naming.check_message_name(msg_name)
        msg_obj = value if isinstance(value, Message) else parse(bytes(value))
        if not isinstance(msg_obj, Message):
            raise ArchiveError(f"« {msg_name} » n'est pas un message métier.")
        if m["code"] != msg_obj.CODE:
            raise NamingError(
                f"Le nom « {msg_name} » porte le code {m['code']} mais le message est un "
                f"{msg_obj.root} ({msg_obj.CODE}).",
                field="nom_fichier",
            )
        xml = (
            build(msg_obj, validate=validate, schema=schema)
            if isinstance(value, Message)
            else bytes(value)
        )
        entries.append((msg_name, xml))
        key = _transaction_key(msg_name)
        for doc_name in _referenced_files(msg_obj):
            naming.check_document_name(doc_name, require_typologie=outgoing)
            if _transaction_key(doc_name) != key:
                raise NamingError(
                    f"La pièce « {doc_name} » ne porte pas le nom de son message « {msg_name} ».",
                    field="nom_fichier",
                )
            if doc_name not in files:
                raise ArchiveError(f"La pièce « {doc_name} » est annoncée mais absente.")
            if doc_name in used:
                raise ArchiveError(f"La pièce « {doc_name} » est annoncée deux fois.")
            used.add(doc_name)
            entries.append((doc_name, files[doc_name]))
    unused = sorted(set(files) - used)
    if unused:
        raise ArchiveError(f"Pièces jointes qu'aucun message ne nomme : {', '.join(unused)}.")
    if len(entries) > limits.max_members:
        raise ArchiveError(
            f"L'archive compterait {len(entries)} fichiers, au-delà de {limits.max_members}."
        )

    if compresslevel is None:
        compresslevel = choose_compresslevel(content for _, content in entries)
    stamp = mtime.timestamp() if mtime is not None else time.time()
    counter = _CountingWriter(out, limits.max_archive_bytes)
    with (
        gzip.GzipFile(
            filename="", mode="wb", fileobj=counter, compresslevel=compresslevel, mtime=int(stamp)
        ) as gz,
        tarfile.open(fileobj=gz, mode="w|", format=tarfile.USTAR_FORMAT) as tar,
    ):
        for name, content in entries:
            info = tarfile.TarInfo(name)
            info.size = _content_size(content)
            info.mtime = int(stamp)
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if isinstance(content, bytes | bytearray | memoryview):
                tar.addfile(info, io.BytesIO(bytes(content)))
            elif isinstance(content, Path):
                with content.open("rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info, content)
    return counter.count


_SAMPLE = 16 * 1024
STORED, DEFLATED = 0, 6


def _sample(content: bytes | Path | BinaryIO) -> bytes:
    if isinstance(content, bytes | bytearray | memoryview):
        return bytes(content[:_SAMPLE])
    if isinstance(content, Path):
        with content.open("rb") as fh:
            return fh.read(_SAMPLE)
    pos = content.tell()
    head = content.read(_SAMPLE)
    content.seek(pos)
    return head


def choose_compresslevel(contents: Iterable[bytes | Path | BinaryIO]) -> int:
    """Deflate only when it pays. Signed PDFs are already compressed: deflating them costs
    about 20 ms per MiB and saves nothing, so such archives are written with stored deflate
    blocks (gzip level 0 — a valid gzip stream every inflater reads, S²LOW's ``tar xzf`` and
    the ministry's included). When a fast trial on the head of each file says the whole would
    shrink by a tenth or more (XML budgets, uncompressed scans), level 6 is used."""
    total = saved = 0.0
    for content in contents:
        size = _content_size(content)
        head = _sample(content)
        if not head:
            continue
        ratio = len(zlib.compress(head, 1)) / len(head)
        total += size
        saved += size * max(0.0, 1.0 - ratio)
    return DEFLATED if total and saved >= 0.1 * total else STORED


def build_archive(
    envelope: tuple[str, Envelope | bytes],
    messages: Mapping[str, Message | bytes],
    files: Mapping[str, bytes | Path | BinaryIO] | None = None,
    **options: Any,
) -> bytes:
    """Build the .tar.gz in memory and return its bytes (see :func:`write_archive`)."""
    buf = io.BytesIO()
    write_archive(buf, envelope, messages, files, **options)
    return buf.getvalue()


# ===========================================================================================
# Reading
# ===========================================================================================


class _BoundedGunzip(io.RawIOBase):
    """Inflate a gzip stream ourselves, counting what goes in and what comes out."""

    def __init__(self, source: BinaryIO, limits: ArchiveLimits) -> None:
        self._src = source
        self._limits = limits
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._pending = b""
        self._carry = b""
        self._done = False
        self.compressed = 0
        self.inflated = 0

    def readable(self) -> bool:
        return True

    def _next_input(self) -> bytes:
        if self._carry:
            data, self._carry = self._carry, b""
            return data
        data = self._src.read(_IN_CHUNK)
        self.compressed += len(data)
        if self.compressed > self._limits.max_archive_bytes:
            raise ArchiveError(
                "L'archive dépasse la taille maximale autorisée "
                f"({_mib(self._limits.max_archive_bytes)})."
            )
        return data

    def _account(self, data: bytes) -> bytes:
        limits = self._limits
        self.inflated += len(data)
        if self.inflated > limits.max_total_bytes:
            raise ArchiveError(
                "L'archive décompressée dépasse la taille maximale autorisée "
                f"({_mib(limits.max_total_bytes)}) : elle est refusée."
            )
        if self.inflated > limits.ratio_floor and self.inflated > limits.max_ratio * max(
            self.compressed, 1
        ):
            raise ArchiveError(
                "Taux de compression anormal (plus de "
                f"{limits.max_ratio:.0f} pour 1) : archive refusée par précaution "
                "(bombe de décompression)."
            )
        return data

    def _after_member(self) -> None:
        """At the end of a gzip member: NUL padding ends the stream, a new member goes on."""
        rest = self._d.unused_data
        while True:
            rest = rest.lstrip(b"\0")
            if rest:
                break
            rest = self._next_input()
            if not rest:
                self._done = True
                return
        if len(rest) < 2:
            rest += self._next_input()
        if not rest.startswith(_GZIP_MAGIC):
            raise ArchiveError("Données inattendues après la fin du flux gzip : archive refusée.")
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._carry = rest

    def _fill(self) -> None:
        while not self._pending and not self._done:
            try:
                if self._d.eof:
                    self._after_member()
                    continue
                if self._d.unconsumed_tail:
                    data = self._d.decompress(self._d.unconsumed_tail, _OUT_CHUNK)
                else:
                    chunk = self._next_input()
                    if not chunk:
                        raise ArchiveError("Archive gzip tronquée : la fin du flux manque.")
                    data = self._d.decompress(chunk, _OUT_CHUNK)
            except zlib.error as exc:
                raise ArchiveError(f"Archive gzip corrompue ({exc}).") from None
            self._pending = self._account(data)

    def readinto(self, b) -> int:  # type: ignore[override]
        self._fill()
        n = min(len(b), len(self._pending))
        b[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def _member_name(info: tarfile.TarInfo, limits: ArchiveLimits) -> str | None:
    """The checked name of a member, or None for a harmless ``.`` directory entry."""
    name = info.name
    if _CONTROL_RE.search(name) or "\\" in name:
        raise ArchiveError(f"Nom de fichier interdit dans l'archive : {name!r}.")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise ArchiveError(f"Chemin absolu interdit dans l'archive : « {name} ».")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in name.split("/"):
        raise ArchiveError(
            f"Chemin interdit dans l'archive : « {name} » remonte dans l'arborescence (..)."
        )
    if info.isdir():
        if not parts:
            return None
        if limits.flat_only:
            raise ArchiveError(f"Dossier non autorisé dans l'archive : « {name} ».")
        return None
    if info.issym() or info.islnk():
        raise ArchiveError(f"Lien interdit dans l'archive : « {name} » → « {info.linkname} ».")
    if info.ischr() or info.isblk() or info.isfifo() or info.issparse() or not info.isreg():
        raise ArchiveError(
            f"« {name} » n'est pas un fichier ordinaire (périphérique, tube ou fichier "
            "creux) : archive refusée."
        )
    if not parts:
        raise ArchiveError("Membre sans nom dans l'archive.")
    if limits.flat_only and len(parts) > 1:
        raise ArchiveError(f"Sous-dossier non autorisé dans l'archive : « {name} ».")
    return "/".join(parts)


@dataclass
class Archive:
    """The files of an archive that passed the safety checks, in archive order."""

    files: dict[str, bytes]
    compressed_size: int = 0
    inflated_size: int = 0
    _roots: dict[str, str] = field(default_factory=dict, repr=False)

    def _root(self, name: str) -> str:
        if name not in self._roots:
            try:
                self._roots[name] = root_name(self.files[name])
            except MessageParseError:
                self._roots[name] = ""
        return self._roots[name]

    @cached_property
    def envelope_name(self) -> str:
        candidates = [
            n for n in self.files if n.lower().endswith(".xml") and self._root(n) in ENVELOPE_ROOTS
        ]
        if len(candidates) != 1:
            raise ArchiveError(
                "L'archive doit contenir exactement une enveloppe XML "
                f"({len(candidates)} trouvée(s))."
            )
        return candidates[0]

    @cached_property
    def envelope(self) -> Envelope:
        env = parse(self.files[self.envelope_name])
        assert isinstance(env, Envelope)
        return env

    @cached_property
    def messages(self) -> dict[str, Message]:
        """The business messages the envelope lists, parsed (tolerantly), in envelope order."""
        listed: Iterable[str] = getattr(self.envelope, "formulaires", ())
        result: dict[str, Message] = {}
        for name in listed:
            if name not in self.files:
                raise ArchiveError(f"Le message « {name} » annoncé par l'enveloppe est absent.")
            msg = parse(self.files[name])
            if not isinstance(msg, Message):
                raise ArchiveError(f"« {name} » n'est pas un message métier.")
            result[name] = msg
        return result

    @cached_property
    def documents(self) -> dict[str, bytes]:
        """Every file that is neither the envelope nor a listed message."""
        skip = {self.envelope_name, *self.messages}
        return {n: data for n, data in self.files.items() if n not in skip}


def read_archive(
    source: bytes | bytearray | BinaryIO, limits: ArchiveLimits = DEFAULT_LIMITS
) -> Archive:
    """Safely read a .tar.gz; raise :class:`ArchiveError` with a French message if unsafe."""
    stream: BinaryIO = (
        io.BytesIO(bytes(source)) if isinstance(source, bytes | bytearray) else source
    )
    head = stream.read(2)
    if head != _GZIP_MAGIC:
        raise ArchiveError("Le fichier n'est pas une archive .tar.gz (compression gzip attendue).")
    reader = _BoundedGunzip(io.BufferedReader(_Prefixed(head, stream)), limits)
    files: dict[str, bytes] = {}
    total = 0
    count = 0
    try:
        with tarfile.open(fileobj=io.BufferedReader(reader), mode="r|") as tar:
            for info in tar:
                count += 1
                if count > limits.max_members:
                    raise ArchiveError(
                        f"L'archive contient trop de fichiers (plus de {limits.max_members})."
                    )
                name = _member_name(info, limits)
                if name is None:
                    continue
                if limits.max_member_bytes is not None and info.size > limits.max_member_bytes:
                    raise ArchiveError(
                        f"« {name} » dépasse la taille maximale d'un fichier "
                        f"({_mib(limits.max_member_bytes)})."
                    )
                total += info.size
                if total > limits.max_total_bytes:
                    raise ArchiveError(
                        "L'archive décompressée dépasse la taille maximale autorisée "
                        f"({_mib(limits.max_total_bytes)}) : elle est refusée."
                    )
                if name in files:
                    raise ArchiveError(f"Fichier en double dans l'archive : « {name} ».")
                fh = tar.extractfile(info)
                data = fh.read() if fh is not None else b""
                if len(data) != info.size:
                    raise ArchiveError(f"« {name} » est tronqué dans l'archive.")
                files[name] = data
    except tarfile.TarError as exc:
        raise ArchiveError(f"Le contenu de l'archive n'est pas un tar valide ({exc}).") from None
    except EOFError:
        raise ArchiveError("Archive tronquée.") from None
    if not files:
        raise ArchiveError("L'archive est vide.")
    return Archive(files=files, compressed_size=reader.compressed, inflated_size=reader.inflated)


class _Prefixed(io.RawIOBase):
    """A stream with a few bytes already read put back in front."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix, self._stream = prefix, stream

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        if self._prefix:
            n = min(len(b), len(self._prefix))
            b[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._stream.read(len(b))
        n = len(data)
        b[:n] = data
        return n
