"""Where the sealed chunks of a pli file live: runs of consecutive chunks, one storage object
per run (a "segment").

A segment is named after the index of its first chunk (``…/<pli file>/00000008``) and holds
chunks back to back, each ``chunk_size + 16`` bytes but the file's last one, exactly as in the
sealed file format (docs/plis-format.md): the header followed by the segments in order *is*
the sealed file. One object per request's worth of chunks instead of one per chunk: creating
a file costs far more than appending a megabyte to one (ext4 inode allocation, a PUT per
object on object storage), and it was the first cost of an upload (ADR 0004). The layout of
earlier deposits, one object per chunk, is the special case of one-chunk segments.

Segments never overlap: a segment is written only at the file's acknowledged offset, and one
left by a request whose transaction failed (an "orphan") is taken over by the next request at
that offset (plis.receive), never written again with other bytes under the same nonces.
"""

import io
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage

from emegalis.core import sealing

from .models import PliFile

SEGMENT_CHUNKS = 8  # at most 8 MiB of ciphertext held in memory per request


def segment_name(pli_file: PliFile, first_index: int) -> str:
    return f"{pli_file.storage_prefix}/{first_index:08d}"


def chunk_count(pli_file: PliFile, chunk_size: int) -> int:
    return max(1, -(-pli_file.size // chunk_size))


def sealed_chunk_size(pli_file: PliFile, chunk_size: int, index: int) -> int:
    return min(chunk_size, pli_file.size - index * chunk_size) + sealing.TAG_SIZE


class _Segment(File):
    """A segment's sealed chunks handed to the storage as they are: the local storage writes
    them one by one (no join into one 8 MiB copy); others (S3) ``read()`` it."""

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
    SEGMENT_CHUNKS) as one segment."""

    def __init__(self, pli_file: PliFile, header: sealing.FileHeader, data_key: bytes):
        self.pli_file = pli_file
        self.header = header
        self.data_key = data_key
        self.first_index = 0
        self.parts: list[bytes] = []

    @property
    def pending(self) -> bool:
        return bool(self.parts)

    @property
    def full(self) -> bool:
        return len(self.parts) >= SEGMENT_CHUNKS

    def seal(self, index: int, plaintext: bytes, last: bool) -> None:
        if not self.parts:
            self.first_index = index
        elif index != self.first_index + len(self.parts) or self.full:
            raise ValueError("a segment holds consecutive chunks, at most SEGMENT_CHUNKS")
        self.parts.append(sealing.seal_chunk(self.header, self.data_key, index, plaintext, last))

    def store(self) -> None:
        if not self.parts:
            return
        name = segment_name(self.pli_file, self.first_index)
        saved = default_storage.save(name, _Segment(self.parts))
        self.parts = []
        if saved != name:  # pragma: no cover - storage renamed: refuse rather than lose data
            default_storage.delete(saved)
            raise ValidationError("Stockage indisponible, réessayez.", code="storage")


def read_orphan(pli_file: PliFile, chunk_size: int, first_index: int) -> list[bytes] | None:
    """The sealed chunks of a segment already stored at ``first_index`` (left by a request
    that failed before acknowledging it), split per chunk; None when there is none."""
    name = segment_name(pli_file, first_index)
    if not default_storage.exists(name):
        return None
    with default_storage.open(name, "rb") as stored:
        data = stored.read()
    if not data:  # created, then the process died before writing: no ciphertext to protect
        default_storage.delete(name)
        return None
    chunks, at, index = [], 0, first_index
    while at < len(data):
        step = sealed_chunk_size(pli_file, chunk_size, index)
        chunks.append(data[at : at + step])
        at += step
        index += 1
    return chunks


def _segments(pli_file: PliFile, chunk_size: int) -> Iterator[tuple[int, int]]:
    """(first chunk index, chunk count) of each stored segment, in order, from their sizes;
    OSError when one is missing or its size is not a whole run of chunks."""
    count = chunk_count(pli_file, chunk_size)
    index = 0
    while index < count:
        name = segment_name(pli_file, index)
        size = default_storage.size(name)  # FileNotFoundError (an OSError) when missing
        first, covered = index, 0
        while covered < size and index < count:
            covered += sealed_chunk_size(pli_file, chunk_size, index)
            index += 1
        if covered != size or index == first:
            raise OSError(f"segment {first}: {size} bytes stored, not a run of whole chunks")
        yield first, index - first


def check_stored(pli_file: PliFile) -> None:
    """Every chunk is in storage with its sealed size, else OSError."""
    header = sealing.FileHeader.from_bytes(bytes(pli_file.header))
    for _ in _segments(pli_file, header.chunk_size):
        pass


def stored_chunks(pli_file: PliFile) -> Iterator[bytes]:
    """The sealed chunks of a file, in order, one in memory at a time (what the opening
    reads); OSError when a segment is missing or cut."""
    header = sealing.FileHeader.from_bytes(bytes(pli_file.header))
    for first, count in _segments(pli_file, header.chunk_size):
        with default_storage.open(segment_name(pli_file, first), "rb") as segment:
            for index in range(first, first + count):
                step = sealed_chunk_size(pli_file, header.chunk_size, index)
                chunk = segment.read(step)
                if len(chunk) != step:
                    raise OSError(f"chunk {index}: cut short in storage")
                yield chunk


def locate_chunk(pli_file: PliFile, index: int) -> tuple[str, int]:
    """The storage name of the segment holding chunk ``index`` and the chunk's byte offset in
    it (for tests and for an operator inspecting a damaged file)."""
    header = sealing.FileHeader.from_bytes(bytes(pli_file.header))
    for first, count in _segments(pli_file, header.chunk_size):
        if first <= index < first + count:
            offset = sum(
                sealed_chunk_size(pli_file, header.chunk_size, i) for i in range(first, index)
            )
            return segment_name(pli_file, first), offset
    raise LookupError(f"chunk {index} is not stored")
