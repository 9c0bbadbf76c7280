"""The production S3 storage (core/object_storage.py) against a real S3 server: moto_server,
started on 127.0.0.1 for this module."""

import gc
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import weakref
from pathlib import Path

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from django.core.files.base import ContentFile
from storages.backends.s3 import S3Storage

from emegalis.core.object_storage import ObjectStorage

MIB = 1024 * 1024
CREDENTIALS = {"access_key": "test", "secret_key": "test-secret", "region_name": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    port = _free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    server = subprocess.Popen(  # noqa: S603 — our own venv's moto_server on loopback
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "MOTO_CALL_RESET_API": "false"},
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=1).close()  # noqa: S310 — loopback
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"moto_server n'a pas démarré sur {endpoint}")
            time.sleep(0.2)
    try:
        yield endpoint
    finally:
        server.kill()
        server.wait()
        log.close()


def _storage(cls, endpoint, **options):
    bucket = f"b-{secrets.token_hex(6)}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=CREDENTIALS["access_key"],
        aws_secret_access_key=CREDENTIALS["secret_key"],
        region_name=CREDENTIALS["region_name"],
    ).create_bucket(Bucket=bucket)
    return cls(
        bucket_name=bucket,
        endpoint_url=endpoint,
        default_acl=None,
        file_overwrite=False,
        **CREDENTIALS,
        **options,
    )


def _saved_content_is_kept_alive(storage) -> bool:
    """Save a 16 MiB segment and tell whether anything still holds it once the caller drops
    it, with the cyclic collector off (as between two of its runs in a busy worker)."""
    content = ContentFile(secrets.token_bytes(16 * MIB))
    alive = weakref.ref(content)
    gc.collect()
    gc.disable()
    try:
        storage.save("plis/segment-000", content)
        del content
        return alive() is not None
    finally:
        gc.enable()
        gc.collect()


def test_a_saved_segment_is_freed_as_soon_as_the_caller_drops_it(s3_endpoint):
    assert not _saved_content_is_kept_alive(_storage(ObjectStorage, s3_endpoint))


def test_the_stock_s3_storage_still_keeps_it_in_a_reference_cycle(s3_endpoint):
    """Why ObjectStorage exists (django-storages #1564). When this fails, django-storages has
    fixed it and ObjectStorage can go."""
    assert _saved_content_is_kept_alive(_storage(S3Storage, s3_endpoint))


@pytest.mark.parametrize("size", [0, 3 * MIB + 17, 11 * MIB + 5])
def test_objects_go_up_and_come_back_whole_in_one_put_or_in_parts(s3_endpoint, size):
    storage = _storage(
        ObjectStorage,
        s3_endpoint,
        transfer_config=TransferConfig(
            multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, use_threads=False
        ),
    )
    data = secrets.token_bytes(size)
    content = ContentFile(data, name="offre.bin")
    content.seek(size // 2)  # the storage uploads from the start, wherever the caller left it
    name = storage.save("plis/offre.bin", content)
    with storage.open(name) as stored:
        assert stored.read() == data
    assert storage.size(name) == size
    assert not content.closed  # the caller's content is still the caller's to close


def test_the_content_type_of_the_upload_is_kept(s3_endpoint):
    storage = _storage(ObjectStorage, s3_endpoint)
    content = ContentFile(b"%PDF-1.7\n", name="acte.pdf")
    content.content_type = "application/pdf"
    name = storage.save("actes/acte", content)
    head = storage.connection.meta.client.head_object(Bucket=storage.bucket_name, Key=name)
    assert head["ContentType"] == "application/pdf"
