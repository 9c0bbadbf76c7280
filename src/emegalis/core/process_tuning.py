"""Settings of a web server process, applied once at the WSGI entry point (emegalis.wsgi,
which runserver, gunicorn and any WSGI server load).

Measured on uploads of sealed plis (bench/bid_upload.py, ADR 0004):

- **glibc's allocator keeps freed megabytes.** A deposit allocates and frees a few 1 MiB
  buffers per megabyte received (the chunk read from the socket, its ciphertext). By default
  glibc gives such memory back to the system as soon as the top of a thread's heap holds
  more than twice the last freed block, so every new buffer is faulted in again, page by
  page: 20–25 % of an upload's time went there. Keeping up to 32 MiB per heap
  (M_TRIM_THRESHOLD) and serving blocks under 16 MiB from the heaps (M_MMAP_THRESHOLD) ends
  that. The memory stays bounded: at most 2 heaps (M_ARENA_MAX; threads of a Python
  process take turns on the GIL anyway), each trimmed above 32 MiB.
- **The garbage collector skips what lives as long as the process.** ``gc.freeze`` after
  start-up moves the objects of Django, the apps and their modules out of the collector's
  scans: the full collections that request handling triggers no longer walk them.

Elsewhere than glibc (musl, macOS) the allocator part does nothing.
"""

import ctypes
import ctypes.util
import gc
import logging

logger = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
TRIM_THRESHOLD = 32 * 1024 * 1024
MMAP_THRESHOLD = 16 * 1024 * 1024
ARENA_MAX = 2


def keep_freed_memory() -> bool:
    """Tune glibc's malloc as above; False where there is no glibc."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    settings = (
        (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        (M_ARENA_MAX, ARENA_MAX),
    )
    return all([mallopt(option, value) == 1 for option, value in settings])


def tune_server_process() -> None:
    if not keep_freed_memory():
        logger.info("malloc settings left as they are (no glibc)")
    gc.collect()
    gc.freeze()
