"""Where the sealed chunks of a pli file live: runs of consecutive chunks, one storage object
per run (a "segment").

A segment is named after the index of its first chunk (``…/<pli file>/00000008``). In the
current format (version 2, docs/plis-format.md) it starts with its own header — a fresh data
key wrapped to the opening public key — followed by its chunks, each ``chunk_size + 16``
bytes but the file's last one: the file header (kept in the database) followed by the
segments in order *is* the sealed file. The data key of a segment lives only in the memory
of the request that writes it, so a later request never needs it: the platform keeps
nothing that opens a segment but the opening private key, which it does not have.

One object per request's worth of chunks instead of one per chunk: creating a file costs far
more than appending a megabyte to one (ext4 inode allocation, a PUT per object on object
storage), and it was the first cost of an upload (ADR 0004).

A segment is on stable storage before its offset is acknowledged: the default local storage
writes it under a temporary name, fsyncs it, renames it and fsyncs the directory
(core/durable.py); on S3 ``save`` returns once the PUT is answered.

A segment is written only at the file's acknowledged offset. Whatever lies at or beyond that
offset was never acknowledged (a request that failed, a process killed mid-write, a torn
object): it is deleted before the next request writes there, never a reason to refuse it.

Files of format version 1 (deposits before 2026-12) have no segment headers: their segments
are plain runs of chunks. They are only read (the opening)."""

import io
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage

from emegalis.core import durable, sealing
from emegalis.marches.deposit.models import PliFile

SEGMENT_CHUNKS = sealing.SEGMENT_CHUNKS  # at most 8 MiB of ciphertext in memory per request


_READ = 1024 * 1024


def segment_name(pli_file: PliFile, first_index: int) -> str:
    return f"{pli_file.storage_prefix}/{first_index:08d}"


def file_header(pli_file: PliFile):
    return sealing.parse_header(bytes(pli_file.header))


def chunk_count(pli_file: PliFile, chunk_size: int) -> int:
    return sealing.chunk_count(pli_file.size, chunk_size)


def sealed_chunk_size(pli_file: PliFile, chunk_size: int, index: int) -> int:
    return min(chunk_size, pli_file.size - index * chunk_size) + sealing.TAG_SIZE


class _Segment(File):
    """A segment's bytes handed to the storage as they are: the local storage writes them
    piece by piece (no join into one 8 MiB copy); others (S3) ``read()`` it."""

    def __init__(self, parts: list[bytes]):
        super().__init__(None, name="segment")
        self.parts = parts
        self.size = sum(len(p) for p in parts)
        self._joined: io.BytesIO | None = None

    def chunks(self, chunk_size=None):
        yield from self.parts

    def multiple_chunks(self, chunk_size=None):
        return len(self.parts) > 1

    @property
    def _stream(self) -> io.BytesIO:
        if self._joined is None:
            self._joined = io.BytesIO(b"".join(self.parts))
        return self._joined

    def read(self, size=-1):
        return self._stream.read(size)

    def seek(self, offset, whence=0):
        return self._stream.seek(offset, whence)

    def tell(self):
        return self._stream.tell()

    def open(self, mode=None):
        return self

    def close(self):
        pass


