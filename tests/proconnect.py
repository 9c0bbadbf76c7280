"""The local ProConnect (scripts/proconnect_provider.py), driven the way a browser would."""

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import requests

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "proconnect_provider.py"
CLIENT_ID = "emegalis-tests"
CLIENT_SECRET = "secret-du-client-de-test"


class LocalProConnect:
    """A provider process on 127.0.0.1, started once for the session."""

    def __init__(self, log_path: Path):
        self.log = open(log_path, "w")  # noqa: SIM115 (kept open for the process's life)
        self.process = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        line = self.process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"the local ProConnect did not start: {line!r}, see {log_path}")
        self.url = match.group(1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.log.close()

    def add_user(self, sub: str, **claims) -> None:
        response = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=10)
        assert response.status_code == 204, response.text

    def set_profile(self, **changes) -> None:
        response = requests.put(f"{self.url}/_profile", json=changes, timeout=10)
        assert response.status_code == 200, response.text

    def sign(self, claims: dict) -> str:
        """A JWT of these claims, signed with a key the provider publishes."""
        response = requests.post(f"{self.url}/_sign", json=claims, timeout=10)
        assert response.status_code == 200, response.text
        return response.text

    def authorize(self, authorize_url: str, sub: str) -> str:
        """The agent picks their identity on the provider's page: the callback URL (path and
        query) the provider redirects the browser to."""
        session = requests.Session()
        form = session.get(authorize_url, timeout=10)
        assert form.status_code == 200, form.text
        answer = session.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        location = urlsplit(answer.headers["Location"])
        return f"{location.path}?{location.query}"

    def end_session(self, end_session_url: str) -> str:
        """The agent confirms the sign-out on the provider's page: the return URL (path and
        query)."""
        session = requests.Session()
        form = session.get(end_session_url, timeout=10)
        assert form.status_code == 200, form.text
        redirect_uri = re.search(r'name="redirect_uri" value="([^"]+)"', form.text).group(1)
        answer = session.post(
            f"{self.url}/oauth2/end_session/confirm",
            data={"redirect_uri": redirect_uri.replace("&amp;", "&")},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, answer.text
        location = urlsplit(answer.headers["Location"])
        return f"{location.path}?{location.query}"
