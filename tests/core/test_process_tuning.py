"""The web server process's settings (emegalis.wsgi): glibc keeps freed megabytes, and the
objects loaded at start-up leave the garbage collector's scans."""

import gc
import importlib
import platform
import sys

import pytest

from emegalis.core import process_tuning


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_glibc_accepts_the_allocator_settings():
    assert process_tuning.keep_freed_memory() is True


def test_the_server_process_freezes_what_start_up_loaded():
    gc.unfreeze()
    try:
        process_tuning.tune_server_process()
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()


def test_the_wsgi_entry_point_applies_them(monkeypatch):
    calls = []
    monkeypatch.setattr(process_tuning, "tune_server_process", lambda: calls.append(1))
    monkeypatch.delitem(sys.modules, "emegalis.wsgi", raising=False)
    wsgi = importlib.import_module("emegalis.wsgi")
    assert calls == [1] and callable(wsgi.application)
