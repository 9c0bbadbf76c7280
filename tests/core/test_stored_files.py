import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from emegalis.core.stored_files import deleted_on_failure


def test_files_saved_in_a_failing_block_are_deleted(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    with pytest.raises(RuntimeError), deleted_on_failure() as saved:
        first = saved.add(default_storage.save("essai/a.txt", ContentFile(b"a")))
        second = saved.add(default_storage.save("essai/b.txt", ContentFile(b"b")))
        assert default_storage.exists(first) and default_storage.exists(second)
        raise RuntimeError("la suite du service échoue")
    assert not default_storage.exists(first)
    assert not default_storage.exists(second)


def test_files_saved_in_a_block_that_succeeds_are_kept(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    with deleted_on_failure() as saved:
        name = saved.add(default_storage.save("essai/c.txt", ContentFile(b"c")))
    assert default_storage.open(name).read() == b"c"
