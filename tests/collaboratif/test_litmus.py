"""The WebDAV server against `litmus` (Debian's package): its basic, copymove, props and locks
suites, run against /dav/ on a live server with an app password."""

import os
import re
import shutil
import subprocess

import pytest

from .helpers import app_password, side, workspace_of

pytestmark = pytest.mark.django_db(transaction=True)

SUITES = ["basic", "copymove", "props", "locks"]


def test_litmus_passes_against_the_webdav_server(live_server, tmp_path):
    if shutil.which("litmus") is None:
        if os.environ.get("EMEGALIS_REQUIRE_LITMUS"):
            pytest.fail("litmus is required here (apt-get install litmus)")
        pytest.skip("litmus absent (Debian package « litmus »)")
    owner = side()
    workspace = workspace_of(owner)
    secret = app_password(owner.agent)
    url = f"{live_server.url}/dav/{workspace.slug}/"
    result = subprocess.run(
        ["litmus", url, owner.agent.email, secret],
        env={**os.environ, "TESTS": " ".join(SUITES)},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=os.environ.get("LITMUS_DIR", tmp_path),  # litmus writes its debug.log there
    )
    output = result.stdout + result.stderr
    print("\n".join(line for line in output.splitlines() if "summary for" in line))
    assert result.returncode == 0, output[-6000:]
    for suite in SUITES:
        summary = re.search(rf"<- summary for `{suite}': of (\d+) tests run: (\d+) passed", output)
        assert summary and summary[1] == summary[2] != "0", output[-6000:]