class SegmentWriter:
    """Seals the chunks of one request and stores each run of consecutive chunks (up to
    SEGMENT_CHUNKS) as one segment, each under a data key made for it and forgotten once the
    segment is stored."""

    def __init__(self, pli_file: PliFile, header: sealing.FileHeader, public_key: bytes):
        self.pli_file = pli_file
        self.header = header
        self.public_key = public_key
        self._sealer: sealing.SegmentSealer | None = None
        self.parts: list[bytes] = []

    @property
    def pending(self) -> bool:
        return bool(self.parts)

    @property
    def full(self) -> bool:
        return len(self.parts) >= SEGMENT_CHUNKS

    def seal(self, index: int, plaintext: bytes, last: bool) -> None:
        if self._sealer is None:
            self._sealer = sealing.SegmentSealer(self.header, self.public_key, index)
        elif index != self._sealer.header.first_index + len(self.parts) or self.full:
            raise ValueError("a segment holds consecutive chunks, at most SEGMENT_CHUNKS")
        self.parts.append(self._sealer.seal(plaintext, last))

    def store(self) -> None:
        if self._sealer is None:
            return
        sealer, parts = self._sealer, self.parts
        self._sealer, self.parts = None, []
        name = segment_name(self.pli_file, sealer.header.first_index)
        framed = [sealer.framed_header(), *parts]
        sealer.forget()
        if default_storage.exists(name):  # never acknowledged: see discard_unacknowledged
            default_storage.delete(name)
        saved = default_storage.save(name, _Segment(framed))
        if saved != name:  # pragma: no cover - storage renamed: refuse rather than lose data
            default_storage.delete(saved)
            raise ValidationError("Stockage indisponible, réessayez.", code="storage")


def discard_unacknowledged(pli_file: PliFile, first_index: int) -> None:
    """Delete the segments at or beyond chunk ``first_index`` (the acknowledged offset): left
    by a request that failed or was killed before its acknowledgement, whole or torn, and the
    temporaries of a segment write killed before its rename."""
    try:
        _, names = default_storage.listdir(pli_file.storage_prefix)
    except FileNotFoundError:
        return
    for name in names:
        # A temporary is a segment killed before its rename (core/durable.py): never whole.
        if (name.isdigit() and int(name) >= first_index) or durable.is_temporary(name):
            default_storage.delete(f"{pli_file.storage_prefix}/{name}")


def _segments(pli_file: PliFile) -> Iterator[tuple[int, int, int]]:
    """(first chunk index, chunk count, stored size) of each segment, in order; OSError when
    one is missing or its size is not its header plus a run of whole chunks."""
    header = file_header(pli_file)
    chunk_size = header.chunk_size
    count = chunk_count(pli_file, chunk_size)
    framed = header.version == sealing.VERSION
    index = 0
    while index < count:
        name = segment_name(pli_file, index)
        size = default_storage.size(name)  # FileNotFoundError (an OSError) when missing
        first = index
        # The stored size alone tells how many whole chunks a segment holds (each sealed
        # chunk has a fixed size): nothing is read back, which on object storage would fetch
        # the whole object. The segment's own header is checked when the plis are opened.
        covered = sealing.SEGMENT_HEADER_SIZE if framed else 0
        while covered < size and index < count:
            covered += sealed_chunk_size(pli_file, chunk_size, index)
            index += 1
        if covered != size or index == first:
            raise OSError(f"segment {first}: {size} bytes stored, not a run of whole chunks")
        yield first, index - first, size


def check_stored(pli_file: PliFile) -> None:
    """Every segment is in storage with the size its chunks give, else OSError."""
    for _ in _segments(pli_file):
        pass


def sealed_body(pli_file: PliFile) -> Iterator[bytes]:
    """The stored segments of a file in order, in pieces of at most 1 MiB: after the file
    header, the sealed file (what the opening reads); OSError when a segment is missing or
    cut."""
    for first, _, size in _segments(pli_file):
        with default_storage.open(segment_name(pli_file, first), "rb") as segment:
            remaining = size
            while remaining:
                piece = segment.read(min(_READ, remaining))
                if not piece:
                    raise OSError(f"segment {first}: cut short in storage")
                remaining -= len(piece)
                yield piece


def locate_chunk(pli_file: PliFile, index: int) -> tuple[str, int]:
    """The storage name of the segment holding chunk ``index`` and the chunk's byte offset in
    it (for tests and for an operator inspecting a damaged file)."""
    header = file_header(pli_file)
    start = sealing.SEGMENT_HEADER_SIZE if header.version == sealing.VERSION else 0
    for first, count, _ in _segments(pli_file):
        if first <= index < first + count:
            offset = start + sum(
                sealed_chunk_size(pli_file, header.chunk_size, i) for i in range(first, index)
            )
            return segment_name(pli_file, first), offset
    raise LookupError(f"chunk {index} is not stored")
