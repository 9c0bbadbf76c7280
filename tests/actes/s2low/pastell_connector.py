"""A client that calls the S²LOW-style API in the order and the form Pastell's S2low connector
(connecteur/s2low/S2low.php) does, over real HTTP: parameters, ``api=1``, the subject converted
to ISO-8859-1, answers read as ISO-8859-1, the files list indexed as Pastell indexes it, the
letters' archives untarred with tar as Pastell does. Written for the tests from reading the
connector; nothing is copied from it."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

import requests

COURRIER_SIMPLE, STATUS_PREF_RECU_PAS_D_AR = "2", 21


class S2lowError(Exception):
    pass


class PastellLikeConnector:
    def __init__(self, base: str, login: str, password: str, *, cert_headers: dict | None = None):
        self.base, self.login, self.password = base.rstrip("/"), login, password
        self.http = requests.Session()
        self.http.auth = (login, password)
        self.http.headers.update(cert_headers or {})

    def _exec(self, path: str, *, utf8: bool = True, **kwargs) -> str | bytes:
        method = "post" if ("data" in kwargs or "files" in kwargs) else "get"
        response = getattr(self.http, method)(self.base + path, timeout=30, **kwargs)
        if response.status_code >= 400 and not response.content:
            raise S2lowError(f"HTTP {response.status_code}")
        return response.content.decode("iso-8859-1") if utf8 else response.content

    def test_connexion(self) -> None:
        result = self._exec("/api/test-connexion.php")
        if not result.startswith("OK"):
            raise S2lowError(f"Erreur lors de la tentative de connexion : {result}")

    def nounce_params(self) -> str:
        nounce = requests.get(
            self.base + "/api/get-nounce.php",
            auth=(self.login, self.password),
            headers=dict(self.http.headers),
            timeout=30,
        ).json()["nounce"]
        digest = hashlib.sha256(f"{self.password}:{nounce}".encode()).hexdigest()
        return f"nounce={nounce}&login={quote(self.login)}&hash={digest}"

    def classification(self) -> bytes:
        result = self._exec("/modules/actes/actes_classification_fetch.php?api=1", utf8=False)
        if result.startswith(b"KO"):
            raise S2lowError(result.decode("iso-8859-1"))
        return result

    def send_actes(
        self,
        *,
        nature,
        number,
        subject,
        decision_date,
        classification,
        acte,
        annexes,
        type_acte="",
        types_pj=(),
        en_attente=True,
    ) -> str:
        data = [
            ("api", "1"),
            ("nature_code", str(nature)),
            ("number", number),
            ("subject", subject.encode("iso-8859-1")),
            ("decision_date", decision_date),
            ("en_attente", "1" if en_attente else "0"),
            ("document_papier", "0"),
        ]
        if type_acte:
            data.append(("type_acte", type_acte))
        data += [("type_pj[]", t) for t in types_pj]
        data += [
            (f"classif{i + 1}", c) for i, c in enumerate(classification.split(" ")[0].split("."))
        ]
        files = [("acte_pdf_file", (acte.name, acte.read_bytes(), "application/pdf"))]
        files += [
            ("acte_attachments[]", (a.name, a.read_bytes(), "application/pdf")) for a in annexes
        ]
        result = self._exec("/modules/actes/actes_transac_create.php", data=data, files=files)
        if not result.startswith("OK"):
            raise S2lowError(f"Erreur lors de la transmission, S²low a répondu : {result}")
        return result.split("\n")[1].strip()

    def teletransmission_redirect(self, transaction_id: str, url_retour: str) -> str:
        """The URL Pastell sends the agent's browser to (TdtTeletransmettre)."""
        return (
            f"{self.base}/modules/actes/actes_transac_post_confirm_api.php?id={transaction_id}"
            f"&{self.nounce_params()}&url_return={quote(url_retour, safe='')}"
        )

    def get_status(self, transaction_id: str) -> tuple[str, str]:
        lines = self._exec(
            f"/modules/actes/actes_transac_get_status.php?transaction={transaction_id}"
        ).split("\n")
        if lines[0].strip() != "OK":
            raise S2lowError(lines[1].strip())
        return lines[1].strip(), "\n".join(lines[2:])

    def date_ar(self, transaction_id: str) -> str:
        result = self._exec(
            f"/modules/actes/actes_transac_get_status.php?transaction={transaction_id}"
        )
        at = result.index("actes:DateReception")
        return result[at + 21 : at + 31]

    def bordereau(self, transaction_id: str) -> bytes:
        return self._exec(
            f"/modules/actes/actes_create_pdf.php?trans_id={transaction_id}", utf8=False
        )

    def files_list(self, transaction_id: str) -> list[dict]:
        import json

        return json.loads(
            self._exec(
                f"/modules/actes/actes_transac_get_files_list.php?transaction={transaction_id}"
            )
        )

    def acte_tamponne(self, transaction_id: str, date_affichage: str = "") -> bytes | None:
        file_list = self.files_list(transaction_id)
        if file_list[1]["mimetype"] != "application/pdf":
            return None
        url = f"/modules/actes/actes_download_file.php?file={file_list[1]['id']}&tampon=true"
        if date_affichage:
            url += f"&date_affichage={date_affichage}"
        return self._exec(url, utf8=False)

    def annexes_tamponnees(self, transaction_id: str) -> list[dict]:
        file_list = self.files_list(transaction_id)
        result = []
        for entry in file_list[2:]:
            if entry["mimetype"] != "application/pdf":
                result.append({})
                continue
            url = f"/modules/actes/actes_download_file.php?file={entry['id']}&tampon=true"
            result.append(
                {"filename": entry["posted_filename"], "content": self._exec(url, utf8=False)}
            )
        return result

    def list_document_prefecture(self) -> list[dict]:
        import json

        data = []
        for value in json.loads(self._exec("/modules/actes/api/list_document_prefecture.php")):
            if (
                value["type"] == COURRIER_SIMPLE
                and value["last_status_id"] != STATUS_PREF_RECU_PAS_D_AR
            ):
                continue
            data.append(value)
        return data

    def reponse_prefecture(self, transaction_id) -> bytes:
        return self._exec(
            f"/modules/actes/actes_transac_get_document.php?id={transaction_id}", utf8=False
        )

    def untar(self, archive: bytes) -> dict[str, bytes]:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "fichier.tar.gz"
            path.write_bytes(archive)
            (Path(tmp) / "result").mkdir()
            subprocess.run(
                ["tar", "-zxvf", str(path), "--directory", f"{tmp}/result"],
                check=True,
                capture_output=True,
            )
            return {p.name: p.read_bytes() for p in (Path(tmp) / "result").iterdir() if p.is_file()}

    def mark_as_read(self, transaction_id) -> None:
        self._exec(
            f"/modules/actes/api/document_prefecture_mark_as_read.php?transaction_id={transaction_id}"
        )

    def list_reponse_prefecture(self, transaction_id) -> list[dict]:
        body = self._exec(
            f"/modules/actes/actes_transac_get_document.php?id={transaction_id}"
        ).strip()
        if not body:
            return []
        result = []
        for line in body.split("\n"):
            type_, status, id_ = line.split("-")
            result.append({"type": type_, "status": status, "id": id_})
        return result

    def send_response(self, *, letter_id, refus: bool, reponse: Path, nature_default: str) -> str:
        data = [
            ("type_acte", nature_default),
            ("id", str(letter_id)),
            ("api", "1"),
            ("type_envoie", "3" if refus else "4"),
        ]
        files = [("acte_pdf_file", (reponse.name, reponse.read_bytes(), "application/pdf"))]
        result = self._exec(
            "/modules/actes/actes_transac_reponse_create.php", data=data, files=files
        )
        if not result.startswith("OK"):
            raise S2lowError(f"Erreur lors de la transmission, S²low a répondu : {result}")
        return result.split("\n")[1].strip()
