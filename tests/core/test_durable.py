"""Files the platform acknowledges are on stable storage before it answers (issue 10): the
default local storage writes a temporary in the same directory, fsyncs it, renames it and
fsyncs the directory (and every directory it creates), with Django's naming rules kept.

fsync is observed, not replaced: the real call runs, and the path behind each synced file
descriptor is recorded from /proc/self/fd (Linux)."""

import os
import sys
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages

from emegalis.core import durable

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="/proc/self/fd sert à nommer ce qui est fsyncé"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def synced(monkeypatch) -> list[Path]:
    """The real os.fsync, recording the path of each file or directory it syncs."""
    real = os.fsync
    paths: list[Path] = []

    def recording_fsync(fd):
        paths.append(Path(os.readlink(f"/proc/self/fd/{fd}")))
        return real(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    return paths


def test_default_storage_is_the_durable_one():
    assert isinstance(storages["default"], durable.DurableFileSystemStorage)


def test_a_save_fsyncs_the_file_its_directory_and_the_directories_it_creates(settings, synced):
    root = Path(settings.MEDIA_ROOT)
    name = default_storage.save("plis/1/2/accuse.pdf", ContentFile(b"%PDF-1.7 signed"))
    assert name == "plis/1/2/accuse.pdf"
    final = root / name
    assert final.read_bytes() == b"%PDF-1.7 signed"
    # The bytes were synced under a temporary name of the same directory, before the rename.
    temporaries = [p for p in synced if p.parent == final.parent and durable.is_temporary(p.name)]
    assert len(temporaries) == 1 and temporaries[0].name.startswith("accuse.pdf.tmp-")
    # Then the directory holding the new name, after the file.
    assert final.parent in synced[synced.index(temporaries[0]) + 1 :]
    # Each directory created on the way, and its parent (so the path itself survives).
    for directory in (root / "plis", root / "plis/1", root / "plis/1/2"):
        assert directory in synced
        assert directory.parent in synced
    assert not [p for p in final.parent.iterdir() if durable.is_temporary(p.name)]


def test_a_second_save_under_a_taken_name_gets_another_name_and_keeps_the_first(synced):
    first = default_storage.save("dce/RC.pdf", ContentFile(b"premier"))
    second = default_storage.save("dce/RC.pdf", ContentFile(b"second"))
    assert first == "dce/RC.pdf" and second != first and second.startswith("dce/RC")
    with default_storage.open(first, "rb") as f:
        assert f.read() == b"premier"
    with default_storage.open(second, "rb") as f:
        assert f.read() == b"second"


def test_a_write_that_fails_midway_leaves_nothing_under_the_final_name(settings, tmp_path):
    (tmp_path / "d").mkdir()

    def chunks():
        yield b"debut"
        raise OSError("disque plein")

    with pytest.raises(OSError, match="disque plein"):
        durable.write_file(tmp_path / "d" / "segment", chunks())
    assert list((tmp_path / "d").iterdir()) == []


def test_write_file_refuses_to_replace_unless_asked(tmp_path):
    target = tmp_path / "f"
    durable.write_file(target, [b"un"])
    with pytest.raises(FileExistsError):
        durable.write_file(target, [b"deux"])
    assert target.read_bytes() == b"un"
    durable.write_file(target, [b"trois"], overwrite=True)
    assert target.read_bytes() == b"trois"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_file_permissions_are_djangos(settings, tmp_path):
    settings.FILE_UPLOAD_PERMISSIONS = 0o640
    settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750
    storage = durable.DurableFileSystemStorage(location=tmp_path / "m")
    name = storage.save("a/b.txt", ContentFile("texte"))
    assert (tmp_path / "m" / name).read_text() == "texte"
    assert (tmp_path / "m" / name).stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "m" / "a").stat().st_mode & 0o777 == 0o750


def test_orphan_temporaries_are_removed_once_old_and_nothing_else(settings, tmp_path):
    """A write killed before its rename leaves « name.tmp-xxxx »: the hourly job deletes it
    once it is older than ORPHAN_AGE_SECONDS; a fresh temporary (a write in progress) and the
    stored files stay."""
    import os
    import time

    from emegalis.core import durable, tasks

    settings.MEDIA_ROOT = str(tmp_path)
    folder = tmp_path / "plis" / "12"
    folder.mkdir(parents=True)
    stored = folder / "segment-0"
    old_orphan = folder / f"segment-8{durable.TEMPORARY_MARK}0a1b2c"
    fresh = folder / f"segment-16{durable.TEMPORARY_MARK}3d4e5f"
    for path in (stored, old_orphan, fresh):
        path.write_bytes(b"x")
    long_ago = time.time() - durable.ORPHAN_AGE_SECONDS - 60
    os.utime(old_orphan, (long_ago, long_ago))
    os.utime(stored, (long_ago, long_ago))
    assert tasks.remove_orphan_temporaries.call() == 1
    assert not old_orphan.exists()
    assert stored.exists() and fresh.exists()
