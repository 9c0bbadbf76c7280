"""The DCE as one zip, produced while it is sent: never built in memory nor on disk.

The standard library's zipfile writes into a small buffer object that has `write` and `tell`
but no `seek`; zipfile then writes each entry's sizes and CRC in a data descriptor after its
data, and the generator hands the buffer's bytes out after every chunk. Memory stays at one
chunk per file whatever the DCE's size. Entries are stored (no compression): DCE files are
mostly PDF and office files, already compressed, and storing keeps the throughput at disk
speed."""

import zipfile
from collections.abc import Iterable, Iterator

from django.utils import timezone

from emegalis.marches.consultations.models import DceFile

CHUNK_SIZE = 1024 * 1024


# Above this size an entry needs ZIP64 extra fields (sizes beyond 32 bits).
ZIP64_LIMIT = zipfile.ZIP64_LIMIT


class _Sink:
    """A write-only, non-seekable file object whose bytes are taken out as they come."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._position = 0

    def write(self, data) -> int:
        self._buffer += data
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


def entry_name(dce_file: DceFile, seen: set[str]) -> str:
    """The path inside the zip (folder/name), made unique if two files share it."""
    name = dce_file.path
    if name in seen:
        stem, dot, ext = name.rpartition(".")
        base = stem if dot else name
        suffix = f".{ext}" if dot else ""
        counter = 2
        while f"{base} ({counter}){suffix}" in seen:
            counter += 1
        name = f"{base} ({counter}){suffix}"
    seen.add(name)
    return name


def stream_zip(files: Iterable[DceFile], chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield the bytes of a zip holding every file, read from storage chunk by chunk."""
    sink = _Sink()
    seen: set[str] = set()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for dce_file in files:
            moment = timezone.localtime(dce_file.uploaded_at)
            info = zipfile.ZipInfo(
                entry_name(dce_file, seen),
                date_time=(
                    max(moment.year, 1980),
                    moment.month,
                    moment.day,
                    moment.hour,
                    moment.minute,
                    moment.second,
                ),
            )
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = dce_file.size
            info.external_attr = 0o644 << 16
            with (
                dce_file.file.open("rb") as source,
                zf.open(info, mode="w", force_zip64=dce_file.size >= ZIP64_LIMIT) as target,
            ):
                while chunk := source.read(chunk_size):
                    target.write(chunk)
                    yield sink.take()
            yield sink.take()
    yield sink.take()
