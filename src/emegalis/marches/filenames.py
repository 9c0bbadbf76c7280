"""Names of the files and folders companies and buyers upload (DCE, plis): what is accepted."""

import posixpath
import re

from django.core.exceptions import ValidationError

from emegalis.core.validators import forbidden_characters

_FOLDER_PART = re.compile(r"[^\x00-\x1f/\\:*?\"<>|]{1,100}")


def clean_folder(folder: str) -> str:
    """« Pièces techniques/Plans » — no empty, dot or reserved parts, at most 5 levels."""
    parts = [p.strip() for p in (folder or "").replace("\\", "/").split("/") if p.strip()]
    if len(parts) > 5 or any(
        p in (".", "..") or not _FOLDER_PART.fullmatch(p) or forbidden_characters(p) for p in parts
    ):
        raise ValidationError(
            {
                "folder": [
                    "Nom de dossier invalide : utilisez des noms simples séparés par « / » "
                    "(5 niveaux au plus, sans « .. » ni caractères spéciaux)."
                ]
            }
        )
    return "/".join(parts)


def clean_filename(name: str) -> str:
    base = posixpath.basename((name or "").replace("\\", "/")).strip()
    # No control or invisible character (a U+202E would disguise the extension in the zip).
    bad = set(forbidden_characters(base))
    base = "".join(c for c in base if c not in bad).strip()[:255]
    if not base or base in (".", ".."):
        raise ValidationError({"file": ["Le fichier n'a pas de nom utilisable."]})
    return base
